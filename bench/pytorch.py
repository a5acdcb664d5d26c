"""The PyTorch runtime (KServe's Python server) against TorchServe, on the same network and the same
trained weights, side by side in one run: cold start to the first answered prediction, then
p50/p99 latency and requests/s at concurrency 1, 8 and 64 for one 8x8 image per V1 request, measured
with wrk (a native load generator: on 2 cores a Python client takes the server's CPU) and, beside
it, with the kit's Python client. TorchServe runs with its batching off (batch 1) and on (batch 8,
10 ms, as rendered); the PyTorch runtime as rendered (its server batches in-process, batch_size 32).

    .venv/bin/python -m bench.pytorch [--seconds 10] [--rounds 2] [--client-requests 200] [--concurrency 1 8 64]
                                      [--repo PYTORCH_REPO --repo TORCHSERVE_REPO]
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import yaml

from bench.common import Results, cleanup, free_port, kit_serve, load, machine, prepared, require_wrk, table, wrk

CONCURRENCY = (1, 8, 64)
TORCHSERVE = {"TorchServe, batch 1": (1, 0), "TorchServe, batch 8": (8, 10)}


def measure(
    results: Results, name: str, repo: Path, python: Path, body: dict[str, Any], args: argparse.Namespace
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    model = yaml.safe_load((repo / ".copier-answers.yml").read_text())["service_name"]
    predict = f"{url}/v1/models/{model}:predict"
    started = time.perf_counter()
    runtime = yaml.safe_load((repo / "kserve-kit.yaml").read_text())["runtime"]
    process = subprocess.Popen(kit_serve(python, port, runtime), cwd=repo,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        while True:  # ready = the first answered prediction (TorchServe's ready route says too little)
            if process.poll() is not None:
                raise SystemExit(f"{name} exited with {process.returncode}")
            try:
                if httpx.post(predict, json=body, timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.05)
        results.setdefault((name, "cold start to first prediction (s)"), []).append(time.perf_counter() - started)
        for concurrency in args.concurrency:
            native = wrk(predict, body, concurrency, args.seconds)
            client = load(predict, body, args.client_requests * concurrency, concurrency)
            for tool, stats in (("wrk", native), ("python client", client)):
                for key in ("p50_ms", "p99_ms", "rps"):
                    results.setdefault((name, f"c={concurrency} {key} ({tool})"), []).append(stats[key])
    finally:
        process.send_signal(2)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=10, help="wrk's duration per cell")
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds; medians are reported")
    parser.add_argument("--client-requests", type=int, default=200, help="the Python client's requests per connection")
    parser.add_argument("--concurrency", type=int, nargs="+", default=list(CONCURRENCY), help="connections per cell")
    parser.add_argument(
        "--repo", type=Path, action="append", help="installed, trained: a PyTorch then a TorchServe service"
    )
    args = parser.parse_args()
    require_wrk()
    given = args.repo or [None, None]
    pytorch, pytorch_python, ours_p = prepared(given[0], runtime="pytorch", service_name="digits")
    torchserve, torchserve_python, ours_t = prepared(given[1], runtime="torchserve", service_name="digits")
    # The same weights on both (a copy of the PyTorch service gets TorchServe's, which its archive holds).
    scratch = Path(tempfile.mkdtemp(prefix="bench-"))
    pytorch = Path(shutil.copytree(pytorch, scratch / pytorch.name, ignore=shutil.ignore_patterns(".venv")))
    shutil.copy(torchserve / "model" / "model.pt", pytorch / "model" / "model.pt")
    body = {"instances": json.loads((pytorch / "sample.json").read_text())["instances"][:1]}
    config = torchserve / "config" / "config.properties"
    shipped = config.read_text(encoding="utf-8")
    results: Results = {}
    try:
        for _ in range(args.rounds):
            measure(results, "PyTorch", pytorch, pytorch_python, body, args)
            for name, (batch, delay) in TORCHSERVE.items():
                config.write_text(re.sub(r'"batchSize": \d+, "maxBatchDelay": \d+',
                                         f'"batchSize": {batch}, "maxBatchDelay": {delay}', shipped))  # fmt: skip
                measure(results, name, torchserve, torchserve_python, body, args)
    finally:
        config.write_text(shipped, encoding="utf-8")
    shutil.rmtree(scratch)
    for repo, ours in ((given[0], ours_p), (torchserve, ours_t)):
        if ours and repo:
            cleanup(repo)
    names = ["PyTorch", *TORCHSERVE]
    metrics = sorted({metric for _, metric in results}, key=lambda metric: (not metric.startswith("c="), metric))
    rows = []
    for metric in metrics:
        values = [statistics.median(results[(name, metric)]) for name in names]
        better = max(values[1:]) if " rps " in metric else min(values[1:])
        ratio = values[0] / better if " rps " in metric else better / values[0]
        rows.append([metric, *values, ratio])
    print(f"# PyTorch runtime vs TorchServe, same network and weights, one 8x8 image per V1 request: wrk "
          f"{args.seconds} s per cell, median of {args.rounds} alternating rounds ({machine()})\n")  # fmt: skip
    print(table(["metric", *names, "PyTorch vs best TorchServe (>1 better)"], rows))


if __name__ == "__main__":
    main()
