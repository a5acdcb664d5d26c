"""The rendered scikit-learn server vs peers serving the same iris model, side by side in one run:
- V1: KServe's SDK in its plainest form (a `kserve.Model` that predicts `instances`, no validation,
  no body size limit), with KServe's default logging and the kit's warning filter;
- V2: MLServer with its scikit-learn runtime (installed by this script into .venv-mlserver: its
  pins clash with the kit's environment).
The kit's server runs as its ServingRuntime starts it (`kserve-kit serve`). All run as processes on
127.0.0.1; load comes from this process (threads, HTTP keep-alive),
alternating servers round by round.

    .venv/bin/python -m bench.serve [--requests 2000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import subprocess
from pathlib import Path
from typing import Any

import yaml

from bench.common import (
    KIT_ROOT,
    Results,
    cleanup,
    comparison,
    free_port,
    kit_serve,
    machine,
    prepared,
    record_load,
    repo_argument,
    server,
    table,
)

MLSERVER_VENV = KIT_ROOT / ".venv-mlserver"
MLSERVER_PACKAGES = ["mlserver==1.7.1", "mlserver-sklearn==1.7.1"]
PLAIN_SERVER = """
import argparse, joblib, warnings, numpy as np
from kserve import Model, ModelServer, model_server
warnings.filterwarnings("ignore", message="ORJSONResponse is deprecated")  # as the kit's server does

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


def mlserver() -> Path:
    """MLServer's executable, installed on first use into its own environment."""
    executable = MLSERVER_VENV / "bin" / "mlserver"
    if not executable.is_file():
        for command in (
            ["python3", "-m", "venv", str(MLSERVER_VENV)],
            [str(MLSERVER_VENV / "bin" / "pip"), "install", "--quiet", *MLSERVER_PACKAGES],
        ):
            result = subprocess.run(command, capture_output=True, text=True)
            if result.returncode:
                raise SystemExit(f"cannot install MLServer ({' '.join(command)}):\n{result.stderr[-2000:]}")
    return executable


def servers(
    repo: Path, python: Path, port: int
) -> dict[str, tuple[list[str], str, dict[str, tuple[str, dict[str, Any]]]]]:
    """name -> (command, readiness path, {protocol label: (predict path, body)})."""
    rows = json.loads((repo / "sample.json").read_text())["instances"]
    model = yaml.safe_load((repo / ".copier-answers.yml").read_text())["service_name"]
    v1 = (f"/v1/models/{model}:predict", {"instances": rows})
    flat = [value for row in rows for value in row]
    v2 = (f"/v2/models/{model}/infer", {"inputs": [{"name": "input-0", "shape": [len(rows), len(rows[0])],
                                                    "datatype": "FP64", "data": flat}]})  # fmt: skip
    # KServe's defaults (logging included), as a user would start a plain kserve.Model.
    kserve_flags = ["--model_name", model, "--model_dir", str(repo / "model"), "--http_port", str(port),
                    "--grpc_port", str(free_port()), "--enable_grpc", "false", "--workers", "1"]  # fmt: skip
    settings = repo / "mlserver"
    settings.mkdir(exist_ok=True)
    (settings / "model-settings.json").write_text(json.dumps({
        "name": model, "implementation": "mlserver_sklearn.SKLearnModel",
        "parameters": {"uri": str(repo / "model" / "model.joblib")},
    }))  # fmt: skip
    # parallel_workers 0: MLServer's default worker pool breaks with uvloop 0.23.
    (settings / "settings.json").write_text(json.dumps({
        "http_port": port, "grpc_port": free_port(), "metrics_port": free_port(), "parallel_workers": 0,
    }))  # fmt: skip
    return {
        "kit": (  # as its ServingRuntime starts it (its arguments, logging and all)
            kit_serve(python, port, "sklearn"),
            f"/v1/models/{model}",
            {"V1": v1, "V2": v2},
        ),  # fmt: skip
        "plain KServe": (
            [str(python), str(repo / "plain_server.py"), *kserve_flags],
            f"/v1/models/{model}",
            {"V1": v1},
        ),  # fmt: skip
        "MLServer": ([str(mlserver()), "start", str(settings)], f"/v2/models/{model}/ready", {"V2": v2}),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds; medians are reported")
    repo_argument(parser)
    args = parser.parse_args()
    repo, python, ours = prepared(args.repo)
    (repo / "plain_server.py").write_text(PLAIN_SERVER, encoding="utf-8")
    results: Results = {}
    for _ in range(args.rounds):
        port = free_port()
        for name, (command, ready_path, protocols) in servers(repo, python, port).items():
            url = f"http://127.0.0.1:{port}"
            with server(command, repo, url + ready_path) as cold_start:
                for protocol, (path, body) in protocols.items():
                    label = f"{name} {protocol}"
                    results.setdefault((label, "cold start to ready (s)"), []).append(cold_start)
                    record_load(results, label, url + path, body, args.requests, (1, 8))
    (repo / "plain_server.py").unlink()
    if ours:
        cleanup(repo)
    print(f"# Rendered sklearn server vs peers on the same iris model: {args.requests} requests per cell, "
          f"median of {args.rounds} alternating rounds ({machine()})")  # fmt: skip
    for kit, peer in (("kit V1", "plain KServe V1"), ("kit V2", "MLServer V2")):
        print(f"\n## {kit} vs {peer}\n")
        print(table(["metric", kit, peer, "kit speed vs peer (>1 faster)"], comparison(results, kit, peer)))


if __name__ == "__main__":
    main()
