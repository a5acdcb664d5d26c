"""The rendered KServe Python servers against the floor Python allows and the peers a user would
pick, side by side in one run, with wrk (servers alternating round by round):

- kit: the service's server exactly as its ServingRuntime starts it (`kserve-kit serve`: the
  ServingRuntime's own arguments, logging and all), in one process as in a 1-CPU pod, the peers'
  count (bench.cpus measures the workers);
- floor: a raw ASGI app doing the same work (uvicorn + httptools + uvloop + orjson, the owner's same
  `predict_rows` on the same rows, no checks, no metrics, no logs);
- plain KServe: a `kserve.Model` predicting `instances` with KServe's own defaults (and the same
  warning filter as the kit's server, so neither prints a warning per request).

    .venv/bin/python -m bench.floor [--seconds 5] [--rounds 3] [--repo SKLEARN_REPO] [--repo PYTORCH_REPO]

scikit-learn is measured with V1 and V2 at c=1 and c=8; PyTorch (one 8x8 image per request) with V1
at c=1, 8 and 64, where the kit batches concurrent requests in the server.
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path
from typing import Any

import yaml

from bench.common import Results, cleanup, free_port, kit_serve, machine, prepared, require_wrk, server, table, wrk

FLOOR_SERVER = """
import importlib, sys, numpy as np, orjson, uvicorn
package, module, cls, name, model_dir, port = sys.argv[1:]
model = getattr(importlib.import_module(f"{package}.{module}"), cls)(name, model_dir)
model.load()
predict = model.predict_rows
V1, V2 = f"/v1/models/{name}:predict", f"/v2/models/{name}/infer"

async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    body, more = b"", True
    while more:
        message = await receive()
        body += message.get("body", b"")
        more = message.get("more_body", False)
    if scope["path"] == V1:
        answer = {"predictions": predict(np.asarray(orjson.loads(body)["instances"], dtype=np.float64)).tolist()}
    elif scope["path"] == V2:
        tensor = orjson.loads(body)["inputs"][0]
        out = predict(np.asarray(tensor["data"], dtype=np.float64).reshape(tensor["shape"]))
        answer = {"model_name": name, "outputs": [{"name": "output-0", "shape": list(out.shape),
                                                  "datatype": "INT64", "data": out.tolist()}]}
    else:
        await send({"type": "http.response.start", "status": 200 if scope["path"] == f"/v1/models/{name}" else 404,
                    "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": b"{}"})
        return
    payload = orjson.dumps(answer)
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]})
    await send({"type": "http.response.body", "body": payload})

uvicorn.run(app, host="127.0.0.1", port=int(port), loop="uvloop", http="httptools", access_log=False,
            log_level="warning")
"""
PLAIN_SERVER = """
import argparse, importlib, sys, warnings, numpy as np
from kserve import Model, ModelServer, model_server
warnings.filterwarnings("ignore", message="ORJSONResponse is deprecated")  # as the kit's server does
parser = argparse.ArgumentParser(parents=[model_server.parser])
parser.add_argument("--model_dir")
parser.add_argument("--owner_class")
args, _ = parser.parse_known_args()
package, module, cls = args.owner_class.split(":")
owner = getattr(importlib.import_module(f"{package}.{module}"), cls)(args.model_name, args.model_dir)
owner.load()

class Plain(Model):
    def predict(self, payload, headers=None):
        return {"predictions": owner.predict_rows(np.asarray(payload["instances"], dtype=np.float64)).tolist()}

