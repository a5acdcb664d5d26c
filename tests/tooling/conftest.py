"""Fixtures for kserve-kit's own tests: a service directory kserve-template did not render (written
by hand, with a tiny real model server), copied per test so a test can break it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from kserve_kit.service import Service

FIXTURES = Path(__file__).parent / "fixtures"
HAND_WRITTEN = FIXTURES / "service"


@pytest.fixture
def service_dir(tmp_path: Path) -> Path:
    """A copy of the hand-written service (k8s/, kserve-kit.yaml, row_sum/, sample.json, model/)."""
    destination = tmp_path / "service"
    shutil.copytree(HAND_WRITTEN, destination, ignore=shutil.ignore_patterns("__pycache__"))
    return destination


@pytest.fixture
def service(service_dir: Path) -> Service:
    return Service.load(service_dir)
