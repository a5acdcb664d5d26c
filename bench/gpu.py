"""The text runtimes on a GPU (#25): the embeddings and text-generation services of bench.gpu_bundle,
each served by its own server (`kserve-kit smoke` starts it as its ServingRuntime does) on the
machine's GPU, smoke-tested, then loaded: V2 requests/s and latency for both, and for generation
streamed chats' time to first token, time between tokens and tokens/s, at each concurrency.

Here (with the package registry):   .venv/bin/python -m bench.gpu_bundle          # build/gpu
There (the GPU machine, repo root): python3 -m bench.gpu --bundle build/gpu --out "$OUT"
    (the device tool: carry ["build/gpu"]; about 3 minutes on a warm machine)

It installs the bundle's wheels into the Python that runs it (`pip install --no-index`): run it on
a machine that is given back afterwards, or in a virtual environment of your own that sees torch.
Without a GPU it stops, unless --allow-cpu (the kit's own test runs it so, on CPU).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from bench.common import machine, table

COLUMNS = {  # the smoke's --json keys, by the line they come on ("v2": predictions; chat: streamed chats)
    "v2": {"requests_per_s": "V2 requests/s", "p50_ms": "V2 p50 ms", "p99_ms": "V2 p99 ms"},
    "chat/completions": {
        "first_token_p50_ms": "first token p50 ms",
        "between_tokens_p50_ms": "between tokens p50 ms",
        "tokens_per_s": "tokens/s",
    },
}


def install(bundle: Path, requirements: list[str]) -> None:
    """The bundle's wheels into this Python; what it already has in a fitting version stays."""
    command = [sys.executable, "-m", "pip", "install", "-q", "--no-index", "--find-links", str(bundle / "wheels")]
    result = subprocess.run([*command, *requirements], capture_output=True, text=True)
    if result.returncode:
        raise SystemExit(f"installing the bundle's wheels failed (rebuild it with bench.gpu_bundle):\n{result.stderr}")


def device(allow_cpu: bool) -> str:
    import torch

    if torch.cuda.is_available():
        return f"{torch.cuda.get_device_name(0)}, torch {torch.__version__}"
    if not allow_cpu:
        raise SystemExit("torch sees no GPU here: this is the GPU benchmark (--allow-cpu measures the CPU instead)")
    print("NO GPU: measuring on the CPU (--allow-cpu); these figures are not the GPU's", file=sys.stderr)
    return f"CPU only, torch {torch.__version__}"


def random_weights(model_dir: Path) -> None:
    """Weights of the model's own shape, drawn at random (the bundle leaves the real ones behind):
    the same layers, so the same cost to run; the answers mean nothing."""
    import torch
    from transformers import AutoConfig, AutoModel

    torch.manual_seed(0)
    AutoModel.from_config(AutoConfig.from_pretrained(model_dir)).save_pretrained(model_dir)


def smoke(repo: Path, requests: int, concurrency: int) -> dict[str, Any]:
    """`kserve-kit smoke --json` at `concurrency`: its JSON lines by route ("v2", "chat/completions")."""
    command = [sys.executable, "-m", "kserve_kit", "--repo", str(repo), "smoke", "--json",
               "--requests", str(requests), "--concurrency", str(concurrency)]  # fmt: skip
    result = subprocess.run(command, cwd=repo, capture_output=True, text=True)
    if result.returncode:
        raise SystemExit(f"the smoke of {repo.name} failed:\n{result.stdout[-3000:]}{result.stderr[-3000:]}")
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    return {line.get("protocol") or line["route"]: line for line in lines}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bundle", type=Path, default=Path("build/gpu"), help="bench.gpu_bundle's folder")
    parser.add_argument("--out", type=Path, help="where gpu.md and gpu.json go (the device tool's $OUT)")
    parser.add_argument("--requests", type=int, default=200, help="predictions, and streamed chats, per cell")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--allow-cpu", action="store_true", help="measure on the CPU where there is no GPU")
    args = parser.parse_args()
    manifest = json.loads((args.bundle / "bundle.json").read_text())
    install(args.bundle, manifest["install"])
    where = device(args.allow_cpu)
    rows, results = [], []
    for runtime, facts in manifest["repos"].items():
        repo = (args.bundle / "repos" / runtime).resolve()
        if facts["random_weights"] and not (repo / "model" / "model.safetensors").exists():
            random_weights(repo / "model")
        for concurrency in args.concurrency:
            lines = smoke(repo, args.requests, concurrency)
            results.append({"runtime": runtime, "concurrency": concurrency, **lines})
            cells = [lines[route][key] if route in lines else "-" for route, keys in COLUMNS.items() for key in keys]
            rows.append([runtime + (" (random weights)" if facts["random_weights"] else ""), concurrency, *cells])
    headers = ["service", "concurrency", *(name for keys in COLUMNS.values() for name in keys.values())]
    report = (f"# The text runtimes on {where}: each service's own server, smoke-tested, {args.requests} "
              f"predictions (and for generation {args.requests} streamed chats) per cell ({machine()})\n\n"
              f"{table(headers, rows)}\n")  # fmt: skip
    print(report)
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "gpu.md").write_text(report, encoding="utf-8")
        measured = {"device": where, "machine": machine(), "results": results}
        (args.out / "gpu.json").write_text(json.dumps(measured, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
