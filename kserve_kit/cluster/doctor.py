"""`kserve-kit doctor` (`make doctor`): read the InferenceService, its pods, container states and
events, and map what is wrong to the onboarding guideline's FAQs and known fixes. Each finding says
what was seen, the fix, and where the guideline explains it. A service that is not ready for a
reason no check recognises is a finding too, with what was seen.

    kserve-kit doctor [--snapshot FILE] [--record FILE] [--name NAME --namespace NS]
    exit 0: ready and nothing wrong found, 1: findings, 2: cannot read the cluster or snapshot
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable, Iterator
from typing import Any

from kserve_kit.admission.knative import POD_FLAGS
from kserve_kit.checks.findings import Finding
from kserve_kit.checks.policy import registry_of
from kserve_kit.cluster import kserve_config
from kserve_kit.cluster.snapshot import Snapshot, Subject, run_report
from kserve_kit.cluster.snapshot import add_arguments as add_cluster_arguments
from kserve_kit.cluster.status import KNOWN_ISSUE, assess, conditions, ready_despite_unknown
from kserve_kit.service import contact

STORAGE_INITIALIZER, VAULT_AGENT_INIT, SERVER = "storage-initializer", "vault-agent-init", "kserve-container"
ISTIO_CNI = "Fix incompatibility with Istio CNI"
STORAGE_FAQ = "A storage initializer container cannot start"
PULL_FAILURES = {"ErrImagePull", "ImagePullBackOff", "InvalidImageName"}
TAG_RESOLUTION = re.compile(r"(?i)(resolv\w* (image|tag)|to digest|unable to fetch image)")
CONNECTION = re.compile(r"(?i)(connect|timed? ?out|unreachable|connection reset|EndpointConnectionError|no route)")
RECENT_EVENTS = 5


def _container_states(snapshot: Snapshot, name: str) -> Iterator[tuple[str, Any]]:
    for pod in snapshot.pods:
        statuses = [*(pod.status.init_container_statuses or []), *(pod.status.container_statuses or [])]
        for status in statuses:
            if status.name == name:
                yield pod.metadata.name, status


def _failure(status: Any) -> str | None:
    """How a container is failing (waiting in a back-off, or exited non-zero), else None."""
    state, last = status.state, status.last_state
    if state and state.waiting and state.waiting.reason in {"CrashLoopBackOff", "Error", *PULL_FAILURES}:
        message = state.waiting.message or ""
        terminated = last.terminated if last else None
        if terminated and terminated.exit_code:
            message = f"exit {terminated.exit_code}: {terminated.message or terminated.reason}"
        return f"{state.waiting.reason} ({message})" if message else state.waiting.reason
    if state and state.terminated and state.terminated.exit_code:
        return f"exit {state.terminated.exit_code}: {state.terminated.message or state.terminated.reason}"
    return None


def _storage_fix(subject: Subject) -> str:
    """Why a storage initializer fails, by where the model comes from."""
    storage, uri, vault = subject.fact("storage"), subject.fact("storage_uri"), subject.fact("vault")
    if storage == "pvc":
        return (
            f"the claim or path of {uri} is wrong: check the PersistentVolumeClaim exists in {subject.namespace} "
            "and is Bound (`kubectl get pvc`), and that the model is at that path on it"
        )
    if storage == "hf" and not vault:
        return (
            f"the storage initializer cannot download {uri}: check the model exists on Hugging Face's hub, that "
            "the cluster may reach huggingface.co, and, for a private or gated model, its token (vault=true)"
        )
    if vault:
        return f"the credentials for {uri} are invalid or missing: check them in Vault at {vault['secret_path']}"
    where = f"for {uri}" if uri else "for the model's storage"
    return f"the credentials {where} are invalid or missing: check the storage credentials secret"


def storage_initializer(snapshot: Snapshot, subject: Subject) -> Iterator[Finding]:
    # What the platform requires for Istio CNI (next-gen: the storage-initializer UID), from the facts.
    required = subject.policy("required_annotations") or {}
    annotations = snapshot.isvc.get("metadata", {}).get("annotations") or {}
    missing = [f'{key}: "{value}"' for key, value in required.items() if annotations.get(key) != value]
    for pod, status in _container_states(snapshot, STORAGE_INITIALIZER):
        failure = _failure(status)
        if failure is None:
            continue
        seen = f"init container {STORAGE_INITIALIZER} of pod {pod}: {failure}"
        if missing:
            fix = (
                f"add the annotation {', '.join(missing)} and allowPrivilegeEscalation: false "
                "(k8s/inference-service.yaml has them: redeploy with `make deploy`); with Istio CNI the "
                "init container cannot reach storage before Envoy is ready"
            )
            yield Finding("storage initializer cannot start (Istio CNI)", seen, fix, ISTIO_CNI)
        elif required and CONNECTION.search(failure):
            fix = (
                f"a connection failure with Istio CNI: check the annotation {', '.join(required)} reached the pod "
                "(`kubectl get pod -o yaml`) and that the namespace's workspace setup allows egress to storage"
            )
            yield Finding("storage initializer cannot reach storage", seen, fix, ISTIO_CNI)
        elif CONNECTION.search(failure):  # no Istio CNI here: the network, not the credentials
            fix = (
                f"the storage endpoint of {subject.fact('storage_uri') or 'the model'} did not answer: check the "
                f"endpoint and region in the storage configuration and that the mesh lets the pod reach it (ask "
                f"{contact(subject.facts, 'infra')}); credentials are not the cause of a connection failure"
            )
            yield Finding("storage initializer cannot reach storage", seen, fix, STORAGE_FAQ)
        else:
            title = (
                "storage initializer cannot start ("
                + ("volume claim" if subject.fact("storage") == "pvc" else "credentials")
                + ")"
            )
            yield Finding(title, seen, _storage_fix(subject), STORAGE_FAQ)


PVC_MISSING = re.compile(r'persistentvolumeclaim "([^"]+)" not found|unbound immediate PersistentVolumeClaims')
# The server finds nothing where the claim is mounted (FileNotFoundError, an empty model directory).
NO_MODEL = re.compile(r"(?i)(no such file or directory|FileNotFoundError|no model|model\S* (not found|does not exist))")


def model_volume(snapshot: Snapshot, subject: Subject) -> Iterator[Finding]:
    """A pvc:// model KServe mounts directly (no storage initializer: always since 0.16, and by
    enableDirectPvcVolumeMount before): the claim missing or unbound (the pod stays Pending), the
    volume not mountable (FailedMount), or nothing at the path (the server finds no model)."""
    uri = str(subject.fact("storage_uri") or "")
    if not uri.startswith("pvc://") or subject.fact("storage_initializer"):
        return
    claim, _, path = uri.removeprefix("pvc://").partition("/")
    section = STORAGE_FAQ
    for event in snapshot.events:
        message = event.message or ""
        if event.reason == "FailedScheduling" and PVC_MISSING.search(message):
            fix = (
                f"create the PersistentVolumeClaim {claim} in {subject.namespace}, or bind it (`kubectl get pvc "
                f"{claim} -n {subject.namespace}` must say Bound): the pod cannot be scheduled until then"
            )
            yield Finding("the model's volume claim is missing or unbound", f"event FailedScheduling: {message}", fix,
                          section)  # fmt: skip
        elif event.reason == "FailedMount":
            fix = (
                f"the volume of claim {claim} cannot be mounted on the node: check `kubectl describe pvc {claim} -n "
                f"{subject.namespace}` (access mode ReadOnlyMany or ReadWriteMany for more than one replica, the "
                "volume's zone)"
            )
            yield Finding("the model's volume cannot be mounted", f"event FailedMount: {message}", fix, section)
    for pod, status in _container_states(snapshot, SERVER):
        waiting = status.state.waiting if status.state else None
        failure = _failure(status)
        subpath = waiting and waiting.reason == "CreateContainerConfigError" and "subPath" in (waiting.message or "")
        if subpath or (failure and NO_MODEL.search(failure)):
            seen = f"pod {pod} {SERVER}: {waiting.message if subpath else failure}"
            fix = (
                f"nothing usable at {path or '/'} on claim {claim}: KServe mounts that path read-only at "
                f"{subject.fact('model_dir') or '/mnt/models'}; copy the model there (what `make train` writes) or "
                "correct storageUri in k8s/inference-service.yaml"
            )
            yield Finding("the model is not at its path on the volume claim", seen, fix, section)


# Knative's refusals (pkg/apis/serving/k8s_validation.go): a masked field, or a feature that is off.
MASKED_FIELDS = re.compile(r'must not set the field\(s\): ([^\n"]+)')
FEATURE_OFF = {
    "EmptyDir volume support is disabled": "kubernetes.podspec-volumes-emptydir",
    "Persistent volume claim support is disabled": "kubernetes.podspec-persistent-volume-claim",
    "Persistent volume write support is disabled": "kubernetes.podspec-persistent-volume-write",
    "HostPath volume support is disabled": "kubernetes.podspec-volumes-hostpath",
    "CSI volume support is disabled": "kubernetes.podspec-volumes-csi",
    "Image volume support is disabled": "kubernetes.podspec-volumes-image",
    "pod spec support for init-containers is off": "kubernetes.podspec-init-containers",
    "multi-container is off": "multi-container",
}


def _refused_flags(text: str) -> list[str] | None:
    """The config-features flags a Knative refusal names (possibly none: a field no flag admits), or
    None when the text is no Knative refusal."""
    if match := MASKED_FIELDS.search(text):
        fields = [path.strip().split(".")[-1] for path in match.group(1).split(",")]
        return [POD_FLAGS[field] for field in fields if field in POD_FLAGS]
    flags = [flag for message, flag in FEATURE_OFF.items() if message in text]
    return flags or None


def knative_refused(snapshot: Snapshot, subject: Subject) -> Iterator[Finding]:
    """Knative's webhook refused the revision KServe built (a pod-spec field its config-features keep
    off, kserve/kserve#1425): KServe reports it on the InferenceService's conditions and events."""
    texts = [f"{kind}: {c.get('message')}" for kind, c in conditions(snapshot.isvc).items() if c.get("message")]
    texts += [f"event {event.reason}: {event.message}" for event in snapshot.events if event.message]
    for text in texts:
        flags = _refused_flags(text)
        if flags is None:
            continue
        what = f"config-features keep {', '.join(flags)} off" if flags else "no feature flag admits that field"
        fix = (
            f"Knative's {what}: remove the field from k8s/ (`make validate` names each one the cluster refuses), "
            f"or ask {contact(subject.facts, 'infra')} to enable the flag and record it in the platform profile's "
            "knative.features, then `make update` and `make deploy`"
        )
        yield Finding("Knative refused the revision's pod spec", text, fix, kserve_config.CONFIG)
        return


