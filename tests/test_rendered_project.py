"""The rendered repo's own commands, run for real: its tests, lint, validate and smoke test
against its model server started as a process on 127.0.0.1."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.conftest import KIT_ROOT, Render, run_make, working_copy

pytestmark = pytest.mark.e2e

PROJECTS = {
    "defaults": {},
    "next-gen-v2-baked": {"environment": "lab2", "inference_protocol": "v2", "model_storage": "image"},
    # GPU answers, run on CPU: the handler picks the device at run time.
    "torchserve-gpu": {"runtime": "torchserve", "gpu": True, "service_name": "digits"},
}


@pytest.fixture(params=list(PROJECTS), scope="module")
def repo(request: pytest.FixtureRequest, render: Render, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return working_copy(render(**PROJECTS[request.param]), tmp_path_factory)


def test_its_own_tests_lint_and_validate_pass(repo: Path) -> None:
    result = run_make(repo, "test", "lint", "validate")
    assert " passed" in result.stdout and " failed" not in result.stdout


def test_make_smoke_passes_on_v1_and_v2_against_a_real_local_server(repo: Path) -> None:
    run_make(repo, *(["train", "mar"] if (repo / "config" / "config.properties").exists() else ["train"]))
    for protocol in ("v1", "v2"):
        result = run_make(repo, "smoke", SMOKE_ARGS=f"--protocol {protocol} --requests 5")
        assert f"SMOKE OK ({protocol}) http://127.0.0.1:" in result.stdout


def test_make_smoke_without_a_model_says_to_train(render: Render) -> None:
    result = run_make(render(service_name="untrained"), "smoke", check=False)
    assert result.returncode != 0
    assert "run `make train` first" in result.stderr


def test_make_demo_renders_trains_and_smoke_tests(tmp_path: Path) -> None:
    venv = Path(sys.executable).parent.parent  # the kit's environment, already installed
    result = run_make(KIT_ROOT, "demo", DEMO_DIR=str(tmp_path / "demo"), VENV=str(venv))
    assert "SMOKE OK (v1)" in result.stdout and "SMOKE OK (v2)" in result.stdout
