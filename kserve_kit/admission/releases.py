"""Upstream facts per release: the values KServe's `inferenceservice-config` and Knative's
`config-features` ship with, and which Knative release each KServe release installs.

A platform profile states what its cluster sets (`kserve.config`, `knative.features`) and marks what
it has not confirmed; where it says nothing, the release's shipped default applies (and is, by
definition, unconfirmed). `control_plane()` merges the two into the facts file's `control_plane`,
which validate and doctor read. Sources are cited per value, read at the release tags.
"""

from __future__ import annotations

from typing import Any

from packaging.version import Version

# KServe's release -> the Knative Serving release its install and CI use (kserve/kserve
# hack/quick_install.sh@v0.15.2 KNATIVE_SERVING_VERSION=1.15.2, kserve-deps.env@v0.16.0 1.15.2,
# kserve-deps.env@v0.17.0 KNATIVE_SERVING_VERSION=1.21.1, the same to v0.20.0).
KNATIVE_FOR_KSERVE = (("0.17.0", "1.21.1"), ("0.0", "1.15.2"))

# inferenceservice-config keys the kit renders by (direct PVC mount, the domain template) or that
# `make doctor` compares because they change what a service gets (modelcar, metrics, ingress class),
# as KServe spells them (<document>.<key>),
# with the value kserve/kserve config/configmap/inferenceservice.yaml ships, from the release given.
KSERVE_CONFIG_DEFAULTS: dict[str, tuple[tuple[str, Any], ...]] = {
    # "true" from v0.12.0 to v0.15.2; the key was removed in v0.16.0 (kserve/kserve#4694): from then
    # on a pvc:// model is always mounted directly, with no storage initializer.
    "storageInitializer.enableDirectPvcVolumeMount": (("0.12.0", True), ("0.0", False)),
    # "enableModelcar": true since v0.15.2 (kserve/kserve#4316), "uidModelcar": 1010 since v0.16.0.
    "storageInitializer.enableModelcar": (("0.15.2", True), ("0.0", False)),
    # metricsAggregator: { "enableMetricAggregation": "false", "enablePrometheusScraping" : "false" }
    # at v0.15.2, v0.16.0 and v0.17.0 (pkg/webhook/admission/pod/metrics_aggregate_injector.go reads them).
    "metricsAggregator.enableMetricAggregation": (("0.0", "false"),),
    "metricsAggregator.enablePrometheusScraping": (("0.0", "false"),),
    # ingress: KServe's own host template (Standard mode) and Ingress class, the same v0.15.2-v0.17.0.
    "ingress.domainTemplate": (("0.0", "{{ .Name }}-{{ .Namespace }}.{{ .IngressDomain }}"),),
    "ingress.ingressClassName": (("0.0", "istio"),),
}

# Knative Serving's config-features flags (pkg/apis/config/features.go defaultFeaturesConfig), with
# the release that introduced each where it is not in 1.15; every one ships "disabled" except those
# marked. `kubernetes.podspec-dryrun` ("allowed") was removed in 1.20.0.
_KNATIVE_FLAGS: tuple[tuple[str, str, str | None], ...] = (
    ("multi-container", "enabled", None),
    ("multi-container-probing", "disabled", None),
    ("kubernetes.podspec-affinity", "disabled", None),
    ("kubernetes.podspec-topologyspreadconstraints", "disabled", None),
    ("kubernetes.podspec-hostaliases", "disabled", None),
    ("kubernetes.podspec-nodeselector", "disabled", None),
    ("kubernetes.podspec-tolerations", "disabled", None),
    ("kubernetes.podspec-fieldref", "disabled", None),
    ("kubernetes.podspec-runtimeclassname", "disabled", None),
    ("kubernetes.podspec-dnspolicy", "disabled", None),
    ("kubernetes.podspec-dnsconfig", "disabled", None),
    ("kubernetes.podspec-securitycontext", "disabled", None),
    ("kubernetes.podspec-shareprocessnamespace", "disabled", None),
    ("kubernetes.podspec-priorityclassname", "disabled", None),
    ("kubernetes.podspec-schedulername", "disabled", None),
    ("kubernetes.containerspec-addcapabilities", "disabled", None),
    ("kubernetes.podspec-volumes-emptydir", "enabled", None),
    ("kubernetes.podspec-init-containers", "disabled", None),
    ("kubernetes.podspec-persistent-volume-claim", "disabled", None),
    ("kubernetes.podspec-persistent-volume-write", "disabled", None),
    ("kubernetes.podspec-hostipc", "disabled", "1.16.0"),
    ("kubernetes.podspec-hostpid", "disabled", "1.16.0"),
    ("kubernetes.podspec-hostnetwork", "disabled", "1.16.0"),
    ("kubernetes.podspec-volumes-hostpath", "disabled", "1.17.0"),
    ("kubernetes.podspec-volumes-csi", "disabled", "1.18.0"),
    ("kubernetes.podspec-volumes-mount-propagation", "disabled", "1.18.0"),
    ("kubernetes.podspec-volumes-image", "disabled", "1.19.0"),
    ("secure-pod-defaults", "disabled", None),
)


