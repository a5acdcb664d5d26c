"""The text runtimes against the plain Hugging Face way a user would write instead, on the same model,
side by side in one run (servers alternating round by round):

- embeddings: the kit's server (its OpenAI `/openai/v1/embeddings`, batching concurrent requests) vs
  sentence-transformers' `SentenceTransformer.encode` behind uvicorn (a raw ASGI app, httptools,
  uvloop, orjson, no checks), one text per request: requests/s and latency with wrk at c=1 and c=8;
- text generation: the kit's server (`/openai/v1/completions`, one generation at a time) vs a plain
  transformers `pipeline("text-generation")` behind uvicorn (each request in a thread), greedy, 16
  new tokens per request: requests/s, latency and generated tokens/s at c=1 and c=4, with a Python
  client (wrk cannot count tokens).

Both serve from one process, as a 1-CPU pod does; the kit's server as its ServingRuntime starts it.

    .venv/bin/python -m bench.texts [--seconds 5] [--rounds 2] [--requests 40]
                                    [--repo EMBEDDINGS_REPO --repo TEXT_GENERATION_REPO]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import yaml

from bench.common import Results, cleanup, free_port, kit_serve, machine, prepared, require_wrk, server, table, wrk

MAX_TOKENS = 16
ASGI_TAIL = """
async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while (message := await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    body, more = b"", True
    while more:
        message = await receive()
        body += message.get("body", b"")
        more = message.get("more_body", False)
    status, answer = (200, await answer_of(orjson.loads(body))) if scope["method"] == "POST" else (200, {})
    await send({"type": "http.response.start", "status": status, "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": orjson.dumps(answer)})

uvicorn.run(app, host="127.0.0.1", port=port, http="httptools", loop="uvloop", log_level="warning", access_log=False)
"""
PLAIN_EMBEDDINGS = (
    """
import sys, orjson, uvicorn
from sentence_transformers import SentenceTransformer
model_dir, port = sys.argv[1], int(sys.argv[2])
model = SentenceTransformer(model_dir, device="cpu")

async def answer_of(request):
    vectors = model.encode(request["input"], convert_to_numpy=True)
    return {"object": "list", "data": [{"object": "embedding", "index": i, "embedding": v.tolist()}
                                       for i, v in enumerate(vectors)]}
"""
    + ASGI_TAIL
)
PLAIN_GENERATION = (
    """
import sys, anyio, orjson, uvicorn
from transformers import pipeline
model_dir, port = sys.argv[1], int(sys.argv[2])
generate = pipeline("text-generation", model=model_dir, device="cpu")

def complete(prompt, max_tokens):
    [out] = generate(prompt, max_new_tokens=max_tokens, do_sample=False, return_full_text=False)
    text = out["generated_text"]
    return {"choices": [{"text": text}], "usage": {"completion_tokens": len(generate.tokenizer(text)["input_ids"])}}

async def answer_of(request):
    return await anyio.to_thread.run_sync(complete, request["prompt"], request["max_tokens"])
"""
    + ASGI_TAIL
)


def name_of(repo: Path) -> str:
    return str(yaml.safe_load((repo / ".copier-answers.yml").read_text())["service_name"])


def generate_load(url: str, body: dict[str, Any], requests: int, concurrency: int) -> dict[str, float]:
    """requests/s, p50 latency and generated tokens/s (the server's count) for `requests` completions."""
    with httpx.Client(timeout=120) as client:
        client.post(url, json=body).raise_for_status()  # warm-up

        def one(_: int) -> tuple[float, int]:
            started = time.perf_counter()
            response = client.post(url, json=body)
            response.raise_for_status()
            return (time.perf_counter() - started) * 1000, int(response.json()["usage"]["completion_tokens"])

        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=concurrency) as pool:
            results = list(pool.map(one, range(requests)))
        wall = time.perf_counter() - started
    return {"p50_ms": statistics.median(ms for ms, _ in results), "rps": requests / wall,
            "tokens_per_s": sum(tokens for _, tokens in results) / wall}  # fmt: skip


def measure_embeddings(results: Results, repo: Path, python: Path, scripts: Path, seconds: int) -> None:
    model, port = name_of(repo), free_port()
    url = f"http://127.0.0.1:{port}"
    text = json.loads((repo / "sample.json").read_text())["instances"][0]
    body = {"model": model, "input": [text]}
    servers = {
        "kit": (kit_serve(python, port, "embeddings"), f"{url}/v1/models/{model}", "/openai/v1/embeddings"),
        "plain": ([str(python), str(scripts / "embeddings.py"), str(repo / "model"), str(port)], url, "/embeddings"),
    }
    for name, (command, ready, path) in servers.items():
        with server(command, repo, ready):
            wrk(url + path, body, 8, 1)  # warm-up
            for concurrency in (1, 8):
                stats = wrk(url + path, body, concurrency, seconds)
                for key in ("rps", "p50_ms", "p99_ms"):
                    results.setdefault((name, f"embeddings c={concurrency} {key}"), []).append(stats[key])


def measure_generation(results: Results, repo: Path, python: Path, scripts: Path, requests: int) -> None:
    model, port = name_of(repo), free_port()
    url = f"http://127.0.0.1:{port}"
    prompt = json.loads((repo / "sample.json").read_text())["instances"][0]
    body = {"model": model, "prompt": prompt, "max_tokens": MAX_TOKENS, "temperature": 0}
    servers = {
        "kit": (kit_serve(python, port, "text-generation"), f"{url}/v1/models/{model}", "/openai/v1/completions"),
        "plain": ([str(python), str(scripts / "generation.py"), str(repo / "model"), str(port)], url, "/completions"),
    }
    for name, (command, ready, path) in servers.items():
        with server(command, repo, ready):
            for concurrency in (1, 4):
                stats = generate_load(url + path, body, requests, concurrency)
                for key in ("rps", "p50_ms", "tokens_per_s"):
                    results.setdefault((name, f"generation c={concurrency} {key}"), []).append(stats[key])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=5, help="wrk's duration per embeddings cell")
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds; medians are reported")
    parser.add_argument("--requests", type=int, default=40, help="completions per generation cell")
    parser.add_argument("--repo", type=Path, action="append", help="installed, trained: embeddings, text-generation")
    args = parser.parse_args()
    require_wrk()
    given = args.repo or [None, None]
    embeddings = prepared(given[0], runtime="embeddings", service_name="embedder")
    generation = prepared(given[1], runtime="text-generation", service_name="generator")
    scripts = Path(tempfile.mkdtemp(prefix="bench-texts-"))
    (scripts / "embeddings.py").write_text(PLAIN_EMBEDDINGS, encoding="utf-8")
    (scripts / "generation.py").write_text(PLAIN_GENERATION, encoding="utf-8")
    results: Results = {}
    try:
        for _ in range(args.rounds):
            measure_embeddings(results, embeddings[0], embeddings[1], scripts, args.seconds)
            measure_generation(results, generation[0], generation[1], scripts, args.requests)
    finally:
        shutil.rmtree(scripts)
        for repo, _, ours in (embeddings, generation):
            if ours:
                cleanup(repo)
    rows = []
    for metric in sorted({metric for _, metric in results}):
        kit, plain = (statistics.median(results[(name, metric)]) for name in ("kit", "plain"))
        rows.append([metric, kit, plain, kit / plain if "_ms" not in metric else plain / kit])
    print(f"# The text runtimes vs plain sentence-transformers / a transformers pipeline behind uvicorn, same "
          f"model: wrk {args.seconds} s per embeddings cell, {args.requests} completions of {MAX_TOKENS} tokens "
          f"per generation cell, median of {args.rounds} alternating rounds ({machine()})\n")  # fmt: skip
    print(table(["metric", "kit", "plain", "kit vs plain (>1 better)"], rows))


if __name__ == "__main__":
    main()
