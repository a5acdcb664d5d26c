"""How this runtime's server starts and stops locally (TorchServe); scripts/local_server.py drives it.

TorchServe keeps its pid file in the temp directory, so each instance gets its own TMPDIR, log and
metrics directories, and ports given through TS_* variables (config.properties allows them).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import IO

from scripts.service_facts import REPO_ROOT

DEFAULT_ARTIFACTS = REPO_ROOT / "model-store"
MISSING_HINT = "run `make train mar` first"
CONFIG = REPO_ROOT / "config" / "config.properties"
TORCHSERVE = str(Path(sys.executable).with_name("torchserve"))


def build_artifacts(directory: Path) -> Path:
    """Train and package into `directory`; returns the model store to serve."""
    from scripts.package_mar import package_mar  # imported here: only tests build artifacts
    from training.train import train

    return package_mar(train(directory), directory / "model-store").parent


def _environment(port: int, extra_ports: list[int], workdir: Path) -> dict[str, str]:
    management, metrics, grpc, grpc_management, workers = extra_ports
    for name in ("tmp", "logs"):
        (workdir / name).mkdir(parents=True, exist_ok=True)
    return {
        **os.environ,
        "TMPDIR": str(workdir / "tmp"),
        "TEMP": str(workdir / "tmp"),
        "LOG_LOCATION": str(workdir / "logs"),
        "METRICS_LOCATION": str(workdir / "logs"),
        "TS_INFERENCE_ADDRESS": f"http://127.0.0.1:{port}",
        "TS_MANAGEMENT_ADDRESS": f"http://127.0.0.1:{management}",
        "TS_METRICS_ADDRESS": f"http://127.0.0.1:{metrics}",
        "TS_GRPC_INFERENCE_PORT": str(grpc),
        "TS_GRPC_MANAGEMENT_PORT": str(grpc_management),
        "TS_INITIAL_WORKER_PORT": str(workers),
    }


def launch(
    artifacts: Path, port: int, extra_ports: list[int], workdir: Path, log: IO[bytes]
) -> subprocess.Popen[bytes]:
    command = [
        TORCHSERVE, "--start", "--foreground", "--ncs", "--disable-token-auth",
        "--model-store", str(artifacts), "--ts-config", str(CONFIG),
    ]  # fmt: skip
    environment = _environment(port, extra_ports, workdir)
    return subprocess.Popen(command, cwd=REPO_ROOT, env=environment, stdout=log, stderr=subprocess.STDOUT)


def shutdown(process: subprocess.Popen[bytes], workdir: Path) -> None:
    """`torchserve --stop` under the same TMPDIR stops its Java process; killing the launcher would not."""
    subprocess.run(
        [TORCHSERVE, "--stop"],
        env={**os.environ, "TMPDIR": str(workdir / "tmp"), "TEMP": str(workdir / "tmp")},
        capture_output=True,
        timeout=60,
        check=False,
    )
