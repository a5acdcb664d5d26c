"""The benchmark scripts keep working (they print their tables); no timing is asserted here:
performance claims live in docs/performance.md, measured by these scripts. They measure services
installed as their owners install them (the same ones tests/test_owner.py uses)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import KIT_ROOT, Render
from tests.test_owner import OWNERS

pytestmark = pytest.mark.e2e


def test_render_benchmark_prints_its_table() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bench.render", "--runs", "1"], cwd=KIT_ROOT, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "kit vs Copier's floor at the same size" in result.stdout and "|" in result.stdout


@pytest.mark.parametrize(
    ("script", "owners", "arguments", "expected"),
    [
        ("bench.serve", ["sklearn"], ["--requests", "60", "--rounds", "1"], "kit V2 vs MLServer V2"),
        # A smoke size (the table is what is tested here): 1-second cells, a few client requests.
        (
            "bench.pytorch",
            ["pytorch", "torchserve-gpu"],
            ["--seconds", "1", "--rounds", "1", "--client-requests", "5", "--concurrency", "1", "8"],
            "PyTorch vs best TorchServe",
        ),
        (
            "bench.texts",
            ["embeddings", "text-generation"],
            ["--seconds", "1", "--rounds", "1", "--requests", "5"],
            "generation c=4 tokens_per_s",
        ),
    ],
)
def test_serving_benchmark_prints_its_table(
    installed: Render, script: str, owners: list[str], arguments: list[str], expected: str
) -> None:
    repos = [arg for name in owners for arg in ("--repo", str(installed(**OWNERS[name])))]
    command = [sys.executable, "-m", script, *arguments, *repos]
    result = subprocess.run(command, cwd=KIT_ROOT, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    assert expected in result.stdout and "|" in result.stdout


@pytest.mark.container
def test_image_benchmark_prints_its_table(installed: Render, podman: dict[str, str], image_build_args: str) -> None:
    # The runtimes of rows of numbers: the image benchmark compares their start-up and answers.
    owners = [OWNERS[name] for name in ("sklearn", "pytorch", "torchserve-gpu")]
    repos = [arg for owner in owners for arg in ("--repo", str(installed(**owner)))]
    command = [sys.executable, "-m", "bench.images", "--rounds", "1", *repos, image_build_args.replace(" ", "=", 1)]
    result = subprocess.run(command, cwd=KIT_ROOT, capture_output=True, text=True, timeout=1800, env=podman)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "start to ready (s)" in result.stdout and "sklearn" in result.stdout and "torchserve" in result.stdout


@pytest.mark.container
def test_cpu_benchmark_prints_its_table(installed: Render, podman: dict[str, str], image_build_args: str) -> None:
    repos = [arg for owner in ("sklearn", "pytorch") for arg in ("--repo", str(installed(**OWNERS[owner])))]
    command = [sys.executable, "-m", "bench.cpus", "--rounds", "1", "--seconds", "2", *repos,
               image_build_args.replace(" ", "=", 1)]  # fmt: skip
    result = subprocess.run(command, cwd=KIT_ROOT, capture_output=True, text=True, timeout=1800, env=podman)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "rps per CPU used, 2 / 1" in result.stdout and "| 1 / 2" in result.stdout, result.stdout
