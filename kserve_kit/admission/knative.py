"""Knative Serving's admission of the pod spec KServe sends it (Knative mode only).

KServe's ksvc reconciler puts the predictor's pod spec, unchanged, into the Knative Service's revision
template (kserve/kserve reconcilers/knative/ksvc_reconciler.go, v0.15.2 and v0.17.0): the
ServingRuntime's nodeSelector, affinity, tolerations, volumes and imagePullSecrets (and schedulerName
since v0.17.0; utils.go MergePodSpec), with every pod-spec field of the InferenceService's predictor
over them. Knative's webhook then applies its field mask under the cluster's config-features flags
(knative/serving pkg/apis/serving/fieldmask.go, k8s_validation.go; pkg/apis/config/features.go), at
the release the profile names (1.15.2 for KServe 0.15-0.16, 1.21.1 since 0.17).
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterator
from typing import Any

from packaging.version import Version

from kserve_kit.admission.kserve import FRAMEWORKS, whole
from kserve_kit.admission.releases import enabled
from kserve_kit.checks.policy import Finding, Repo, predictor
from kserve_kit.service import Service

SOURCE = "pkg/apis/serving/fieldmask.go, k8s_validation.go"
PREFIX = "spec.template.spec"
# InferenceService predictor fields that are KServe's own, not the pod spec's (ComponentExtensionSpec,
# the implementations and the v0.16 additions).
KSERVE_FIELDS = {
    "minReplicas",
    "maxReplicas",
    "scaleTarget",
    "scaleMetric",
    "containerConcurrency",
    "timeout",
    "canaryTrafficPercent",
    "logger",
    "batcher",
    "labels",
    "annotations",
    "deploymentStrategy",
    "autoScaling",
    "storageUris",
    "workerSpec",
    *FRAMEWORKS,
    "name",
    "storageContainerName",
    "scaleMetricType",
}
POD_ALWAYS = {"containers", "volumes", "serviceAccountName", "imagePullSecrets", "enableServiceLinks"}
POD_FLAGS = {
    "affinity": "kubernetes.podspec-affinity",
    "topologySpreadConstraints": "kubernetes.podspec-topologyspreadconstraints",
    "hostAliases": "kubernetes.podspec-hostaliases",
    "nodeSelector": "kubernetes.podspec-nodeselector",
    "runtimeClassName": "kubernetes.podspec-runtimeclassname",
    "tolerations": "kubernetes.podspec-tolerations",
    "shareProcessNamespace": "kubernetes.podspec-shareprocessnamespace",
    "priorityClassName": "kubernetes.podspec-priorityclassname",
    "schedulerName": "kubernetes.podspec-schedulername",
    "initContainers": "kubernetes.podspec-init-containers",
    "dnsPolicy": "kubernetes.podspec-dnspolicy",
    "dnsConfig": "kubernetes.podspec-dnsconfig",
    "hostIPC": "kubernetes.podspec-hostipc",  # flags since 1.16.0: always refused before
    "hostPID": "kubernetes.podspec-hostpid",
    "hostNetwork": "kubernetes.podspec-hostnetwork",
}
CONTAINER_FIELDS = {
    "name",
    "args",
    "command",
    "env",
    "workingDir",
    "envFrom",
    "image",
    "imagePullPolicy",
    "livenessProbe",
    "ports",
    "readinessProbe",
    "resources",
    "securityContext",
    "startupProbe",
    "terminationMessagePath",
    "terminationMessagePolicy",
    "volumeMounts",
}
CONTAINER_SECURITY = {
    "capabilities",
    "readOnlyRootFilesystem",
    "runAsUser",
    "runAsGroup",
    "runAsNonRoot",
    "allowPrivilegeEscalation",
    "seccompProfile",
}
POD_SECURITY = {"runAsUser", "runAsGroup", "runAsNonRoot", "fsGroup", "supplementalGroups", "seccompProfile"}
VOLUME_FLAGS = {  # volume source -> the flag that admits it (validateVolume tests == Enabled)
    "emptyDir": "kubernetes.podspec-volumes-emptydir",
    "persistentVolumeClaim": "kubernetes.podspec-persistent-volume-claim",
    "hostPath": "kubernetes.podspec-volumes-hostpath",
    "csi": "kubernetes.podspec-volumes-csi",
    "image": "kubernetes.podspec-volumes-image",
}
VOLUME_ALWAYS = {"secret", "configMap", "projected"}
RESERVED_PORTS = {8012, 8013, 8022, 9090, 9091, 8008}  # pkg/networking/constants.go, profiling
RESERVED_ENV = {"PORT", "K_SERVICE", "K_CONFIGURATION", "K_REVISION"}
RESERVED_PATHS = {"/", "/dev", "/dev/log"}


def _merged_by_name(base: list[dict[str, Any]], over: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A strategic merge of two lists keyed by `name` (volumes, containers): `over`'s entry wins."""
    names = {item.get("name") for item in over}
    return [*(item for item in base if item.get("name") not in names), *over]


