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


@pytest.mark.parametrize(
    ("target", "host"),
    [
        ("external", f"{SERVICE['name']}-predictor-{SERVICE['namespace']}-"),  # + suffix and domain
        ("internal", f"{SERVICE['name']}-predictor.{SERVICE['namespace']}.svc.cluster.local"),
        ("gateway", f"{SERVICE['name']}-predictor.{SERVICE['namespace']}"),
    ],
)
def test_every_access_path_reaches_the_real_server_with_its_host(server: LocalServer, target: str, host: str) -> None:
    # The server stands in for the ingress, the cluster DNS name and the local gateway: requests go to
    # it while carrying the Host header the guideline's access path uses.
    resolved = resolve_target(SERVICE, target, connect_to=f"127.0.0.1:{server.port}")
    client = SmokeClient(resolved, SERVICE, SERVICE["protocol"])
    run_smoke(client, ready_timeout_s=60)
    sent = client.http.get(client.ready_path).request.headers["host"]
    assert sent.startswith(host) and sent == resolved.host_header


def test_gateway_address_and_host_follow_the_environment() -> None:
    target = resolve_target(SERVICE, "gateway")
    gateway = "knative-serving" if SERVICE["generation"] == "next-gen" else "istio-system"
    assert target.url == f"http://knative-local-gateway.{gateway}.svc.cluster.local"
    assert target.host_header == f"{SERVICE['name']}-predictor.{SERVICE['namespace']}"


def test_latency_thresholds_fail_the_smoke_test(server: LocalServer, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--url", server.url, "--requests", "3", "--max-p95-ms", "0.001"]) == 1
    assert "exceeds --max-p95-ms" in capsys.readouterr().err
    assert main(["--url", server.url, "--requests", "3", "--max-p99-ms", "60000"]) == 0
    assert "p50" in capsys.readouterr().out


def test_unreachable_service_fails_within_the_timeout() -> None:
    client = SmokeClient(Target("http://127.0.0.1:9"), SERVICE, "v1", timeout_s=0.5)
    with pytest.raises(SmokeFailure, match="not ready after 1 s"):
        run_smoke(client, ready_timeout_s=1)


def test_cli_exits_non_zero_with_the_reason(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--url", "http://127.0.0.1:9", "--timeout", "1"]) == 1
    assert "SMOKE FAILED" in capsys.readouterr().err
