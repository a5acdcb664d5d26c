"""Platform profiles: the environment facts of an onboarding guideline, one YAML file a platform."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import yaml

from kserve_kit.admission import names, releases

PLATFORMS_DIR = Path(__file__).resolve().parent.parent / "platforms"
DEFAULT_PLATFORM = "agora"
# libyaml's loader where PyYAML was built with it: the profile is read on every copy and update.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@cache
def available_platforms() -> tuple[str, ...]:
    """Names of the profiles shipped with the kit (`platforms/<name>.yml`)."""
    return tuple(sorted(path.stem for path in PLATFORMS_DIR.glob("*.yml")))


@cache
def load_profile(name: str) -> dict[str, Any]:
    """The profile called `name`; raises ValueError naming the available ones."""
    if name not in available_platforms():
        raise ValueError(
            f"unknown platform {name!r}: choose one of {', '.join(available_platforms())} "
            f"(profiles live in {PLATFORMS_DIR})"
        )
    return yaml.load((PLATFORMS_DIR / f"{name}.yml").read_text(encoding="utf-8"), Loader=_LOADER)


def environment_facts(profile: dict[str, Any], environment: str) -> dict[str, Any]:
    """The environment's own facts merged over those of its generation, and the KServe release it
    runs (the profile's, or the generation's own `kserve`)."""
    try:
        env = profile["environments"][environment]
    except KeyError:
        choices = ", ".join(profile["environments"])
        raise ValueError(f"unknown environment {environment!r}: choose one of {choices}") from None
    generation = profile["generations"][env["generation"]]
    return {**generation, **env, "kserve": {**profile["kserve"], **(generation.get("kserve") or {})}}


def external_host(profile: dict[str, Any], environment: str, service_name: str, namespace: str) -> str:
    """The external hostname of a service: the profile's `external_host` for this environment's domain."""
    domain = environment_facts(profile, environment)["domain"]
    return profile["external_host"].format(name=service_name, namespace=namespace, domain=domain)


def deployment_mode(platform: str, environment: str) -> str:
    """The deployment mode (extensions/modes.py) the environment's clusters run, e.g. `knative`; ""
    while the platform or environment is not a valid answer yet (its own question reports that)."""
    try:
        return str(environment_facts(load_profile(platform), environment)["deployment_mode"])
    except ValueError:
        return ""


def control_plane(profile: dict[str, Any], environment: str) -> dict[str, Any]:
    """The environment's KServe and Knative as the kit models them: the profile's statements over the
    releases' shipped defaults (kserve_kit/admission/releases.py), with what is unconfirmed."""
    env = environment_facts(profile, environment)
    knative = profile.get("knative")
    if env["deployment_mode"] == "knative" and knative is None:
        raise ValueError(
            f"platform profile {profile.get('title')!r}: {environment} runs Knative mode but the profile has no "
            "`knative:` (its release and config-features): add it (docs/platform-guide.md)"
        )
    unconfirmed = set(profile.get("unconfirmed") or [])
    return releases.control_plane(env["kserve"], knative if env["deployment_mode"] == "knative" else None, unconfirmed)


def name_overflows(profile: dict[str, Any], service_name: str, namespace: str) -> list[tuple[str, names.DerivedName]]:
    """(environment, name) for each name KServe or Knative would derive past its limit, in any of the
    profile's environments: a service must fit wherever `make update --data environment=...` may move it."""
    found = []
    for environment in profile["environments"]:
        mode = environment_facts(profile, environment)["deployment_mode"]
        template = control_plane(profile, environment)["kserve"]["config"].get("ingress.domainTemplate")
        derived = names.derived_names(service_name, namespace, mode, profile["external_host"], template)
        found += [(environment, name) for name in names.overflowing(derived)]
    return sorted(found, key=lambda item: -item[1].over)