DOMAIN_ERROR = re.compile(r'invalid domain name "([^"]+)"')


def derived_names(snapshot: Snapshot, subject: Subject) -> Iterator[Finding]:
    """A host KServe derives with a label past 63 characters (Standard mode: nothing is created)."""
    for event in snapshot.events:
        if match := DOMAIN_ERROR.search(event.message or ""):
            fix = (
                f"a DNS label of {match.group(1)} is over 63 characters: KServe creates no Deployment, Service or "
                "route. Rename the service or move it to a shorter namespace (`make validate` names the label)"
            )
            yield Finding("KServe cannot name the service's host", f"event {event.reason}: {event.message}", fix,
                          kserve_config.CONFIG)  # fmt: skip


def vault_injection(snapshot: Snapshot, subject: Subject) -> Iterator[Finding]:
    vault = subject.fact("vault")
    if not vault:
        return
    section = "Credential for Storage Initializer"
    for event in snapshot.events:
        if event.reason == "FailedCreate" and "serviceaccount" in (event.message or "").lower():
            fix = f"create service account {vault['service_account']}: `make deploy` applies k8s/service-account.yaml"
            yield Finding("Vault service account missing", event.message or "", fix, section)
    for pod in snapshot.pods:
        init_names = {container.name for container in pod.spec.init_containers or []}
        if VAULT_AGENT_INIT not in init_names:
            fix = (
                "the Vault Agent was not injected: check that the ServingRuntime's spec.annotations "
                "(vault.hashicorp.com/agent-inject) are deployed, the pod uses service account "
                f"{vault['service_account']}, and the Vault injector webhook serves this namespace"
            )
            yield Finding("Vault injection missing", f"pod {pod.metadata.name} has no {VAULT_AGENT_INIT}", fix, section)
    for pod, status in _container_states(snapshot, VAULT_AGENT_INIT):
        if failure := _failure(status):
            fix = (
                f"Vault login failed: the role {vault['role']} must be bound to service account "
                f"{vault['service_account']}, which needs the {vault['auth_delegator_role']} cluster role "
                f"(k8s/service-account.yaml); ask {contact(subject.facts, 'devrel')} to check the Vault role"
            )
            yield Finding("Vault agent cannot log in", f"{VAULT_AGENT_INIT} of pod {pod}: {failure}", fix, section)


