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

# ModelSpec's own fields: everything else in `predictor.model` is a container field (it inlines
# corev1.Container), which KServe merges over the ServingRuntime's container.
MODEL_FIELDS = {"modelFormat", "runtime", "protocolVersion", "storageUri", "storage"}


def predictor_container(service: Service) -> dict[str, Any]:
    """The ServingRuntime's container with the InferenceService's model spec over it, as KServe merges
    them: mappings (resources, securityContext) key by key, lists (env, volumeMounts) added with the
    model's entry winning per name, other fields replaced; `{{.Name}}` filled in."""
    container = dict(service.runtime_container)
    for key, value in service.model.items():
        if key in MODEL_FIELDS:
            continue
        if isinstance(value, dict):
            merged = {**(container.get(key) or {})}
            for part, inner in value.items():
                merged[part] = {**merged.get(part, {}), **inner} if isinstance(inner, dict) else inner
            container[key] = merged
        elif isinstance(value, list):
            names = {item.get("name") for item in value if isinstance(item, dict)}
            kept = [
                item for item in container.get(key) or [] if not isinstance(item, dict) or item.get("name") not in names
            ]
            container[key] = [*kept, *value]
        else:
            container[key] = value
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
