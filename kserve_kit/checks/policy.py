"""Platform policy, driven by the facts file's `policy` (the platform profile's rules).

Each rule returns findings that name the file, what is wrong, how to fix it, and the guideline
section the rule comes from. `kserve-kit validate` runs them all.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cached_property
from typing import Any
from urllib.parse import urlparse

from kserve_kit.checks.credentials import credentials_in
from kserve_kit.service import Service, contact, text_files

BASELINE = "kserve-template security baseline (docs/decisions.md)"


@dataclass(frozen=True)
class Finding:
    file: str
    message: str
    section: str
    warning: bool = False  # worth saying, not wrong: validate still passes
    basis: str = "guideline"  # what `section` is in: the guideline, or an upstream release ("KServe 0.15.2")

    def __str__(self) -> str:
        return f"{self.file}: {self.message} [{self.basis}: {self.section}]"


class Repo:
    """The files of one service repo as the rules read them, each read once."""

    def __init__(self, service: Service) -> None:
        self.service = service
        self.root = service.root
        self.facts = service.facts
        self.policy: dict[str, Any] = service.fact("policy")

    def of_kind(self, kind: str) -> list[tuple[str, dict[str, Any]]]:
        return [(manifest.source, manifest.obj) for manifest in self.service.manifests.of_kind(kind)]

    @cached_property
    def dockerfile(self) -> str:
        path = self.root / "Dockerfile"
        return path.read_text(encoding="utf-8") if path.is_file() else ""

    @cached_property
    def text_files(self) -> list[tuple[str, str]]:
        """(path, text) of every text file, read once for all the rules that scan them."""
        return text_files(self.root)

    def containers(self) -> Iterator[tuple[str, dict[str, Any]]]:
        """Every container of the ServingRuntimes and of InferenceService predictors."""
        for name, runtime in self.of_kind("ServingRuntime"):
            for container in runtime.get("spec", {}).get("containers", []):
                yield name, container
        for name, isvc in self.of_kind("InferenceService"):
            for container in predictor(isvc).get("containers", []):
                yield name, container


def predictor(isvc: dict[str, Any]) -> dict[str, Any]:
    return isvc.get("spec", {}).get("predictor", {})


def registry_of(image: str) -> str:
    """The registry host of an image reference (Docker Hub when the first part is not a host)."""
    first, _, rest = image.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        return first
    return "docker.io"


def base_image(dockerfile: str) -> str:
    match = re.search(r"^FROM\s+(?:--platform=\S+\s+)?(\S+)", dockerfile, re.MULTILINE)
    return match.group(1) if match else ""


# --------------------------------------------------------------------------- rules


def image_registries(repo: Repo) -> Iterator[Finding]:
    allowed = repo.policy["allowed_registries"]
    for name, container in repo.containers():
        image = container.get("image", "")
        if registry_of(image) not in allowed:
            yield Finding(
                name,
                f"image {image!r} is on registry {registry_of(image)!r}, where Knative cannot resolve tags; "
                f"push it to one of: {', '.join(allowed)}",
                "Image Registries",
            )


_INDEX_OPTION = re.compile(
    r"""(?:--(?:extra-)?index-url|--find-links|(?<![\w-])-[if]|(?:extra-)?index-url\s*=|url\s*=)\s*=?\s*["']?(https?://[^\s"']+)"""
)
_PACKAGE_FILES = re.compile(r"(^|/)(Dockerfile|pyproject\.toml|requirements[^/]*\.txt|pip\.conf|pip\.ini|uv\.toml)$")


def python_package_hosts(repo: Repo) -> Iterator[Finding]:
    allowed = repo.policy["allowed_python_hosts"]
    for name, text in repo.text_files:
        if not _PACKAGE_FILES.search(name):
            continue
        for match in _INDEX_OPTION.finditer(text):
            host = urlparse(match.group(1)).hostname or ""
            if host not in allowed:
                yield Finding(
                    name,
                    f"Python packages from {host!r}: pods may only reach {', '.join(allowed)}; "
                    f"install from there at image build time, or ask {contact(repo.facts, 'infra')} to allow the host",
                    "Python Dependencies",
                )


