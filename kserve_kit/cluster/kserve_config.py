"""What `make doctor` checks between the service and the control plane's own view of the cluster: the
deployment mode the InferenceService was created in, KServe's release (its controller's image) and
cluster-wide configuration (ConfigMap inferenceservice-config: the default deployment mode, ingress or
Gateway API, the domain, the predictor Service, the storage initializer, metrics), and Knative's
feature flags (ConfigMap config-features), each against the facts file's `control_plane` (the
profile's statements and the releases' defaults). Each mismatch would make the service, or what the
kit says about it (endpoints, smoke targets, what validate admits), wrong; each finding says what to do.

The ConfigMap's values are JSON documents, one per key (deploy, ingress, service, storageInitializer),
as KServe ships them (config/configmap/inferenceservice.yaml in kserve/kserve).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from packaging.version import Version

from kserve_kit.admission.releases import PROMETHEUS_SCRAPING_ANNOTATION as SCRAPING
from kserve_kit.admission.releases import knative_feature_defaults
from kserve_kit.checks.findings import Finding
from kserve_kit.checks.policy import registry_of
from kserve_kit.cluster.snapshot import Snapshot, Subject
from kserve_kit.service import contact

MODES_SECTION = "KServe deployment modes"
CONFIG = "KServe configuration (inferenceservice-config)"


def _config(snapshot: Snapshot, key: str) -> dict[str, Any]:
    """One JSON document of the ConfigMap (empty when absent or unreadable)."""
    text = ((snapshot.kserve_config or {}).get("data") or {}).get(key)
    try:
        value = json.loads(text) if text else {}
    except json.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}


def _mode(subject: Subject) -> dict[str, Any]:
    """The facts' deployment mode ({} for an InferenceService named without a facts file)."""
    return subject.fact("deployment_mode") or {}


def _mode_of(subject: Subject, name: str | None) -> str | None:
    """The kit's mode (knative or standard) a KServe mode name means: any release's name (a cluster may
    run a newer KServe than the profile says)."""
    mode = _mode(subject)
    return (mode.get("names") or mode.get("accepted") or {}).get(name) if name else None


def deployed_mode(snapshot: Snapshot, subject: Subject) -> Iterator[Finding]:
    """The deployed InferenceService runs in another mode than k8s/ declares: KServe refuses the change."""
    mode = _mode(subject)
    running = (snapshot.isvc.get("status") or {}).get("deploymentMode")
    if not mode or not running or _mode_of(subject, running) in (None, mode["mode"]):
        return
    yield Finding(
        "deployed in another deployment mode",
        f"the InferenceService runs in {running} mode; k8s/ declares {mode['name']}",
        f"KServe refuses to change the mode of an existing InferenceService: `kubectl delete inferenceservice "
        f"{subject.name} -n {subject.namespace}`, then `make deploy` (MIGRATION-deployment-mode.md)",
        MODES_SECTION,
    )


def default_mode(snapshot: Snapshot, subject: Subject) -> Iterator[Finding]:
    mode, default = _mode(subject), _config(snapshot, "deploy").get("defaultDeploymentMode")
    if not mode or not default or _mode_of(subject, default) == mode["mode"]:
        return
    needs = "Knative Serving installed" if mode["mode"] == "knative" else "KServe's Standard mode enabled"
    yield Finding(
        "the cluster's default deployment mode is not this service's",
        f"inferenceservice-config deploy.defaultDeploymentMode is {default}; this service declares {mode['name']}",
        f"the service's annotation decides, but {mode['name']} mode needs {needs} on the cluster: if "
        f"{subject.fact('environment')} has moved to {default}, the platform profile must say so (ask "
        f"{contact(subject.facts, 'infra')}), then `make update`",
        CONFIG,
    )


