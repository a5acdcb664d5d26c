"""Several server processes on one port: one per CPU of the container's quota.

Python runs one request's Python at a time in a process, so a pod with 2 CPUs needs two processes to
use both. The parent starts the workers; each loads the model and serves the port (a socket of its
own, `listen`) with KServe's REST app and the kit's guards (server.py). Workers are spawned, not
forked: torch and OpenMP thread pools do not survive a fork.

The request metrics of all workers are answered together by whichever worker gets the scrape
(Prometheus multiprocess mode: each worker writes its series to files in PROMETHEUS_MULTIPROC_DIR).
A worker that dies stops the server with its exit code: the kubelet restarts the container, as it
would a one-process server's, instead of a half-sized server that still looks healthy.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import shutil
import signal
import socket
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, exposition, multiprocess

from kserve_kit.serving import quota

METRICS_DIRECTORY = "PROMETHEUS_MULTIPROC_DIR"  # prometheus_client reads it when it is first imported
PR_SET_PDEATHSIG = 1  # linux/prctl.h
GRACE_SECONDS = 30  # for the requests in flight at SIGTERM: KServe's ModelServer grace_period (kserve 0.21)


def ensure_free(port: int) -> None:
    """Refuse a port something listens on before starting workers: each worker's socket (`listen`)
    would otherwise join the other server's, and share its connections."""
    try:
        socket.create_server(("0.0.0.0", port)).close()
    except OSError as error:
        raise SystemExit(f"port {port} is in use ({error.strerror}): stop what listens, or pick a port") from None


def listen(port: int) -> socket.socket:
    """A worker's own listening socket on the shared port (all interfaces, as KServe's server binds).
    SO_REUSEPORT: the kernel spreads new connections evenly over the workers' sockets; on one shared
    socket the first worker to wake takes every connection waiting, so a few long-lived connections
    (Knative's queue-proxy, a load test) would all land on one worker."""
    return socket.create_server(("0.0.0.0", port), backlog=2048, reuse_port=True)


def die_with_parent() -> None:
    """Ask the kernel to stop this worker when its parent dies, whatever killed the parent (SIGKILL
    included): a worker never outlives the server it belongs to."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    parent = multiprocessing.parent_process()
    if parent is None or os.getppid() != parent.pid:  # it died before the request took effect
        os._exit(1)


def supervise(
    name: str, count: int, worker: Callable[[Any], Any], port: int, grace_seconds: float = GRACE_SECONDS
) -> int:
    """Run up to `count` workers on `port` until SIGTERM/SIGINT (stop them, at most `grace_seconds`
    to finish what they are answering) or until one exits (stop the rest); the exit code.

    `worker(loaded)` sets the event `loaded` once its model is loaded. The first worker loads alone:
    what it holds then says how many workers the container's memory limit fits (each loads the
    model), so a pod sized for one process is never pushed out of its memory by several."""
    ensure_free(port)
    metrics = tempfile.mkdtemp(prefix="kserve-kit-metrics-")
    os.environ[METRICS_DIRECTORY] = metrics
    stopping = False

    def stop(signum: int, frame: Any) -> None:
        nonlocal stopping
        stopping = True

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    spawn = multiprocessing.get_context("spawn")
    processes: list[Any] = []
    loaded: list[Any] = []  # kept: a collected Event unlinks its semaphore before the worker opens it

    def start() -> Any:
        loaded.append(spawn.Event())
        processes.append(spawn.Process(target=worker, args=(loaded[-1],)))
        processes[-1].start()
        return loaded[-1]

    died = None  # the exit code of the first worker that stopped unasked
    try:
        first = start()
        while not stopping and died is None and not first.wait(0.2):
            died = _exit_of(processes)
        if not stopping and died is None:
            fits = quota.workers_that_fit(
                count, quota.memory_limit(), _resident_bytes(os.getpid()), _resident_bytes(processes[0].pid)
            )
            print(f"{name}: {fits} worker(s) on port {port}" + (
                f" (the memory limit holds {fits} of the {count} CPUs' workers: raise it to use every CPU)"
                if fits < count else ""), file=sys.stderr, flush=True)  # fmt: skip
            for _ in range(fits - 1):
                start()
        while not stopping and died is None:
            time.sleep(0.2)
            died = _exit_of(processes)
    finally:
        _stop(processes, grace_seconds)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        shutil.rmtree(metrics, ignore_errors=True)
        del os.environ[METRICS_DIRECTORY]
    return 0 if stopping or died is None else _exit_code(died)


def _resident_bytes(pid: int) -> int:
    """The process's resident memory (VmRSS), what the cgroup charges it for, about; 0 once it is gone
    (the supervisor's loop then sees it exit)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def _exit_of(processes: list[Any]) -> int | None:
    return next((process.exitcode for process in processes if process.exitcode is not None), None)


def _stop(processes: list[Any], grace_seconds: float) -> None:
    for process in processes:
        if process.exitcode is None:
            process.terminate()  # SIGTERM: uvicorn finishes the requests in flight, then exits
    deadline = time.monotonic() + grace_seconds
    for process in processes:
        process.join(max(0.0, deadline - time.monotonic()))
        if process.exitcode is None:
            process.kill()
            process.join()


def _exit_code(worker_exit: int) -> int:
    """The server's exit code for a worker's unasked exit: its own code, 128 + N for a signal N (as a
    shell reports it), 1 for a worker that stopped by itself with 0."""
    return worker_exit if worker_exit > 0 else 128 - worker_exit if worker_exit < 0 else 1


class AllWorkersMetrics:
    """ASGI middleware: `GET /metrics` answers the series of every worker (prometheus_client's
    multiprocess collector), not only those of the worker the scrape reached."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(self.registry)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"] != "/metrics" or scope["method"] != "GET":
            await self.app(scope, receive, send)
            return
        accept = next((value.decode("latin-1") for key, value in scope["headers"] if key == b"accept"), None)
        encoder, media_type = exposition.choose_encoder(accept)
        body = encoder(self.registry)
        headers = [(b"content-type", media_type.encode()), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})
