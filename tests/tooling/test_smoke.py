"""`kserve-kit smoke` and `serve` against a real model server process (the hand-written service's
row_sum), by every access path of the guideline, with one verdict printed last."""

from __future__ import annotations

import argparse
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from extensions.profile import environment_facts, load_profile
from kserve_kit import KitError
from kserve_kit.__main__ import main
from kserve_kit.container import container_smoke
from kserve_kit.local_server import LocalServer, ServerFailed
from kserve_kit.service import Service
from kserve_kit.smoke import SmokeClient, SmokeFailure, Target, resolve_target
from tests.conftest import port_closes, read_until


@pytest.fixture
def server(service: Service) -> Iterator[LocalServer]:
    with LocalServer(service) as running:
        yield running


def smoke(service_dir: Path, *args: str) -> int:
    return main(["--repo", str(service_dir), "smoke", *args])


def test_local_smoke_checks_every_declared_protocol(service_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert smoke(service_dir, "--timeout", "30") == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("  v2: ready, sample.json predicted as expected")  # the service's own protocol first
    assert out[1].startswith("  v1: ready")
    assert out[-1].startswith("SMOKE OK row-sum at the local server at http://127.0.0.1:")


def test_one_verdict_printed_last(server: LocalServer, service_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert smoke(service_dir, "--url", server.url, "--requests", "5", "--max-p95-ms", "0.0001") == 1
    captured = capsys.readouterr()
    assert "SMOKE OK" not in captured.out
    assert captured.err.strip().splitlines()[-1].startswith("SMOKE FAILED row-sum at http://127.0.0.1:")
    assert "p95 latency" in captured.err and "exceeds --max-p95-ms 0.0001" in captured.err
    assert smoke(service_dir, "--url", server.url, "--requests", "5", "--max-p99-ms", "60000") == 0
    assert "p99" in capsys.readouterr().out


def test_a_wrong_expectation_names_the_sample(server: LocalServer, service_dir: Path, capsys) -> None:
    (service_dir / "sample.json").write_text('{"instances": [[1, 2]], "expected": [4]}')
    assert smoke(service_dir, "--url", server.url) == 1
    assert "differ from the `expected` list in sample.json" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("target", "host"),
    [("internal", "row-sum-predictor.team-a.svc.cluster.local"), ("gateway", "row-sum-predictor.team-a")],
)
def test_every_access_path_reaches_the_real_server_with_its_host(
    server: LocalServer, service: Service, target: str, host: str
) -> None:
    # The server stands in for the cluster DNS name and the local gateway: requests go to it while
    # carrying the Host header the guideline's access path uses.
    resolved = resolve_target(service, target, connect_to=f"127.0.0.1:{server.port}")
    client = SmokeClient(resolved, service, service.protocol)
    sent = client.http.get(client.ready_path).request.headers["host"]
    assert sent == host == resolved.host_header


def test_a_cluster_local_service_has_no_external_endpoint(service_dir: Path, capsys) -> None:
    started = time.monotonic()
    assert smoke(service_dir, "--target", "external") == 2
    assert time.monotonic() - started < 5  # said at once, not after the readiness timeout
    assert "has no external endpoint: it is cluster-local" in capsys.readouterr().err


def test_gateway_address_follows_the_environment(render) -> None:
    profile = load_profile("agora")
    for environment in profile["environments"]:
        service = Service.load(render(environment=environment))
        target = resolve_target(service, "gateway")
        assert target.url == f"http://{environment_facts(profile, environment)['local_gateway']}"
        assert target.host_header == "iris-classifier-predictor.kserve-test"


def test_a_standard_mode_service_has_no_local_gateway(render, capsys) -> None:
    service_dir = render(platform="example-standard", visibility="cluster-local")
    assert smoke(service_dir, "--target", "gateway") == 2
    error = capsys.readouterr().err
    assert "has no local gateway: in Standard mode in-cluster clients call the predictor's Service" in error
    assert smoke(service_dir, "--target", "external") == 2
    error = capsys.readouterr().err
    assert "Use --target internal from inside the cluster" in error and "--target gateway" not in error


def test_unreachable_service_fails_within_the_timeout(service: Service) -> None:
    client = SmokeClient(Target("http://127.0.0.1:9"), service, "v1", timeout_s=0.5)
    with pytest.raises(SmokeFailure, match="not ready after 1 s"):
        client.wait_until_ready(1, None)  # type: ignore[arg-type]


def test_a_port_in_use_is_refused(service: Service) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        with pytest.raises(KitError, match=f"port {taken.getsockname()[1]} is in use by another process"):
            LocalServer(service, port=taken.getsockname()[1]).start()


def test_no_model_says_what_to_do(service_dir: Path) -> None:
    for path in (service_dir / "model").iterdir():
        path.unlink()
    with pytest.raises(KitError, match="no model in model/: put any file in model/"):
        LocalServer(Service.load(service_dir)).start()
    # container-smoke says so before building an image (an engine that does not exist shows it is not run)
    with pytest.raises(KitError, match="no model in model/"):
        container_smoke(Service.load(service_dir), argparse.Namespace(image=None, build_arg=[]), "no-such-engine")


def test_a_server_that_dies_at_start_fails_with_its_log(service_dir: Path) -> None:
    runtime = service_dir / "k8s" / "runtime.yaml"
    runtime.write_text(runtime.read_text().replace('"--http_port=8080"]', '"--http_port=8080", "--exit-now"]'))
    with (
        pytest.raises(ServerFailed, match="exited with 3:\n.*exiting as asked"),
        LocalServer(Service.load(service_dir)),
    ):
        pass


def test_working_directories_are_removed(service: Service) -> None:
    with LocalServer(service) as server:
        workdir = server.workdir
        assert workdir.is_dir()
    assert not workdir.exists()


def serve(service_dir: Path, *args: str) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "kserve_kit", "--repo", str(service_dir), "serve", *args]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_serve_exits_non_zero_when_the_server_dies(service_dir: Path) -> None:
    runtime = service_dir / "k8s" / "runtime.yaml"
    runtime.write_text(runtime.read_text().replace('"--http_port=8080"]', '"--http_port=8080", "--exit-after=2"]'))
    process = serve(service_dir, "--port", "0")
    out, err = process.communicate(timeout=60)
    assert process.returncode == 1, (out, err)
    assert "serving row-sum" in out and "the server stopped on its own with exit code 4" in err


