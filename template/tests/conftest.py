"""Shared fixtures: freshly built model artifacts and a real server process on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from scripts.local_server import LocalServer
from scripts.runtime_server import build_artifacts


@pytest.fixture(scope="session")
def artifacts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """What `make train` (and `make mar` for TorchServe) produce, built in a temporary directory."""
    return build_artifacts(tmp_path_factory.mktemp("model"))


@pytest.fixture(scope="session")
def server(artifacts: Path) -> Iterator[LocalServer]:
    with LocalServer(artifacts) as running:
        yield running
