"""The rendered TorchServe service: latency and throughput with server-side batching off
(batchSize 1) and on (batchSize 8, maxBatchDelay 10 ms, as the kit ships it), at concurrency 1 and
16, side by side in one run on 127.0.0.1.

    .venv/bin/python -m bench.torchserve [--requests 1000]
"""

from __future__ import annotations

import argparse
import json
import re

import yaml

from bench.common import (
    Results,
    cleanup,
    comparison,
    free_port,
    machine,
    prepared,
    record_load,
    repo_argument,
    server,
    table,
)

SETTINGS = {"batch 8, 10 ms (kit default)": (8, 10), "batch 1 (batching off)": (1, 0)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=2)
    repo_argument(parser)
    args = parser.parse_args()
    repo, python, ours = prepared(args.repo, runtime="torchserve", service_name="digits")
    name = yaml.safe_load((repo / ".copier-answers.yml").read_text())["service_name"]
    config = repo / "config" / "config.properties"
    shipped = config.read_text(encoding="utf-8")
    body = {"instances": json.loads((repo / "sample.json").read_text())["instances"][:1]}
    results: Results = {}
    for _ in range(args.rounds):
        for setting, (batch, delay) in SETTINGS.items():
            config.write_text(
                re.sub(r'"batchSize": \d+, "maxBatchDelay": \d+', f'"batchSize": {batch}, "maxBatchDelay": {delay}',
                       shipped),
                encoding="utf-8",
            )  # fmt: skip
            port = free_port()
            url = f"http://127.0.0.1:{port}"
            command = [str(python), "-m", "kserve_kit", "serve", "--port", str(port)]
            with server(command, repo, f"{url}/v2/health/ready"):
                record_load(results, setting, url + f"/v1/models/{name}:predict", body, args.requests, (1, 16))
    config.write_text(shipped, encoding="utf-8")
    if ours:
        cleanup(repo)
    names = list(SETTINGS)
    rows = comparison(results, *names)
    print(f"# Rendered TorchServe service, one 8x8 image per request: {args.requests} requests per cell, "
          f"median of {args.rounds} rounds ({machine()})\n")  # fmt: skip
    print(table(["metric", *names, "batching speed-up (>1 faster)"], rows))


if __name__ == "__main__":
    main()
