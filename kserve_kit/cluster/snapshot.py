"""What the cluster says about one InferenceService: the object, its predictor pods and their events,
and KServe's cluster-wide configuration (the ConfigMap inferenceservice-config).

Read live with the kubernetes Python client (kubeconfig, or the pod's service account), or from a
snapshot file that `status` and `doctor` record (--record) for the platform team to read (--snapshot).
The service is the one in the current repo (its facts file and k8s/), or any InferenceService named
with --name and --namespace.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kubernetes import client, config

from kserve_kit import KitError
from kserve_kit.service import ISVC_POD_LABEL, Service

ISVC_GROUP, ISVC_VERSION, ISVC_PLURAL = "serving.kserve.io", "v1beta1", "inferenceservices"
KSERVE_CONFIG = "inferenceservice-config"  # KServe's ConfigMap, in the namespace KServe runs in
KNATIVE_FEATURES = "config-features"  # Knative Serving's feature flags, in its namespace
KSERVE_CONTROLLER = "kserve-controller-manager"  # KServe's controller Deployment: its image tag is the release


class ClusterUnavailable(Exception):
    """No kubeconfig, no access, or no such InferenceService: the message says which."""


@dataclass(frozen=True)
class Subject:
    """The InferenceService looked at, and what its facts file says (empty for any other service)."""

    name: str
    namespace: str
    facts: Mapping[str, Any] = field(default_factory=dict)

    def fact(self, key: str, default: Any = None) -> Any:
        return self.facts.get(key, default)

    def policy(self, key: str, default: Any = None) -> Any:
        return (self.facts.get("policy") or {}).get(key, default)


@dataclass
class Snapshot:
    isvc: dict[str, Any]
    pods: list[client.V1Pod] = field(default_factory=list)
    events: list[client.CoreV1Event] = field(default_factory=list)
    # KServe's cluster-wide configuration (ConfigMap inferenceservice-config), when it could be read.
    kserve_config: dict[str, Any] | None = None
    # Knative's config-features ConfigMap and KServe's controller Deployment, when they could be read.
    knative_features: dict[str, Any] | None = None
    kserve_controller: dict[str, Any] | None = None

    def events_for(self, name: str) -> list[client.CoreV1Event]:
        return [event for event in self.events if event.involved_object and event.involved_object.name == name]

    @property
    def identity(self) -> tuple[str, str]:
        metadata = self.isvc.get("metadata") or {}
        return str(metadata.get("name")), str(metadata.get("namespace") or "default")


Report = Callable[[Snapshot, Subject], int]  # prints a report, returns the exit code


def api_client(reading: bool = True) -> client.ApiClient:
    """The cluster's API; `reading`: status and doctor, which a recorded snapshot can stand in for."""
    try:
        config.load_kube_config()
    except Exception:  # noqa: BLE001 - fall back to the pod's service account, else explain
        try:
            config.load_incluster_config()
        except config.ConfigException as error:
            instead = "; or read a recorded snapshot with SNAPSHOT=<file> (make status/doctor)" if reading else ""
            raise ClusterUnavailable(
                f"no cluster {'to read' if reading else 'to change'}: no kubeconfig (set KUBECONFIG or log in with "
                f"your cluster's tool) and not running in a pod{instead}"
            ) from error
    return client.ApiClient()


def read_live(name: str, namespace: str, kserve_namespace: str = "kserve",
              knative_namespace: str | None = "knative-serving") -> Snapshot:  # fmt: skip
    api = api_client()
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
    return Snapshot(
        isvc, pods, events, read_config_map(api, KSERVE_CONFIG, kserve_namespace),
        read_config_map(api, KNATIVE_FEATURES, knative_namespace) if knative_namespace else None,
        read_controller(api, kserve_namespace),
    )  # fmt: skip


def read_config_map(api: client.ApiClient, name: str, namespace: str) -> dict[str, Any] | None:
    """A ConfigMap of the control plane as the API returns it, or None where the caller may not read
    it (owners often may not read the KServe or Knative namespace: doctor then says it could not compare)."""
    try:
        config_map = client.CoreV1Api(api).read_namespaced_config_map(name, namespace)
    except client.ApiException:
        return None
    return {"apiVersion": "v1", "kind": "ConfigMap", **api.sanitize_for_serialization(config_map)}


