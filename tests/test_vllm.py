"""The vLLM runtime, as far as these machines allow: vLLM needs a GPU and its image, and neither is
here (no GPU, no registry). A vLLM service checks itself without vLLM (its conformance tests, lint,
validate, docs), refuses what it cannot do here with a non-zero exit and the way instead, and its
smoke's OpenAI checks run for real against an OpenAI-compatible server: the text-generation runtime's
(its routes under /openai/v1, vLLM's under /v1: the smoke's URL takes the difference)."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from kserve_kit.local_server import free_port
from tests.conftest import Render, run_make
from tests.test_owner import OWNERS

pytestmark = pytest.mark.e2e


def test_a_vllm_service_checks_itself_without_vllm(render: Render, schema_dir: Path) -> None:
    repo = render(runtime="vllm")
    result = run_make(repo, "test", "lint", "validate", "docs", PY=sys.executable, KSERVE_SCHEMA_DIR=str(schema_dir))
    assert "5 passed" in result.stdout, result.stdout  # test_vllm_runtime.py (4) and test_monitoring_recorded.py
    assert not (repo / "Dockerfile").exists() and not (repo / "training").exists()
    for target in ("run", "train", "image", "container-smoke", "push"):
        refused = run_make(repo, target, check=False, PY=sys.executable)
        assert refused.returncode != 0 and "make smoke TARGET=external" in refused.stderr, (target, refused.stderr)
    local = run_make(repo, "smoke", check=False, PY=sys.executable)
    assert local.returncode != 0 and "kubectl port-forward" in local.stderr, local.stderr


def test_a_vllm_services_owner_edits_are_checked(render: Render, tmp_path_factory: pytest.TempPathFactory) -> None:
    """What vLLM would report only in the cluster, the service's own `make test` reports here."""
    repo = render(runtime="vllm")
    runtime = (repo / "k8s" / "serving-runtime.yaml").read_text(encoding="utf-8")
    edited = tmp_path_factory.mktemp("edited") / "repo"
    subprocess.run(["cp", "-r", str(repo), str(edited)], check=True)
    for old, new in (("--model=/mnt/models", "--model=/models"), ("--port=8080", "--port=8000"),
                     ("mountPath: /dev/shm", "mountPath: /dev/shm-not")):  # fmt: skip
        (edited / "k8s" / "serving-runtime.yaml").write_text(runtime.replace(old, new), encoding="utf-8")
        result = run_make(edited, "test", check=False, PY=sys.executable)
        assert result.returncode != 0 and "failed" in result.stdout, (old, result.stdout[-2000:])


def test_a_vllm_services_smoke_checks_a_real_openai_server(render: Render, installed: Render) -> None:
    server_repo = installed(**OWNERS["text-generation"])
    port = free_port()
    command = [str(server_repo / ".venv" / "bin" / "python"), "-m", "kserve_kit", "serve", "--port", str(port)]
    server = subprocess.Popen(command, cwd=server_repo, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and server.poll() is None:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/v1/models/text-classifier", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        # The vLLM service of the same name: its smoke asks <url>/v1/..., here <server>/openai/v1/...
        vllm = render(runtime="vllm", service_name="text-classifier")
        endpoint = f"http://127.0.0.1:{port}/openai"
        result = run_make(vllm, "smoke", PY=sys.executable, ENDPOINT=endpoint)
        latency = run_make(vllm, "latency", PY=sys.executable, ENDPOINT=endpoint, REQUESTS="20", CONCURRENCY="2")
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert "openai: text-classifier listed" in result.stdout and "streamed alike" in result.stdout, result.stdout
    assert "SMOKE OK" in result.stdout, result.stdout
    # `make latency`: no V1/V2 routes to time, the streamed chats as an LLM's users feel them.
    timed = re.search(r"openai: 20 streamed chats at concurrency 2: time to first token p50 ([\d.]+) ms.*"
                      r" ([\d.]+) tokens/s in all \((\d+) tokens\)", latency.stdout)  # fmt: skip
    assert timed and float(timed.group(1)) > 0 and float(timed.group(2)) > 0 and int(timed.group(3)) >= 20, latency
    page = (vllm / "docs" / "latency.md").read_text(encoding="utf-8")
    assert page.count("<svg") == 1 and "time to first token" in page, page[:500]
