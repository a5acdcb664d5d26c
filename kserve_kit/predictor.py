"""What the cluster runs for the service: the predictor container KServe makes from the
ServingRuntime's container and the InferenceService's model spec, and the pod around it.

`container-smoke` runs that container; `make scan` gives the pod to checkov, which does not know
KServe's custom resources (so the ServingRuntime and InferenceService alone would not be scanned).

    kserve-kit predictor-pod    # the predictor pod as YAML (without what KServe and Knative inject)
"""

from __future__ import annotations

import argparse
from typing import Any

import yaml

from kserve_kit.service import ISVC_POD_LABEL, NAME_PLACEHOLDER, Service


def predictor_container(service: Service) -> dict[str, Any]:
    """The ServingRuntime's container with the InferenceService's model spec over it, as KServe merges
    them: resources and securityContext key by key, env added, `{{.Name}}` filled in."""
    container = dict(service.runtime_container)
    model = service.model
    for key in ("resources", "securityContext"):
        merged = {**(container.get(key) or {})}
        for part, value in (model.get(key) or {}).items():
            merged[part] = {**merged.get(part, {}), **value} if isinstance(value, dict) else value
        if merged:
            container[key] = merged
    if model.get("env"):
        container["env"] = [*(container.get("env") or []), *model["env"]]
    container["args"] = [str(arg).replace(NAME_PLACEHOLDER, service.name) for arg in container.get("args") or []]
    return container


def predictor_pod(service: Service) -> dict[str, Any]:
    runtime = service.manifests.of_kind("ServingRuntime")[0].obj.get("spec", {})
    predictor = service.isvc.get("spec", {}).get("predictor", {})
    spec: dict[str, Any] = {"containers": [predictor_container(service)]}
    for key in ("serviceAccountName", "automountServiceAccountToken", "nodeSelector", "tolerations", "affinity"):
        if key in predictor or key in runtime:  # the InferenceService's over the ServingRuntime's
            spec[key] = predictor.get(key, runtime.get(key))
    if runtime.get("volumes"):
        spec["volumes"] = runtime["volumes"]
    metadata = {
        "name": f"{service.name}-predictor",
        "namespace": service.namespace,
        "labels": {**(service.isvc["metadata"].get("labels") or {}), ISVC_POD_LABEL: service.name},
        "annotations": {**(service.isvc["metadata"].get("annotations") or {}), **(runtime.get("annotations") or {})},
    }
    return {"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": spec}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    del parser  # no options


def run(args: argparse.Namespace) -> int:
    print(yaml.safe_dump(predictor_pod(Service.load(args.repo)), sort_keys=False), end="")
    return 0
