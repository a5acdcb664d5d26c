"""How this runtime's server starts and stops locally (KServe's Python server); scripts/local_server.py drives it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import IO

from scripts.service_facts import REPO_ROOT, load_service

DEFAULT_ARTIFACTS = REPO_ROOT / "model"
MISSING_HINT = "run `make train` first"


def build_artifacts(directory: Path) -> Path:
    """Train into `directory`; returns the model directory to serve."""
    from training.train import train  # imported here: only tests build artifacts

    return train(directory).parent


def launch(
    artifacts: Path, port: int, extra_ports: list[int], workdir: Path, log: IO[bytes]
) -> subprocess.Popen[bytes]:
    # KServe binds every interface; the port is free and the kit only ever talks to 127.0.0.1.
    command = [
        sys.executable, "-m", "{{ kit.package_name }}",
        "--model_name", load_service()["model_name"],
        "--model_dir", str(artifacts),
        "--http_port", str(port),
        "--grpc_port", str(extra_ports[0]),
        "--enable_grpc", "false",
        "--workers", "1",
        "--configure_logging", "false",
        "--enable_latency_logging", "false",
    ]  # fmt: skip
    return subprocess.Popen(command, cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT)


def shutdown(process: subprocess.Popen[bytes], workdir: Path) -> None:
    process.terminate()
