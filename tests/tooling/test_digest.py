"""`make push` records the pushed image's digest, and what `kubectl apply -k k8s` sends deploys it
(kserve_kit/digest.py; the built-in kustomize build's `images:`, checked against kubectl's own)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from kserve_kit import KitError
from kserve_kit.container import RunSpec
from kserve_kit.digest import MARKER, pin_digest
from kserve_kit.manifests import build, repository
from kserve_kit.service import Service

DIGEST = "sha256:" + "ab" * 32


def runtime_image(k8s: Path) -> str:
    [runtime] = build(k8s).of_kind("ServingRuntime")
    return runtime.obj["spec"]["containers"][0]["image"]


def test_the_recorded_digest_is_what_the_build_deploys(service_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    kustomization = service_dir / "k8s" / "kustomization.yaml"
    kustomization.write_text(kustomization.read_text() + MARKER + "\n")
    pin_digest(kustomization, "ghcr.io/team-a/row-sum:1.0", DIGEST)
    pin_digest(kustomization, "ghcr.io/team-a/row-sum:1.0", DIGEST)  # again: replaced, not added
    assert kustomization.read_text().count("images:") == 1
    if shutil.which("kubectl") is None:
        pytest.fail("kubectl is not on this machine: the images transformer cannot be compared with kustomize's")
    assert runtime_image(service_dir / "k8s") == f"ghcr.io/team-a/row-sum@{DIGEST}"  # kubectl kustomize
    monkeypatch.setenv("PATH", "/nonexistent")
    assert runtime_image(service_dir / "k8s") == f"ghcr.io/team-a/row-sum@{DIGEST}"  # the built-in build


def test_a_digest_needs_the_marker_and_a_real_digest(service_dir: Path) -> None:
    kustomization = service_dir / "k8s" / "kustomization.yaml"
    with pytest.raises(KitError, match="make update. adds it"):
        pin_digest(kustomization, "ghcr.io/team-a/row-sum:1.0", DIGEST)
    kustomization.write_text(kustomization.read_text() + MARKER + "\n")
    with pytest.raises(KitError, match="not an image digest"):
        pin_digest(kustomization, "ghcr.io/team-a/row-sum:1.0", "latest")


def test_the_repository_keeps_a_registry_port() -> None:
    assert repository("registry.local:5000/team/app:1.2") == "registry.local:5000/team/app"
    assert repository("registry.local:5000/team/app") == "registry.local:5000/team/app"
    assert repository(f"ghcr.io/a/b:1@{DIGEST}") == "ghcr.io/a/b"


def test_after_a_push_the_image_is_still_built_and_run_under_its_tag(service_dir: Path) -> None:
    kustomization = service_dir / "k8s" / "kustomization.yaml"
    kustomization.write_text(kustomization.read_text() + MARKER + "\n")
    pin_digest(kustomization, "ghcr.io/team-a/row-sum:1.0", DIGEST)
    assert RunSpec.of(Service.load(service_dir)).image == "ghcr.io/team-a/row-sum:1.0"
