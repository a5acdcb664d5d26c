"""The smoke client builds each endpoint of the guideline ("Endpoints") from service.yaml."""

from __future__ import annotations

import pytest

from scripts.local_server import LocalServer
from scripts.service_facts import load_service
from scripts.smoke import SmokeClient, SmokeFailure, Target, main, resolve_target, run_smoke

SERVICE = load_service()


def test_external_and_internal_urls_follow_the_guideline() -> None:
    name, namespace = SERVICE["name"], SERVICE["namespace"]
    external = resolve_target(SERVICE, "external", None, None)
    assert external.url.startswith(f"http://{name}-predictor-{namespace}-")
    internal = resolve_target(SERVICE, "internal", None, None)
    assert internal == Target(f"http://{name}-predictor.{namespace}.svc.cluster.local")


def test_gateway_sends_the_host_header(server: LocalServer) -> None:
    target = resolve_target(SERVICE, "gateway", server.url, None)
    assert target.host_header == f"{SERVICE['name']}-predictor.{SERVICE['namespace']}"
    client = SmokeClient(target, SERVICE, SERVICE["protocol"])
    run_smoke(client, ready_timeout_s=60)
    response = client.http.get(client.ready_path)
    assert response.request.headers["host"] == target.host_header


def test_unreachable_service_fails_within_the_timeout() -> None:
    client = SmokeClient(Target("http://127.0.0.1:9"), SERVICE, "v1", timeout_s=0.5)
    with pytest.raises(SmokeFailure, match="not ready after 1 s"):
        run_smoke(client, ready_timeout_s=1)


def test_cli_exits_non_zero_with_the_reason(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--url", "http://127.0.0.1:9", "--timeout", "1"]) == 1
    assert "SMOKE FAILED" in capsys.readouterr().err
