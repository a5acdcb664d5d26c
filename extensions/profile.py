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
    """The environment's own facts merged over those of its generation (legacy or next-gen)."""
    try:
        env = profile["environments"][environment]
    except KeyError:
        choices = ", ".join(profile["environments"])
        raise ValueError(f"unknown environment {environment!r}: choose one of {choices}") from None
    return {**profile["generations"][env["generation"]], **env}


def external_host_label(profile: dict[str, Any], service_name: str, namespace: str) -> str:
    """The first DNS label of the external hostname ("External Access"): the one with a 63-character cap."""
    return f"{service_name}-predictor-{namespace}-{profile['external_host_suffix']}"


def external_host(profile: dict[str, Any], environment: str, service_name: str, namespace: str) -> str:
    """The external hostname of a service: `<isvc>-predictor-<namespace>-<suffix>.<domain>`."""
    domain = environment_facts(profile, environment)["domain"]
    return f"{external_host_label(profile, service_name, namespace)}.{domain}"
