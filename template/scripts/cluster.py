"""What the cluster says about this service: its InferenceService, predictor pods and their events.

Read live with the kubernetes Python client (your kubeconfig), or from a snapshot directory of
`kubectl get -o json` output (`inferenceservice.json`, `pods.json`, `events.json`), which
`make status` / `make doctor` can also record for the platform team: SNAPSHOT=<dir> RECORD=1.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kubernetes import client, config

ISVC_GROUP, ISVC_VERSION, ISVC_PLURAL = "serving.kserve.io", "v1beta1", "inferenceservices"
ISVC_POD_LABEL = "serving.kserve.io/inferenceservice"
SNAPSHOT_FILES = {"isvc": "inferenceservice.json", "pods": "pods.json", "events": "events.json"}


class ClusterUnavailable(Exception):
    """No kubeconfig, no access, or no such InferenceService: the message says which."""


@dataclass
class Snapshot:
    isvc: dict[str, Any]
    pods: list[client.V1Pod] = field(default_factory=list)
    events: list[client.CoreV1Event] = field(default_factory=list)

    def events_for(self, name: str) -> list[client.CoreV1Event]:
        return [event for event in self.events if event.involved_object and event.involved_object.name == name]


def _api_client() -> client.ApiClient:
    try:
        config.load_kube_config()
    except Exception:  # noqa: BLE001 - fall back to the pod's service account, else explain
        try:
            config.load_incluster_config()
        except config.ConfigException as error:
            raise ClusterUnavailable(f"no kubeconfig and not in a cluster: {error}") from error
    return client.ApiClient()


def read_live(name: str, namespace: str) -> Snapshot:
    api = _api_client()
    try:
        isvc = client.CustomObjectsApi(api).get_namespaced_custom_object(
            ISVC_GROUP, ISVC_VERSION, namespace, ISVC_PLURAL, name
        )
        core = client.CoreV1Api(api)
        pods = core.list_namespaced_pod(namespace, label_selector=f"{ISVC_POD_LABEL}={name}").items
        names = {name, f"{name}-predictor", *(pod.metadata.name for pod in pods)}
        events = [
            event
            for event in core.list_namespaced_event(namespace).items
            if event.involved_object and (event.involved_object.name or "").startswith(tuple(names))
        ]
    except client.ApiException as error:
        raise ClusterUnavailable(f"the API server answered {error.status} {error.reason}: {error.body}") from error
    return Snapshot(isvc, pods, events)


def read_snapshot(directory: Path) -> Snapshot:
    """A recorded snapshot, deserialised by the kubernetes client exactly as API responses are."""
    deserializer = client.ApiClient()

    def text(key: str) -> str | None:
        path = directory / SNAPSHOT_FILES[key]
        return path.read_text(encoding="utf-8") if path.is_file() else None

    isvc = text("isvc")
    if isvc is None:
        raise ClusterUnavailable(f"snapshot {directory} has no {SNAPSHOT_FILES['isvc']}")
    pods, events = text("pods"), text("events")
    return Snapshot(
        json.loads(isvc),
        deserializer.deserialize(pods, "V1PodList", "application/json").items if pods else [],
        deserializer.deserialize(events, "CoreV1EventList", "application/json").items if events else [],
    )


def record_snapshot(snapshot: Snapshot, directory: Path) -> None:
    """Write a snapshot that read_snapshot (and `kubectl`-shaped tooling) can read back."""
    serializer = client.ApiClient()
    directory.mkdir(parents=True, exist_ok=True)
    lists = {
        "isvc": snapshot.isvc,
        "pods": {"apiVersion": "v1", "kind": "List", "items": serializer.sanitize_for_serialization(snapshot.pods)},
        "events": {
            "apiVersion": "v1",
            "kind": "List",
            "items": serializer.sanitize_for_serialization(snapshot.events),
        },
    }
    for key, value in lists.items():
        (directory / SNAPSHOT_FILES[key]).write_text(json.dumps(value, indent=2), encoding="utf-8")


def read(service: dict[str, Any], snapshot_dir: Path | None) -> Snapshot:
    return read_snapshot(snapshot_dir) if snapshot_dir else read_live(service["name"], service["namespace"])
