"""Platform profiles: the environment facts of an onboarding guideline, one YAML file a platform."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import yaml

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


def external_host_label(profile: dict[str, Any], service_name: str, namespace: str) -> str:
    """The first DNS label of the external hostname ("External Access"): the one with a 63-character cap."""
    return profile["external_host"].split(".")[0].format(name=service_name, namespace=namespace)


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
