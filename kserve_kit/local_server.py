"""The model server as a real local process, started as the ServingRuntime starts it in the pod: the
same arguments (read from k8s/), with the model directory and ports moved to local ones.

    kserve-kit serve [--port 8080]     # `make run`: serve until Ctrl-C, exit non-zero if it dies

`make smoke` and the repo's tests use `LocalServer` directly. What differs between model servers
(KServe's Python server, TorchServe) is in `LAUNCHERS`; TorchServe's part is kserve_kit.torchserve.
"""

from __future__ import annotations

import argparse
import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from types import TracebackType
from typing import IO, Protocol

from kserve_kit import KitError
from kserve_kit.service import Service

START_TIMEOUT_S = 120.0
STOP_TIMEOUT_S = 30.0


class ServerFailed(Exception):
    """The server did not start or stopped on its own; the message holds its log."""


class Signalled:
    """A flag a signal handler sets, without a lock. A handler runs in the main thread between two
    of its bytecodes: threading.Event.set() there waited forever for the lock of the Event.wait() it
    had interrupted, so `make run` stopped by SIGTERM or Ctrl-C (1 time in 3) never stopped its server."""

    def __init__(self) -> None:
        self.flag = False

    def set(self, *_: object) -> None:
        self.flag = True

    def is_set(self) -> bool:
        return self.flag


PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def die_with(parent: int) -> Callable[[], None]:
    """For the child, before it runs the server: SIGTERM it when kserve-kit dies, however it dies
    (SIGKILL, a crashed test run), so no server is ever left holding its port with PPID 1."""

    def arrange() -> None:
        if sys.platform == "linux":
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
            if os.getppid() != parent:  # it died before the request took effect
                os._exit(1)

    return arrange


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def ensure_free(port: int) -> None:
    """Refuse a port another process listens on: the readiness wait would talk to it instead."""
    for host in ("127.0.0.1", "0.0.0.0"):
        with socket.socket() as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # a closed connection's TIME_WAIT is fine
            try:
                sock.bind((host, port))
            except OSError:
                raise KitError(f"port {port} is in use by another process: stop it, or pick another port "
                               f"(`make run PORT={port + 1}`)") from None  # fmt: skip


@dataclass(frozen=True)
class Launch:
    command: list[str]
    env: dict[str, str]
    bind: str  # the address the server listens on, for the user
    metrics_port: int  # where it serves Prometheus metrics (/metrics)


class Launcher(Protocol):
    def launch(self, service: Service, model_dir: Path, port: int, workdir: Path) -> Launch: ...

    def stop(self, process: subprocess.Popen[bytes], workdir: Path) -> None: ...


class KServeLauncher:
    """KServe's Python model server: `python -m <package>` (the image's entrypoint) + the runtime's args."""

    def launch(self, service: Service, model_dir: Path, port: int, workdir: Path) -> Launch:
        # Workers as in the pod: one per CPU this machine gives the server (kserve_kit.serving.workers).
        overrides = {"--http_port": str(port), "--grpc_port": str(free_port())}
        args = [arg for arg in service.runtime_args(str(model_dir)) if arg.split("=")[0] not in overrides]
        command = [sys.executable, "-m", str(service.fact("package")), *args]
        command += [f"{option}={value}" for option, value in overrides.items()]
        # KServe's server binds every interface and has no option to change it.
        return Launch(command, dict(os.environ), f"0.0.0.0:{port}", metrics_port=port)

    def stop(self, process: subprocess.Popen[bytes], workdir: Path) -> None:
        process.terminate()


# The servers kserve-kit starts on this machine (`make run`, `make smoke`, `make test`); vLLM runs
# only in its image, on a GPU.
LOCAL_SERVERS = ("kserve", "torchserve")


def launchers() -> dict[str, Launcher]:
    from kserve_kit.torchserve import TorchServeLauncher

    return dict(zip(LOCAL_SERVERS, (KServeLauncher(), TorchServeLauncher()), strict=True))


def require_local(service: Service) -> None:
    """Refuse, saying what to do instead, for a server that runs only in its image on a GPU."""
    if service.server not in LOCAL_SERVERS:
        raise KitError(
            f"{service.server} runs only in its image, on a GPU: nothing of it starts on this machine. Check the "
            "deployed service: make smoke TARGET=external (or internal, gateway), or ENDPOINT=http://127.0.0.1:8080 "
            f"after `kubectl port-forward -n {service.namespace} svc/{service.name}-predictor 8080:80`"
        )


