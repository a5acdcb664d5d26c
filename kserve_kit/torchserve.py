"""Everything kserve-kit knows about TorchServe, kept in one module because TorchServe is in limited
maintenance upstream: how it runs locally, and `kserve-kit mar` (packing the model archive).

TorchServe keeps its pid file in the temp directory, so each instance gets its own TMPDIR, log and
metrics directories, and its ports through TS_* variables (the rendered config.properties sets
`enable_envvars_config=true`). It ignores SIGTERM: `torchserve --stop` under the same TMPDIR stops it.

    kserve-kit mar [--weights model/model.pt] [--export-dir model-store]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

from kserve_kit import KitError
from kserve_kit.local_server import Launch, free_port
from kserve_kit.service import Service
from kserve_kit.serving.artifacts import WEIGHTS_FILE

HANDLER, NETWORK = "handler.py", "model.py"


def _tool(name: str) -> str:
    return str(Path(sys.executable).with_name(name))


class TorchServeLauncher:
    """The ServingRuntime's `torchserve` command and args, with addresses and ports moved by TS_* variables."""

    def launch(self, service: Service, model_dir: Path, port: int, workdir: Path) -> Launch:
        tmp, logs, metrics_port = workdir / "tmp", workdir / "logs", free_port()
        tmp.mkdir()
        logs.mkdir()
        environment = {
            **os.environ,
            "TMPDIR": str(tmp),
            "TEMP": str(tmp),
            "LOG_LOCATION": str(logs),
            "METRICS_LOCATION": str(logs),
            "TS_INFERENCE_ADDRESS": f"http://127.0.0.1:{port}",
            "TS_MANAGEMENT_ADDRESS": f"http://127.0.0.1:{free_port()}",
            "TS_METRICS_ADDRESS": f"http://127.0.0.1:{metrics_port}",
            "TS_GRPC_INFERENCE_PORT": str(free_port()),
            "TS_GRPC_MANAGEMENT_PORT": str(free_port()),
            "TS_INITIAL_WORKER_PORT": str(free_port()),
        }
        # Under the reaper: killed, kserve-kit takes the launcher and its Java down too (kserve_kit/reaper.py).
        command = [
            sys.executable,
            "-m",
            "kserve_kit.reaper",
            _tool("torchserve"),
            *service.runtime_args(str(model_dir)),
            "--ncs",
        ]
        return Launch(command, environment, f"127.0.0.1:{port}", metrics_port)

    def stop(self, process: subprocess.Popen[bytes], workdir: Path) -> None:
        subprocess.run(
            [_tool("torchserve"), "--stop"],
            env={**os.environ, "TMPDIR": str(workdir / "tmp"), "TEMP": str(workdir / "tmp")},
            capture_output=True,
            timeout=60,
            check=False,
        )


def package_mar(service: Service, weights: Path, export_dir: Path, version: str = "1.0") -> Path:
    """`<export_dir>/<model name>.mar` built with torch-model-archiver: the network (model.py), its
    weights and the handler, with the package's other modules as extra files. No requirements file
    is packed: TorchServe must not pip-install at start-up (guideline "Python Dependencies")."""
    package = service.root / str(service.fact("package"))
    extra = sorted(str(path) for path in package.glob("*.py") if path.name not in {HANDLER, NETWORK, "__init__.py"})
    export_dir.mkdir(parents=True, exist_ok=True)
    command = [
        _tool("torch-model-archiver"), "--force",
        "--model-name", service.name,
        "--version", version,
        "--model-file", str(package / NETWORK),
        "--serialized-file", str(weights),
        "--handler", str(package / HANDLER),
        *(["--extra-files", ",".join(extra)] if extra else []),
        "--export-path", str(export_dir),
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise KitError(f"torch-model-archiver failed: {result.stderr.strip() or result.stdout.strip()}")
    return export_dir / f"{service.name}.mar"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--weights", type=Path, default=Path("model") / WEIGHTS_FILE, help="the trained state dict")
    parser.add_argument("--export-dir", type=Path, default=Path("model-store"), help="where the .mar goes")


def run(args: argparse.Namespace) -> int:
    service = Service.load(args.repo)
    weights = service.root / args.weights
    if not weights.is_file():
        raise KitError(f"no weights at {weights}: run `make train` first")
    print(f"saved {package_mar(service, weights, service.root / args.export_dir)}")
    return 0
