"""`make mar`: pack the network, its weights and the handler into a TorchServe model archive."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from scripts.service_facts import REPO_ROOT, load_service

PACKAGE = REPO_ROOT / "{{ kit.package_name }}"


def package_mar(weights: Path, export_dir: Path, version: str = "1.0") -> Path:
    """`<export_dir>/<model name>.mar` built with torch-model-archiver. No requirements file is
    packed: TorchServe must not pip-install at start-up (guideline "Python Dependencies")."""
    name = load_service()["model_name"]
    export_dir.mkdir(parents=True, exist_ok=True)
    archiver = str(Path(sys.executable).with_name("torch-model-archiver"))
    subprocess.run(
        [
            archiver, "--force",
            "--model-name", name,
            "--version", version,
            "--model-file", str(PACKAGE / "model.py"),
            "--serialized-file", str(weights),
            "--handler", str(PACKAGE / "handler.py"),
            "--extra-files", str(PACKAGE / "protocol.py"),
            "--export-path", str(export_dir),
        ],
        check=True,
    )  # fmt: skip
    return export_dir / f"{name}.mar"


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--weights", type=Path, default=REPO_ROOT / "model" / "model.pt")
    parser.add_argument("--export-dir", type=Path, default=REPO_ROOT / "model-store")
    arguments = parser.parse_args()
    if not arguments.weights.is_file():
        sys.exit(f"no weights at {arguments.weights}: run `make train` first")
    print(f"saved {package_mar(arguments.weights, arguments.export_dir)}")
