"""Canary rollouts of a deployed service (Knative mode): a share of the traffic to the new revision,
then all of it, or none.

    kserve-kit deploy                # `make deploy`: kubectl apply -k k8s, ending a finished canary
    kserve-kit canary --percent 10   # `make canary PERCENT=10`: k8s/ as it is now, as a canary
    kserve-kit promote               # `make promote`: all traffic to the canary
    kserve-kit rollback              # `make rollback`: all traffic back to the previous revision

`canary` replaces the InferenceService (and the ServingRuntime, which holds the image) with what
k8s/ builds to, plus `canaryTrafficPercent` and tag routing: KServe creates a revision from the new
spec and sends it that share, the previous one keeps the rest (`make status` shows the split; `make
smoke TARGET=... CANARY=1` checks the new revision alone, by its `latest-` tag). `promote` removes
`canaryTrafficPercent` (100 % to the newest revision); `rollback` sets it to 0 (all to the previous
one: then revert k8s/ and `make deploy`, which removes the field again, or `make canary` once fixed).

KServe supports `canaryTrafficPercent` in Knative mode only; Standard mode replaces pods with a
Deployment rollout (`make deploy`), and KServe 0.20's `spec.canary` is not supported by the kit yet.
Exit codes: 0 done, 2 not done (no cluster, or refused: the message says why).
"""

from __future__ import annotations

import argparse
import copy
import shutil
import subprocess
from collections.abc import Callable
from typing import Any, Protocol

from kubernetes import client

from kserve_kit import KitError
from kserve_kit.cluster.snapshot import (
    ISVC_GROUP,
    ISVC_PLURAL,
    ISVC_VERSION,
    ClusterUnavailable,
    Snapshot,
    Subject,
    api_client,
)
from kserve_kit.cluster.status import assess
from kserve_kit.service import Service

TAG_ROUTING_ANNOTATION = "serving.kserve.io/enable-tag-routing"  # KServe tags the revisions latest/prev
RUNTIME_VERSION, RUNTIME_PLURAL = "v1alpha1", "servingruntimes"


class CustomObjects(Protocol):
    """The part of kubernetes.client.CustomObjectsApi a rollout uses."""

    def get_namespaced_custom_object(self, group: str, version: str, namespace: str, plural: str, name: str) -> Any: ...

    def replace_namespaced_custom_object(
        self, group: str, version: str, namespace: str, plural: str, name: str, body: Any
    ) -> Any: ...

    def patch_namespaced_custom_object(
        self, group: str, version: str, namespace: str, plural: str, name: str, body: Any
    ) -> Any: ...


def require_knative(service: Service) -> None:
    if not service.splits_traffic:
        mode = service.facts["deployment_mode"].get("name")
        raise KitError(
            f"{service.name} runs in {mode} mode: KServe's canaryTrafficPercent works in Knative mode only. "
            "`make deploy` rolls Standard-mode pods over one by one (a Deployment rollout)"
        )


def deployed(api: CustomObjects, service: Service) -> dict[str, Any]:
    try:
        return dict(api.get_namespaced_custom_object(ISVC_GROUP, ISVC_VERSION, service.namespace, ISVC_PLURAL,
                                                     service.name))  # fmt: skip
    except client.ApiException as error:
        if error.status == 404:
            raise KitError(
                f"{service.name} is not deployed in {service.namespace}: a canary needs a running revision to share "
                "traffic with. `make deploy` first"
            ) from None
        raise ClusterUnavailable(f"the API server answered {error.status} {error.reason}") from error


def canary_percent(isvc: dict[str, Any]) -> int | None:
    return ((isvc.get("spec") or {}).get("predictor") or {}).get("canaryTrafficPercent")


def start_canary(api: CustomObjects, service: Service, percent: int) -> str:
    """Replace the ServingRuntime and InferenceService with k8s/'s, the new revision taking `percent`."""
    require_knative(service)
    if not 1 <= percent <= 99:
        raise KitError(f"--percent must be from 1 to 99 (got {percent}): `make promote` sends 100, `make rollback` 0")
    live = deployed(api, service)
    if not assess(Snapshot(live), Subject(service.name, service.namespace, service.facts)).ready:
        raise KitError(
            f"{service.name} is not ready: a canary would share traffic with a broken revision. "
            "`make status` / `make doctor` first, or `make deploy` to replace it outright"
        )  # fmt: skip
    for runtime in service.manifests.of_kind("ServingRuntime"):
        name = runtime.obj["metadata"]["name"]
        current = api.get_namespaced_custom_object(ISVC_GROUP, RUNTIME_VERSION, service.namespace, RUNTIME_PLURAL, name)
        api.replace_namespaced_custom_object(ISVC_GROUP, RUNTIME_VERSION, service.namespace, RUNTIME_PLURAL, name,
                                             with_version(runtime.obj, current))  # fmt: skip
    wanted = copy.deepcopy(service.isvc)
    wanted["spec"]["predictor"]["canaryTrafficPercent"] = percent
    wanted["metadata"].setdefault("annotations", {})[TAG_ROUTING_ANNOTATION] = "true"
    api.replace_namespaced_custom_object(ISVC_GROUP, ISVC_VERSION, service.namespace, ISVC_PLURAL, service.name,
                                         with_version(wanted, live))  # fmt: skip
    return (
        f"canary: {percent}% of {service.name}'s traffic goes to the new revision, {100 - percent}% stays on the "
        "previous one. `make status` shows the split; `make smoke TARGET=internal CANARY=1` checks the new one; "
        "then `make promote` or `make rollback`"
    )


