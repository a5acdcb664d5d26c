"""KServe's validating webhooks for InferenceService (v1beta1) and ServingRuntime (v1alpha1), for the
cluster's KServe release, applied to what `kubectl apply -k k8s` would send.

The InferenceService validator sees the object after KServe's defaulter (the mutating webhook runs
first): since 0.17.0 the defaulter rewrites the old mode names (kserve/kserve#5025), which is modelled
here. Each rule cites pkg/apis/serving/v1beta1/inference_service_validation.go (ISVC_VALIDATION),
component.go (COMPONENT) or pkg/webhook/admission/servingruntime/servingruntime_webhook.go (SR_WEBHOOK)
at the releases where it holds.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from packaging.version import Version

from kserve_kit.admission.releases import is_true
from kserve_kit.checks.policy import Finding, Repo, predictor

ISVC_VALIDATION = "pkg/apis/serving/v1beta1/inference_service_validation.go"
COMPONENT = "pkg/apis/serving/v1beta1/component.go"
SR_WEBHOOK = "pkg/webhook/admission/servingruntime/servingruntime_webhook.go"
MODE_ANNOTATION = "serving.kserve.io/deploymentMode"
AUTOSCALER_CLASS = "serving.kserve.io/autoscalerClass"
KNATIVE_AUTOSCALER_CLASS = "autoscaling.knative.dev/class"
ISVC_NAME = re.compile(r"[a-z]([-a-z0-9]*[a-z0-9])?")  # IsvcNameFmt, every release
FRAMEWORKS = (
    "sklearn",
    "xgboost",
    "tensorflow",
    "pytorch",
    "triton",
    "onnx",
    "huggingface",
    "pmml",
    "lightgbm",
    "paddle",
    "model",
)


def _finding(where: str, message: str, source: str, release: str, warning: bool = False) -> Finding:
    return Finding(where, message, source, warning=warning, basis=f"KServe {release}")


def _mode_seen_by_validator(annotations: dict[str, str], release: Version) -> str | None:
    """The mode annotation after the defaulter: 0.17.0 rewrites the old names (#5025)."""
    mode = annotations.get(MODE_ANNOTATION)
    if release >= Version("0.17.0"):
        return {"RawDeployment": "Standard", "Serverless": "Knative"}.get(mode or "", mode)
    return mode


def whole(value: Any) -> int | None:
    """An integer field's value, or None where it is not one (the CRD schema check reports that)."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _autoscaling(component: dict[str, Any], annotations: dict[str, str], release: Version) -> Iterator[str]:
    """validateAutoScalingCompExtension: the raw-mode branch keys on the literal name the release
    calls it ("RawDeployment" before 0.16.0, "Standard" since), every other value on Knative's KPA."""
    raw_name = "Standard" if release >= Version("0.16.0") else "RawDeployment"
    metric, target = component.get("scaleMetric"), whole(component.get("scaleTarget"))
    mode = _mode_seen_by_validator(annotations, release)
    hpa = mode != raw_name and annotations.get(KNATIVE_AUTOSCALER_CLASS) == "hpa.autoscaling.knative.dev"
    if mode == raw_name:
        autoscaler = annotations.get(AUTOSCALER_CLASS)
        if autoscaler == "keda" and metric:
            yield "ScaleMetric is not supported for KEDA"
        hpa = autoscaler == "hpa"
        if not hpa:
            return
    if hpa:  # validateScalingHPACompExtension
        metric = metric or "cpu"
        if metric not in ("cpu", "memory"):
            yield f"[{metric}] is not a supported metric"
        elif target is not None and ((metric == "cpu" and target < 1) or target > 100):
            yield "the target utilization percentage should be a [1-100] integer"
        elif target is not None and metric == "memory" and target < 1:
            yield "the target memory should be greater than 1 MiB"
        return
    # validateScalingKPACompExtension
    if component.get("deploymentStrategy"):
        yield "customizing deploymentStrategy is only supported for raw deployment mode"
    metric = metric or "concurrency"
    if metric not in ("concurrency", "rps"):
        why = (
            f" (KServe {release} validates {mode!r} as Knative mode: it knows the raw mode only as {raw_name!r})"
            if mode in ("Standard", "RawDeployment")
            else ""
        )
        yield f"[{metric}] is not a supported metric{why}"
    elif metric == "rps" and target is not None and target < 1:
        yield "the target for rps should be greater than 1"


def _replicas(component: dict[str, Any]) -> Iterator[str]:
    """ComponentExtensionSpec.Validate: validateReplicas, containerConcurrency, logger (every release)."""
    low, high = whole(component.get("minReplicas", 1)), whole(component.get("maxReplicas", 0))
    if low is not None and low < 0:
        yield "'MinReplicas' cannot be less than 0"
    if high is not None and high < 0:
        yield "'MaxReplicas' cannot be less than 0"
    if low is not None and high and low > high:
        yield "'MinReplicas' cannot be greater than MaxReplicas"
    if (whole(component.get("containerConcurrency")) or 0) < 0:
        yield "parallelism cannot be less than 0"
    logger = component.get("logger")
    if logger is not None and (logger or {}).get("mode") not in ("all", "request", "response"):
        yield "invalid logger type"


def _implementations(component: dict[str, Any]) -> int:
    """GetImplementations: each framework field set (an explainer's `art`), plus each container named
    kserve-container; a component with neither takes its first container."""
    found = sum(1 for field in (*FRAMEWORKS, "art") if component.get(field) is not None)
    found += sum(1 for container in component.get("containers") or [] if container.get("name") == "kserve-container")
    return found or (1 if component.get("containers") else 0)


def _containers(component: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for field in FRAMEWORKS:
        if isinstance(component.get(field), dict):
            yield component[field]
    yield from component.get("containers") or []
    yield from component.get("initContainers") or []


def _blocked_env(containers: Iterator[dict[str, Any]]) -> Iterator[str]:
    """validateBlockedEnvVars (pkg/validation/env_policy.go, since 0.18.0, kserve/kserve#5340)."""
    for container in containers:
        for variable in container.get("env") or []:
            if variable.get("name") == "PYTHONPATH":
                name = container.get("name") or "kserve-container"
                yield f'setting PYTHONPATH in container "{name}" is not allowed for security reasons'


def inference_service_rules(repo: Repo, release: str) -> Iterator[Finding]:
    version = Version(release)
    for where, isvc in repo.of_kind("InferenceService"):
        name = str((isvc.get("metadata") or {}).get("name") or "")
        annotations = (isvc.get("metadata") or {}).get("annotations") or {}
        if not ISVC_NAME.fullmatch(name):
            yield _finding(
                where,
                f'the InferenceService "{name}" is invalid: a InferenceService name must consist of '
                "lower case alphanumeric characters or '-', and must start with alphabetical character",
                f"{ISVC_VALIDATION} validateInferenceServiceName",
                release,
            )
        allowed = ["hpa", "external", "keda", *(["none"] if version >= Version("0.15.1") else [])]
        if AUTOSCALER_CLASS in annotations and annotations[AUTOSCALER_CLASS] not in allowed:
            yield _finding(
                where,
                f"[{annotations[AUTOSCALER_CLASS]}] is not a supported autoscaler class type "
                f"(KServe {release} takes {', '.join(allowed)})",
                f"{ISVC_VALIDATION} validateInferenceServiceAutoscaler",
                release,
            )
        if version >= Version("0.18.0"):
            for component in ("predictor", "transformer", "explainer"):
                for message in _blocked_env(_containers((isvc.get("spec") or {}).get(component) or {})):
                    yield _finding(
                        where,
                        f"{message}: set it in the image (ENV) instead",
                        f"{ISVC_VALIDATION} validateBlockedEnvVars",
                        release,
                    )
        spec = predictor(isvc)
        named = [f for f in FRAMEWORKS if isinstance(spec.get(f), dict) and spec[f].get("name")]
        if version >= Version("0.16.0") and named:
            yield _finding(
                where,
                f"the 'name' field is not allowed in standard predictor: remove predictor.{named[0]}.name",
                f"{ISVC_VALIDATION} validatePredictor",
                release,
            )
        for component_name in ("predictor", "transformer", "explainer"):
            component = (isvc.get("spec") or {}).get(component_name)
            if component is None:
                continue
            if _implementations(component) != 1:
                yield _finding(
                    where,
                    f"exactly one of the implementations must be specified in {component_name} "
                    "(a model, a framework, or a container named kserve-container)",
                    f"{COMPONENT} validateExactlyOneImplementation",
                    release,
                )
            for message in [*_replicas(component), *_autoscaling(component, annotations, version)]:
                yield _finding(
                    where, f"{component_name}: {message}", f"{ISVC_VALIDATION} validateInferenceService", release
                )


STORAGE_URIS = "pkg/controller/v1beta1/inferenceservice/utils/utils.go"
MODELCAR = "pkg/webhook/admission/pod/storage_initializer_injector.go"
# The storage URI schemes the controller accepts beyond the first releases', by the release that added
# them (ValidateStorageURI's SupportedStorageURIPrefixList: hf:// from v0.15.0, not in v0.14.1).
STORAGE_SCHEMES_SINCE = {"hf://": "0.15.0"}


def storage_uri_rules(repo: Repo, control_plane: dict[str, Any]) -> Iterator[Finding]:
    """What the controller and the pod webhook do with the predictor's storageUri: a scheme the release
    does not know fails the InferenceService; oci:// without the modelcar goes to a storage initializer,
    which cannot read images."""
    release, config = control_plane["kserve"]["version"], control_plane["kserve"]["config"]
    for where, isvc in repo.of_kind("InferenceService"):
        uri = str((predictor(isvc).get("model") or {}).get("storageUri") or "")
        for scheme, since in STORAGE_SCHEMES_SINCE.items():
            if uri.startswith(scheme) and Version(release) < Version(since):
                yield _finding(where, f"KServe {release} does not support {scheme} storage ({uri}): its controller "
                               f"accepts it from {since}; copy the model to S3 or a volume claim",
                               f"{STORAGE_URIS} ValidateStorageURI", release)  # fmt: skip
        if uri.startswith("oci://") and not is_true(config.get("storageInitializer.enableModelcar")):
            message = (f"{uri} is served from a modelcar only where inferenceservice-config enables "
                       "storageInitializer.enableModelcar, which this cluster does not: ask the platform team, or "
                       "copy the model to S3 or a volume claim")  # fmt: skip
            yield _finding(where, message, f"{MODELCAR} InjectModelcar", release)


def serving_runtime_rules(repo: Repo, release: str) -> Iterator[Finding]:
    version = Version(release)
    for where, runtime in repo.of_kind("ServingRuntime"):
        spec = runtime.get("spec") or {}
        if spec.get("disabled"):
            continue  # the webhook admits a disabled runtime without any check
        # validateModelFormatPrioritySame: each autoSelect format against the first priority seen for its
        # name; the webhook runs it only while another ServingRuntime exists in the namespace: a warning.
        first: dict[str, Any] = {}
        for model_format in spec.get("supportedModelFormats") or []:
            if not model_format.get("autoSelect"):
                continue
            name, priority = model_format.get("name"), model_format.get("priority")
            seen = first.setdefault(name, priority)
            if seen is not None and priority is not None and priority != seen:
                yield _finding(
                    where,
                    f"different priorities assigned for the model format {name} under the servingruntime (refused "
                    "once another ServingRuntime exists in the namespace)",
                    f"{SR_WEBHOOK} validateModelFormatPrioritySame",
                    release,
                    warning=True,
                )
        if version >= Version("0.18.0"):
            containers = [*(spec.get("containers") or []), *((spec.get("workerSpec") or {}).get("containers") or [])]
            for message in _blocked_env(iter(containers)):
                yield _finding(
                    where,
                    f"{message}: set it in the image (ENV) instead",
                    f"{SR_WEBHOOK} validateBlockedEnvVars",
                    release,
                )


def mode_release_warnings(repo: Repo, release: str) -> Iterator[Finding]:
    """Releases on which the deployment-mode rename (kserve/kserve#4608, 0.16.0) refuses updates of
    live InferenceServices: validateDeploymentMode compares the annotation with `status.deploymentMode`."""
    version, source = Version(release), f"{ISVC_VALIDATION} validateDeploymentMode"
    if Version("0.16.0") <= version < Version("0.17.0"):
        yield _finding(
            "kserve-kit.yaml",
            f"the cluster runs KServe {release}: on 0.16 an InferenceService whose status KServe recorded under the "
            "new mode name but whose annotation keeps the old one (Serverless, RawDeployment) is refused on every "
            "update and even on delete (kserve/kserve#4798, 'deploymentMode cannot be changed'); 0.17.0 rewrites the "
            "old names (#5025): ask for KServe 0.17 or later",
            source,
            release,
            warning=True,
        )
    # 0.16 to 0.18 also refuse a new name over the status of an object created before 0.16 (#5427 fixed
    # it in 0.19): only services that lived through the rename meet it, so the deployment-mode migration
    # says it when it rewrites the name, not every validate (extensions/migrations/deployment_mode.py).
