"""`kserve-kit status` (`make status`): is the deployed service up? InferenceService conditions, URL
and predictor pods.

Legacy environments report Ready "Unknown" although the service and its route work (guideline
"Known Issues"): with the route conditions True that is reported as ready, with a note, not a failure.

    kserve-kit status [--snapshot FILE] [--record FILE] [--name NAME --namespace NS]
    exit 0: ready, 1: not ready (run `make doctor`), 2: cannot read the cluster or snapshot
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import Any

from kserve_kit.cluster.snapshot import Snapshot, Subject, run_report
from kserve_kit.cluster.snapshot import add_arguments as add_cluster_arguments

ROUTE_CONDITIONS = ("IngressReady", "PredictorRouteReady")
KNOWN_ISSUE = "Incorrect status “Unknown” of InferenceService resources on the legacy environments (lab & dev)"


@dataclass(frozen=True)
class Status:
    ready: bool
    headline: str
    details: list[str]


def conditions(isvc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {condition["type"]: condition for condition in (isvc.get("status") or {}).get("conditions", [])}


def ready_despite_unknown(snapshot: Snapshot, subject: Subject) -> bool:
    """The guideline's known issue: Ready "Unknown" on a legacy environment whose route is ready."""
    by_type = conditions(snapshot.isvc)
    return (
        subject.fact("ready_unknown_is_known_issue", False)
        and by_type.get("Ready", {}).get("status") == "Unknown"
        and any(by_type.get(kind, {}).get("status") == "True" for kind in ROUTE_CONDITIONS)
    )


def pod_line(pod: Any) -> str:
    statuses = pod.status.container_statuses or []
    ready = sum(1 for container in statuses if container.ready)
    restarts = sum(container.restart_count for container in statuses)
    return f"pod {pod.metadata.name}: {pod.status.phase}, {ready}/{len(statuses)} containers ready, {restarts} restarts"


def traffic(isvc: dict[str, Any]) -> tuple[list[str], str | None]:
    """The predictor's traffic split, one line per revision, while a canary is set (Knative mode); and
    what is wrong when the canary's revision failed (the previous one still serves)."""
    predictor = ((isvc.get("status") or {}).get("components") or {}).get("predictor") or {}
    targets = predictor.get("traffic") or []
    canary = ((isvc.get("spec") or {}).get("predictor") or {}).get("canaryTrafficPercent")
    if canary is None and len(targets) < 2:
        return [], None
    created, ready = predictor.get("latestCreatedRevision"), predictor.get("latestReadyRevision")
    lines = []
    for target in targets:
        revision = target.get("revisionName") or "?"
        if not target.get("latestRevision"):
            role = "previous revision"
        elif created and created != ready:  # Knative routes `latest` to the newest READY revision
            role = f"newest ready revision (the canary {created} is not ready)"
        else:
            role = "canary (newest revision)"
        tag = f", tag {target['tag']}: {target['url']}" if target.get("tag") and target.get("url") else ""
        lines.append(f"traffic: {target.get('percent', 0)}% -> {role} {revision}{tag}")
    latest = conditions(isvc).get("LatestDeploymentReady", {})
    problem = None
    if canary and created != ready and latest.get("status") == "False":  # starting up is Unknown, not False
        problem = (
            f"CANARY FAILED: revision {created} did not become ready ({latest.get('reason')}: "
            f"{latest.get('message')}); {ready or 'no revision'} serves. `make doctor`, then `make rollback`, "
            "or fix k8s/ and `make canary` again"
        )
    return lines or [f"traffic: canary at {canary}%, no split reported yet"], problem


def assess(snapshot: Snapshot, subject: Subject) -> Status:
    by_type = conditions(snapshot.isvc)
    ready = by_type.get("Ready", {})
    status = snapshot.isvc.get("status") or {}
    details = [f"URL: {status.get('url', '(none yet)')}"]
    if status.get("deploymentMode"):
        details.append(f"deployment mode: {status['deploymentMode']}")
    details += [
        f"{kind}={condition.get('status')}"
        + (f" ({condition.get('reason')}: {condition.get('message')})" if condition.get("status") != "True" else "")
        for kind, condition in sorted(by_type.items())
    ]
    split, canary_problem = traffic(snapshot.isvc)
    details += split
    details += [pod_line(pod) for pod in snapshot.pods] or ["no predictor pods (scaled to zero, or not created)"]
    if canary_problem:
        return Status(False, canary_problem, details)
    if ready.get("status") == "True":
        return Status(True, "READY", details)
    if ready_despite_unknown(snapshot, subject):
        note = (
            'READY: Ready is "Unknown", a known issue of legacy environments, and the route is ready '
            f"(guideline: {KNOWN_ISSUE}); `make smoke TARGET=internal` proves it answers"
        )
        return Status(True, note, details)
    reason = f"{ready.get('reason', '')}: {ready.get('message', '')}".strip(": ")
    return Status(False, f"NOT READY: Ready={ready.get('status', 'missing')} {reason}; run `make doctor`", details)


def print_status(snapshot: Snapshot, subject: Subject) -> int:
    status = assess(snapshot, subject)
    where = ", ".join(str(part) for part in (subject.namespace, subject.fact("environment")) if part)
    print(f"InferenceService {subject.name} ({where}): {status.headline}")
    for line in status.details:
        print(f"  {line}")
    return 0 if status.ready else 1


def run(args: argparse.Namespace) -> int:
    return run_report("status", args, print_status)


add_arguments = add_cluster_arguments
