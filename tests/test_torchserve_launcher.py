"""kserve-kit's TorchServe launcher (the TorchServe image's entrypoint, kserve_kit/serving/torchserve_launcher.py),
run for real from an owner's TorchServe service with its ServingRuntime's arguments: Java's death is the
container's exit status, and SIGTERM lets the request in flight finish before Java stops. TorchServe's
own launcher exits 0 in both cases, and drops the request."""

from __future__ import annotations

import contextlib
import http.client
import json
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlparse

import httpx
import pytest

from kserve_kit.local_server import free_port
from kserve_kit.service import Service
from kserve_kit.torchserve import TorchServeLauncher
from tests.conftest import Render
from tests.test_owner import OWNERS

pytestmark = pytest.mark.e2e
BATCH_DELAY_MS = 3000  # a lone request waits this long in TorchServe's batch aggregator: in flight, for sure


@pytest.fixture(scope="module")
def repo(installed: Render) -> Path:
    if shutil.which("java") is None:
        pytest.fail("TorchServe needs Java 17 and this machine has none: install a JRE (openjdk-17-jre-headless)")
    return installed(**OWNERS["torchserve-gpu"])


@contextmanager
def launched(repo: Path, workdir: Path) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """The launcher with the ServingRuntime's arguments, on free ports, its config's batch delay raised."""
    service = Service.load(repo)
    model_dir = workdir / "models"
    (model_dir / "config").mkdir(parents=True)
    (model_dir / "model-store").symlink_to(repo / "model-store", target_is_directory=True)
    config, raised = re.subn(r'"maxBatchDelay": \d+', f'"maxBatchDelay": {BATCH_DELAY_MS}',
                             (repo / "config" / "config.properties").read_text(encoding="utf-8"))  # fmt: skip
    assert raised == 1, "config.properties has no maxBatchDelay to raise"
    (model_dir / "config" / "config.properties").write_text(config, encoding="utf-8")
    port = free_port()
    launch = TorchServeLauncher().launch(service, model_dir, port, workdir)
    python = str(repo / ".venv" / "bin" / "python")
    command = [python, "-m", "kserve_kit.serving.torchserve_launcher", *service.runtime_args(str(model_dir)), "--ncs"]
    process = subprocess.Popen(command, env=launch.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    # TorchServe 0.12's /ping (and /v2/health/ready) say healthy about a second before its worker has
    # loaded the model; a request sent then waits for the load too, which a busy machine made longer
    # than the drain's quiet period. Its management API tells when the worker is READY.
    workers = launch.env["TS_MANAGEMENT_ADDRESS"] + "/models/" + service.name
    try:
        deadline, states = time.monotonic() + 120, set()
        while states != {"READY"} and time.monotonic() < deadline and process.poll() is None:
            with contextlib.suppress(httpx.TransportError):
                described = httpx.get(workers, timeout=2)
                if described.status_code == 200:
                    states = {worker["status"] for worker in described.json()[0]["workers"]}
            time.sleep(0.25)
        assert process.poll() is None, f"the launcher exited {process.returncode} before TorchServe was up"
        assert states == {"READY"}, f"TorchServe's worker was not READY within 120 s: {states}"
        yield process, url
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=30)
        # No Java is left behind: TorchServe's own stop, with the pid file of this server's TMPDIR.
        subprocess.run([str(repo / ".venv" / "bin" / "torchserve"), "--stop"], env=launch.env, capture_output=True,
                       timeout=60, check=False)  # fmt: skip


def java_of(launcher: int) -> int:
    children = Path(f"/proc/{launcher}/task/{launcher}/children").read_text().split()
    assert len(children) == 1, children
    return int(children[0])


def test_a_killed_java_is_the_launchers_exit_status(repo: Path, tmp_path: Path) -> None:
    with launched(repo, tmp_path) as (process, _):
        subprocess.run(["kill", "-KILL", str(java_of(process.pid))], check=True)
        assert process.wait(timeout=30) == 128 + signal.SIGKILL


def test_sigterm_lets_the_request_in_flight_finish(repo: Path, tmp_path: Path) -> None:
    instances = json.loads((repo / "sample.json").read_text(encoding="utf-8"))["instances"]
    with launched(repo, tmp_path) as (process, url):
        # The whole request is in the server's socket before the signal, however busy the machine
        # (http.client sends it in request(); a client thread's could still be on its way then).
        client = http.client.HTTPConnection(urlparse(url).netloc, timeout=60)
        body = json.dumps({"instances": instances})
        client.request("POST", "/v1/models/text-classifier:predict", body, {"Content-Type": "application/json"})
        time.sleep(BATCH_DELAY_MS / 1000 / 3)  # the request waits in the batch aggregator
        process.send_signal(signal.SIGTERM)
        answer = client.getresponse()
        assert answer.status == 200 and len(json.loads(answer.read())["predictions"]) == len(instances)
        client.close()
        assert process.wait(timeout=60) == 0
