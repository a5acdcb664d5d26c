"""The kit's real history for update tests: a clone of the kit with today's working tree committed on
top (the `kit_repo` fixture, registered in conftest.py), services rendered from any of its commits,
and `make update` run on them. Released versions are the commits CHANGELOG.md names."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from copier import run_copy

from kserve_kit.__main__ import main as kit
from tests.conftest import KIT_ROOT

KIT_FILES = ["copier.yml", "pyproject.toml", "extensions", "platforms", "template", "kserve_kit"]


def released_versions() -> dict[str, str]:
    """Version -> commit, as CHANGELOG.md records them ("## 0.3.0 - 2026-11-24 (commit 3152f7b)")."""
    text = (KIT_ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    return dict(re.findall(r"^## v?(\d+\.\d+\.\d+)\b.*\(commit ([0-9a-f]{7,40})", text, re.MULTILINE))


def git(repo: Path, *args: str) -> str:
    command = ["git", "-c", "user.name=kit-tests", "-c", "user.email=kit-tests@example.com", *args]
    return subprocess.run(command, cwd=repo, check=True, capture_output=True, text=True).stdout


def commit_all(repo: Path, message: str) -> None:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "--allow-empty", "-m", message)


@pytest.fixture
def kit_repo(tmp_path: Path) -> Path:
    """A clone of the kit's history with today's working tree committed on top (untagged)."""
    repo = tmp_path / "kit"
    subprocess.run(["git", "clone", "-q", "--no-local", str(KIT_ROOT), str(repo)], check=True)
    for name in KIT_FILES:
        target = repo / name
        if target.is_dir():
            shutil.rmtree(target)
        elif target.exists():
            target.unlink()
        source = KIT_ROOT / name
        if source.is_dir():
            shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        else:
            shutil.copy(source, target)
    commit_all(repo, "the working tree")
    return repo


def render(kit_repo: Path, destination: Path, ref: str, **answers: Any) -> Path:
    run_copy(str(kit_repo), str(destination), data=answers, defaults=True, unsafe=True, vcs_ref=ref, quiet=True)
    git(destination, "init", "-q", "-b", "main")
    commit_all(destination, "rendered")
    return destination


def update(service: Path, *copier_args: str) -> int:
    """`make update` to the kit's newest commit (the working tree; copier would take the newest tag),
    with the kit's working tree as the tooling."""
    return kit(["--repo", str(service), "update", "--vcs-ref", "HEAD", *copier_args])