def image_pull(snapshot: Snapshot, subject: Subject) -> Iterator[Finding]:
    allowed = subject.policy("allowed_registries")
    seen, images = [], set()
    for kind, condition in conditions(snapshot.isvc).items():
        message = condition.get("message") or ""
        if TAG_RESOLUTION.search(message):
            seen.append(f"{kind}: {message}")
            images.update(re.findall(r'image "([^"]+)"', message))
    for pod in snapshot.pods:
        for status in pod.status.container_statuses or []:
            if status.state and status.state.waiting and status.state.waiting.reason in PULL_FAILURES:
                seen.append(f"pod {pod.metadata.name} {status.name}: {status.state.waiting.reason} {status.image}")
                images.add(status.image)
    if not seen:
        return
    outside = sorted(image for image in images if allowed is not None and registry_of(image) not in allowed)
    if outside:
        fix = (
            f"push {', '.join(outside)} to an allowed registry ({', '.join(allowed)}): Knative resolves tags only there"
        )
    elif allowed is None:
        fix = "check the image's registry is one Knative may resolve tags on, that the tag exists, and pull credentials"
    else:
        fix = "the registry is allowed: check the image and tag exist (`make push`) and the pull credentials"
    yield Finding("image cannot be pulled or resolved", "; ".join(seen), fix, "Image Registries")


