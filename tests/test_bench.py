"""The benchmark scripts keep working (they print their tables); no timing is asserted here:
performance claims live in docs/performance.md, measured by these scripts. They measure services
installed as their owners install them (the same ones tests/test_owner.py uses)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import KIT_ROOT, Render
from tests.test_owner import OWNERS

pytestmark = pytest.mark.e2e


# wrk's own output from a busy CI machine's embeddings cell: its slowest answers in seconds, padded.
SLOW_WRK = """Running 2s test @ http://127.0.0.1:36313/openai/v1/embeddings
  2 threads and 8 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   446.53ms  286.69ms   1.31s    85.71%
    Req/Sec    11.86      8.35    30.00     86.36%
  Latency Distribution
     50%  325.27ms
     75%  567.30ms
     90%  805.39ms
     99%    1.31s \n  33 requests in 2.01s, 268.16KB read
Requests/sec:     16.40
Transfer/sec:    133.26KB
"""


def test_wrk_figures_read_every_unit_wrk_prints_and_refuse_a_run_without_answers() -> None:
    from bench.common import wrk_figures

    assert wrk_figures(SLOW_WRK, "url", 2) == {"p50_ms": 325.27, "p99_ms": 1310.0, "rps": 16.40}
    micro = SLOW_WRK.replace("325.27ms", "812.00us")
    assert wrk_figures(micro, "url", 2)["p50_ms"] == pytest.approx(0.812)
    with pytest.raises(SystemExit, match="no answer from url in 2 s"):
        wrk_figures(SLOW_WRK.replace("33 requests in", "0 requests in"), "url", 2)
    with pytest.raises(SystemExit, match="errors from url"):
        wrk_figures(SLOW_WRK + "  Non-2xx or 3xx responses: 4\n", "url", 2)


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
            ["--seconds", "2", "--rounds", "1", "--requests", "5"],  # 2 s: a 1-s cell got no answer on a busy machine
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


def test_gpu_benchmark_fits_the_gpu_machine_and_runs_from_its_bundle(installed: Render, tmp_path: Path) -> None:
    """bench.gpu_bundle's folder fits the device's 64 MiB with the working tree, and bench.gpu runs
    from it as on the GPU machine (installing its wheels, drawing MiniLM's weights, each service's own
    smoke and load), here on the CPU (--allow-cpu: CI has no GPU; the GPU's figures come from there)."""
    repos = [installed(**OWNERS[name]) for name in ("embeddings", "text-generation")]
    bundle = tmp_path / "gpu"
    command = [sys.executable, "-m", "bench.gpu_bundle", "--out", str(bundle), *(f"--repo={repo}" for repo in repos)]
    made = subprocess.run(command, cwd=KIT_ROOT, capture_output=True, text=True, timeout=600)
    assert made.returncode == 0, made.stderr[-3000:]
    assert "MiB with the working tree (limit 64 MiB)" in made.stdout, made.stdout
    assert not list(bundle.glob("repos/embeddings/model/*.safetensors"))  # 90 MB: left behind
    python = repos[0] / ".venv" / "bin" / "python"  # one that has torch and transformers, as the GPU machine's
    command = [str(python), "-m", "bench.gpu", "--bundle", str(bundle), "--allow-cpu", "--requests", "3",
               "--concurrency", "1", "--out", str(tmp_path / "out")]  # fmt: skip
    ran = subprocess.run(command, cwd=KIT_ROOT, capture_output=True, text=True, timeout=900)
    assert ran.returncode == 0, ran.stdout[-3000:] + ran.stderr[-3000:]
    assert "NO GPU" in ran.stderr and "tokens/s" in ran.stdout
    measured = json.loads((tmp_path / "out" / "gpu.json").read_text())["results"]
    results = {result["runtime"]: result for result in measured}
    assert results["embeddings"]["v2"]["requests_per_s"] > 0
    assert results["text-generation"]["chat/completions"]["tokens_per_s"] > 0


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
