"""The real server process on 127.0.0.1, checked by the same code as `make smoke`."""

from __future__ import annotations

import json
import subprocess
import sys

import httpx
import pytest

from scripts.local_server import LocalServer
from scripts.service_facts import REPO_ROOT, load_service
from scripts.smoke import SmokeClient, Target, run_smoke

SERVICE = load_service()


@pytest.mark.parametrize("protocol", ["v1", "v2"])
def test_smoke_passes(server: LocalServer, protocol: str) -> None:
    client = SmokeClient(Target(server.url), SERVICE, protocol)
    summary = run_smoke(client, ready_timeout_s=60, requests=3).summary()
    assert summary["requests"] == 3 and summary["errors"] == 0


@pytest.mark.parametrize(
    "body",
    [
        b'{"instances": [[1, 2]]}',  # rows of the wrong width
        b'{"instances": [["a", "b"]]}',  # not numbers
        b'{"rows": []}',  # neither V1 nor V2
        b"{not json",
    ],
)
def test_malformed_requests_are_4xx_with_a_message(server: LocalServer, body: bytes) -> None:
    url = server.url + SERVICE["paths"]["v1"]["predict"]
    response = httpx.post(url, content=body, headers={"Content-Type": "application/json"}, timeout=30)
    assert 400 <= response.status_code < 500, response.text
    assert response.text.strip(), "a client error must say what is wrong"


def test_the_server_keeps_answering_after_bad_requests(server: LocalServer) -> None:
    httpx.post(server.url + SERVICE["paths"]["v1"]["predict"], json={"instances": "x"}, timeout=30)
    run_smoke(SmokeClient(Target(server.url), SERVICE, "v1"), ready_timeout_s=30)


def test_an_oversized_body_is_refused_with_413(server: LocalServer) -> None:
    url = server.url + SERVICE["paths"]["v1"]["predict"]
    row = "[" + ",".join(["1.0"] * 64) + "]"
    body = ('{"instances": [' + ",".join([row] * 40_000) + "]}").encode()  # about 10 MB
    response = httpx.post(url, content=body, headers={"Content-Type": "application/json"}, timeout=60)
    assert response.status_code == 413, response.text[:200]


def test_a_streamed_oversized_body_is_refused_too(server: LocalServer) -> None:
    url = server.url + SERVICE["paths"]["v1"]["predict"]

    row = b"[" + b",".join([b"1.0"] * 64) + b"]"

    def chunks():  # no Content-Length: the server must count while reading (about 10 MB of valid JSON)
        yield b'{"instances": ['
        for _ in range(40):
            yield b",".join([row] * 1000) + b","
        yield row + b"]}"

    response = httpx.post(url, content=chunks(), headers={"Content-Type": "application/json"}, timeout=60)
    assert response.status_code == 413, response.text[:200]


def test_a_bounded_load_from_a_second_process_gets_no_errors(server: LocalServer) -> None:
    command = [sys.executable, "-m", "scripts.smoke", "--url", server.url, "--requests", "2000", "--concurrency", "16"]
    result = subprocess.run([*command, "--json"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    summary = json.loads(result.stdout.splitlines()[0])
    assert summary["requests"] == 2000 and summary["errors"] == 0