def _set_fields(obj: dict[str, Any], keep_false: set[str] = frozenset()) -> dict[str, Any]:
    """The fields Go's JSON encoding sends (omitempty): no null, empty string, list or map, and no
    false for plain (not pointer) booleans such as hostNetwork or stdin."""
    return {
        key: value
        for key, value in obj.items()
        if value not in (None, "", [], {}) and (value is not False or key in keep_false)
    }


def revision_pod_spec(service: Service, kserve_release: str) -> dict[str, Any] | None:
    """The pod spec KServe puts in the Knative Service (MergePodSpec: the ServingRuntime's scheduling
    fields and volumes, the predictor's pod-spec fields over them, the model container merged with the
    runtime's, the runtime's other containers after it); None when k8s/ has not exactly one
    InferenceService and one ServingRuntime (the structure checks report that)."""
    from kserve_kit.predictor import predictor_container

    runtimes = service.manifests.of_kind("ServingRuntime")
    if len(runtimes) != 1 or len(service.manifests.of_kind("InferenceService")) != 1:
        return None
    runtime = runtimes[0].obj.get("spec") or {}
    runtime_containers = runtime.get("containers") or []
    if not any(container.get("name") == "kserve-container" for container in runtime_containers):
        return None
    copied = ["nodeSelector", "affinity", "tolerations", "volumes", "imagePullSecrets"]
    if Version(kserve_release) >= Version("0.17.0"):
        copied.append("schedulerName")
    spec: dict[str, Any] = {key: runtime[key] for key in copied if key in runtime}
    pod = {key: value for key, value in predictor(service.isvc).items() if key not in KSERVE_FIELDS}
    volumes = _merged_by_name(spec.get("volumes") or [], pod.pop("volumes", None) or [])
    spec |= pod | {"volumes": volumes}
    sidecars = [c for c in runtime_containers if c.get("name") != "kserve-container"]
    extra = [c for c in pod.get("containers") or [] if c.get("name") != "kserve-container"]
    spec["containers"] = [predictor_container(service), *_merged_by_name(sidecars, extra)]
    spec = _set_fields(spec, keep_false={"automountServiceAccountToken"})
    spec["containers"] = [_set_fields(container) for container in spec.get("containers") or []]
    return spec


def _disallowed(path: str, fields: list[str], why: str) -> str:
    listed = ", ".join(f"{path}.{field}" for field in sorted(fields))
    return f"must not set the field(s): {listed} ({why})"


def _flag_hint(flag: str, features: dict[str, str]) -> str:
    return f"config-features {flag}: {features.get(flag, 'disabled')}; the profile's knative.features must enable it"


def _container_errors(
    path: str, container: dict[str, Any], features: dict[str, str], release: Version, user: bool
) -> Iterator[str]:
    extra = [key for key in container if key not in CONTAINER_FIELDS]
    if extra:
        yield _disallowed(path, extra, "Knative's container mask")
    context = container.get("securityContext") or {}
    reserved_env = RESERVED_ENV if user else RESERVED_ENV - {"PORT"}  # PORT is the user container's only
    allowed = CONTAINER_SECURITY | (
        {"privileged"} if release >= Version("1.17.0") and context.get("privileged") is False else set()
    )
    if extra := [key for key in context if key not in allowed]:
        yield _disallowed(f"{path}.securityContext", extra, "Knative's security-context mask")
    if (context.get("capabilities") or {}).get("add") and not enabled(
        features, "kubernetes.containerspec-addcapabilities", strictly=True
    ):
        yield _disallowed(
            f"{path}.securityContext.capabilities",
            ["add"],
            _flag_hint("kubernetes.containerspec-addcapabilities", features),
        )
    for index, variable in enumerate(container.get("env") or []):
        if variable.get("name") in reserved_env:
            yield f'"{variable["name"]}" is a reserved environment variable: {path}.env[{index}].name'
        refs = [key for key in ("fieldRef", "resourceFieldRef") if key in (variable.get("valueFrom") or {})]
        if refs and not enabled(features, "kubernetes.podspec-fieldref"):
            yield _disallowed(
                f"{path}.env[{index}].valueFrom", refs, _flag_hint("kubernetes.podspec-fieldref", features)
            )
    for index, port in enumerate(container.get("ports") or []):
        if whole(port.get("containerPort")) in RESERVED_PORTS:
            yield f"invalid value: {port['containerPort']} is a reserved port: {path}.ports[{index}].containerPort"
        if port.get("name", "") not in ("", "h2c", "http1"):
            yield f"Port name {port['name']} is not allowed: {path}.ports[{index}].name (empty, h2c or http1)"
        if extra := [key for key in port if key not in ("containerPort", "name", "protocol")]:
            yield _disallowed(f"{path}.ports[{index}]", extra, "Knative's port mask")
    for index, mount in enumerate(container.get("volumeMounts") or []):
        if mount.get("mountPath") and posixpath.normpath(str(mount["mountPath"])) in RESERVED_PATHS:
            yield f'mountPath "{mount["mountPath"]}" is a reserved path: {path}.volumeMounts[{index}].mountPath'


