"""Shared by the benchmarks: render a service, run a server process, measure it, print a table."""

from __future__ import annotations

import json
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

KIT_ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable  # the kit's: the load generator and the render
# A benchmark stopped by SIGTERM (a CI timeout, `kill`) stops its servers and removes its containers as
# on Ctrl-C: SIGTERM raises KeyboardInterrupt, so every `finally` runs (kserve_kit/__main__.py does the same).
signal.signal(signal.SIGTERM, signal.default_int_handler)


def prepared(repo: Path | None, **answers: Any) -> tuple[Path, Path, bool]:
    """(service repo, its Python, whether it is ours to delete): `repo` as given (after its own
    `make install train`), or a fresh render of `answers` with its own `make install train`."""
    if repo is not None:
        return repo, repo / ".venv" / "bin" / "python", False
    from copier import run_copy  # here, not above: bench.gpu imports this module where Copier is not installed

    warnings.filterwarnings("ignore", message="Dirty template changes")  # benchmarks use the working tree
    destination = Path(tempfile.mkdtemp(prefix="bench-")) / answers.get("service_name", "service")
    run_copy(str(KIT_ROOT), str(destination), data=answers, defaults=True, unsafe=True, vcs_ref="HEAD", quiet=True)
    result = subprocess.run(["make", "-s", "install", "train"], cwd=destination, capture_output=True, text=True)
    if result.returncode:
        raise SystemExit(
            f"`make install train` failed in {destination}:\n{result.stdout[-2000:]}{result.stderr[-2000:]}"
        )
    return destination, destination / ".venv" / "bin" / "python", True


def kit_serve(python: Path, port: int, runtime: str) -> list[str]:
    """`kserve-kit serve` (`make run`): the server as its ServingRuntime starts it. KServe's Python server
    in one process, as in a 1-CPU pod (the default `cpu_limit`): its peers here serve from one process
    too (bench.cpus measures the workers)."""
    one_process = [] if runtime == "torchserve" else ["--workers", "1"]
    return [str(python), "-m", "kserve_kit", "serve", "--port", str(port), *one_process]


def image_arguments(parser: Any) -> None:
    """The image benchmarks' --repo (repeatable) and --build-arg."""
    parser.add_argument("--repo", type=Path, action="append", help="installed, trained services (default: render)")
    parser.add_argument("--build-arg", action="append", default=[], metavar="KEY=VALUE", help="passed to the builds")


def image_repos(given: list[Path] | None, runtimes: dict[str, dict[str, Any]]) -> list[tuple[Path, Path, bool]]:
    """`prepared` for each --repo given, else a fresh render of each runtime (`bench-<runtime>`)."""
    if given:
        return [prepared(repo) for repo in given]
    return [prepared(None, service_name=f"bench-{name}", **answers) for name, answers in runtimes.items()]


def repo_argument(parser: Any) -> None:
    parser.add_argument("--repo", type=Path, help="an installed, trained service to measure (default: render one)")


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def server(command: list[str], cwd: Path, ready_url: str, timeout_s: float = 120):
    """Start `command`, yield the seconds it took to answer `ready_url` with 200, then stop it (SIGINT)."""
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"{command} exited with {process.returncode}")
            try:
                if httpx.get(ready_url, timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.perf_counter() - started > timeout_s:
                raise RuntimeError(f"{command} not ready in {timeout_s} s")
            time.sleep(0.02)
        yield time.perf_counter() - started
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()


def load(url: str, body: dict[str, Any], requests: int, concurrency: int, warmup: int = 50) -> dict[str, float]:
    """p50/p99 latency (ms) and requests/s for `requests` POSTs from `concurrency` threads; errors count."""
    with httpx.Client(timeout=30, limits=httpx.Limits(max_connections=concurrency)) as client:
        for _ in range(warmup):
            client.post(url, json=body)

        def one(_: int) -> float | None:
            started = time.perf_counter()
            response = client.post(url, json=body)
            return (time.perf_counter() - started) * 1000 if response.status_code == 200 else None

        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=concurrency) as pool:
            results = list(pool.map(one, range(requests)))
        wall = time.perf_counter() - started
    latencies = sorted(value for value in results if value is not None)
    cuts = statistics.quantiles(latencies, n=100, method="inclusive")
    return {
        "p50_ms": cuts[49],
        "p99_ms": cuts[98],
        "rps": requests / wall,
        "errors": sum(value is None for value in results),
    }


