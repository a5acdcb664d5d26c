"""The server's workers (kserve_kit.serving.workers), run for real from an owner's service: one process
per CPU on one port, stopped together whatever stops the server, and a worker's death is the
server's (the kubelet restarts the container rather than a half-sized server looking healthy)."""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from kserve_kit.local_server import free_port
from tests.conftest import Render, port_closes

pytestmark = pytest.mark.e2e
OWNER = {"service_name": "text-classifier"}  # test_owner.py's scikit-learn service: installed once


@pytest.fixture(scope="module")
def repo(installed: Render) -> Path:
    return installed(**OWNER)


def workers_of(parent: int) -> list[int]:
    """The parent's spawned workers (multiprocessing's resource tracker is not one)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            command = (stat.parent / "cmdline").read_bytes()
        except (OSError, ValueError):
            continue
        if ppid == parent and b"spawn_main" in command:
            found.append(int(stat.parent.name))
    return found


def alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@contextmanager
def server(repo: Path, *args: str) -> Iterator[tuple[subprocess.Popen[str], int]]:
    port = free_port()
    python, model = str(repo / ".venv" / "bin" / "python"), str(repo / "model")
    command = [python, "-m", "text_classifier", "--model_name", "text-classifier", "--model_dir", model,
               "--http_port", str(port), "--enable_grpc", "false", *args]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        yield process, port
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=30)


def wait_for_workers(process: subprocess.Popen[str], port: int, count: int) -> list[int]:
    """The workers, once `count` of them run and the port answers as ready."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        try:
            ready = httpx.get(f"http://127.0.0.1:{port}/v1/models/text-classifier", timeout=2).status_code == 200
        except httpx.HTTPError:
            ready = False
        if ready and len(found := workers_of(process.pid)) == count:
            return found
        time.sleep(0.2)
    raise AssertionError(f"{count} workers did not start: {process.stderr.read() if process.poll() else 'timeout'}")


def test_workers_share_the_port_and_sigterm_stops_them_all(repo: Path) -> None:
    with server(repo, "--workers", "2") as (process, port):
        workers = wait_for_workers(process, port, 2)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0
        assert not any(alive(pid) for pid in workers) and port_closes(port)


def test_a_killed_server_takes_its_workers_with_it(repo: Path) -> None:
    with server(repo, "--workers", "2") as (process, port):
        workers = wait_for_workers(process, port, 2)
        process.kill()  # SIGKILL: the parent can forward nothing; the kernel stops the workers
        process.wait(timeout=30)
        deadline = time.monotonic() + 10
        while any(alive(pid) for pid in workers) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not any(alive(pid) for pid in workers) and port_closes(port)


def test_a_dead_worker_stops_the_server_with_its_signal(repo: Path) -> None:
    with server(repo, "--workers", "2") as (process, port):
        first, second = wait_for_workers(process, port, 2)
        subprocess.run(["kill", "-9", str(first)], check=True)  # the OOM killer, say
        assert process.wait(timeout=60) == 128 + signal.SIGKILL
        assert not alive(second) and port_closes(port)


def test_workers_refuse_a_grpc_port_they_cannot_share(repo: Path) -> None:
    with server(repo, "--workers", "2", "--enable_grpc", "true") as (process, _):
        assert process.wait(timeout=60) != 0
        assert "--workers 2 serves REST only: add --enable_grpc false, or --workers 1" in process.stderr.read()


def test_workers_refuse_a_port_another_server_holds(repo: Path) -> None:
    """Each worker listens with SO_REUSEPORT: unchecked, they would join the other server's port."""
    with server(repo, "--workers", "1") as (first, port):
        wait_for_workers(first, port, 0)  # one process: no workers of its own
        with server(repo, "--workers", "2", "--http_port", str(port)) as (second, _):
            assert second.wait(timeout=60) != 0
            assert f"port {port} is in use" in second.stderr.read()
