"""`make release VERSION=x.y.z` on a scratch clone of the kit: the version lives in pyproject.toml,
the CHANGELOG section gets its date and names its commit, the commit is tagged."""

from __future__ import annotations

import datetime
import re
import subprocess
from pathlib import Path

import pytest

from extensions.release import ReleaseError, release
from tests.conftest import KIT_ROOT
from tests.test_update import commit_all, git


@pytest.fixture
def kit_clone(tmp_path: Path) -> Path:
    repo = tmp_path / "kit"
    subprocess.run(["git", "clone", "-q", "--no-local", str(KIT_ROOT), str(repo)], check=True)
    for name in ("pyproject.toml", "CHANGELOG.md"):
        (repo / name).write_text((KIT_ROOT / name).read_text(encoding="utf-8"), encoding="utf-8")
    commit_all(repo, "today's version and changelog")
    git(repo, "config", "user.name", "kit-tests")
    git(repo, "config", "user.email", "kit-tests@example.com")
    return repo


def test_release_sets_the_version_dates_the_section_and_tags(kit_clone: Path) -> None:
    changelog = kit_clone / "CHANGELOG.md"
    changelog.write_text(changelog.read_text().replace("# Changelog\n", "# Changelog\n\n## 9.0.0\n\n- news\n", 1))
    commit_all(kit_clone, "changelog for 9.0.0")

    commit = release(kit_clone, "9.0.0", today=datetime.date(2026, 12, 1))

    assert 'version = "9.0.0"' in (kit_clone / "pyproject.toml").read_text()
    assert "## 9.0.0 - 2026-12-01 (commit " + commit + ")" in changelog.read_text()
    assert git(kit_clone, "rev-parse", "--short", "v9.0.0^{commit}").strip() == commit
    assert re.search(r'^version = "9.0.0"$', git(kit_clone, "show", f"{commit}:pyproject.toml"), re.M)


@pytest.mark.parametrize(
    ("version", "message"), [("0.0.1", "not above"), ("9.9.9", "no section"), ("nine", "not a version")]
)
def test_release_refuses_what_it_cannot_release(kit_clone: Path, version: str, message: str) -> None:
    with pytest.raises(ReleaseError, match=message):
        release(kit_clone, version)


def test_release_refuses_a_dirty_tree(kit_clone: Path) -> None:
    changelog = kit_clone / "CHANGELOG.md"
    changelog.write_text(changelog.read_text().replace("# Changelog\n", "# Changelog\n\n## 9.0.0\n", 1))
    with pytest.raises(ReleaseError, match="clean tree"):
        release(kit_clone, "9.0.0")