def api_unreachable(snapshot: Snapshot, subject: Subject) -> Iterator[Finding]:
    section = "An InferenceService pod is running, but its model API service is not accessible"
    hosts = subject.policy("allowed_python_hosts")
    for pod, status in _container_states(snapshot, SERVER):
        running = status.state and status.state.running
        probes = [event for event in snapshot.events_for(pod) if event.reason == "Unhealthy"]
        if running and not status.ready and (probes or status.restart_count):
            seen = f"pod {pod}: {SERVER} running but not ready, {status.restart_count} restarts"
            if probes:
                seen += f"; {probes[-1].message}"
            blocked = f"outside {', '.join(hosts)}" if hosts else "outside the hosts the mesh allows"
            fix = (
                f"the model server is probably failing to install Python packages at start-up, which the mesh "
                f"blocks {blocked}: install every dependency in the Dockerfile (this repo does) and, for "
                "TorchServe, keep install_py_dep_per_model=false"
            )
            yield Finding("pod running, model API not reachable", seen, fix, section)


GPU_SECTION = "Example Service: GPU InferenceService with S3 credential"
# What CUDA, torch and vLLM print when the model (and vLLM's KV cache) does not fit the GPU's memory.
OUT_OF_GPU_MEMORY = re.compile(
    r"(?i)(CUDA out of memory|OutOfMemoryError|CUDA error: out of memory|No available memory for the cache blocks|"
    r"KV cache (is needed|memory)|larger than the available KV cache)"
)


def gpu_not_scheduled(snapshot: Snapshot, subject: Subject) -> Iterator[Finding]:
    resource = subject.policy("gpu_resource")
    for event in snapshot.events:
        if resource and event.reason == "FailedScheduling" and f"Insufficient {resource}" in (event.message or ""):
            fix = (f"no node has a free {resource} for the pod: the GPUs are taken, or the GPU nodes do not match "
                   f"its node selector and tolerations; wait, lower max_replicas, or ask "
                   f"{contact(subject.facts, 'infra')} for GPU capacity")  # fmt: skip
            yield Finding("GPU not scheduled", f"event FailedScheduling: {event.message}", fix, GPU_SECTION)
            return


def out_of_memory(snapshot: Snapshot, subject: Subject) -> Iterator[Finding]:
    for pod, status in _container_states(snapshot, SERVER):
        for state in (status.state, status.last_state):
            terminated = state.terminated if state else None
            if not terminated:
                continue
            message = terminated.message or ""
            if OUT_OF_GPU_MEMORY.search(message):
                fix = ("the model does not fit the GPU's memory: with vLLM, lower --max-model-len or "
                       "--gpu-memory-utilization in k8s/serving-runtime.yaml's args; else a smaller model, a "
                       "quantized one, or a GPU with more memory")  # fmt: skip
                yield Finding("out of GPU memory", f"pod {pod}: {message.strip().splitlines()[-1]}", fix, GPU_SECTION)
                return
            if terminated.reason == "OOMKilled":
                fix = ("the server needs more memory than its limit: raise memory_limit (`make update "
                       'ARGS="--data memory_limit=<more>"`; every server process loads the model)')  # fmt: skip
                yield Finding("out of memory (killed)", f"pod {pod}: {SERVER} OOMKilled", fix, "FAQs")
                return


