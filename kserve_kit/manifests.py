"""What `kubectl apply -k k8s` would send: the kustomization's build, each object with its source file.

With kubectl on the PATH the build is `kubectl kustomize` itself. Without it, the kustomization is
built here when it only lists `resources`, sets a `namespace` and `images` (what kserve-template
renders, and `make push` records);
anything else needs kubectl and is reported as a problem, never silently ignored.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

KUSTOMIZATION = "kustomization.yaml"
# Fields the built-in build understands; any other kustomization field needs kubectl.
_BUILT_IN_FIELDS = {"apiVersion", "kind", "resources", "namespace", "images"}
# Kinds kustomize's namespace transformer leaves alone.
_CLUSTER_SCOPED = {
    "ClusterRole",
    "ClusterRoleBinding",
    "Namespace",
    "CustomResourceDefinition",
    "ClusterServingRuntime",
}


@dataclass(frozen=True)
class Manifest:
    source: str  # k8s/<file>, as the owner knows it
    obj: dict[str, Any]

    @property
    def kind(self) -> str:
        return str(self.obj.get("kind", "?"))

    @property
    def name(self) -> str:
        return str((self.obj.get("metadata") or {}).get("name", "?"))

    def where(self) -> str:
        return f"{self.source} ({self.kind} {self.name})"


@dataclass
class Build:
    manifests: list[Manifest] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # the build itself went wrong
    notes: list[str] = field(default_factory=list)  # worth saying, not wrong
    method: str = ""

    def of_kind(self, kind: str) -> list[Manifest]:
        return [manifest for manifest in self.manifests if manifest.kind == kind]


def _read_file(path: Path, label: str, build: Build) -> list[dict[str, Any]]:
    try:
        documents = list(yaml.safe_load_all(path.read_text(encoding="utf-8")))
    except yaml.YAMLError as error:
        build.problems.append(f"{label}: not valid YAML: {error}")
        return []
    return [document for document in documents if isinstance(document, dict)]


def build(k8s_dir: Path) -> Build:
    """The objects `kubectl apply -k <k8s_dir>` would send, and what stands in the way."""
    result = Build()
    kustomization_path = k8s_dir / KUSTOMIZATION
    if not kustomization_path.is_file():
        result.problems.append(f"k8s/{KUSTOMIZATION} is missing: `kubectl apply -k k8s` needs it")
        return result
    [kustomization] = _read_file(kustomization_path, f"k8s/{KUSTOMIZATION}", result) or [{}]
    by_file: dict[str, list[dict[str, Any]]] = {}
    for resource in kustomization.get("resources") or []:
        path = k8s_dir / str(resource)
        if not path.is_file():
            result.problems.append(f"k8s/{KUSTOMIZATION} lists {resource}, which does not exist")
            continue
        by_file[f"k8s/{resource}"] = _read_file(path, f"k8s/{resource}", result)
    listed = {Path(name).name for name in by_file} | {KUSTOMIZATION}
    for path in sorted([*k8s_dir.glob("*.yaml"), *k8s_dir.glob("*.yml")]):
        if path.name not in listed:
            result.notes.append(f"k8s/{path.name} is not in k8s/{KUSTOMIZATION}: `make deploy` does not apply it")
    if result.problems:
        return result
    kubectl = shutil.which("kubectl")
    objects = _kubectl_build(kubectl, k8s_dir, result) if kubectl else _built_in(kustomization, by_file, result)
    sources = {(doc.get("kind"), (doc.get("metadata") or {}).get("name")): name for name, docs in by_file.items()
               for doc in docs}  # fmt: skip
    for obj in objects:
        key = (obj.get("kind"), (obj.get("metadata") or {}).get("name"))
        result.manifests.append(Manifest(sources.get(key, "k8s/"), obj))
    return result


def _kubectl_build(kubectl: str, k8s_dir: Path, result: Build) -> list[dict[str, Any]]:
    result.method = "kubectl kustomize"
    run = subprocess.run([kubectl, "kustomize", str(k8s_dir)], capture_output=True, text=True, check=False)
    if run.returncode != 0:
        result.problems.append(f"`kubectl kustomize k8s` failed: {run.stderr.strip()}")
        return []
    return [doc for doc in yaml.safe_load_all(run.stdout) if isinstance(doc, dict)]


def repository(image: str) -> str:
    """The image without its tag or digest (a registry port's colon kept)."""
    name = image.split("@", 1)[0]
    return name.rsplit(":", 1)[0] if ":" in name.rsplit("/", 1)[-1] else name


def _set_image(objects: list[dict[str, Any]], image: dict[str, str]) -> None:
    """kustomize's images transformer (name -> newName, newTag or digest) on every `spec.containers`."""
    for obj in objects:
        spec = obj.get("spec") or {}
        for container in [*(spec.get("containers") or []), *(spec.get("initContainers") or [])]:
            current = str(container.get("image", ""))
            if repository(current) != image.get("name"):
                continue
            new = image.get("newName") or repository(current)
            tag = f"@{image['digest']}" if image.get("digest") else f":{image['newTag']}" if image.get("newTag") else (
                current[len(repository(current)):])  # fmt: skip
            container["image"] = f"{new}{tag}"


def _built_in(kustomization: dict[str, Any], by_file: dict[str, list[dict[str, Any]]], result: Build) -> list[Any]:
    result.method = "built-in (resources + namespace; install kubectl for kustomize's own build)"
    unsupported = sorted(set(kustomization) - _BUILT_IN_FIELDS)
    if unsupported:
        result.problems.append(
            f"k8s/{KUSTOMIZATION} uses {', '.join(unsupported)}: install kubectl so `kubectl kustomize` builds it"
        )
        return []
    namespace = kustomization.get("namespace")
    objects = [doc for docs in by_file.values() for doc in docs]
    for image in kustomization.get("images") or []:
        _set_image(objects, image)
    if namespace:
        for obj in objects:
            if obj.get("kind") not in _CLUSTER_SCOPED:
                obj.setdefault("metadata", {})["namespace"] = namespace
    return objects