def no_start_up_installs(repo: Repo) -> Iterator[Finding]:
    config = repo.root / "config" / "config.properties"
    if config.is_file() and not re.search(r"^install_py_dep_per_model\s*=\s*false\s*$", config.read_text(), re.M):
        yield Finding(
            "config/config.properties",
            "set install_py_dep_per_model=false: TorchServe would pip-install at start-up, which the mesh "
            "blocks, and the model API never comes up; bake dependencies into the image",
            "FAQs: An InferenceService pod is running, but its model API service is not accessible",
        )


def visibility_label(repo: Repo) -> Iterator[Finding]:
    label, cluster_local = repo.facts["visibility_label"], repo.facts["visibility"] == "cluster-local"
    for name, isvc in repo.of_kind("InferenceService"):
        value = (isvc.get("metadata", {}).get("labels") or {}).get(label)
        if cluster_local and value != "cluster-local":
            yield Finding(name, f"visibility is cluster-local: add the label {label}: cluster-local", "External Access")
        elif not cluster_local and value == "cluster-local":
            yield Finding(
                name,
                f"visibility is external but the label {label}: cluster-local hides the service; "
                "remove it, or answer visibility=cluster-local with `copier update`",
                "External Access",
            )


DEPLOYMENT_MODE_ANNOTATION = "serving.kserve.io/deploymentMode"


def deployment_mode(repo: Repo) -> Iterator[Finding]:
    """The InferenceService declares its environment's mode, by a name the target KServe release knows
    (one it does not know is ignored silently and the cluster's default mode applies)."""
    mode = repo.facts.get("deployment_mode")
    if not mode:  # a hand-written facts file without it: nothing to hold the manifest to
        return
    version, section = (repo.facts.get("kserve") or {}).get("version", "?"), "KServe deployment modes"
    for name, isvc in repo.of_kind("InferenceService"):
        value = (isvc.get("metadata", {}).get("annotations") or {}).get(DEPLOYMENT_MODE_ANNOTATION)
        if value is None:
            yield Finding(
                name,
                f"add the annotation {DEPLOYMENT_MODE_ANNOTATION}: {mode['name']}: without it the cluster's default "
                f"mode applies, whatever {repo.facts.get('environment')} runs",
                section,
            )
        elif value not in mode["accepted"]:
            yield Finding(
                name,
                f"KServe {version} does not know the deployment mode {value!r} (it would silently use the cluster's "
                f"default): write {mode['name']}",
                section,
            )
        elif mode["accepted"][value] != mode["mode"]:
            yield Finding(
                name,
                f"{repo.facts.get('environment')} runs {mode['name']} mode, not {value}: write {mode['name']}, or move "
                'the service with `make update ARGS="--data environment=<env>"`',
                section,
            )
        elif value in mode["deprecated"]:
            yield Finding(
                name,
                f"{value!r} is the deployment mode's old name (KServe 0.16 renamed it, kserve/kserve#4608): write "
                f"{mode['deprecated'][value]}. On 0.16.x KServe records the new name in the status, so an old name "
                "in the annotation is refused on every patch and even on delete (#4798); since 0.17.0 KServe's "
                "defaulter rewrites old names (#5025) and since 0.19.0 it reads old statuses (#5427)",
                section,
                warning=True,
            )


def next_gen_istio_cni(repo: Repo) -> Iterator[Finding]:
    required = repo.policy["required_annotations"]
    if not required:
        return
    section = "Migration to the next-gen environments: Fix incompatibility with Istio CNI"
    for name, isvc in repo.of_kind("InferenceService"):
        annotations = isvc.get("metadata", {}).get("annotations") or {}
        for key, value in required.items():
            if str(annotations.get(key)) != value:
                yield Finding(
                    name,
                    f'add the annotation {key}: "{value}" (the storage initializer cannot reach storage '
                    "under Istio CNI otherwise)",
                    section,
                )
        model = predictor(isvc).get("model", {})
        if (model.get("securityContext") or {}).get("allowPrivilegeEscalation") is not False:
            yield Finding(
                name,
                "set spec.predictor.model.securityContext.allowPrivilegeEscalation: false "
                "(KServe's controller cannot mutate the pod without a securityContext)",
                section,
            )


