"""Answer validators. Each returns "" when the answer is fine, else a message that says how to fix it.

copier.yml calls them as Jinja globals (registered in copier_hooks.py): Copier shows any non-empty
result as the question's error and asks again. Copier's wizard shows that error on ONE line of the
terminal, so every message fits in MESSAGE_MAX characters and leads with the fix; the user's own
value is never repeated at length. Questions that depend on earlier answers get defaults computed by
the helpers at the end, so a default is never invalid (Copier would stop with a traceback).
"""

from __future__ import annotations

import ipaddress
import re
import sys
from pathlib import Path
from typing import Any

from packaging.version import Version

from extensions import profile
from extensions.modes import MODES
from extensions.profile import DEFAULT_PLATFORM, available_platforms, load_profile
from extensions.runtimes import RUNTIMES
from extensions.storages import STORAGES
from kserve_kit.admission.releases import is_true
from kserve_kit.checks.credentials import credentials_in

MESSAGE_MAX = 78  # one line of an 80-column terminal
DNS_LABEL_MAX = 63
DESCRIPTION_MAX = 200
_DNS_1035 = re.compile(r"[a-z]([-a-z0-9]*[a-z0-9])?")
_DNS_1123 = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_DNS_1123_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_LABEL_VALUE = re.compile(r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?")
_QUANTITY = re.compile(r"(\d+(\.\d+)?|\.\d+)(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?")
_IMAGE_PATH = re.compile(r"[a-z0-9]+([._-][a-z0-9]+)*(/[a-z0-9]+([._-]+[a-z0-9]+)*)*")
_S3_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_VAULT_SEGMENT = re.compile(r"[A-Za-z0-9_.-]+")
# Characters a storage path never needs, and which would break out of the README's code spans and
# the manifests' quoting: control characters, quotes, backslash, backtick, angle brackets.
_UNSAFE_PATH = re.compile(r"[\x00-\x1f\x7f`<>\"'\\]")
_UNSAFE_SHOWN = "` < > \" ' \\"
# More than any node has (or any sane autoscaler): an answer past these is a typo.
MAX_CPU_CORES = 512
MAX_MEMORY_BYTES = 16 * 2**40  # 16 Ti
MAX_REPLICAS = 1000
_REPLICAS = re.compile(r"\d+")
# Top-level modules of a rendered repo and the import names of what it installs: a service package
# of the same name would shadow them (Python's own modules are in sys.stdlib_module_names).
_TAKEN_MODULES = {
    "tests", "training", "docs", "k8s", "config", "model", "model_store", "site", "kserve", "kserve_kit",
    "sklearn", "joblib", "numpy", "torch", "ts", "model_archiver", "yaml", "httpx", "kubernetes", "pytest",
    "copier", "jinja2", "fastapi", "uvicorn", "pandas", "grpc", "mkdocs", "ruff", "setuptools",
}  # fmt: skip


def platform_error(platform: str) -> str:
    """A profile that exists in platforms/."""
    if platform not in available_platforms():
        return f"Unknown platform: choose one of {', '.join(available_platforms())} (platforms/*.yml)"
    loaded = load_profile(platform)
    source = loaded.get("kit_source") or {}
    if len(source) != 1 or not set(source) <= {"git", "index"} or not all(source.values()):
        return (
            f"platforms/{platform}.yml: `kit_source` must name exactly one of `git: <the kit's repository URL>` "
            "or `index: <a package index carrying kserve-kit>`: services' CI installs kserve-kit from it"
        )
    if missing := missing_base_images(loaded):
        return f"platforms/{platform}.yml: `base_images` lacks {', '.join(missing)}: every runtime needs its image"
    try:  # what the profile says of its control plane must be complete (its platform team's to fix)
        for environment in loaded["environments"]:
            profile.control_plane(loaded, environment)
    except ValueError as error:
        return f"platforms/{platform}.yml: {error}"
    return ""


def image_kinds(entry: Any) -> tuple[str, ...]:
    """The base images a runtime needs: CPU, GPU where it can use one, GPU only where it needs one."""
    return ("gpu",) if entry.requires_gpu else ("cpu", "gpu")[: 1 + entry.supports_gpu]


def missing_base_images(loaded: dict[str, Any]) -> list[str]:
    """`<runtime>.cpu` (and `.gpu` for a GPU runtime) the profile's `base_images` lacks."""
    images = loaded.get("base_images") or {}
    wanted = [(name, kind) for name, entry in RUNTIMES.items() for kind in image_kinds(entry)]
    return [f"{name}.{kind}" for name, kind in wanted if not (images.get(name) or {}).get(kind)]


def destination_error(dst_path: Any, overwrite: bool) -> str:
    """`copier copy` into a folder that holds files of its own: Copier would write half a repo among
    them and suggest --overwrite, which replaces them without a backup. (An update's folder holds
    the answers file: not refused.)"""
    root = Path(str(dst_path))
    if overwrite or not root.is_dir() or (root / ".copier-answers.yml").is_file():
        return ""
    present = sorted(path.name for path in root.iterdir() if path.name != ".git")
    if not present:
        return ""
    shown = ", ".join(present[:3]) + (", ..." if len(present) > 3 else "")
    return (
        f"{root} already holds files ({shown}): render into a new folder, or add --overwrite to replace "
        "them (no backup is kept)"
    )


def _overflow_message(subject: str, service_name: str, namespace: str, platform: str) -> str:
    """Which derived name (kserve_kit/admission/names.py) overflows first, and by how much."""
    found = profile.name_overflows(load_profile(platform), service_name, namespace)
    if not found:
        return ""
    _, name = found[0]
    return f"{subject} {name.over} too long: {name.what} would be {len(name.value)} of {name.limit} characters"


def _dns_error(what: str, value: str, pattern: re.Pattern[str], example: str) -> str:
    if not value:
        return f"{what} is required, e.g. {example}"
    if len(value) > DNS_LABEL_MAX:
        return f"{what} is {len(value)} characters: use at most {DNS_LABEL_MAX}"
    if not pattern.fullmatch(value):
        start = "a letter" if pattern is _DNS_1035 else "a letter or digit"
        upper = ["upper-case"] if re.search("[A-Z]", value) else []
        wrong = upper + sorted({repr(char) for char in re.findall("[^a-zA-Z0-9-]", value)})
        if wrong:
            message = f"No {', '.join(wrong)}: use lower-case letters, digits, '-'"
        else:
            message = f"Start with {start} and end with a letter or digit"
        suggestion = re.sub(r"[^a-z0-9]+", "-", value.lower()).strip("-")
        suggestion = suggestion if pattern.fullmatch(suggestion) else example
        return message + (f", e.g. {suggestion}" if len(message) + len(suggestion) + 7 <= MESSAGE_MAX else "")
    return ""


def service_name_error(service_name: str, platform: str) -> str:
    """DNS-1035 label (KServe's rule for InferenceService names) that leaves room for a namespace and
    whose Python package shadows nothing the repo imports."""
    if error := _dns_error("Service name", service_name, _DNS_1035, "iris-classifier"):
        return error
    package = service_name.replace("-", "_")
    if package in _TAKEN_MODULES or package in sys.stdlib_module_names:
        return f"'{service_name}' would shadow the Python module {package}: pick another name"
    # With the shortest possible namespace (one character), every name KServe and Knative derive must fit.
    return _overflow_message("Name", service_name, "x", platform)


def namespace_error(namespace: str, service_name: str, platform: str) -> str:
    """DNS-1123 label; with the service name, every name KServe and Knative derive must fit (in every
    environment of the platform: a service may move between them)."""
    if error := _dns_error("Namespace", namespace, _DNS_1123, "vision-ai"):
        return error
    return _overflow_message("Namespace", service_name, namespace, platform)


def label_value_error(what: str, value: str) -> str:
    """A Kubernetes label value (used for the owner/team label and the Vault role)."""
    if not value:
        return f"{what} is required, e.g. vision-ai"
    if len(value) > DNS_LABEL_MAX or not _LABEL_VALUE.fullmatch(value):
        return f"{what}: up to {DNS_LABEL_MAX} letters, digits, '-', '_', '.'; e.g. vision-ai"
    return ""


def description_error(description: str) -> str:
    """One printable line of at most 200 characters."""
    if not description.strip():
        return "The description is required: one sentence on what the model does"
    if "\n" in description or "\r" in description:
        return "The description must be a single line"
    if not description.isprintable():
        return "The description must hold only printable characters (no control characters)"
    if len(description) > DESCRIPTION_MAX:
        return f"The description is {len(description)} characters: keep it under {DESCRIPTION_MAX}"
    return ""


def quantity_to_float(quantity: str) -> float:
    """A Kubernetes resource quantity as a number (cores or bytes), for comparisons."""
    match = _QUANTITY.fullmatch(quantity)
    if not match:
        raise ValueError(quantity)
    factors = {
        "m": 1e-3, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15, "E": 1e18,
        "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60,
    }  # fmt: skip
    return float(match.group(1)) * factors.get(match.group(3) or "", 1)


def quantity_error(what: str, value: Any) -> str:
    """A positive Kubernetes quantity (`what` is "CPU request", "memory limit", ...)."""
    example = "500m or 2" if what.startswith("CPU") else "512Mi or 2Gi"
    if not _QUANTITY.fullmatch(str(value)):
        return f"The {what} is not a Kubernetes quantity: use e.g. {example}"
    if quantity_to_float(str(value)) <= 0:
        return f"The {what} must be greater than zero, e.g. {example}"
    cpu = what.startswith("CPU")
    if quantity_to_float(str(value)) > (MAX_CPU_CORES if cpu else MAX_MEMORY_BYTES):
        return f"The {what} {value} is more than any node has: at most {MAX_CPU_CORES if cpu else '16Ti'}"
    return ""


def resources_error(what: str, request: str, limit: str) -> str:
    """The limit is a quantity and not below the request (the request has its own validator)."""
    if error := quantity_error(f"{what} limit", limit):
        return error
    if not quantity_error(f"{what} request", request) and quantity_to_float(str(request)) > quantity_to_float(
        str(limit)
    ):
        return f"The {what} limit {limit} is below the request {request}: raise it to {request} or more"
    return ""


def replicas_error(min_replicas: Any, max_replicas: Any | None = None, mode: str = "knative") -> str:
    """Whole numbers, 0 <= min <= max, max >= 1; min 0 (scale to zero) only where the deployment mode
    scales to zero (Knative)."""
    for name, value in (("minimum", min_replicas), ("maximum", max_replicas)):
        if value is not None and not _REPLICAS.fullmatch(str(value).strip()):
            return f"The {name} replica count must be a whole number, e.g. 1"
    if int(min_replicas) == 0 and mode in MODES and not MODES[mode].scale_to_zero:
        return f"{MODES[mode].name} mode cannot scale to zero: the minimum is 1 or more"
    if max_replicas is None:
        return ""
    if int(max_replicas) < 1:
        return "The maximum replica count must be at least 1"
    if int(max_replicas) > MAX_REPLICAS:
        return f"The maximum replica count must be at most {MAX_REPLICAS}: ask the platform team for more"
    if int(min_replicas) > int(max_replicas):
        return f"The maximum replica count must be at least the minimum ({int(min_replicas)})"
    return ""


def whole_number_error(what: str, value: Any, low: int, high: int) -> str:
    """A whole number from `low` to `high`."""
    if not _REPLICAS.fullmatch(str(value).strip()) or not low <= int(value) <= high:
        return f"{what} must be a whole number from {low} to {high}"
    return ""


def storage_uri_error(storage_uri: str, model_storage: str) -> str:
    """A URI of the storage answer's kind: `s3://<bucket>/<path>`, `pvc://<claim>/<path>`,
    `hf://<org>/<model>[:<revision>]`, `oci://<registry>/<repository>:<tag>`; none when the model is
    baked into the image."""
    if model_storage == "image":
        return "" if not storage_uri else "A baked-in model needs no storage URI: leave it empty"
    prefix, example = f"{model_storage}://", STORAGES[model_storage].example
    if not storage_uri.startswith(prefix):
        return f"The storage URI must start with {prefix}, e.g. {example}"
    if any(character.isspace() for character in storage_uri):
        return f"The storage URI has no spaces, e.g. {example}"
    if found := credentials_in(storage_uri):
        return f"The storage URI holds {found[0]}: keep credentials in Vault"
    rest = storage_uri.removeprefix(prefix)
    if model_storage == "hf":
        return _hugging_face_error(rest, example)
    if model_storage == "oci":
        return _oci_error(rest, example)
    owner, _, path = rest.partition("/")
    if not path or path.startswith("/"):
        return f"The storage URI needs a container and a path, no spaces, e.g. {example}"
    segments = path.split("/")
    if any(segment in (".", "..") for segment in segments) or "" in segments[:-1] or _UNSAFE_PATH.search(path):
        return f"Storage path: no '.', '..', empty parts, control characters or {_UNSAFE_SHOWN}"
    if model_storage == "s3" and (not _S3_BUCKET.fullmatch(owner) or ".." in owner or _is_ip(owner)):
        return "S3 bucket: 3-63 lower-case letters, digits, '.', '-', e.g. my-bucket"
    if model_storage == "pvc" and (len(owner) > 253 or not _DNS_1123_SUBDOMAIN.fullmatch(owner)):
        return "PVC claim name: lower-case letters, digits, '-', '.', e.g. my-claim"
    return ""


# Hugging Face's repository names (huggingface_hub validate_repo_id): letters, digits, '-', '_', '.'.
_HF_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,95}")
_HF_REVISION = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/-]{0,99}")


