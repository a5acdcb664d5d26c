"""The rendered TorchServe service: latency and throughput with server-side batching off
(batchSize 1) and on (batchSize 8, maxBatchDelay 10 ms, as the kit ships it), at concurrency 1 and
16, side by side in one run on 127.0.0.1.

    .venv/bin/python -m bench.torchserve [--requests 1000]
"""

from __future__ import annotations

import argparse
import json
import re

from bench.common import (
    PYTHON,
    Results,
    cleanup,
    comparison,
    free_port,
    machine,
    make,
    record_load,
    render,
    server,
    table,
)

SETTINGS = {"batch 8, 10 ms (kit default)": (8, 10), "batch 1 (batching off)": (1, 0)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    repo = render(runtime="torchserve", service_name="digits")
    make(repo, "train", "mar")
    config = repo / "config" / "config.properties"
    shipped = config.read_text(encoding="utf-8")
    body = {"instances": json.loads((repo / "scripts" / "sample.json").read_text())["instances"][:1]}
    results: Results = {}
    for _ in range(args.rounds):
        for name, (batch, delay) in SETTINGS.items():
            config.write_text(
                re.sub(r'"batchSize": \d+, "maxBatchDelay": \d+', f'"batchSize": {batch}, "maxBatchDelay": {delay}',
                       shipped),
                encoding="utf-8",
            )  # fmt: skip
            port = free_port()
            url = f"http://127.0.0.1:{port}"
            with server([PYTHON, "-m", "scripts.local_server", "--port", str(port)], repo, f"{url}/v2/health/ready"):
                record_load(results, name, url + "/v1/models/digits:predict", body, args.requests, (1, 16))
    cleanup(repo)
    names = list(SETTINGS)
    rows = comparison(results, *names)
    print(f"# Rendered TorchServe service, one 8x8 image per request: {args.requests} requests per cell, "
          f"median of {args.rounds} rounds ({machine()})\n")  # fmt: skip
    print(table(["metric", *names, "batching speed-up (>1 faster)"], rows))


if __name__ == "__main__":
    main()
