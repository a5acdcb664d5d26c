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
    client = SmokeClient(Target(server.url), SERVICE["model_name"], protocol)
    latencies = run_smoke(client, ready_timeout_s=30, requests=3)
    assert len(latencies) == 3


def test_malformed_json_is_a_4xx_with_a_message(server: LocalServer) -> None:
    url = f"{server.url}/v1/models/{SERVICE['model_name']}:predict"
    response = httpx.post(url, json={"instances": [[1, 2]]}, timeout=10)
    assert response.status_code == 400
    assert "4 numbers each" in response.json()["error"]
    response = httpx.post(url, content=b"{not json", headers={"Content-Type": "application/json"}, timeout=10)
    assert 400 <= response.status_code < 500


def test_unknown_model_is_404(server: LocalServer) -> None:
    response = httpx.post(f"{server.url}/v1/models/no-such-model:predict", json={"instances": [[1, 2, 3, 4]]})
    assert response.status_code == 404