def test_serve_refuses_a_busy_port(service_dir: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        process = serve(service_dir, "--port", str(taken.getsockname()[1]))
        out, err = process.communicate(timeout=60)
    assert process.returncode == 2 and "serving" not in out
    assert "is in use by another process" in err


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_serve_stops_its_server_and_cleans_up_on_ctrl_c_and_sigterm(service_dir: Path, stop: signal.Signals) -> None:
    def workdirs() -> set[Path]:
        return set(Path(tempfile.gettempdir()).glob("kserve-kit-row-sum-*"))

    others = workdirs()
    process = serve(service_dir, "--port", "0")
    deadline, line = time.monotonic() + 30, ""
    while "serving row-sum" not in line and time.monotonic() < deadline:
        line = process.stdout.readline() if process.stdout else ""
    port = int(line.split("http://127.0.0.1:")[1].split(")")[0])
    its_own = workdirs() - others
    assert its_own
    process.send_signal(stop)
    assert process.wait(timeout=30) == 0
    with pytest.raises(OSError):  # the model server is gone with it, not left holding the port
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    assert not any(path.exists() for path in its_own)


STOPPED_BY_A_SIGNAL = """
import signal, sys, time
from kserve_kit.local_server import Signalled
stopping = Signalled()
signal.signal(signal.SIGTERM, stopping.set)
print("up", flush=True)
while not stopping.is_set():  # the busiest loop: a lock taken here would be held when SIGTERM comes
    pass
"""


def test_serves_stop_flag_is_safe_to_set_from_a_signal_handler() -> None:
    """serve's signal handlers set a Signalled flag. threading.Event.set() in a handler waits for the
    lock that the Event.wait() it interrupted holds: with this loop on an Event, 40 of 60 runs never
    stopped."""
    for attempt in range(20):
        process = subprocess.Popen([sys.executable, "-c", STOPPED_BY_A_SIGNAL], stdout=subprocess.PIPE, text=True)
        assert process.stdout and process.stdout.readline() == "up\n"
        time.sleep(attempt / 1000)
        process.send_signal(signal.SIGTERM)
        try:
            assert process.wait(timeout=10) == 0
        finally:
            process.kill()


def test_a_cluster_only_address_fails_at_once_with_what_to_do(service_dir: Path, capsys) -> None:
    started = time.monotonic()
    assert smoke(service_dir, "--target", "internal") == 1
    assert time.monotonic() - started < 10  # not after the readiness timeout
    err = capsys.readouterr().err
    assert "row-sum-predictor.team-a.svc.cluster.local does not resolve from this machine" in err, err
    assert "resolves only inside the cluster" in err and "--connect-to" in err


def test_a_load_draws_its_latency_histogram(service_dir: Path, tmp_path: Path, capsys) -> None:
    page = tmp_path / "docs" / "latency.md"
    assert smoke(service_dir, "--requests", "40", "--concurrency", "2", "--histogram", str(page)) == 0
    assert f"latency histogram: {page}" in capsys.readouterr().out
    text = page.read_text()
    assert text.startswith("# Latency of row-sum\n")
    charts = re.findall(r"<svg .*?</svg>", text, re.S)
    assert len(charts) == len(Service.load(service_dir).protocols)
    for svg in charts:  # every prediction is in one bar, and the percentiles are marked
        counts = [int(count) for count in re.findall(r"<title>(\d+) requests", svg)]
        assert sum(counts) == 40 and len(counts) == 24
        assert all(f">{name} " in svg for name in ("p50", "p95", "p99"))
    html_page = tmp_path / "latency.html"
    assert smoke(service_dir, "--requests", "20", "--histogram", str(html_page)) == 0
    assert html_page.read_text().startswith("<!doctype html>")


def test_a_histogram_needs_a_load(service_dir: Path, tmp_path: Path, capsys) -> None:
    assert smoke(service_dir, "--histogram", str(tmp_path / "latency.md")) == 2
    assert "--histogram needs a load to draw: add --requests 200" in capsys.readouterr().err
    assert not (tmp_path / "latency.md").exists()


def test_a_server_that_dies_before_it_is_ready_is_said_at_once(service_dir: Path, capsys) -> None:
    """Not after the whole readiness timeout as "not ready": the exit code, at once."""
    runtime = service_dir / "k8s" / "runtime.yaml"
    dying = '"--http_port=8080", "--never-ready", "--exit-after", "1"]'
    runtime.write_text(runtime.read_text().replace('"--http_port=8080"]', dying))
    started = time.monotonic()
    assert smoke(service_dir, "--timeout", "60") == 1
    assert time.monotonic() - started < 20
    assert "never got ready: the server exited with 4" in capsys.readouterr().err


def test_a_server_dies_with_serve_even_when_serve_is_killed(service_dir: Path) -> None:
    """SIGKILL leaves no handler to run: the kernel stops the server with kserve-kit (PR_SET_PDEATHSIG),
    so no server is left holding its port with PPID 1 (a test run killed at its timeout, kill -9)."""
    process = serve(service_dir, "--port", "0")
    line = read_until(process, "serving row-sum", timeout_s=30)
    port = int(line.split("http://127.0.0.1:")[1].split(")")[0])
    process.kill()
    process.wait(timeout=10)
    assert port_closes(port, within_s=10), f"the server still answers on port {port} after kserve-kit was killed"
