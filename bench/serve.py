"""The rendered scikit-learn server vs a peer serving the same iris model: KServe's SDK in its
plainest form (a `kserve.Model` that predicts `instances` with no validation, no size limit).
Both run as processes on 127.0.0.1; load comes from this process (threads, HTTP keep-alive),
alternating servers, side by side in one run.

    .venv/bin/python -m bench.serve [--requests 2000]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from bench.common import (
    PYTHON,
    Results,
    cleanup,
    comparison,
    free_port,
    load,
    machine,
    make,
    record_load,
    render,
    server,
    table,
)

PLAIN_SERVER = """
import argparse, joblib, numpy as np
from kserve import Model, ModelServer, model_server

class Plain(Model):
    def load(self):
        self.estimator = joblib.load(self.model_dir + "/model.joblib")
        self.ready = True
        return True

    def predict(self, payload, headers=None):
        return {"predictions": self.estimator.predict(np.array(payload["instances"])).tolist()}

parser = argparse.ArgumentParser(parents=[model_server.parser])
parser.add_argument("--model_dir")
args, _ = parser.parse_known_args()
model = Plain(args.model_name)
model.model_dir = args.model_dir
model.load()
ModelServer().start([model])
"""


def commands(repo: Path, port: int) -> dict[str, list[str]]:
    flags = ["--http_port", str(port), "--grpc_port", str(free_port()), "--enable_grpc", "false", "--workers", "1",
             "--configure_logging", "false", "--enable_latency_logging", "false"]  # fmt: skip
    return {
        "rendered server (kit)": [PYTHON, "-m", "iris_classifier", "--model_name", "iris-classifier", "--model_dir",
                                  str(repo / "model"), *flags],
        "plain KServe model (peer)": [PYTHON, str(repo / "plain_server.py"), "--model_name", "iris-classifier",
                                      "--model_dir", str(repo / "model"), *flags],
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds; medians are reported")
    args = parser.parse_args()
    repo = render()
    make(repo, "train")
    (repo / "plain_server.py").write_text(PLAIN_SERVER, encoding="utf-8")
    body = {"instances": json.loads((repo / "scripts" / "sample.json").read_text())["instances"]}
    results: Results = {}
    for _ in range(args.rounds):
        port = free_port()
        for name, command in commands(repo, port).items():
            url = f"http://127.0.0.1:{port}"
            with server(command, repo, f"{url}/v1/models/iris-classifier") as cold_start:
                results.setdefault((name, "cold start to ready (s)"), []).append(cold_start)
                for concurrency in (1, 8):
                    stats = load(f"{url}/v1/models/iris-classifier:predict", body, args.requests, concurrency)
                    record_load(results, name, concurrency, stats)
    cleanup(repo)
    names = list(commands(repo, 0))
    rows = comparison(results, *names)
    print(f"# Rendered sklearn server vs plain KServe model: {args.requests} requests per cell, "
          f"median of {args.rounds} alternating rounds ({machine()})\n")  # fmt: skip
    print(table(["metric", names[0], names[1], "kit speed vs peer (>1 faster)"], rows))


if __name__ == "__main__":
    main()