def pod_spec_errors(spec: dict[str, Any], features: dict[str, str], knative_release: str) -> Iterator[str]:
    """What Knative's webhook refuses in a revision's pod spec, with its message and the field's path."""
    release = Version(knative_release)
    for field in spec:
        if field in POD_ALWAYS or (field == "automountServiceAccountToken" and spec[field] is False):
            continue
        if field == "securityContext":
            allowed = (
                POD_SECURITY
                if enabled(features, "kubernetes.podspec-securitycontext")
                else ({"seccompProfile"} if enabled(features, "secure-pod-defaults") else set())
            )
            if not allowed:
                yield _disallowed(PREFIX, [field], _flag_hint("kubernetes.podspec-securitycontext", features))
            elif extra := [key for key in spec[field] or {} if key not in allowed]:
                yield _disallowed(f"{PREFIX}.securityContext", extra, "Knative's pod security-context mask")
            continue
        flag = POD_FLAGS.get(field)
        flag = flag if flag in features else None  # a flag the release does not have (hostIPC before 1.16)
        strict = field == "initContainers"
        if flag is None:
            yield _disallowed(PREFIX, [field], f"Knative {knative_release} never admits it")
        elif not enabled(features, flag, strictly=strict):
            yield _disallowed(PREFIX, [field], _flag_hint(flag, features))
    containers = spec.get("containers") or []
    for index, container in enumerate(containers):
        yield from _container_errors(f"{PREFIX}.containers[{index}]", container, features, release, index == 0)
    if sum(len(container.get("ports") or []) for container in containers) > 1:
        yield f"more than one container port is set: {PREFIX}.containers[*].ports (only one is allowed across all)"
    if len(containers) > 1 and not enabled(features, "multi-container", strictly=True):
        yield f"multi-container is off, but found {len(containers)} containers"
    mounted = {
        m.get("name") for c in [*containers, *(spec.get("initContainers") or [])] for m in c.get("volumeMounts") or []
    }
    for index, volume in enumerate(spec.get("volumes") or []):
        sources = [key for key in volume if key != "name"]
        if len(sources) != 1:
            yield f"expected exactly one, got {'both' if sources else 'neither'}: {PREFIX}.volumes[{index}]"
            continue
        source = sources[0]
        flag = VOLUME_FLAGS.get(source)
        flag = flag if flag in features else None  # hostPath before 1.17, csi before 1.18, image before 1.19
        if source not in VOLUME_ALWAYS and flag is None:
            yield _disallowed(f"{PREFIX}.volumes[{index}]", [source], "Knative's volume mask")
        elif flag and not enabled(features, flag, strictly=True):
            hint = _flag_hint(flag, features)
            yield f"{source} volume support is disabled, but found volume {volume.get('name')} ({hint})"
        elif (
            source == "persistentVolumeClaim"
            and not (volume[source] or {}).get("readOnly")
            and not enabled(features, "kubernetes.podspec-persistent-volume-write", strictly=True)
        ):
            yield (
                f"Persistent volume write support is disabled, but found persistent volume claim "
                f"{(volume[source] or {}).get('claimName')} that is not read-only"
            )
        if volume.get("name") not in mounted:
            yield f'volume with name "{volume.get("name")}" not mounted: {PREFIX}.volumes[{index}].name'


def knative_rules(repo: Repo, control_plane: dict[str, Any]) -> Iterator[Finding]:
    """The Knative webhook's refusals of the revision KServe would create (Knative mode only)."""
    knative = control_plane.get("knative")
    isvcs = repo.of_kind("InferenceService")
    if repo.service.deployment_mode != "knative" or knative is None or len(isvcs) != 1:
        return
    kserve_release = control_plane["kserve"]["version"]
    where, basis = isvcs[0][0], f"Knative {knative['version']}"
    spec = revision_pod_spec(repo.service, kserve_release)
    for message in pod_spec_errors(spec, knative["features"], knative["version"]) if spec else ():
        yield Finding(where, f"validation failed: {message}", SOURCE, basis=basis)
    timeout, most = whole(predictor(isvcs[0][1]).get("timeout")), int(knative.get("max_revision_timeout_seconds", 600))
    if timeout is not None and not 0 <= timeout <= most:
        yield Finding(
            where,
            f"validation failed: expected 0 <= {timeout} <= {most}: {PREFIX}.timeoutSeconds (config-defaults "
            "max-revision-timeout-seconds: the profile's knative.max_revision_timeout_seconds)",
            "pkg/apis/serving/v1/revision_validation.go",
            basis=basis,
        )
