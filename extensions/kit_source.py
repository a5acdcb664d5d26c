"""Where a service installs kserve-kit from: an immutable reference to the kit commit it was rendered from.

A pin by version alone breaks a service the day the kit's branch moves to the next version (pip:
ResolutionImpossible); a pin by commit (or an exact release on a package index) never moves until
`make update` moves it. Two places install kserve-kit:

- the owner's `make install` (Makefile `KIT_REQUIREMENT`): the kit the repo was rendered from, at its
  commit: a git URL as Copier recorded it, or a local checkout (`git+file://`);
- the repo's CI (.github/workflows/ci.yml): a hosted runner cannot see the owner's disk, so a render
  from a local path installs from the platform's canonical source (profile `kit_source`) at the same
  commit, or the same exact version from the platform's package index.

A render from a kit checkout with uncommitted changes (Copier commits them in its temporary clone,
"a draft") has no commit anywhere else: `make install` then takes the checkout as it is, and the
render says so.
"""

from __future__ import annotations

import functools
import os
import re
import subprocess
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# copier/_vcs.py clone() (copier 9.x): how Copier names the commit it makes of a dirty local template.
DRAFT_COMMIT_SUBJECT = "Copier automated commit for draft changes"
PACKAGE = "kserve-kit"


@dataclass(frozen=True)
class KitPin:
    commit: str | None  # the kit commit the repo was rendered from (a draft's: the commit under it)
    draft: bool  # rendered from uncommitted changes: no immutable reference exists
    requirement: str  # `make install` (Makefile KIT_REQUIREMENT)
    ci_requirement: str  # the repo's CI
    ci_index: str | None  # the package index CI installs the exact version from, if the profile names one
    notice: str  # what the render tells the owner ("" when local and CI install the same thing)

    def facts(self) -> dict[str, Any]:
        return {"commit": self.commit, "draft": self.draft, "requirement": self.requirement}


def git_url(src_path: str) -> str | None:
    """The git URL pip can clone for a Copier source (`gh:org/repo`, https, ssh, git@); None: a local path."""
    if re.match(r"^(gh|gl):", src_path):
        host = "github.com" if src_path.startswith("gh:") else "gitlab.com"
        return f"https://{host}/{src_path[3:].removesuffix('.git')}.git"
    if src_path.startswith(("git+", "https://", "http://", "ssh://", "git@")):
        url = src_path.removeprefix("git+")
        return f"ssh://{url.replace(':', '/', 1)}" if url.startswith("git@") else url
    return None


@functools.cache  # derive() runs for every string Copier renders
def rendering_commit(kit_root: Path) -> tuple[str | None, bool]:
    """(commit, draft) of the kit checkout being rendered (Copier's clone of it)."""

    def git(*args: str) -> str | None:
        result = subprocess.run(["git", "-C", str(kit_root), *args], capture_output=True, text=True, check=False)
        return result.stdout.strip() if result.returncode == 0 else None

    head = git("rev-parse", "HEAD")
    if head is None:
        return None, True
    if git("log", "-1", "--format=%s") == DRAFT_COMMIT_SUBJECT:
        return git("rev-parse", "HEAD~1"), True
    return head, False


def kit_pin(src_path: str, version: str, canonical: dict[str, str], kit_root: Path) -> KitPin:
    """The pin for a render of `version` from `src_path` (Copier's `_src_path`) checked out at `kit_root`."""
    commit, draft = rendering_commit(kit_root)
    remote = git_url(src_path)
    local = Path(os.path.abspath(src_path.removeprefix("file://")))
    if remote:
        requirement = f"{PACKAGE} @ git+{remote}@{commit}"
    elif draft or commit is None:
        requirement = f"{PACKAGE} @ {local.as_uri()}"
    else:
        requirement = f"{PACKAGE} @ git+{local.as_uri()}@{commit}"
    if remote and not draft:
        ci_requirement, ci_index = requirement, None
    elif "index" in canonical:
        ci_requirement, ci_index = f"{PACKAGE}=={version}", canonical["index"]
    else:
        ci_requirement, ci_index = f"{PACKAGE} @ git+{canonical['git']}@{commit}", None
    notes = []
    if draft:
        notes.append(
            f"kserve-kit: rendered from uncommitted changes of the kit at {local}: `make install` takes that "
            "checkout as it is now, not a fixed commit. Commit the kit's changes and run `make update` for an "
            "immutable pin."
        )
    if ci_requirement != requirement:
        source = f"{ci_index} (kserve-kit {version})" if ci_index else f"{canonical['git']} at commit {commit}"
        notes.append(
            f"kserve-kit: `make install` takes it from {local}; the repo's CI installs it from the platform's "
            f"kit source, {source}: that {'version' if ci_index else 'commit'} must be published there."
        )
    notice = "\n".join(textwrap.fill(note, width=78, break_on_hyphens=False, break_long_words=False) for note in notes)
    return KitPin(commit, draft, requirement, ci_requirement, ci_index, notice)
