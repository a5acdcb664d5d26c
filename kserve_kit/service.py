"""A KServe service directory: the facts file `kserve-kit.yaml` and the manifests under `k8s/`.

The manifests say what they say (name, namespace, protocol, the ServingRuntime's container); the
facts file holds only what k8s/ cannot: endpoints, the environment, the platform's policy lists.
kserve-template renders both; for any other service, write the facts file by hand (docs/tooling.md).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml

from kserve_kit import KitError
from kserve_kit.manifests import Build, Manifest, build
from kserve_kit.serving.routes import OPENAI_PREFIX

FACTS_FILE = "kserve-kit.yaml"
SAMPLE_FILE = "sample.json"
# Where KServe puts the model in the predictor container (storage initializer), and the name the
# ServingRuntime's arguments use for the InferenceService (`{{.Name}}`).
MOUNTED_MODEL_DIR = "/mnt/models"
NAME_PLACEHOLDER = "{{.Name}}"
ISVC_POD_LABEL = "serving.kserve.io/inferenceservice"  # KServe labels the predictor's pods with it
# What `text_files` leaves out: environments, models, caches, build output.
SKIPPED_DIRS = {
    ".git", ".venv", ".venv-checkov", "model", "model-store", "site", "__pycache__", ".pytest_cache", ".ruff_cache",
    "node_modules", ".mypy_cache",
}  # fmt: skip
BINARY_SUFFIXES = {".joblib", ".pt", ".pth", ".mar", ".pkl", ".onnx", ".png", ".jpg", ".gz", ".zip"}


def contact(facts: Mapping[str, Any], team: str) -> str:
    """Who to ask, as the platform profile names them (`infra`, `devrel`)."""
    return str(((facts.get("guideline") or {}).get("contacts") or {}).get(team) or "the platform team")


def text_files(root: Path) -> list[tuple[str, str]]:
    """(path, text) of every text file of the repo, outside environments, models and caches."""
    files = []
    for directory, subdirectories, names in os.walk(root):
        subdirectories[:] = sorted(name for name in subdirectories if name not in SKIPPED_DIRS)
        for name in sorted(names):
            path = Path(directory, name)
            if path.suffix in BINARY_SUFFIXES or not path.is_file():
                continue
            try:
                files.append((str(path.relative_to(root)), path.read_text(encoding="utf-8")))
            except UnicodeDecodeError:
                continue
    return files


def find_root(start: Path) -> Path:
    """The service directory holding `start` (the nearest parent with a facts file)."""
    for directory in [start, *start.parents]:
        if (directory / FACTS_FILE).is_file():
            return directory
    raise KitError(
        f"no {FACTS_FILE} in {start} or its parents: run this in a service repo (kserve-template renders the "
        "file; for another service write it by hand, see the kit's docs/tooling.md) or pass --repo DIR"
    )


@dataclass
class Service:
    root: Path

    @classmethod
    def load(cls, root: Path) -> Service:
        return cls(find_root(root.resolve()))

    @cached_property
    def facts(self) -> dict[str, Any]:
        try:
            facts = yaml.safe_load((self.root / FACTS_FILE).read_text(encoding="utf-8"))
        except yaml.YAMLError as error:
            raise KitError(f"{FACTS_FILE} is not valid YAML: {error}") from error
        if not isinstance(facts, dict):
            raise KitError(f"{FACTS_FILE} must be a mapping of facts (see the kit's docs/tooling.md)")
        return facts

    @property
    def deployment_mode(self) -> str:
        """The facts' deployment mode (`knative` or `standard`); a facts file written by hand without
        one is taken as Knative, KServe's mode before 0.16."""
        return str((self.facts.get("deployment_mode") or {}).get("mode", "knative"))

    @property
    def splits_traffic(self) -> bool:
        """Whether the deployment mode splits traffic between revisions (Knative's: `make canary`); a
        facts file written by hand without a mode is taken as Knative, KServe's mode before 0.16."""
        return bool((self.facts.get("deployment_mode") or {}).get("canary", True))

    def fact(self, key: str) -> Any:
        try:
            return self.facts[key]
        except KeyError:
            raise KitError(f"{FACTS_FILE} has no {key!r}: `make update` rewrites it, or add it by hand") from None

    @cached_property
    def manifests(self) -> Build:
        return build(self.root / "k8s")

    def _one(self, kind: str) -> Manifest:
        found = self.manifests.of_kind(kind)
        if len(found) != 1:
            problems = "; ".join(self.manifests.problems) or f"found {len(found)}"
            raise KitError(f"k8s/ must build to exactly one {kind} ({problems})")
        return found[0]

    @property
    def isvc(self) -> dict[str, Any]:
        return self._one("InferenceService").obj

    @property
    def name(self) -> str:
        return str(self.isvc["metadata"]["name"])

    @property
    def namespace(self) -> str:
        return str(self.isvc["metadata"].get("namespace") or "default")

    @property
    def model(self) -> dict[str, Any]:
        return dict(self.isvc.get("spec", {}).get("predictor", {}).get("model") or {})

    @property
    def protocol(self) -> str:
        return str(self.model.get("protocolVersion") or "v1")

    @property
    def runtime_container(self) -> dict[str, Any]:
        """The model server container of this service's own ServingRuntime."""
        runtime = self._one("ServingRuntime").obj
        containers = runtime.get("spec", {}).get("containers") or []
        for container in containers:
            if container.get("name") == "kserve-container":
                return dict(container)
        raise KitError("the ServingRuntime in k8s/ has no container named kserve-container")

    @property
    def protocols(self) -> list[str]:
        """The protocols the server answers: the service's own first, then the others it declares;
        none for a server of OpenAI's routes only (vLLM)."""
        if self.facts.get("protocols") == []:
            return []
        declared = self._one("ServingRuntime").obj.get("spec", {}).get("protocolVersions") or [self.protocol]
        return [self.protocol, *(protocol for protocol in declared if protocol != self.protocol)]

    @property
    def server(self) -> str:
        """How the model server runs: `kserve` (KServe's Python server), `torchserve`, or `vllm` (only
        in its image, on a GPU)."""
        return str(self.fact("server"))

    @property
    def builds_image(self) -> bool:
        """The repo builds the image it runs (a Dockerfile); False: it runs the platform's (facts before
        kit 0.4 always build)."""
        return bool(self.facts.get("builds_image", True))

    def require_own_image(self) -> None:
        """Refuse image commands (image, container-smoke, push) where the repo runs the platform's image."""
        if not self.builds_image:
            image = self.runtime_container.get("image")
            raise KitError(f"this service runs the platform's image {image} (k8s/serving-runtime.yaml): there is no "
                           "image of its own to build, run or push; `make deploy` deploys it as it is")  # fmt: skip

    @property
    def openai_prefix(self) -> str:
        """Where the server's OpenAI routes are: KServe's Python server's /openai/v1 (facts before
        kit 0.4), vLLM's /v1."""
        return str(self.facts.get("openai_prefix") or OPENAI_PREFIX)

    @property
    def task(self) -> str | None:
        """A text model's OpenAI routes (`embeddings`, `text-generation`), or None (rows of numbers;
        facts of kit 0.4 and before)."""
        return self.facts.get("task")

    def runtime_args(self, model_dir: str) -> list[str]:
        """The ServingRuntime's arguments as the pod gets them, with the model at `model_dir`."""
        baked = str(self.facts.get("model_dir") or MOUNTED_MODEL_DIR)
        return [
            str(arg).replace(NAME_PLACEHOLDER, self.name).replace(baked, model_dir)
            for arg in self.runtime_container.get("args") or []
        ]

    @property
    def artifacts(self) -> dict[str, str]:
        """What the model directory holds in the container -> where it is in the repo
        (`.` is the model directory itself)."""
        return dict(self.fact("artifacts"))

    def require_model(self) -> None:
        """Refuse, saying how to make it, when an artifact directory of the model is missing or empty."""
        missing = [f"{local.rstrip('/')}/" for local in self.artifacts.values() if not _has_files(self.root / local)]
        if missing:
            hint = self.facts.get("artifacts_hint") or "build the model first"
            raise KitError(f"no model in {', '.join(missing)}: {hint}")

    @property
    def sample_path(self) -> Path:
        return self.root / SAMPLE_FILE


def _has_files(path: Path) -> bool:
    return path.is_dir() and any(path.iterdir())
