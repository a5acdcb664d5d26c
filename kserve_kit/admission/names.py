"""Every name and host label KServe and Knative derive from an InferenceService's name and namespace,
per deployment mode, in one place: the wizard (extensions/validation.py) refuses a name or namespace
that would overflow one, `kserve-kit validate` checks the manifests' own, and the answer matrix runs
validate on every combination.

Limits are Kubernetes' (a DNS label or label value: 63 characters). What happens past them:
- the predictor's Service (both modes) and Knative Service are refused by the API server;
- Standard mode: KServe builds the predictor's host before anything else (raw_kube_reconciler.go
  NewRawKubeReconciler -> ingress/domain.go GenerateDomainName, IsFullyQualifiedDomainName, v0.15.2 and
  v0.17.0): one label over 63 and no Deployment, Service or route is created, only an InternalError event;
- Knative mode: a route host label over 63 leaves the Route's AllTrafficAssigned False (ErrorConfig,
  knative/serving pkg/reconciler/route/domains/domains.go DomainNameFromTemplate, 1.15.2 and 1.21.1).
Knative shortens revision and Deployment names itself (knative.dev/pkg kmeta.ChildName: a hash past
63), so those always fit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

LABEL_MAX = 63
PREDICTOR_SUFFIX = "-predictor"  # KServe constants.PredictorServiceName (v0.11.0 onwards)
KSERVE_DOMAIN_TEMPLATE = "{{ .Name }}-{{ .Namespace }}.{{ .IngressDomain }}"  # configmap.go DefaultDomainTemplate
CANARY_TAGS = ("latest", "prev")  # KServe's tag routing (serving.kserve.io/enable-tag-routing): `make canary`


@dataclass(frozen=True)
class DerivedName:
    what: str  # what it names, for messages ("the predictor host label")
    value: str
    source: str  # the upstream code that derives it
    limit: int | None = LABEL_MAX  # None: the deriving code shortens it itself
    canary_only: bool = False  # only while `make canary` runs (tag routes): a warning, not an error

    @property
    def over(self) -> int:
        return 0 if self.limit is None else max(len(self.value) - self.limit, 0)


def _first_label(host: str) -> str:
    return host.split(".")[0]


def kserve_host(template: str, name: str, namespace: str) -> str:
    """KServe's Go domain template (ingress.domainTemplate) filled in, as GenerateDomainName does."""
    values = {"Name": name, "Namespace": namespace, "IngressDomain": "example.com"}
    return re.sub(r"\{\{\s*\.(\w+)\s*\}\}", lambda match: values.get(match.group(1), ""), template)


def derived_names(
    name: str, namespace: str, mode: str, external_host: str | None, domain_template: str | None = None
) -> list[DerivedName]:
    """The names for `mode` ("knative" or "standard"); `external_host` is the profile's pattern
    ({name}, {namespace}, {domain}: its first label is the route host label people call), or None."""
    predictor = f"{name}{PREDICTOR_SUFFIX}"
    names = [
        DerivedName("the predictor Service name", predictor, "KServe constants.go PredictorServiceName"),
    ]
    if external_host:
        label = _first_label(external_host.format(name=name, namespace=namespace, domain=""))
        names.append(DerivedName("the external host label", label, "the profile's external_host"))
    if mode == "knative":
        names += [
            DerivedName("the Knative revision", f"{predictor}-00001", "Knative kmeta.ChildName", limit=None),
            DerivedName("the Knative route host label", predictor, "Knative domain-template {{.Name}}.{{.Namespace}}"),
        ]
        tagged = _first_label(external_host.format(name=name, namespace=namespace, domain="")) if external_host else ""
        for tag in CANARY_TAGS:
            value = tagged.replace(predictor, f"{tag}-{predictor}", 1) if tagged else f"{tag}-{predictor}"
            names.append(
                DerivedName(
                    f"the canary's {tag} tag host label",
                    value,
                    "Knative tag-template {{.Tag}}-{{.Name}}",
                    canary_only=True,
                )
            )
        return names
    template = domain_template or KSERVE_DOMAIN_TEMPLATE
    return names + [
        DerivedName("the predictor Deployment name", predictor, "KServe deployment_reconciler.go"),
        DerivedName(
            "the predictor pod label value", f"isvc.{predictor}", "KServe deployment_reconciler.go GetRawServiceLabel"
        ),
        DerivedName(
            "the top-level host label",
            _first_label(kserve_host(template, name, namespace)),
            "KServe ingress/domain.go GenerateDomainName",
        ),
        DerivedName(
            "the predictor host label",
            _first_label(kserve_host(template, predictor, namespace)),
            "KServe ingress/domain.go GenerateDomainName",
        ),
    ]


def overflowing(names: list[DerivedName], *, canary: bool = False) -> list[DerivedName]:
    """The names past their limit, longest overflow first (`canary`: the tag routes' only); a value
    derived twice (the predictor's Service and Deployment) is named once."""
    found = {n.value: n for n in reversed(names) if n.over and n.canary_only == canary}
    return sorted(reversed(found.values()), key=lambda n: -n.over)
