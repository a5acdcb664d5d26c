"""`kserve-kit validate`'s admission checks: what KServe's and Knative's control plane, at the
releases and settings of the facts file's `control_plane`, would refuse or silently break."""

from __future__ import annotations

from collections.abc import Iterator

from kserve_kit.admission import knative, kserve, names, releases
from kserve_kit.checks.policy import Finding, Repo


def derived_name_rules(repo: Repo, control_plane: dict) -> Iterator[Finding]:
    """Every name KServe and Knative derive from the manifest's name and namespace fits (names.py)."""
    mode = repo.service.deployment_mode
    external = (repo.facts.get("endpoints") or {}).get("external")
    pattern = (repo.facts.get("ingress") or {}).get("external_host") if external else None
    template = control_plane["kserve"]["config"].get("ingress.domainTemplate")
    basis = f"KServe {control_plane['kserve']['version']}"
    for where, isvc in repo.of_kind("InferenceService"):
        metadata = isvc.get("metadata") or {}
        namespace = str(metadata.get("namespace") or "default")
        derived = names.derived_names(str(metadata.get("name")), namespace, mode, pattern, template)
        for canary, warning in ((False, False), (True, True)):
            for name in names.overflowing(derived, canary=canary):
                what = "name or namespace" if namespace in name.value else "name"
                effect = (
                    "`make canary`'s tag route would not be created"
                    if canary
                    else "the cluster refuses or never creates it"
                )
                yield Finding(
                    where,
                    f"{name.what} {name.value!r} is {len(name.value)} characters, {name.over} over "
                    f"{name.limit}: {effect}; shorten the {what} by {name.over}",
                    f"{name.source} (kserve_kit/admission/names.py)",
                    warning=warning,
                    basis=basis,
                )


def admission_findings(repo: Repo) -> list[Finding]:
    control_plane = releases.of_facts(repo.facts, repo.service.deployment_mode)
    release = control_plane["kserve"]["version"]
    return [
        *derived_name_rules(repo, control_plane),
        *kserve.inference_service_rules(repo, release),
        *kserve.serving_runtime_rules(repo, release),
        *kserve.storage_uri_rules(repo, control_plane),
        *knative.knative_rules(repo, control_plane),
        *kserve.mode_release_warnings(repo, release),
    ]
