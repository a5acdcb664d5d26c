"""`make release VERSION=x.y.z`: release the kit and kserve-kit as version x.y.z.

1. CHANGELOG.md must already have a section `## x.y.z` (written while the changes were made) and the
   git tree must be clean; x.y.z must be above the current version.
2. pyproject.toml's version becomes x.y.z and the section's heading gets today's date: one commit,
   "Release x.y.z", tagged vx.y.z.
3. A second commit makes the heading name the release commit, so the version can be found without
   the tag (tags stay on the machine that made them unless pushed).

    python -m extensions.release x.y.z
"""

from __future__ import annotations

import datetime
import re
import subprocess
import sys
from pathlib import Path

from packaging.version import InvalidVersion, Version

KIT_ROOT = Path(__file__).resolve().parent.parent


class ReleaseError(Exception):
    pass


def _git(root: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=root, check=True, capture_output=True, text=True).stdout.strip()


def release(root: Path, version: str, today: datetime.date | None = None) -> str:
    """Release `version` from the kit at `root`; returns the release commit."""
    try:
        new = Version(version)
    except InvalidVersion:
        raise ReleaseError(f"{version!r} is not a version: use x.y.z, e.g. 0.5.0") from None
    pyproject, changelog = root / "pyproject.toml", root / "CHANGELOG.md"
    current_line = re.search(r'^version = "(.+)"$', pyproject.read_text(encoding="utf-8"), re.MULTILINE)
    if current_line is None:
        raise ReleaseError('pyproject.toml has no `version = "..."` line')
    if new <= Version(current_line.group(1)):
        raise ReleaseError(f"{version} is not above the current version {current_line.group(1)}")
    heading = re.compile(rf"^## v?{re.escape(version)}\b.*$", re.MULTILINE)
    text = changelog.read_text(encoding="utf-8")
    if not heading.search(text):
        raise ReleaseError(f"CHANGELOG.md has no section `## {version}`: write what it changes for services first")
    if _git(root, "status", "--porcelain"):
        raise ReleaseError("commit or stash your changes first: a release is made from a clean tree")
    date = (today or datetime.date.today()).isoformat()
    pyproject.write_text(
        pyproject.read_text(encoding="utf-8").replace(current_line.group(0), f'version = "{version}"'), encoding="utf-8"
    )
    changelog.write_text(heading.sub(f"## {version} - {date}", text, count=1), encoding="utf-8")
    _git(root, "commit", "-q", "-am", f"Release {version}")
    commit = _git(root, "rev-parse", "--short", "HEAD")
    _git(root, "tag", f"v{version}")
    text = changelog.read_text(encoding="utf-8")
    changelog.write_text(heading.sub(f"## {version} - {date} (commit {commit})", text, count=1), encoding="utf-8")
    _git(root, "commit", "-q", "-am", f"CHANGELOG: {version} is commit {commit}")
    return commit


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: make release VERSION=x.y.z")
    try:
        made = release(KIT_ROOT, sys.argv[1])
    except ReleaseError as error:
        sys.exit(f"release: {error}")
    print(f"released {sys.argv[1]}: commit {made}, tag v{sys.argv[1]} (push it with `git push --tags`)")