def startup_too_short(snapshot: Snapshot, subject: Subject) -> Iterator[Finding]:
    """The kubelet restarts a server still loading its model when the startup probe's patience runs out."""
    for event in snapshot.events:
        if event.reason == "Killing" and "failed startup probe" in (event.message or ""):
            fix = ("the model takes longer to load than the startup probe waits (failureThreshold x "
                   "periodSeconds of startupProbe in k8s/serving-runtime.yaml): raise failureThreshold, or load a "
                   "smaller model")  # fmt: skip
            yield Finding("startup probe too short", f"event Killing: {event.message}", fix, "FAQs")
            return


def route_status(snapshot: Snapshot, subject: Subject) -> Iterator[Finding]:
    if ready_despite_unknown(snapshot, subject):
        return  # the known issue: nothing to fix
    ready = conditions(snapshot.isvc).get("Ready", {})
    if ready.get("status") == "Unknown" and subject.fact("generation") == "legacy":
        fix = "Ready is Unknown but the route is not ready yet either: wait, then look at the findings above"
        yield Finding("InferenceService not ready yet", f"Ready=Unknown ({ready.get('message')})", fix, KNOWN_ISSUE)


CHECKS: list[Callable[[Snapshot, Subject], Iterator[Finding]]] = [
    storage_initializer,
    model_volume,
    knative_refused,
    derived_names,
    vault_injection,
    image_pull,
    api_unreachable,
    gpu_not_scheduled,
    out_of_memory,
    startup_too_short,
    route_status,
    *kserve_config.CHECKS,
]


def _what_was_seen(snapshot: Snapshot) -> str:
    """Conditions that are not True, the containers that are not ready, and the last events."""
    parts = [
        f"{kind}={condition.get('status')} ({condition.get('reason') or ''}: {condition.get('message') or ''})"
        for kind, condition in sorted(conditions(snapshot.isvc).items())
        if condition.get("status") != "True"
    ] or ["no status conditions yet"]
    for pod in snapshot.pods:
        statuses = [*(pod.status.init_container_statuses or []), *(pod.status.container_statuses or [])]
        for status in statuses:
            if not status.ready:
                state = status.state
                detail = (state.waiting and state.waiting.reason) or (state.terminated and state.terminated.reason)
                parts.append(f"pod {pod.metadata.name} {status.name}: {detail or 'running, not ready'}")
    if not snapshot.pods:
        parts.append("no predictor pods")
    events = sorted(snapshot.events, key=lambda event: str(event.last_timestamp or event.event_time or ""))
    parts += [f"event {event.reason}: {event.message}" for event in events[-RECENT_EVENTS:]]
    return "; ".join(parts)


def diagnose(snapshot: Snapshot, subject: Subject) -> list[Finding]:
    findings = [finding for check in CHECKS for finding in check(snapshot, subject)]
    if not findings and not assess(snapshot, subject).ready:
        fix = (
            "no known cause matched: read what was seen above, `kubectl describe inferenceservice "
            f"{subject.name} -n {subject.namespace}` and the predictor's logs; send `make doctor "
            f"RECORD=snapshot.json` to {contact(subject.facts, 'devrel')}"
        )
        findings.append(Finding("not ready, cause not recognised", _what_was_seen(snapshot), fix, "FAQs"))
    return findings


def print_findings(snapshot: Snapshot, subject: Subject) -> int:
    findings = diagnose(snapshot, subject)
    guideline = subject.fact("guideline") or {}
    for finding in findings:
        print(finding.render(guideline.get("url"), guideline.get("sections")))
    if not findings:
        known = ready_despite_unknown(snapshot, subject)
        note = " (Ready is Unknown: a known issue of legacy environments, not a fault)" if known else ""
        print(f"doctor: {subject.name} is ready and nothing wrong was found{note}")
    return 1 if findings else 0


def run(args: argparse.Namespace) -> int:
    return run_report("doctor", args, print_findings)


add_arguments = add_cluster_arguments
