"""Reproducible builds: `make lock` pins every dependency with its hashes (kserve_kit/lock.py, uv),
`make install` installs exactly those, and `make lint` refuses a lock pyproject.toml no longer gives."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import Render, render_into, run_make
from tests.containers import torch_index
from tests.test_owner import OWNERS


@pytest.mark.e2e
def test_make_lock_pins_every_dependency_by_hash_and_install_and_lint_use_it(tmp_path: Path) -> None:
    repo = render_into(tmp_path / "repo")  # its own: the shared renders must stay as rendered
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    run_make(repo, "install", timeout=1200)
    run_make(repo, "lock", timeout=600)
    for name in ("requirements.lock", "requirements-dev.lock"):
        lines = (repo / name).read_text(encoding="utf-8").splitlines()
        requirements = [(line, lines[at + 1]) for at, line in enumerate(lines) if re.match(r"[a-z0-9]", line)]
        pins = {re.match(r"([a-z0-9._-]+)==", line).group(1) for line, _ in requirements}  # type: ignore[union-attr]
        assert {"kserve", "numpy", "scikit-learn"} <= pins and "kserve-kit" not in pins, name
        assert all(following.strip().startswith("--hash=sha256:") for _, following in requirements), name
    assert "uv" in re.findall(r"^([a-z0-9._-]+)==", (repo / "requirements-dev.lock").read_text(), re.M)

    shutil.rmtree(repo / ".venv")
    installed = run_make(repo, "install", timeout=1200)
    assert "--require-hashes --no-deps -r requirements-dev.lock" in installed.stdout
    check = subprocess.run([repo / ".venv" / "bin" / "python", "-m", "pip", "check"], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout
    assert "lock: requirements.lock, requirements-dev.lock are current" in run_make(repo, "lint").stdout

    pyproject = repo / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('    "pytest>=8",\n', '    "pytest>=8",\n    "rich>=13",\n'))
    stale = run_make(repo, "lint", check=False)
    assert stale.returncode != 0
    assert "lock: requirements-dev.lock is not what pyproject.toml gives: run `make lock`" in stale.stderr


@pytest.mark.e2e
def test_a_torch_service_locks_against_the_cpu_builds_index(installed: Render, tmp_path: Path) -> None:
    """PyPI's Linux torch pulls CUDA (nvidia-*, triton): the lock takes torch's dependencies from the
    CPU build's index, and leaves torch itself (exact, chosen by device) unhashed."""
    owner = installed(**OWNERS["pytorch"])
    repo = tmp_path / "locked"
    shutil.copytree(owner, repo, symlinks=True, ignore=shutil.ignore_patterns(".venv"))
    python = str(owner / ".venv" / "bin" / "python")
    refused = run_make(repo, "lock", check=False, PY=python)
    assert refused.returncode != 0 and "make lock TORCH_INDEX=https://download.pytorch.org/whl/cpu" in refused.stderr
    with torch_index() as index:
        run_make(repo, "lock", timeout=600, PY=python, TORCH_INDEX=index)
        lock = (repo / "requirements.lock").read_text()
        pins = set(re.findall(r"^([a-z0-9][a-z0-9._-]*)==", lock, re.M))
        assert {"sympy", "networkx", "kserve"} <= pins and "torch" not in pins
        assert not any(pin.startswith(("nvidia", "triton")) for pin in pins), pins
        assert (
            "lock: requirements.lock, requirements-dev.lock are current"
            in run_make(repo, "lint", PY=python, TORCH_INDEX=index).stdout
        )


@pytest.mark.container
@pytest.mark.e2e
def test_the_image_installs_exactly_the_lock(installed: Render, podman: dict[str, str], tmp_path: Path) -> None:
    """With requirements.lock committed the image installs by hash: a package whose file does not
    match the lock is refused at build time, and the locked image runs as its ServingRuntime does."""
    owner = installed(**OWNERS["sklearn"])
    repo = tmp_path / "locked"
    shutil.copytree(owner, repo, symlinks=True, ignore=shutil.ignore_patterns(".venv"))
    python = str(owner / ".venv" / "bin" / "python")
    run_make(repo, "lock", timeout=600, PY=python)
    lock = repo / "requirements.lock"
    good = lock.read_text()
    numpy_hashes = re.search(r"^numpy==[^\n]*\n((?:    --hash=sha256:[0-9a-f]{64}.*\n)+)", good, re.M)
    assert numpy_hashes, "numpy is not in the lock"
    lock.write_text(good.replace(numpy_hashes.group(1), "    --hash=sha256:" + "0" * 64 + "\n"))
    tampered = run_make(repo, "image", check=False, env=podman, timeout=1800, PY=python)
    assert tampered.returncode != 0 and "hash" in (tampered.stdout + tampered.stderr).lower()
    lock.write_text(good)
    result = run_make(repo, "container-smoke", check=False, env=podman, timeout=1800, PY=python)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip().splitlines()[-1] == "CONTAINER SMOKE OK text-classifier (podman)"