def read_controller(api: client.ApiClient, namespace: str) -> dict[str, Any] | None:
    try:
        deployment = client.AppsV1Api(api).read_namespaced_deployment(KSERVE_CONTROLLER, namespace)
    except client.ApiException:
        return None
    return {"apiVersion": "apps/v1", "kind": "Deployment", **api.sanitize_for_serialization(deployment)}


def read_snapshot(path: Path) -> Snapshot:
    """A recorded snapshot: one `kind: List` JSON file holding the InferenceService, its pods and
    their events, as the API returns them. Pods and events are deserialised by the kubernetes
    client exactly as API responses are."""
    if not path.is_file():
        raise ClusterUnavailable(f"no snapshot file {path}")
    try:
        items = json.loads(path.read_text(encoding="utf-8")).get("items", [])
    except (json.JSONDecodeError, AttributeError) as error:
        raise ClusterUnavailable(f"{path} is not a snapshot (a JSON List of API objects): {error}") from error
    deserializer = client.ApiClient()

    def typed(item: dict[str, Any], response_type: str) -> Any:
        return deserializer.deserialize(json.dumps(item), response_type, "application/json")

    isvcs = [item for item in items if item.get("kind") == "InferenceService"]
    if not isvcs:
        raise ClusterUnavailable(f"snapshot {path} holds no InferenceService")

    def named(kind: str, name: str) -> dict[str, Any] | None:
        found = [
            item for item in items if item.get("kind") == kind and (item.get("metadata") or {}).get("name") == name
        ]
        return found[0] if found else None

    return Snapshot(
        isvcs[0],
        [typed(item, "V1Pod") for item in items if item.get("kind") == "Pod"],
        [typed(item, "CoreV1Event") for item in items if item.get("kind") == "Event"],
        named("ConfigMap", KSERVE_CONFIG),
        named("ConfigMap", KNATIVE_FEATURES),
        named("Deployment", KSERVE_CONTROLLER),
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
    control_plane = [
        item for item in (snapshot.kserve_config, snapshot.knative_features, snapshot.kserve_controller) if item
    ]
    document = {"apiVersion": "v1", "kind": "List", "items": [snapshot.isvc, *pods, *events, *control_plane]}
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")


def subject_of(repo: Path, name: str | None, namespace: str | None) -> Subject:
    """The repo's service, or the InferenceService named on the command line (with the repo's facts
    only when it is the repo's own service)."""
    if name or namespace:
        if not (name and namespace):
            raise KitError("give both --name and --namespace (or neither, for this repo's service)")
        try:
            service = Service.load(repo)
            own = (service.name, service.namespace) == (name, namespace)
        except KitError:
            own = False
        return Subject(name, namespace, service.facts if own else {})
    service = Service.load(repo)
    return Subject(service.name, service.namespace, service.facts)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--snapshot", type=Path, help="read a recorded snapshot file instead of the cluster")
    parser.add_argument("--record", type=Path, help="also save what was read into this snapshot file")
    parser.add_argument("--name", help="any InferenceService's name (default: this repo's service)")
    parser.add_argument("--namespace", help="its namespace")


def run_report(command: str, args: argparse.Namespace, report: Report) -> int:
    """What `status` and `doctor` share: read the cluster or a snapshot (refusing a snapshot of
    another service), optionally record it, then report; exit 2 when nothing can be read."""
    subject = subject_of(args.repo, args.name, args.namespace)
    try:
        kserve_namespace = (subject.fact("kserve") or {}).get("namespace") or "kserve"
        knative = (subject.fact("control_plane") or {}).get("knative", {})
        knative_namespace = (knative or {}).get("namespace", "knative-serving") if knative is not None else None
        snapshot = (
            read_snapshot(args.snapshot)
            if args.snapshot
            else read_live(subject.name, subject.namespace, kserve_namespace, knative_namespace)
        )
    except ClusterUnavailable as error:
        print(f"{command}: cannot read {subject.name} in {subject.namespace}: {error}", file=sys.stderr)
        return 2
    if snapshot.identity != (subject.name, subject.namespace):
        name, namespace = snapshot.identity
        print(
            f"{command}: {args.snapshot} holds InferenceService {name} in {namespace}, not {subject.name} in "
            f"{subject.namespace}: pass --name {name} --namespace {namespace} to read it as that service",
            file=sys.stderr,
        )
        return 2
    if args.record:
        record_snapshot(snapshot, args.record)
    return report(snapshot, subject)