def ingress(snapshot: Snapshot, subject: Subject) -> Iterator[Finding]:
    expected, config = subject.fact("ingress"), _config(snapshot, "ingress")
    mode = _mode(subject).get("mode")
    if not expected or not config:
        return
    gateway_api = bool(config.get("enableGatewayApi"))
    if mode == "standard" and gateway_api != expected["gateway_api"]:
        routes = {True: "Gateway API (HTTPRoutes)", False: "Ingress objects"}
        yield Finding(
            "the cluster routes external traffic differently",
            f"inferenceservice-config ingress.enableGatewayApi is {str(gateway_api).lower()}: KServe creates "
            f"{routes[gateway_api]}, the platform profile expects {routes[expected['gateway_api']]}",
            f"the external endpoint may not answer as the README says: ask {contact(subject.facts, 'infra')} "
            "which is right, and fix the profile or the cluster",
            CONFIG,
        )
    # Knative routes through ingressGateway; Standard mode through the Gateway API's kserveIngressGateway,
    # or Ingress objects of ingressClassName (compared with the control plane's config, below).
    key = ("kserveIngressGateway" if gateway_api else None) if mode == "standard" else "ingressGateway"
    if key and config.get(key) and config[key] != expected["gateway"]:
        yield Finding(
            "external traffic comes through another gateway",
            f"inferenceservice-config ingress.{key} is {config[key]}; the platform profile says {expected['gateway']}",
            f"external requests reach {config[key]}: ask {contact(subject.facts, 'infra')} to correct the profile "
            "(its ingress_gateway) or the cluster",
            CONFIG,
        )
    external = (subject.fact("endpoints") or {}).get("external")
    if mode == "standard" and external:
        published = _standard_host(config, subject.name, subject.namespace)
        if published and f"http://{published}" != external:
            yield Finding(
                "the cluster publishes the service under another host",
                f"KServe's domainTemplate and ingressDomain give {published}; the kit's endpoint is {external}",
                "`make smoke TARGET=external` would test the wrong host: until the profile's external_host or the "
                f"environment's domain is corrected, use `make smoke ENDPOINT=http://{published}`",
                CONFIG,
            )


def _standard_host(config: dict[str, Any], name: str, namespace: str) -> str | None:
    """The host KServe gives a Standard-mode InferenceService: its Go domain template, filled in."""
    template = config.get("domainTemplate") or "{{ .Name }}-{{ .Namespace }}.{{ .IngressDomain }}"
    values = {"Name": name, "Namespace": namespace, "IngressDomain": config.get("ingressDomain") or "example.com"}
    filled = re.sub(r"\{\{\s*\.(\w+)\s*\}\}", lambda match: values.get(match.group(1), match.group(0)), template)
    return None if "{{" in filled else filled


def headless_service(snapshot: Snapshot, subject: Subject) -> Iterator[Finding]:
    mode = _mode(subject).get("mode")
    if mode == "standard" and _config(snapshot, "service").get("serviceClusterIPNone"):
        internal = (subject.fact("endpoints") or {}).get("internal")
        yield Finding(
            "the predictor's Service is headless",
            "inferenceservice-config service.serviceClusterIPNone is true: the Service has no cluster IP, so "
            "port 80 does not forward to the server's 8080",
            f"in-cluster clients must call {internal}:8080 (and `make smoke ENDPOINT={internal}:8080`), or ask "
            f"{contact(subject.facts, 'infra')} to set it to false",
            CONFIG,
        )


def storage_initializer_image(snapshot: Snapshot, subject: Subject) -> Iterator[Finding]:
    image = _config(snapshot, "storageInitializer").get("image")
    allowed = (subject.fact("policy") or {}).get("allowed_registries")
    if subject.fact("storage_uri") and image and allowed and registry_of(image) not in allowed:
        yield Finding(
            "the storage initializer's image is on a registry the platform does not allow",
            f"inferenceservice-config storageInitializer.image is {image}",
            f"the storage initializer may not be pulled ({', '.join(allowed)} are allowed): tell "
            f"{contact(subject.facts, 'infra')}; nothing in this repo can change it",
            CONFIG,
        )


def _stated(subject: Subject) -> dict[str, Any]:
    return subject.fact("control_plane") or {}


def _unconfirmed(subject: Subject, key: str) -> str:
    return " (a shipped default or unconfirmed)" if key in (_stated(subject).get("unconfirmed") or []) else ""


def _same(live: Any, expected: Any) -> bool:
    return str(live).lower() == str(expected).lower()


