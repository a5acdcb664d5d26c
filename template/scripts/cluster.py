"""What the cluster says about this service: its InferenceService, predictor pods and their events.

Read live with the kubernetes Python client (your kubeconfig), or from a snapshot file that
`make status` / `make doctor` record (RECORD=<file>) for the platform team to read (SNAPSHOT=<file>).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kubernetes import client, config

from scripts.service_facts import load_service

ISVC_GROUP, ISVC_VERSION, ISVC_PLURAL = "serving.kserve.io", "v1beta1", "inferenceservices"
ISVC_POD_LABEL = "serving.kserve.io/inferenceservice"


class ClusterUnavailable(Exception):
    """No kubeconfig, no access, or no such InferenceService: the message says which."""


@dataclass
class Snapshot:
    isvc: dict[str, Any]
    pods: list[client.V1Pod] = field(default_factory=list)
    events: list[client.CoreV1Event] = field(default_factory=list)

    def events_for(self, name: str) -> list[client.CoreV1Event]:
        return [event for event in self.events if event.involved_object and event.involved_object.name == name]


Report = Callable[[Snapshot, dict[str, Any]], int]  # prints a report, returns the exit code


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


def read_snapshot(path: Path) -> Snapshot:
    """A recorded snapshot: one `kind: List` JSON file holding the InferenceService, its pods and
    their events, as the API returns them. Pods and events are deserialised by the kubernetes
    client exactly as API responses are."""
    if not path.is_file():
        raise ClusterUnavailable(f"no snapshot file {path}")
    items = json.loads(path.read_text(encoding="utf-8")).get("items", [])
    deserializer = client.ApiClient()

    def typed(item: dict[str, Any], response_type: str) -> Any:
        return deserializer.deserialize(json.dumps(item), response_type, "application/json")

    isvcs = [item for item in items if item.get("kind") == "InferenceService"]
    if not isvcs:
        raise ClusterUnavailable(f"snapshot {path} holds no InferenceService")
    return Snapshot(
        isvcs[0],
        [typed(item, "V1Pod") for item in items if item.get("kind") == "Pod"],
        [typed(item, "CoreV1Event") for item in items if item.get("kind") == "Event"],
    )


def record_snapshot(snapshot: Snapshot, path: Path) -> None:
    """Write a snapshot file that read_snapshot reads back (kinds set, as `kubectl get -o json` has them)."""
    serializer = client.ApiClient()
    pods = [{"apiVersion": "v1", "kind": "Pod", **serializer.sanitize_for_serialization(pod)} for pod in snapshot.pods]
    events = [
        {"apiVersion": "v1", "kind": "Event", **serializer.sanitize_for_serialization(event)}
        for event in snapshot.events
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {"apiVersion": "v1", "kind": "List", "items": [snapshot.isvc, *pods, *events]}
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")


def read(service: dict[str, Any], snapshot: Path | None) -> Snapshot:
    return read_snapshot(snapshot) if snapshot else read_live(service["name"], service["namespace"])


def run_command(name: str, description: str, argv: list[str] | None, report: Report) -> int:
    """The command line `make status` and `make doctor` share: read the cluster or a snapshot
    (--snapshot), optionally record it (--record), then report; exit 2 when nothing can be read."""
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--snapshot", type=Path, help="read a recorded snapshot file instead of the cluster")
    parser.add_argument("--record", type=Path, help="also save what was read into this snapshot file")
    args = parser.parse_args(argv)
    service = load_service()
    try:
        snapshot = read(service, args.snapshot)
    except ClusterUnavailable as error:
        print(f"{name}: cannot read {service['name']} in {service['namespace']}: {error}", file=sys.stderr)
        return 2
    if args.record:
        record_snapshot(snapshot, args.record)
    return report(snapshot, service)