def with_version(wanted: dict[str, Any], live: dict[str, Any]) -> dict[str, Any]:
    """`wanted`'s spec as a replacement of `live`: the live metadata (its resourceVersion, so that the
    API refuses a stale replace; finalizers and owners others set) with `wanted`'s labels and
    annotations added."""
    body = copy.deepcopy(wanted)
    metadata = copy.deepcopy(live.get("metadata") or {})
    for key in ("labels", "annotations"):
        metadata[key] = {**(metadata.get(key) or {}), **(body["metadata"].get(key) or {})}
    body["metadata"] = metadata
    return body


def set_traffic(api: CustomObjects, service: Service, percent: int | None) -> str:
    """Promote (None: the field removed, so the newest revision takes all) or roll back (0)."""
    require_knative(service)
    live = deployed(api, service)
    if canary_percent(live) is None:
        raise KitError(f"{service.name} has no canary to {'promote' if percent is None else 'roll back'}: "
                       "`make canary PERCENT=10` starts one")  # fmt: skip
    patch = {"spec": {"predictor": {"canaryTrafficPercent": percent}}}  # a JSON merge patch: None deletes
    api.patch_namespaced_custom_object(ISVC_GROUP, ISVC_VERSION, service.namespace, ISVC_PLURAL, service.name, patch)
    if percent is None:
        return f"promote: all of {service.name}'s traffic goes to the new revision"
    return (
        f"rollback: all of {service.name}'s traffic goes back to the previous revision. The InferenceService still "
        "holds the new spec: revert k8s/ and `make deploy`, or fix it and `make canary` again"
    )


def deploy(api: CustomObjects, service: Service, apply: Callable[[], None]) -> str:
    """`make deploy`: apply k8s/, then remove a `canaryTrafficPercent` that `make canary` left and k8s/
    does not declare (kubectl apply never removes a field it did not set): otherwise, after a rollback,
    every later revision would get 0 % of the traffic."""
    apply()
    if not service.splits_traffic or canary_percent(service.isvc) is not None:
        return f"deployed {service.name}"
    if canary_percent(deployed(api, service)) is None:
        return f"deployed {service.name}"
    patch = {"spec": {"predictor": {"canaryTrafficPercent": None}}}
    api.patch_namespaced_custom_object(ISVC_GROUP, ISVC_VERSION, service.namespace, ISVC_PLURAL, service.name, patch)
    return f"deployed {service.name}, and ended the canary `make canary` started: all traffic goes to the new revision"


def kubectl_apply(service: Service) -> Callable[[], None]:
    def apply() -> None:
        if shutil.which("kubectl") is None:
            raise KitError("kubectl is not installed: install it, or apply k8s/ with your cluster's tool")
        if subprocess.run(["kubectl", "apply", "-k", str(service.root / "k8s")], check=False).returncode:
            raise KitError("kubectl apply -k k8s failed (its message is above)")

    return apply


def add_canary_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--percent", type=int, required=True, help="share of the traffic for the new revision (1-99)")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """promote and rollback take no options."""


def _run(args: argparse.Namespace, action: Callable[[CustomObjects, Service], str]) -> int:
    service = Service.load(args.repo)
    try:
        print(action(client.CustomObjectsApi(api_client(reading=False)), service))
    except ClusterUnavailable as error:
        raise KitError(str(error)) from None
    except client.ApiException as error:
        raise KitError(f"the API server refused it: {error.status} {error.reason} {error.body or ''}".strip()) from None
    return 0


def run_canary(args: argparse.Namespace) -> int:
    return _run(args, lambda api, service: start_canary(api, service, args.percent))


def run_promote(args: argparse.Namespace) -> int:
    return _run(args, lambda api, service: set_traffic(api, service, None))


def run_deploy(args: argparse.Namespace) -> int:
    return _run(args, lambda api, service: deploy(api, service, kubectl_apply(service)))


def run_rollback(args: argparse.Namespace) -> int:
    return _run(args, lambda api, service: set_traffic(api, service, 0))