def _hugging_face_error(rest: str, example: str) -> str:
    """KServe reads exactly `<org>/<model>` and an optional `:<revision>` (storage.py _download_hf)."""
    repository, _, revision = rest.partition(":")
    parts = repository.split("/")
    if len(parts) != 2 or not all(_HF_NAME.fullmatch(part) and ".." not in part for part in parts):
        return f"A Hugging Face model is hf://<org>/<model> (one '/'; letters, digits, '-', '_', '.'), e.g. {example}"
    if revision and (not _HF_REVISION.fullmatch(revision) or ".." in revision):
        return f"The revision after ':' is a branch, tag or commit, e.g. {example}:main"
    return ""


# An image reference (the distribution spec's): registry host, lower-case path, a tag or a digest.
_OCI_REFERENCE = re.compile(
    r"(?P<registry>[a-z0-9.-]+(?::\d+)?)/(?P<path>[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*)"
    r"(?::(?P<tag>[\w][\w.-]{0,127}))?(?:@sha256:[0-9a-f]{64})?"
)


def _oci_error(rest: str, example: str) -> str:
    found = _OCI_REFERENCE.fullmatch(rest)
    if not found or "." not in found["registry"]:
        return f"An OCI model is oci://<registry>/<repository>:<tag> (or @sha256:<digest>), e.g. {example}"
    if not found["tag"] and "@sha256:" not in rest:
        return f"Name the model image's tag or digest: a moving `latest` would change the model, e.g. {example}"
    return ""