def gpu_needs_gpu_image(repo: Repo) -> Iterator[Finding]:
    resource, gpu_images = repo.policy["gpu_resource"], repo.policy["gpu_images"]
    # The Dockerfile's base, or the platform's image the ServingRuntime runs as it is (vLLM).
    image = base_image(repo.dockerfile) if repo.service.builds_image else repo.service.runtime_container.get("image")
    for name, isvc in repo.of_kind("InferenceService"):
        resources = predictor(isvc).get("model", {}).get("resources") or {}
        wants_gpu = any(resource in (resources.get(part) or {}) for part in ("requests", "limits"))
        if wants_gpu and image not in gpu_images:
            yield Finding(
                "Dockerfile",
                f"{name} requests {resource} but the image is {image!r}, not a CUDA image ({', '.join(gpu_images)})",
                "Example Service: GPU InferenceService with S3 credential",
            )


_SECRET_ENV = re.compile(r"(?i)(secret|password|token|access_key|api_key)")


def no_credentials(repo: Repo) -> Iterator[Finding]:
    section = "Credential for Storage Initializer"
    for name, text in repo.text_files:
        for what in credentials_in(text):
            yield Finding(name, f"contains {what}: keep credentials in Vault, never in the repo", section)
    for name, secret in repo.of_kind("Secret"):
        if secret.get("data") or secret.get("stringData"):
            yield Finding(name, "a Secret with values is committed: store them in Vault instead", section)
    for name, container in repo.containers():
        for variable in container.get("env", []):
            if _SECRET_ENV.search(variable.get("name", "")) and "value" in variable:
                yield Finding(
                    name,
                    f"env {variable['name']} has a literal value: inject it from Vault (agent annotations)",
                    section,
                )


def non_root_with_limits(repo: Repo) -> Iterator[Finding]:
    users = re.findall(r"^USER\s+(\S+)", repo.dockerfile, re.MULTILINE)
    if repo.service.builds_image and (not users or users[-1].split(":")[0] in ("root", "0")):
        yield Finding("Dockerfile", "end with a numeric non-root USER (e.g. USER 1000)", BASELINE)
    model_limits = {}
    for _, isvc in repo.of_kind("InferenceService"):
        model_limits = (predictor(isvc).get("model", {}).get("resources") or {}).get("limits") or {}
    for name, container in repo.containers():
        context = container.get("securityContext") or {}
        if context.get("runAsNonRoot") is not True and not context.get("runAsUser"):
            yield Finding(name, f"container {container.get('name')}: set securityContext.runAsNonRoot: true", BASELINE)
        if context.get("allowPrivilegeEscalation") is not False:
            yield Finding(name, f"container {container.get('name')}: set allowPrivilegeEscalation: false", BASELINE)
        if context.get("readOnlyRootFilesystem") is not True:
            yield Finding(
                name,
                f"container {container.get('name')}: set readOnlyRootFilesystem: true (give the paths it writes "
                "emptyDir volumes; `make container-smoke` runs it that way)",
                BASELINE,
            )
        limits = {**((container.get("resources") or {}).get("limits") or {}), **model_limits}
        for resource in ("cpu", "memory"):
            if resource not in limits:
                yield Finding(name, f"container {container.get('name')}: set a {resource} limit", BASELINE)