model = Plain(args.model_name)
model.ready = True
ModelServer().start([model])
"""
CASES = {"sklearn": (("V1", "V2"), (1, 8)), "pytorch": (("V1",), (1, 8, 64))}


def bodies(repo: Path, runtime: str) -> dict[str, tuple[str, dict[str, Any]]]:
    rows = json.loads((repo / "sample.json").read_text())["instances"]
    rows = rows[:1] if runtime == "pytorch" else rows
    model = yaml.safe_load((repo / ".copier-answers.yml").read_text())["service_name"]
    tensor = {"name": "input-0", "shape": [len(rows), len(rows[0])], "datatype": "FP64",
              "data": [value for row in rows for value in row]}  # fmt: skip
    return {"V1": (f"/v1/models/{model}:predict", {"instances": rows}),
            "V2": (f"/v2/models/{model}/infer", {"inputs": [tensor]})}  # fmt: skip


def commands(repo: Path, python: Path, port: int) -> dict[str, list[str]]:
    facts = yaml.safe_load((repo / "kserve-kit.yaml").read_text())
    model = yaml.safe_load((repo / ".copier-answers.yml").read_text())["service_name"]
    package, runtime = facts["package"], facts["runtime"]
    module, cls = {"sklearn": ("model", "SklearnModel"), "pytorch": ("predictor", "PyTorchModel")}[runtime]
    model_dir = str(repo / "model")
    return {
        "kit": kit_serve(python, port, runtime),
        "floor": [str(python), str(repo / "floor_server.py"), package, module, cls, model, model_dir, str(port)],
        "plain KServe": [
            str(python),
            str(repo / "plain_server.py"),
            "--model_name",
            model,
            "--model_dir",
            model_dir,
            "--http_port",
            str(port),
            "--enable_grpc",
            "false",
            "--owner_class",
            f"{package}:{module}:{cls}",
        ],  # fmt: skip
    }


def measure(results: Results, repo: Path, python: Path, seconds: int) -> str:
    runtime = yaml.safe_load((repo / "kserve-kit.yaml").read_text())["runtime"]
    protocols, concurrencies = CASES[runtime]
    model = yaml.safe_load((repo / ".copier-answers.yml").read_text())["service_name"]
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    for name, command in commands(repo, python, port).items():
        with server(command, repo, f"{url}/v1/models/{model}"):
            for protocol in protocols:
                if name == "plain KServe" and protocol == "V2":
                    continue  # the plain model reads `instances` only
                path, body = bodies(repo, runtime)[protocol]
                wrk(url + path, body, 8, 1)  # warm-up
                for concurrency in concurrencies:
                    stats = wrk(url + path, body, concurrency, seconds)
                    for key in ("rps", "p50_ms", "p99_ms"):
                        results.setdefault((f"{runtime} {name}", f"{protocol} c={concurrency} {key}"), []).append(
                            stats[key]
                        )
    return runtime


def ratio(kit: float, peer: float | None, faster_is_more: bool) -> str:
    """How much better the kit is than `peer` (>1 better): requests/s up, latency down."""
    return "-" if peer is None else f"{(kit / peer if faster_is_more else peer / kit):.2f}"


def rows_for(results: Results, runtime: str) -> list[list[Any]]:
    metrics = sorted({metric for server_name, metric in results if server_name.startswith(runtime)})
    rows = []
    for metric in metrics:
        kit, floor = (statistics.median(results[(f"{runtime} {name}", metric)]) for name in ("kit", "floor"))
        plain_values = results.get((f"{runtime} plain KServe", metric))
        plain = statistics.median(plain_values) if plain_values else None
        rps = metric.endswith("rps")
        rows.append(
            [metric, kit, floor, "-" if plain is None else plain, ratio(kit, floor, rps), ratio(kit, plain, rps)]
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=5, help="wrk's duration per cell")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds; medians are reported")
    parser.add_argument("--repo", type=Path, action="append", help="installed, trained services (sklearn, pytorch)")
    args = parser.parse_args()
    require_wrk()
    given = args.repo or [None, None]
    services = [prepared(given[0], runtime="sklearn", service_name="iris")]
    if len(given) > 1:
        services.append(prepared(given[1], runtime="pytorch", service_name="digits"))
    for repo, _, _ in services:
        (repo / "floor_server.py").write_text(FLOOR_SERVER, encoding="utf-8")
        (repo / "plain_server.py").write_text(PLAIN_SERVER, encoding="utf-8")
    results: Results = {}
    runtimes = []
    try:
        for _ in range(args.rounds):
            runtimes = [measure(results, repo, python, args.seconds) for repo, python, _ in services]
    finally:
        for repo, _, ours in services:
            (repo / "floor_server.py").unlink(missing_ok=True)
            (repo / "plain_server.py").unlink(missing_ok=True)
            if ours:
                cleanup(repo)
    print(f"# The kit's servers vs the raw ASGI floor and plain KServe: wrk {args.seconds} s per cell, median of "
          f"{args.rounds} alternating rounds ({machine()})")  # fmt: skip
    for runtime in runtimes:
        print(f"\n## {runtime}\n")
        headers = ["metric", "kit", "floor", "plain KServe", "kit vs floor (>1 better)", "kit vs plain KServe"]
        print(table(headers, rows_for(results, runtime)))


if __name__ == "__main__":
    main()
