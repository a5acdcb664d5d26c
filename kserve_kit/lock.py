"""`kserve-kit lock` (make lock): every dependency of the service pinned with its hashes, by uv.

    requirements.lock      what the image installs: the runtime dependencies (pyproject's `dependencies`,
                           the serving library's among them)
    requirements-dev.lock  what `make install` installs: those, the dev extra and the tooling's

    kserve-kit lock --kit REQUIREMENT [--torch-index URL] [--upgrade]   # write both
    kserve-kit lock --kit REQUIREMENT [--torch-index URL] --check       # exit 1 when either is stale

uv (`uv pip compile --universal --generate-hashes`) resolves them for every platform, and pip
installs them with `--require-hashes`: two builds of one commit get the same files. Resolving again
keeps the pins a lock already has (uv prefers them), so only a changed pyproject.toml, `--upgrade`
or a kit update (`make update`) moves them. Two packages are pinned but not hashed: kserve-kit (a git
commit, which pip cannot hash: installed with `--no-deps` at its pin) and torch (exact version, whose
build depends on the device: PyTorch's CPU index, or the CUDA base image's).
"""

from __future__ import annotations

import argparse
import filecmp
import shutil
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

from kserve_kit import KitError

LOCKS = {"requirements.lock": False, "requirements-dev.lock": True}  # file: with the dev extra
UNHASHED = ("kserve-kit", "torch")
PYTHON = "3.11"  # the images' Python (the profile's base images)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--kit", required=True, help="kserve-kit's pin (the Makefile's KIT_REQUIREMENT)")
    parser.add_argument("--torch-index", default="", help="the index torch's build comes from (TORCH_INDEX)")
    parser.add_argument("--upgrade", action="store_true", help="the newest versions pyproject.toml allows")
    parser.add_argument("--check", action="store_true", help="exit 1 when a lock is not what pyproject.toml gives")


def compile_lock(repo: Path, name: str, args: argparse.Namespace) -> None:
    uv = Path(sys.executable).parent / "uv"
    if not uv.is_file():
        raise KitError(f"uv is not in {uv.parent}: run `make install` (uv is a dev dependency)")
    dev = LOCKS[name]
    # `-`: kserve-kit's pin from stdin (the serving library is a runtime dependency, the tooling a dev one).
    command = [str(uv), "pip", "compile", "pyproject.toml", "-", *(["--extra", "dev"] if dev else []),
               "--universal", "--python-version", PYTHON, "--generate-hashes", "--quiet",
               "--custom-compile-command", "make lock", *(f"--no-emit-package={package}" for package in UNHASHED),
               *(["--extra-index-url", args.torch_index] if args.torch_index else []),
               *(["--upgrade"] if args.upgrade else []), "--output-file", name]  # fmt: skip
    result = subprocess.run(command, cwd=repo, input=args.kit, capture_output=True, text=True)
    if result.returncode != 0:
        raise KitError(f"uv could not resolve {name} from pyproject.toml:\n{result.stderr.strip()}")


def needs_torch_index(repo: Path) -> bool:
    dependencies = tomllib.loads((repo / "pyproject.toml").read_text(encoding="utf-8"))["project"]["dependencies"]
    return any(requirement.split("=")[0].strip() == "torch" for requirement in dependencies)


def run(args: argparse.Namespace) -> int:
    repo: Path = args.repo
    if needs_torch_index(repo) and not args.torch_index:
        raise KitError(
            "torch's dependencies differ by build (PyPI's Linux torch pulls CUDA): lock against the CPU build's "
            "index, e.g. make lock TORCH_INDEX=https://download.pytorch.org/whl/cpu"
        )
    if not args.check:
        for name in LOCKS:
            compile_lock(repo, name, args)
        print(f"lock: {', '.join(LOCKS)} written (hashes for every package but {', '.join(UNHASHED)}); commit them")
        return 0
    with tempfile.TemporaryDirectory(prefix="kserve-kit-lock-") as scratch:
        shutil.copy(repo / "pyproject.toml", scratch)
        stale = []
        for name in LOCKS:
            if not (repo / name).is_file():
                stale.append(f"{name} is missing")
                continue
            shutil.copy(repo / name, scratch)  # the pins it has are uv's preferences
            compile_lock(Path(scratch), name, args)
            if not filecmp.cmp(repo / name, Path(scratch) / name, shallow=False):
                stale.append(f"{name} is not what pyproject.toml gives")
    for problem in stale:
        print(f"lock: {problem}: run `make lock` and commit it", file=sys.stderr)
    if not stale:
        print(f"lock: {', '.join(LOCKS)} are current")
    return 1 if stale else 0
