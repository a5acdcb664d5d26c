"""KServe's deployment modes: what each means to an InferenceService, as KServe itself defines it.

A platform profile says which mode each generation of clusters runs (`generations.<g>.deployment_mode`)
and which KServe release they run (`kserve.version`); everything that follows from the mode (the
annotation's value, the visibility label, the local gateway, the autoscaler and its metrics) is here,
once. KServe 0.16 renamed the modes (kserve/kserve#4608: Serverless -> Knative, RawDeployment ->
Standard, the default now Standard); earlier releases know only the old names, and a name a release
does not know is silently ignored (the cluster's default mode is used), so the name written follows
the target release. docs/decisions.md cites the sources.
"""

from __future__ import annotations

from dataclasses import dataclass

from packaging.version import Version

# The first KServe release that accepts "Knative" and "Standard" (annotation and ConfigMap).
NEW_NAMES_SINCE = Version("0.16.0")
DEPLOYMENT_MODE_ANNOTATION = "serving.kserve.io/deploymentMode"


@dataclass(frozen=True)
class DeploymentMode:
    name: str  # KServe's name since 0.16
    legacy_name: str  # the name before 0.16, still accepted (deprecated)
    summary: str  # what it is, for READMEs
    visibility_label: str  # InferenceService label whose value `cluster-local` keeps it off the ingress
    # A local gateway in front of in-cluster traffic (Knative's); Standard mode has none: in-cluster
    # clients call the predictor's Service directly.
    local_gateway: bool
    scale_metrics: tuple[str, ...]  # `scaleMetric` values the mode's autoscaler takes (SCALE_TARGETS)
    scale_to_zero: bool  # whether minReplicas 0 scales the predictor to zero
    autoscaler_class: str | None  # the `serving.kserve.io/autoscalerClass` annotation, where it applies
    # Knative's queue-proxy sidecar in front of the server: KServe points Prometheus at it and can
    # merge the server's metrics into its own (metric aggregation); without it, the pod is scraped directly.
    queue_proxy: bool
    canary_traffic: bool  # `canaryTrafficPercent` splits traffic between revisions (make canary)

    def name_for(self, kserve_version: str) -> str:
        """The mode's name as the target KServe release spells it."""
        return self.name if Version(kserve_version) >= NEW_NAMES_SINCE else self.legacy_name


MODES: dict[str, DeploymentMode] = {
    "knative": DeploymentMode(
        name="Knative",
        legacy_name="Serverless",
        summary="serverless over Knative: request-based autoscaling, scale to zero, revisions and canaries",
        visibility_label="networking.knative.dev/visibility",
        local_gateway=True,
        scale_metrics=("concurrency", "rps"),
        scale_to_zero=True,
        autoscaler_class=None,  # Knative's own autoscaler (KPA)
        queue_proxy=True,
        canary_traffic=True,
    ),
    "standard": DeploymentMode(
        name="Standard",
        legacy_name="RawDeployment",
        summary="a Kubernetes Deployment scaled by a HorizontalPodAutoscaler, no Knative",
        visibility_label="networking.kserve.io/visibility",
        local_gateway=False,
        scale_metrics=("cpu", "memory"),
        scale_to_zero=False,  # KServe runs at least one replica (minReplicas 0 is taken as 1)
        autoscaler_class="hpa",
        queue_proxy=False,
        canary_traffic=False,  # a Deployment rollout; KServe 0.20's spec.canary is not supported yet
    ),
}
# What `scaleTarget` counts for each `scaleMetric`.
SCALE_TARGETS = {
    "concurrency": "requests in flight per replica",
    "rps": "requests per second per replica",
    "cpu": "% average CPU utilisation (of the request)",
    "memory": "% average memory utilisation (of the request)",
}
NAMES = {name: key for key, mode in MODES.items() for name in (mode.name, mode.legacy_name)}


def names_for(kserve_version: str) -> dict[str, dict[str, str]]:
    """The mode names a KServe release accepts (name -> mode) and, of those, the deprecated ones
    (name -> the name to write instead): what `make validate` checks the annotation against."""
    if Version(kserve_version) < NEW_NAMES_SINCE:
        return {"accepted": {mode.legacy_name: key for key, mode in MODES.items()}, "deprecated": {}}
    return {
        "accepted": dict(NAMES),
        "deprecated": {mode.legacy_name: mode.name for mode in MODES.values()},
    }