def vault_service_account(repo: Repo) -> Iterator[Finding]:
    section = "Credential for Storage Initializer"
    for name, runtime in repo.of_kind("ServingRuntime"):
        annotations = runtime.get("spec", {}).get("annotations") or {}
        if annotations.get("vault.hashicorp.com/agent-inject") != "true":
            continue
        if annotations.get("vault.hashicorp.com/agent-init-first") != "true":
            yield Finding(
                name,
                'add vault.hashicorp.com/agent-init-first: "true": the storage initializer is an init '
                "container and needs the secret before it starts",
                section,
            )
        accounts = {predictor(isvc).get("serviceAccountName") for _, isvc in repo.of_kind("InferenceService")} - {None}
        if not accounts:
            yield Finding(
                "k8s/inference-service.yaml",
                "Vault injection needs spec.predictor.serviceAccountName (a service account bound to "
                f"{repo.policy['auth_delegator_role']})",
                section,
            )
        for account in accounts:
            if not any(doc["metadata"]["name"] == account for _, doc in repo.of_kind("ServiceAccount")):
                yield Finding("k8s/", f"no ServiceAccount {account!r} among the manifests", section)
            bound = any(
                binding.get("roleRef", {}).get("name") == repo.policy["auth_delegator_role"]
                and any(subject.get("name") == account for subject in binding.get("subjects", []))
                for _, binding in repo.of_kind("ClusterRoleBinding")
            )
            if not bound:
                yield Finding(
                    "k8s/",
                    f"service account {account!r} is not bound to {repo.policy['auth_delegator_role']}",
                    section,
                )


def runtime_not_deprecated(repo: Repo) -> Iterator[Finding]:
    deprecation = repo.facts.get("deprecation")
    if deprecation:
        yield Finding(
            "kserve-kit.yaml",
            f"the {repo.facts.get('runtime')} runtime is deprecated (limited maintenance upstream): move to "
            f"{deprecation['replacement']} with `{deprecation['move']}` (your model and weights carry over)"
            + _unfixable(deprecation.get("unfixable", [])),
            "kit runtimes (docs/decisions.md)",
            warning=True,
        )


def _unfixable(limits: list[str]) -> str:
    if not limits:
        return ""
    kinds = f"{len(limits)} kind(s) of request nothing can refuse"
    return f"; meanwhile its server lets through {kinds}: {'; '.join(limits)}"


def reproducible_builds(repo: Repo) -> Iterator[Finding]:
    """What makes two builds of one commit differ, or the deployed image another than the tested one."""
    section, basis = "reproducible builds", "kit (docs/decisions.md)"
    for image in dict.fromkeys(re.findall(r"^FROM\s+(?:--platform=\S+\s+)?(\S+)", repo.dockerfile, re.MULTILINE)):
        if "@sha256:" not in image:
            yield Finding("Dockerfile", f"the base image {image!r} is pulled by tag, which can move between builds: "
                          "the platform pins its digest in the profile (base_images, `name:tag@sha256:...`)", section,
                          warning=True, basis=basis)  # fmt: skip
    if not (repo.root / "requirements.lock").is_file():
        yield Finding("requirements.lock", "no lock files: the image and `make install` take the newest versions the "
                      "ranges allow; `make lock`, then commit requirements.lock and requirements-dev.lock", section,
                      warning=True, basis=basis)  # fmt: skip
    for name, container in repo.containers():
        if "@sha256:" not in str(container.get("image", "")):
            how = (
                "`make push` records the digest it pushed, so `make deploy` sends exactly that image"
                if repo.service.builds_image
                else "the platform pins its digest in the profile (base_images)"
            )
            yield Finding(name, f"the image {container.get('image')!r} is deployed by tag: {how}", section,
                          warning=True, basis=basis)  # fmt: skip


RULES: list[Callable[[Repo], Iterator[Finding]]] = [
    image_registries,
    python_package_hosts,
    no_start_up_installs,
    visibility_label,
    deployment_mode,
    next_gen_istio_cni,
    gpu_needs_gpu_image,
    no_credentials,
    non_root_with_limits,
    vault_service_account,
    runtime_not_deprecated,
    reproducible_builds,
]


def policy_findings(repo: Repo) -> list[Finding]:
    return [finding for rule in RULES for finding in rule(repo)]
