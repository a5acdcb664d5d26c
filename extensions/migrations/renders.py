"""The two renders of the update in progress, made by guard.py before anything is written: `old`, the
version the repo was rendered from with its recorded answers (what the owner started from), and
`new`, the new version with the new answers (what the update writes). Other migrations read them."""

from __future__ import annotations

import subprocess
from pathlib import Path


def work_dir() -> Path:
    git_dir = subprocess.run(["git", "rev-parse", "--git-dir"], capture_output=True, text=True, check=True)
    return Path(git_dir.stdout.strip()).resolve() / "kserve-template-update"


def render(which: str) -> Path:
    """The `old` or `new` render (missing outside an update)."""
    return work_dir() / which