def model_dir_for(service: Service, workdir: Path) -> Path:
    """A directory laid out as the container's model directory, from the repo's artifacts."""
    service.require_model()
    if list(service.artifacts) == ["."]:
        return service.root / service.artifacts["."]
    model_dir = workdir / "models"
    model_dir.mkdir()
    for inside, local in service.artifacts.items():
        (model_dir / inside).symlink_to((service.root / local).resolve(), target_is_directory=True)
    return model_dir


class LocalServer:
    """`with LocalServer(service) as server:` starts the server, waits for its port, stops it and
    removes its working directory after."""

    def __init__(
        self, service: Service, model_dir: Path | None = None, port: int | None = None, workers: int | None = None
    ) -> None:
        if workers is not None and service.server != "kserve":
            raise KitError(f"--workers is KServe's Python server's; {service.server}'s workers are in its config")
        require_local(service)
        self.service, self.model_dir, self.workers = service, model_dir, workers
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.launcher = launchers()[service.server]
        self.workdir = Path(tempfile.mkdtemp(prefix=f"kserve-kit-{service.name}-"))
        self.log_path = self.workdir / "server.log"
        self.bind = ""
        self.metrics_url = ""
        self._process: subprocess.Popen[bytes] | None = None

    def start(self, log: IO[bytes] | None = None, stopping: Signalled | None = None) -> None:
        """Start and wait for the port (or until `stopping` is set); the output goes to `log`, or to
        the log file."""
        ensure_free(self.port)
        model_dir = self.model_dir or model_dir_for(self.service, self.workdir)
        launch = self.launcher.launch(self.service, model_dir, self.port, self.workdir)
        if self.workers is not None:
            launch = replace(launch, command=[*launch.command, f"--workers={self.workers}"])
        self.bind = launch.bind
        self.metrics_url = f"http://127.0.0.1:{launch.metrics_port}/metrics"
        with self.log_path.open("wb") as log_file:
            # A session of its own: Ctrl-C in the terminal reaches only kserve-kit, which stops the server
            # as the cluster would (TorchServe's launcher printed a traceback when it got the SIGINT too).
            self._process = subprocess.Popen(
                launch.command,
                cwd=self.service.root,
                env=launch.env,
                stdout=log or log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=die_with(os.getpid()),  # noqa: PLW1509 - prctl only, before exec
            )
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline and not (stopping and stopping.is_set()):
            if self._process.poll() is not None:
                raise ServerFailed(f"the server exited with {self._process.returncode}:\n{self.log_tail()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.1)
        if stopping and stopping.is_set():
            return
        self.stop()
        raise ServerFailed(f"the server did not open port {self.port} in {START_TIMEOUT_S:.0f} s:\n{self.log_tail()}")

    def stop(self) -> None:
        if self._process is not None and self.running():
            self.launcher.stop(self._process, self.workdir)
            try:
                self._process.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()

    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def exited(self) -> str | None:
        """Why the server is gone, or None while it runs."""
        return None if self.running() else f"the server exited with {self.returncode}"

    @property
    def returncode(self) -> int | None:
        return None if self._process is None else self._process.returncode

    def log_tail(self, lines: int = 40) -> str:
        text = self.log_path.read_text(encoding="utf-8", errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> LocalServer:
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", type=int, default=8080, help="port to serve on (default 8080)")
    parser.add_argument("--workers", type=int, help="server processes (default: one per CPU here, as in the pod)")


def run(args: argparse.Namespace) -> int:
    """Serve until Ctrl-C or SIGTERM. The signals only set a flag the loop watches: raised as
    KeyboardInterrupt anywhere (inside subprocess's own bookkeeping, say), they could leave the stop
    that follows waiting forever, and the server running."""
    server, stopping = LocalServer(Service.load(args.repo), port=args.port, workers=args.workers), Signalled()
    previous = {number: signal.signal(number, stopping.set) for number in (signal.SIGINT, signal.SIGTERM)}
    try:
        server.start(log=sys.stdout.buffer, stopping=stopping)
        if not stopping.is_set():
            print(f"serving {server.service.name} on {server.bind} ({server.url}); Ctrl-C stops it", flush=True)
        while server.running() and not stopping.is_set():
            time.sleep(0.2)
        if stopping.is_set():
            return 0
    except ServerFailed as failure:
        print(f"serve: {failure}", file=sys.stderr)
        return 1
    finally:
        server.close()
        for number, handler in previous.items():
            signal.signal(number, handler)
    print(f"serve: the server stopped on its own with exit code {server.returncode}", file=sys.stderr)
    return 1