# The InferenceService (pod) annotation that wins over metricsAggregator.enablePrometheusScraping
# (pkg/webhook/admission/pod/metrics_aggregate_injector.go, v0.15.2-v0.17.0).
PROMETHEUS_SCRAPING_ANNOTATION = "serving.kserve.io/enable-prometheus-scraping"


def _since(table: tuple[tuple[str, Any], ...], version: str) -> Any:
    """The value of the newest entry whose release is not after `version` (tables run newest first)."""
    return next(value for since, value in table if Version(version) >= Version(since))


def knative_release_for(kserve_version: str) -> str:
    return str(_since(KNATIVE_FOR_KSERVE, kserve_version))


def kserve_config_defaults(version: str) -> dict[str, Any]:
    return {key: _since(table, version) for key, table in KSERVE_CONFIG_DEFAULTS.items()}


def knative_feature_defaults(version: str) -> dict[str, str]:
    flags = {
        name: value for name, value, since in _KNATIVE_FLAGS if since is None or Version(version) >= Version(since)
    }
    if Version(version) < Version("1.20.0"):
        flags["kubernetes.podspec-dryrun"] = "allowed"
    return flags


def control_plane(kserve: dict[str, Any], knative: dict[str, Any] | None, unconfirmed: set[str]) -> dict[str, Any]:
    """The cluster's control plane as the kit models it: the profile's statements over the releases'
    defaults. `unconfirmed` lists, as dotted keys, every value the platform has not confirmed: those
    the profile marks (`kserve.config`, a single `knative.features.<flag>`, ...) and every default."""
    stated_config = kserve.get("config") or {}
    unknown = sorted(set(stated_config) - set(KSERVE_CONFIG_DEFAULTS))
    if unknown:
        raise ValueError(
            f"kserve.config: {', '.join(unknown)} unknown: the kit reads {', '.join(KSERVE_CONFIG_DEFAULTS)}"
        )
    if "storageInitializer.enableDirectPvcVolumeMount" in stated_config and Version(kserve["version"]) >= Version(
        "0.16.0"
    ):
        raise ValueError(
            "kserve.config: KServe 0.16.0 removed storageInitializer.enableDirectPvcVolumeMount (kserve/kserve#4694: "
            "a pvc:// model is always mounted directly): remove it from the profile"
        )
    config = kserve_config_defaults(kserve["version"]) | stated_config
    doubts = {f"kserve.config.{key}" for key in config if key not in stated_config}
    doubts |= {
        f"kserve.config.{key}" for key in stated_config if {"kserve.config", f"kserve.config.{key}"} & unconfirmed
    }
    result: dict[str, Any] = {"kserve": {"version": kserve["version"], "config": config}, "knative": None}
    if knative is not None:
        version = str(knative.get("version") or knative_release_for(kserve["version"]))
        stated = knative.get("features") or {}
        features = knative_feature_defaults(version) | stated
        doubts |= {f"knative.features.{flag}" for flag in features if flag not in stated}
        doubts |= {
            f"knative.features.{flag}"
            for flag in stated
            if {"knative.features", f"knative.features.{flag}"} & unconfirmed
        }
        if "version" not in knative or "knative.version" in unconfirmed:
            doubts.add("knative.version")
        result["knative"] = {
            "version": version,
            "namespace": knative.get("namespace", "knative-serving"),
            "features": features,
            # config-defaults max-revision-timeout-seconds (pkg/apis/config/defaults.go: 600 as shipped)
            "max_revision_timeout_seconds": int(knative.get("max_revision_timeout_seconds", 600)),
        }
    if "kserve.version" in unconfirmed:
        doubts.add("kserve.version")
    result["unconfirmed"] = sorted(doubts)
    return result


def is_true(value: Any) -> bool:
    """A configuration value as KServe reads it: true, or the string "true" (any case)."""
    return str(value).lower() == "true"


def enabled(features: dict[str, str], flag: str, *, strictly: bool = False) -> bool:
    """Whether a Knative feature flag lets the field through: the field mask tests `!= Disabled`,
    several validators `== Enabled` (`strictly`); values are case-insensitive (features.go asFlag)."""
    value = str(features.get(flag, "disabled")).lower()
    return value == "enabled" if strictly else value != "disabled"


def of_facts(facts: dict[str, Any], mode: str) -> dict[str, Any]:
    """The facts file's `control_plane`; for a facts file written by hand without one, the shipped
    defaults of its KServe release (and of the Knative release it installs, in Knative mode)."""
    if facts.get("control_plane"):
        return dict(facts["control_plane"])
    kserve = facts.get("kserve") or {}
    return control_plane({"version": str(kserve.get("version") or "0.15.2")}, {} if mode == "knative" else None, set())
