"""Answer validators. Each returns "" when the answer is fine, else a message that says how to fix it.

copier.yml calls them as Jinja filters/globals (registered in copier_hooks.py): Copier shows any
non-empty result as the question's error and asks again.
"""

from __future__ import annotations

import re
from typing import Any

from extensions.profile import available_platforms, load_profile

DNS_LABEL_MAX = 63
_DNS_1035 = re.compile(r"[a-z]([-a-z0-9]*[a-z0-9])?")
_DNS_1123 = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_LABEL_VALUE = re.compile(r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?")
_QUANTITY = re.compile(r"(\d+(\.\d+)?|\.\d+)(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?")
_IMAGE_REPOSITORY = re.compile(r"[a-z0-9]+([._-][a-z0-9]+)*(:\d+)?(/[a-z0-9]+([._-]+[a-z0-9]+)*)+")
_STORAGE_PREFIX = {"s3": "s3://", "pvc": "pvc://"}
_VAULT_PATH = re.compile(r"[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)+")
DESCRIPTION_MAX = 200


def platform_error(platform: str) -> str:
    """A profile that exists in platforms/."""
    if platform not in available_platforms():
        return f"Unknown platform {platform!r}: choose one of {', '.join(available_platforms())} (platforms/*.yml)"
    return ""


def external_host_label(service_name: str, namespace: str, platform: str) -> str:
    """First DNS label of the external hostname ("External Access"): the one with a 63-character cap."""
    suffix = load_profile(platform)["external_host_suffix"]
    return f"{service_name}-predictor-{namespace}-{suffix}"


def _dns_error(kind: str, value: str, pattern: re.Pattern[str], rule: str) -> str:
    if not value:
        return f"{kind} is required"
    if len(value) > DNS_LABEL_MAX:
        return f"{kind} {value!r} is {len(value)} characters; the limit is {DNS_LABEL_MAX}"
    if not pattern.fullmatch(value):
        return f"{kind} {value!r} is not a DNS label: {rule}"
    return ""


def service_name_error(service_name: str, platform: str) -> str:
    """DNS-1035 label (KServe's rule for InferenceService names) that leaves room for a namespace."""
    error = _dns_error(
        "The service name",
        service_name,
        _DNS_1035,
        "use lower-case letters, digits and '-', start with a letter, end with a letter or digit "
        "(e.g. 'iris-classifier')",
    )
    if error:
        return error
    # The shortest possible namespace (one character) must still fit the external hostname.
    over = len(external_host_label(service_name, "x", platform)) - DNS_LABEL_MAX
    if over > 0:
        return (
            f"The service name is {over} characters too long: the external hostname "
            f"'{external_host_label(service_name, '<namespace>', platform)}' must fit in "
            f"{DNS_LABEL_MAX} characters even with a one-character namespace"
        )
    return ""


def namespace_error(namespace: str, service_name: str, platform: str) -> str:
    """DNS-1123 label; with the service name it must fit the external hostname's label budget."""
    error = _dns_error(
        "The namespace",
        namespace,
        _DNS_1123,
        "use lower-case letters, digits and '-', start and end with a letter or digit (e.g. 'vision-ai')",
    )
    if error:
        return error
    label = external_host_label(service_name, namespace, platform)
    over = len(label) - DNS_LABEL_MAX
    if over > 0:
        return (
            f"The external hostname label '{label}' is {len(label)} characters; DNS allows "
            f"{DNS_LABEL_MAX}. Shorten the service name and/or namespace by {over} characters "
            "(guideline: External Access)."
        )
    return ""


def label_value_error(what: str, value: str) -> str:
    """A Kubernetes label value (used for the owner/team label)."""
    if not value:
        return f"{what} is required"
    if len(value) > DNS_LABEL_MAX or not _LABEL_VALUE.fullmatch(value):
        return (
            f"{what} {value!r} must be at most {DNS_LABEL_MAX} characters of letters, digits, "
            "'-', '_' or '.', starting and ending with a letter or digit (e.g. 'vision-ai')"
        )
    return ""


def description_error(description: str) -> str:
    """One printable line of at most 200 characters."""
    if not description.strip():
        return "The description is required: one sentence on what the model does"
    if "\n" in description or "\r" in description:
        return "The description must be a single line"
    if not description.isprintable():
        return "The description must contain only printable characters (no control characters)"
    if len(description) > DESCRIPTION_MAX:
        return f"The description is {len(description)} characters; keep it under {DESCRIPTION_MAX}"
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


def resources_error(what: str, request: str, limit: str) -> str:
    """Request and limit are Kubernetes quantities and the request does not exceed the limit."""
    for name, value in (("request", request), ("limit", limit)):
        if not _QUANTITY.fullmatch(str(value)):
            return (
                f"The {what} {name} {value!r} is not a Kubernetes quantity "
                f"(e.g. {'500m or 2' if what == 'CPU' else '512Mi or 2Gi'})"
            )
        if quantity_to_float(str(value)) <= 0:
            return f"The {what} {name} must be greater than zero"
    if quantity_to_float(str(request)) > quantity_to_float(str(limit)):
        return f"The {what} request {request} is larger than the limit {limit}"
    return ""


def replicas_error(min_replicas: Any, max_replicas: Any) -> str:
    """0 <= min <= max, max >= 1 (min 0 lets Knative scale the service to zero)."""
    try:
        low, high = int(min_replicas), int(max_replicas)
    except (TypeError, ValueError):
        return "Replica counts must be whole numbers"
    if low < 0:
        return "The minimum replica count cannot be negative (0 allows scale to zero)"
    if high < 1:
        return "The maximum replica count must be at least 1"
    if low > high:
        return f"The minimum replica count {low} is larger than the maximum {high}"
    return ""


def storage_uri_error(storage_uri: str, model_storage: str) -> str:
    """`s3://bucket/path` or `pvc://claim/path`, matching the storage answer."""
    prefix = _STORAGE_PREFIX[model_storage]
    rest = storage_uri.removeprefix(prefix)
    if (
        not storage_uri.startswith(prefix)
        or not rest
        or rest.startswith("/")
        or any(character.isspace() for character in rest)
    ):
        example = "s3://my-bucket/models/iris" if model_storage == "s3" else "pvc://my-claim/models/iris"
        return f"The storage URI {storage_uri!r} must look like {example}"
    return ""


def image_repository_error(image_repository: str, platform: str) -> str:
    """An image repository (no tag) on a registry the platform allows ("Image Registries")."""
    if ":" in image_repository.rsplit("/", 1)[-1] or "@" in image_repository:
        return "Give the image repository without a tag or digest: `make image` sets the tag"
    if not _IMAGE_REPOSITORY.fullmatch(image_repository):
        return (
            f"{image_repository!r} is not an image repository: use registry/path/name "
            "in lower case (e.g. ghcr.io/my-team/iris-classifier)"
        )
    allowed = load_profile(platform)["allowed_registries"]
    registry = image_repository.split("/", 1)[0]
    if registry not in allowed:
        return (
            f"Registry {registry!r} is not allowed: Knative cannot resolve image tags there "
            f"(guideline: Image Registries). Use one of: {', '.join(allowed)}"
        )
    return ""


def vault_path_error(vault_secret_path: str) -> str:
    """A Vault KV path such as `secret/data/vision-ai/s3`: never a credential value."""
    if not _VAULT_PATH.fullmatch(vault_secret_path):
        return (
            f"{vault_secret_path!r} is not a Vault secret path: use segments of letters, digits, "
            "'_', '-' or '.' separated by '/' (e.g. secret/data/vision-ai/s3)"
        )
    return ""
