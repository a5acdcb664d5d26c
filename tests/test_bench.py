"""The benchmark scripts keep working (they print their tables); no timing is asserted here:
performance claims live in docs/performance.md, measured by these scripts."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import KIT_ROOT

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize(
    ("script", "arguments", "expected"),
    [
        ("bench.render", ["--runs", "1"], "kit vs Copier's floor at the same size"),
        ("bench.serve", ["--requests", "60", "--rounds", "1"], "kit V2 vs MLServer V2"),
        ("bench.torchserve", ["--requests", "40", "--rounds", "1"], "batch 1 (batching off)"),
    ],
)
def test_benchmark_prints_its_table(script: str, arguments: list[str], expected: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", script, *arguments], cwd=KIT_ROOT, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert expected in result.stdout and "|" in result.stdout
