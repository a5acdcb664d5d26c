"""Proven as an owner uses it: for each runtime, a service whose name sorts after every top-level
module of the repo (`text-classifier`) gets its own `make install` into its own environment, then
its own `make lint test validate smoke`."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import KIT_ROOT, Render, facts_of, run_make

pytestmark = pytest.mark.e2e

OWNERS = {
    "sklearn": {"service_name": "text-classifier"},
    # GPU answers, run on CPU: the handler picks the device at run time.
    "torchserve-gpu": {"service_name": "text-classifier", "runtime": "torchserve", "gpu": True, "environment": "lab2"},
}


@pytest.fixture(params=list(OWNERS), scope="module")
def repo(request: pytest.FixtureRequest, installed: Render) -> Path:
    if "torchserve" in request.param and shutil.which("java") is None:
        pytest.fail("TorchServe needs Java 17 and this machine has none: install a JRE (openjdk-17-jre-headless)")
    return installed(**OWNERS[request.param])


def test_its_own_lint_tests_and_validate_pass(repo: Path, schema_dir: Path) -> None:
    run_make(repo, "lint")
    result = run_make(repo, "test")
    assert " passed" in result.stdout and " failed" not in result.stdout
    assert "validate: 0 problem(s)" in run_make(repo, "validate", KSERVE_SCHEMA_DIR=str(schema_dir)).stdout


def test_its_own_smoke_checks_v1_and_v2_on_a_real_local_server(repo: Path) -> None:
    result = run_make(repo, "smoke", SMOKE_ARGS="--requests 5")
    assert "  v1: ready, sample.json predicted as expected" in result.stdout
    assert "  v2: ready, sample.json predicted as expected" in result.stdout
    assert result.stdout.strip().splitlines()[-1].startswith("SMOKE OK text-classifier at the local server")


def test_its_tooling_is_the_kit_version_it_was_rendered_from(repo: Path) -> None:
    python = repo / ".venv" / "bin" / "python"
    show = subprocess.run([python, "-m", "pip", "show", "kserve-kit"], capture_output=True, text=True, check=True)
    assert f"Version: {facts_of(repo)['kit_version']}" in show.stdout
    check = run_make(repo, "update-check")
    assert "up to date" in check.stdout


def test_make_smoke_without_a_model_says_to_train(tmp_path: Path, installed: Render) -> None:
    repo = installed(**OWNERS["sklearn"])
    untrained = tmp_path / "untrained"
    shutil.copytree(repo, untrained, ignore=shutil.ignore_patterns(".venv", "model"), symlinks=True)
    result = run_make(untrained, "smoke", check=False, PY=str(repo / ".venv" / "bin" / "python"))
    assert result.returncode == 2
    assert "no model in model: run `make train` first" in result.stderr


def test_make_demo_renders_trains_and_smoke_tests(tmp_path: Path) -> None:
    demo = tmp_path / "demo"
    result = run_make(KIT_ROOT, "demo", DEMO_DIR=str(demo), timeout=1800)
    assert "SMOKE OK iris-classifier" in result.stdout
    assert (demo / ".venv" / "bin" / "kserve-kit").is_file()  # the demo's own environment
