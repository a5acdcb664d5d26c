"""What `make doctor` checks between the service and KServe's own view of the cluster: the deployment
mode the InferenceService was created in, and KServe's cluster-wide configuration (ConfigMap
inferenceservice-config: the default deployment mode, ingress or Gateway API, the domain, the
predictor Service, the storage initializer). Each mismatch would make the service, or what the kit
says about it (endpoints, smoke targets), wrong; each finding says what to do.

The ConfigMap's values are JSON documents, one per key (deploy, ingress, service, storageInitializer),
as KServe ships them (config/configmap/inferenceservice.yaml in kserve/kserve).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from kserve_kit.cluster import Snapshot, Subject
from kserve_kit.findings import Finding
from kserve_kit.policy import registry_of
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
    key = "kserveIngressGateway" if mode == "standard" and gateway_api else "ingressGateway"
    if config.get(key) and config[key] != expected["gateway"]:
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


CHECKS = [deployed_mode, default_mode, ingress, headless_service, storage_initializer_image]