def _is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def image_repository_error(image_repository: str, platform: str) -> str:
    """An image repository (no tag) on a registry the platform allows ("Image Registries")."""
    if ":" in image_repository.rsplit("/", 1)[-1] or "@" in image_repository:
        return "Give the repository without a tag or digest: `make image` sets the tag"
    allowed = load_profile(platform)["allowed_registries"]
    registry, _, path = image_repository.partition("/")
    if "." not in registry and ":" not in registry and registry != "localhost":
        example = f"docker.io/{image_repository}"
        return f"Name the registry first, e.g. {example if len(example) < 48 else 'docker.io/<repository>'}"
    if not path or not _IMAGE_PATH.fullmatch(path):
        return "Use registry/path/name in lower case, e.g. ghcr.io/my-team/iris-classifier"
    if registry not in allowed:
        return f"Registry not allowed: use one listed above, e.g. {allowed[0]}/my-team/iris"
    return ""


def pull_secret_default(image_repository: str, platform: str) -> str:
    """The profile's pull secret for the image's registry ("" when it names none)."""
    return str((load_profile(platform).get("pull_secrets") or {}).get(image_repository.partition("/")[0], ""))


def pull_secret_error(image_pull_secret: str) -> str:
    """Empty, or the name of a Secret (a DNS subdomain)."""
    if image_pull_secret and (len(image_pull_secret) > 253 or not _DNS_1123_SUBDOMAIN.fullmatch(image_pull_secret)):
        return "A Secret's name: lower-case letters, digits, '-' and '.', e.g. registry-pull; empty for none"
    return ""


