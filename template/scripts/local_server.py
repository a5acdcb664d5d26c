"""Run the model server as a real local process on 127.0.0.1 (`make run`, `make smoke`, the tests).

What differs between runtimes (the command, how to stop it) is in scripts/runtime_server.py.

    python -m scripts.local_server [--port 8080]   # serve until Ctrl-C
"""

from __future__ import annotations

import argparse
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

from scripts import runtime_server

START_TIMEOUT_S = 120.0
STOP_TIMEOUT_S = 30.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LocalServer:
    """`with LocalServer() as server:` starts the server, waits for its port, and stops it after."""

    def __init__(self, artifacts: Path = runtime_server.DEFAULT_ARTIFACTS, port: int | None = None) -> None:
        self.artifacts = artifacts
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.workdir = Path(tempfile.mkdtemp(prefix="model-server-"))
        self.log_path = self.workdir / "server.log"
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        if not self.artifacts.is_dir() or not any(self.artifacts.iterdir()):
            raise RuntimeError(f"no model in {self.artifacts}: {runtime_server.MISSING_HINT}")
        extra_ports = [free_port() for _ in range(5)]
        with self.log_path.open("wb") as log:
            self._process = runtime_server.launch(self.artifacts, self.port, extra_ports, self.workdir, log)
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"the server exited with {self._process.returncode}:\n{self.log_tail()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"the server did not open port {self.port} in {START_TIMEOUT_S:.0f} s:\n{self.log_tail()}")

    def stop(self) -> None:
        if self._process is None or not self.running():
            return
        runtime_server.shutdown(self._process, self.workdir)
        try:
            self._process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()

    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def log_tail(self, lines: int = 40) -> str:
        text = self.log_path.read_text(encoding="utf-8", errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def __enter__(self) -> LocalServer:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=8080)
    with LocalServer(port=parser.parse_args().port) as server:
        print(f"serving on {server.url} (log: {server.log_path}); Ctrl-C stops it", flush=True)
        try:
            while server.running():
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass
