"""The real server process on 127.0.0.1, checked by the same code as `make smoke`."""

from __future__ import annotations

import httpx
import pytest

from scripts.local_server import LocalServer
from scripts.service_facts import load_service
from scripts.smoke import SmokeClient, Target, run_smoke

SERVICE = load_service()


@pytest.mark.parametrize("protocol", ["v1", "v2"])
def test_smoke_passes(server: LocalServer, protocol: str) -> None:
    client = SmokeClient(Target(server.url), SERVICE, protocol)
    latencies = run_smoke(client, ready_timeout_s=60, requests=3)
    assert len(latencies) == 3


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