def vault_path_error(vault_secret_path: str) -> str:
    """A Vault KV path such as `secret/data/vision-ai/s3`: never a credential value."""
    segments = vault_secret_path.split("/")
    if len(segments) < 2 or not all(_VAULT_SEGMENT.fullmatch(segment) for segment in segments):
        return "Not a Vault path: '/'-joined parts of letters, digits, '_-.', e.g. kv/data/x"
    if any(segment in (".", "..") for segment in segments):
        return "The Vault path must not hold '.' or '..' segments"
    if found := credentials_in(vault_secret_path):
        return f"The Vault path holds {found[0]}: name where the secret is, not it"
    return ""


def vault_error(vault: Any, model_storage: str, platform: str = DEFAULT_PLATFORM) -> str:
    """Vault injects the storage initializer's credentials (S3 keys, a Hugging Face token), on platforms
    that run it; there are none to inject for other storage."""
    if vault and not load_profile(platform).get("vault"):
        return f"The {platform} platform has no Vault: answer no (false); credentials come from its secret"
    if vault and not STORAGES[model_storage].secret_keys:
        return f"Vault injects storage credentials: with {model_storage} storage there are none, answer no (false)"
    return ""


def storage_uri_default(model_storage: str, namespace: str, service_name: str, platform: str) -> str:
    """A valid URI of the storage's kind for the service: a bucket, claim, hub repository or image
    named after the namespace and the service (the owner's own location replaces it)."""
    if model_storage in ("image", "") or model_storage not in STORAGES:
        return ""
    if model_storage == "oci":
        registry = load_profile(platform).get("default_image_registry") or "ghcr.io/my-org"
        return f"oci://{registry}/{namespace}/{service_name}-model:0.1.0"
    return f"{model_storage}://{namespace}-models/{service_name}"