Results = dict[tuple[str, str], list[float]]  # (server, metric) -> one value per round


def record_load(
    results: Results, name: str, url: str, body: dict[str, Any], requests: int, concurrencies: tuple[int, ...]
) -> None:
    """`load` at each concurrency, its p50/p99/rps added to `results` under `name`; any error fails the run."""
    for concurrency in concurrencies:
        stats = load(url, body, requests, concurrency)
        assert stats["errors"] == 0, (name, concurrency, stats)
        for key in ("p50_ms", "p99_ms", "rps"):
            results.setdefault((name, f"c={concurrency} {key}"), []).append(stats[key])


def comparison(results: Results, first: str, second: str) -> list[list[Any]]:
    """Rows of metric, median for `first`, median for `second`, and how much faster `first` is (>1)."""
    rows = []
    for metric in sorted({metric for _, metric in results}, key=lambda metric: (not metric.startswith("c="), metric)):
        a, b = statistics.median(results[(first, metric)]), statistics.median(results[(second, metric)])
        rows.append([metric, a, b, a / b if metric.endswith("rps") else b / a])
    return rows


def table(headers: list[str], rows: list[list[Any]]) -> str:
    cells = [[f"{cell:.2f}" if isinstance(cell, float) else str(cell) for cell in row] for row in rows]
    widths = [max(len(str(header)), *(len(row[index]) for row in cells)) for index, header in enumerate(headers)]
    lines = [" | ".join(header.ljust(width) for header, width in zip(headers, widths, strict=True))]
    lines.append("-|-".join("-" * width for width in widths))
    lines += [" | ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)) for row in cells]
    return "\n".join(lines)


def machine() -> str:
    import os
    import platform

    return f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"


def cleanup(path: Path) -> None:
    shutil.rmtree(path.parent, ignore_errors=True)


# A Lua long string of level 2: JSON holds "]]" (nested lists), which would end a level-0 one.
WRK_SCRIPT = 'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\nwrk.body = [==[{body}]==]\n'
UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3}


def require_wrk() -> None:
    """Stop at once, saying how to get it, where wrk (the load generator of every table) is missing."""
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install wrk (the kit's .ci/run does)")


def wrk(url: str, body: dict[str, Any], concurrency: int, seconds: int) -> dict[str, float]:
    """wrk's requests/s and p50/p99 (ms) for POSTs of `body`; non-2xx answers fail the run."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(WRK_SCRIPT.format(body=json.dumps(body)))
    threads = min(concurrency, 2)
    # --timeout: an answer slower than wrk's 2 s is measured, not dropped (with none measured its
    # percentiles read "-nan": a busy CI machine's 8 concurrent embeddings took that long).
    command = ["wrk", f"-t{threads}", f"-c{concurrency}", f"-d{seconds}s", "--timeout", "30s", "--latency",
               "-s", script.name, url]  # fmt: skip
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    Path(script.name).unlink()
    return wrk_figures(out, url, seconds)


def wrk_figures(out: str, url: str, seconds: int) -> dict[str, float]:
    """requests/s and p50/p99 (ms) from wrk's `--latency` output; a run without them stops, saying why."""
    if "Non-2xx" in out:
        raise SystemExit(f"wrk got errors from {url}:\n{out}")
    if not re.search(r"^\s+[1-9]\d* requests in", out, re.MULTILINE):  # its latencies would read 0.00us
        raise SystemExit(f"wrk got no answer from {url} in {seconds} s (a busy machine: more --seconds):\n{out}")

    def percentile(pct: str) -> float:
        # wrk pads its units to two characters: "325.27ms", "1.31s " (--timeout 30s: never minutes).
        found = re.search(rf"^\s+{pct}%\s+([\d.]+)(us|ms|s)\s*$", out, re.MULTILINE)
        if found is None:
            raise SystemExit(f"wrk printed no {pct}th percentile for {url}:\n{out}")
        return float(found.group(1)) * UNITS[found.group(2)]

    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    return {"p50_ms": percentile("50"), "p99_ms": percentile("99"), "rps": rps}
