"""Shared fixtures: a freshly trained demo model and a real server process on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from scripts.local_server import LocalServer
from training.train import train


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return train(tmp_path_factory.mktemp("model")).parent


@pytest.fixture(scope="session")
def server(model_dir: Path) -> Iterator[LocalServer]:
    with LocalServer(model_dir=model_dir) as running:
        yield running