def vault_storages() -> list[str]:
    """The storages whose credentials Vault can inject (the `vault` question is asked for these)."""
    return [name for name, storage in STORAGES.items() if storage.secret_keys]


_DURATION = re.compile(r"(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?")


def duration_error(what: str, value: Any, most_seconds: int) -> str:
    """A duration such as `0s`, `90s`, `5m` or `1h30m`, at most `most_seconds` seconds."""
    match = _DURATION.fullmatch(str(value).strip())
    if not str(value).strip() or not match:
        return f"{what} must be a duration such as 0s, 90s, 5m or 1h"
    hours, minutes, seconds = (int(part or 0) for part in match.groups())
    if hours * 3600 + minutes * 60 + seconds > most_seconds:
        return f"{what} can be at most {most_seconds // 60} minutes"
    return ""


def gpu_error(gpu: Any, runtime: str, gpu_runtimes: list[str]) -> str:
    """Only runtimes that can use a GPU take one."""
    if gpu and runtime not in gpu_runtimes:
        return f"{runtime} runs on CPU: choose runtime {' or '.join(gpu_runtimes)} for a GPU"
    if not gpu and runtime in RUNTIMES and RUNTIMES[runtime].requires_gpu:
        return f"{runtime} runs only on a GPU: answer yes, or choose runtime text-generation (CPU or GPU)"
    return ""


def model_storage_error(model_storage: str, runtime: str, platform: str = DEFAULT_PLATFORM,
                        environment: str = "") -> str:  # fmt: skip
    """A runtime that runs the profile's image (vLLM) has no image of the service's to bake a model into;
    a storage the environment's KServe does not serve yet (hf:// before 0.15.0, oci:// without the
    modelcar) would fail in the cluster."""
    if model_storage == "image" and runtime in RUNTIMES and not RUNTIMES[runtime].builds_image:
        return f"{runtime} runs the platform's image, which cannot hold your model: choose s3, pvc, hf or oci"
    loaded = load_profile(platform)
    if model_storage not in STORAGES or environment not in loaded["environments"]:
        return ""  # the choice and the environment question say what is wrong
    kserve = profile.control_plane(loaded, environment)["kserve"]
    if Version(kserve["version"]) < Version(STORAGES[model_storage].since):
        return (f"KServe {kserve['version']} ({environment}) serves {model_storage}:// models from "
                f"{STORAGES[model_storage].since}: choose s3 or pvc (a copy of the model there)")  # fmt: skip
    if model_storage == "oci" and not is_true(kserve["config"].get("storageInitializer.enableModelcar")):
        return (
            f"oci:// models run as a modelcar, which {environment}'s KServe does not enable "
            "(storageInitializer.enableModelcar): choose s3 or pvc, or ask the platform team to enable it"
        )
    return ""


# --------------------------------------------------------------- defaults that follow earlier answers


def at_least(value: str, floor: str) -> str:
    """The larger of two quantities (`floor` when `value` is not a quantity): a limit's default that
    is never below the request."""
    if quantity_error("value", value):
        return floor
    return value if quantity_to_float(value) > quantity_to_float(floor) else floor


def fitting_namespace(service_name: str, platform: str, preferred: str) -> str:
    """`preferred`, cut short enough for every name derived from it (a namespace default that fits)."""
    namespace = preferred
    while len(namespace) > 1 and profile.name_overflows(load_profile(platform), service_name, namespace):
        namespace = namespace[:-1].rstrip("-") or namespace[0]
    return namespace