def kserve_release(snapshot: Snapshot, subject: Subject) -> Iterator[Finding]:
    """The cluster's KServe release (kserve-controller-manager's image tag, which KServe's release
    script sets: hack/generate-install.sh@v0.15.2) against the profile's."""
    expected = (_stated(subject).get("kserve") or {}).get("version")
    containers = (((snapshot.kserve_controller or {}).get("spec") or {}).get("template") or {}).get("spec") or {}
    images = [
        str(c.get("image", ""))
        for c in containers.get("containers") or []
        if "kserve-controller" in str(c.get("image"))
    ]
    # kserve/kserve-controller:v0.15.2, possibly pinned by digest too (...:v0.15.2@sha256:...)
    references = [image.split("@")[0] for image in images]
    tags = [ref.rsplit(":", 1)[-1].removeprefix("v") for ref in references if ":" in ref.rsplit("/", 1)[-1]]
    tags = [tag for tag in tags if re.fullmatch(r"\d+\.\d+\.\d+\S*", tag)]
    if expected and tags and Version(tags[0]) != Version(str(expected)):
        yield Finding(
            "the cluster runs another KServe release",
            f"kserve-controller-manager runs {images[0]}; the platform profile says KServe {expected}"
            + _unconfirmed(subject, "kserve.version"),
            f"what validate admits follows the profile's release (mode names, webhook rules, storage): ask "
            f"{contact(subject.facts, 'infra')} to correct the profile's kserve.version, then `make update` and "
            "`make validate`; since KServe 0.15.1 a mode name the cluster does not expect is refused on update "
            "(validateDeploymentMode)",
            CONFIG,
        )


def kserve_settings(snapshot: Snapshot, subject: Subject) -> Iterator[Finding]:
    """Each inferenceservice-config value the kit's output depends on (`control_plane.kserve.config`)."""
    stated = (_stated(subject).get("kserve") or {}).get("config") or {}
    if not snapshot.kserve_config:
        return
    for key, expected in stated.items():
        document, _, field = key.partition(".")
        live = _config(snapshot, document).get(field)
        if live is None or _same(live, expected):
            continue  # absent: a release that dropped the key (e.g. enableDirectPvcVolumeMount since 0.16)
        yield Finding(
            "KServe is configured otherwise than the profile says",
            f"inferenceservice-config {key} is {live}; the platform profile models {expected}"
            + _unconfirmed(subject, f"kserve.config.{key}"),
            f"the manifests were rendered for {expected}: ask {contact(subject.facts, 'infra')} which is right; the "
            f"profile's kserve.config must say {key}: {json.dumps(live)}, then `make update`",
            CONFIG,
        )


def standard_scraping(snapshot: Snapshot, subject: Subject) -> Iterator[Finding]:
    """Standard mode: KServe's pod mutator rewrites prometheus.io/port to a queue-proxy port when
    scraping is on (cluster-wide or by annotation) and the InferenceService does not turn it off."""
    if _mode(subject).get("mode") != "standard" or not snapshot.kserve_config:
        return
    cluster = _config(snapshot, "metricsAggregator").get("enablePrometheusScraping")
    annotation = ((snapshot.isvc.get("metadata") or {}).get("annotations") or {}).get(SCRAPING)
    if (annotation if annotation is not None else str(cluster).lower()) == "true":
        yield Finding(
            "Prometheus scrapes a port the pod does not have",
            f"inferenceservice-config metricsAggregator.enablePrometheusScraping is {cluster}; the InferenceService's "
            f"{SCRAPING} is {annotation or 'not set'}: KServe sets prometheus.io/port to Knative's queue-proxy "
            "port (9091), which Standard-mode pods lack",
            f'set {SCRAPING}: "false" on the InferenceService (`make update` renders it), then `make deploy`: the '
            "pod's own prometheus.io/port (the server's) then stands",
            CONFIG,
        )


def knative_features(snapshot: Snapshot, subject: Subject) -> Iterator[Finding]:
    """Knative's config-features flags against those validate applied (`control_plane.knative.features`)."""
    knative = _stated(subject).get("knative") or {}
    live = (snapshot.knative_features or {}).get("data")
    if not knative or live is None:
        return
    shipped = knative_feature_defaults(str(knative.get("version") or "1.15.2"))
    for flag, expected in (knative.get("features") or {}).items():
        value = live.get(flag, shipped.get(flag, "disabled"))  # an absent key: Knative's own default
        if not _same(value, expected):
            yield Finding(
                "Knative's feature flags differ from the profile's",
                f"config-features {flag} is {value}{'' if flag in live else ' (unset: the default)'}; the platform "
                f"profile models {expected}" + _unconfirmed(subject, f"knative.features.{flag}"),
                f"what `make validate` admits follows the profile: ask {contact(subject.facts, 'infra')} to record "
                f"{flag}: {value} in its knative.features, then `make update` (GPU node selection, volumes "
                "and other pod fields follow the flags)",
                CONFIG,
            )


CHECKS = [deployed_mode, default_mode, ingress, headless_service, storage_initializer_image, kserve_release,
          kserve_settings, standard_scraping, knative_features]  # fmt: skip
