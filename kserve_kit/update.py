"""Keeping a service current with its kit: `kserve-kit update` and `kserve-kit update-check`.

The kit commit a repo was rendered from is recorded in its facts file (`kit_commit`) and by Copier
(`_commit`); `update-check` counts the kit's commits since it, so a service behind on the same version
is told so too. Neither command needs git tags, but a repo rendered from a tag needs that tag.

    kserve-kit update [COPIER_ARGS ...]   # `make update`: copier update, then refuse unresolved conflicts
    kserve-kit update-check               # exit 0 up to date, 1 kit changes, 3 unreachable, 4 commit unknown
"""

from __future__ import annotations

import argparse
import contextlib
import re
import subprocess
import sys
import tempfile
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml
from packaging.version import InvalidVersion, Version

from kserve_kit import KitError
from kserve_kit.conflicts import conflict_problems
from kserve_kit.service import FACTS_FILE

ANSWERS_FILE = ".copier-answers.yml"


def _git(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=False)


def kit_source(repo: Path) -> str:
    """Where the repo was rendered from, as Copier recorded it."""
    try:
        answers = yaml.safe_load((repo / ANSWERS_FILE).read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        raise KitError(f"no {ANSWERS_FILE} in {repo}: this repo was not rendered by kserve-template") from None
    source = answers.get("_src_path")
    if not source:
        raise KitError(f"{ANSWERS_FILE} does not say where the kit is (_src_path)")
    return str(source)


def _newest_tag(tags: list[str]) -> str | None:
    versions = []
    for tag in tags:
        try:
            versions.append((Version(tag), tag))
        except InvalidVersion:
            continue
    return max(versions)[1] if versions else None


# `kserve-kit update-check` exit codes (documented in docs/tooling.md and the service README).
UP_TO_DATE, BEHIND, UNREACHABLE, NOT_IN_KIT = 0, 1, 3, 4


class CheckError(KitError):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


@contextlib.contextmanager
def kit_history(source: str) -> Iterator[Path]:
    """A git directory holding the kit's history and tags: the kit itself when it is a local checkout,
    else a bare partial clone (no file contents but pyproject.toml's are fetched)."""
    if Path(source).is_dir():
        yield Path(source)
        return
    with tempfile.TemporaryDirectory(prefix="kserve-kit-") as clone:
        url = source.removeprefix("git+")
        result = subprocess.run(["git", "clone", "--quiet", "--bare", "--filter=blob:none", url, clone],
                                capture_output=True, text=True, check=False)  # fmt: skip
        if result.returncode != 0:
            raise CheckError(UNREACHABLE, f"cannot reach the kit at {source}: {result.stderr.strip()}")
        yield Path(clone)


def newest(history: Path) -> tuple[str, Version]:
    """What `make update` brings (Copier takes the newest version tag, else the default branch's head):
    its revision and version."""
    tag = _newest_tag(_git(history, "tag", "--list").stdout.split())
    revision = tag or "HEAD"
    shown = _git(history, "show", f"{revision}:pyproject.toml")
    try:
        return revision, Version(tomllib.loads(shown.stdout)["project"]["version"])
    except (KeyError, tomllib.TOMLDecodeError, InvalidVersion) as error:
        raise CheckError(UNREACHABLE, f"cannot read the kit's version at {revision}: {error}") from error


def facts_of(repo: Path) -> dict[str, Any]:
    """The facts file ({} for services of 0.1-0.3, which had none)."""
    path = repo / FACTS_FILE
    return (yaml.safe_load(path.read_text(encoding="utf-8")) or {}) if path.is_file() else {}


def require_rendered_from(history: Path, repo: Path, source: str) -> None:
    """The commit Copier recorded must be in the kit's history, or `copier update` cannot render the
    version the repo started from (a traceback ending in "Unknown revision")."""
    commit = str(answers_of(repo, own=True).get("_commit") or "")
    if facts_of(repo).get("kit_draft"):
        raise CheckError(NOT_IN_KIT, f"this repo was rendered from uncommitted changes of the kit at {source}: no "
                         "kit commit holds them, so nothing can be compared or updated from; commit the kit's "
                         "changes and render again")  # fmt: skip
    if _git(history, "rev-parse", "--verify", "--quiet", f"{commit}^{{commit}}").returncode == 0:
        return
    if re.fullmatch(r"v?\d+(\.\d+)*([.-].*)?", commit) and not re.fullmatch(r"[0-9a-f]{7,40}", commit):
        fix = f"the kit's tags are missing there: `git -C {source} fetch --tags`" if Path(source).is_dir() else (
            f"push the kit's tags to {source} (`git push --tags`)")  # fmt: skip
        raise CheckError(NOT_IN_KIT, f"this repo was rendered from the kit's tag {commit}, which {source} does not "
                                     f"have: {fix}")  # fmt: skip
    raise CheckError(NOT_IN_KIT, f"this repo was rendered from kit commit {commit}, which is not in the history of "
                                 f"{source}: point _src_path in {ANSWERS_FILE} at the kit it came from")  # fmt: skip


def add_check_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = (
        f"Exit codes: {UP_TO_DATE} up to date; {BEHIND} the kit has changes this repo has not (run `make update`); "
        f"{UNREACHABLE} the kit cannot be reached; {NOT_IN_KIT} the kit does not have the commit or tag this repo "
        "was rendered from (the message says how to fetch it)."
    )


def run_check(args: argparse.Namespace) -> int:
    source, facts = kit_source(args.repo), facts_of(args.repo)
    commit = str(facts.get("kit_commit") or answers_of(args.repo, own=True).get("_commit"))
    current = f"kserve-template {facts.get('kit_version', 'before 0.4')}"
    try:
        with kit_history(source) as history:
            require_rendered_from(history, args.repo, source)
            revision, latest = newest(history)
            behind = int(_git(history, "rev-list", "--count", f"{commit}..{revision}").stdout.strip() or 0)
    except CheckError as error:
        print(f"update-check: {error}", file=sys.stderr)
        return error.code
    if behind:
        newer = (
            f"kserve-template {latest} is out" if str(latest) != facts.get("kit_version") else "the kit has moved on"
        )
        print(f"update-check: {newer}: {behind} kit commit(s) since this repo's ({commit[:12]}, {current}): "
              "run `make update`")  # fmt: skip
        return BEHIND
    print(f"update-check: up to date ({current}, commit {commit[:12]}, the newest at {source})")
    return UP_TO_DATE


def answers_of(repo: Path, own: bool = False) -> dict[str, Any]:
    """The repo's answers: the owner's (not Copier's own `_` entries), or with `own`, Copier's only."""
    answers = yaml.safe_load((repo / ANSWERS_FILE).read_text(encoding="utf-8")) or {}
    return {key: value for key, value in answers.items() if key.startswith("_") == own}


def requested(copier_args: list[str]) -> set[str]:
    """The answers the user changed on purpose (`--data key=value`, `-d key=value`)."""
    keys, arguments = set(), iter(copier_args)
    for argument in arguments:
        if argument in ("--data", "-d"):
            keys.add(next(arguments, "").split("=", 1)[0])
        elif argument.startswith("--data="):
            keys.add(argument.removeprefix("--data=").split("=", 1)[0])
    return keys


def lost_answers(before: dict[str, Any], after: dict[str, Any], wanted: set[str]) -> tuple[list[str], list[str]]:
    """(answers the update changed without being asked, answers no longer asked), in words.

    Copier drops a recorded answer the new kit's validator refuses and takes the default instead,
    silently; a renamed answer (a migration) reappears under its new name with its value."""
    changed = [
        f"{key}: was {before[key]!r}, the update made it {after[key]!r} (the new kit refuses the old value)"
        for key in before
        if key in after and key not in wanted and str(before[key]) != str(after[key])
    ]
    moved = {str(value) for key, value in after.items() if key not in before}
    gone = [f"{key} ({before[key]!r})" for key in before if key not in after and str(before[key]) not in moved]
    return changed, gone


def add_update_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = "Any other option goes to copier update, e.g. --data environment=lab2."


def run_update(args: argparse.Namespace) -> int:
    repo: Path = args.repo
    if _git(repo, "rev-parse", "--is-inside-work-tree").returncode != 0:
        raise KitError(
            f"{repo} is not a git repository: copier update merges the kit's changes with git. "
            "Run `git init && git add -A && git commit -m 'service as rendered'` first"
        )
    if problems := conflict_problems(repo):
        raise KitError("resolve the conflicts of the last update first, then commit:\n  " + "\n  ".join(problems))
    if _git(repo, "status", "--porcelain").stdout.strip():
        raise KitError("commit or stash your changes first: copier update needs a clean git tree to merge into")
    source = kit_source(repo)
    try:  # Copier renders the recorded version first: without it, a traceback ending in "Unknown revision"
        with kit_history(source) as history:
            require_rendered_from(history, repo, source)
    except CheckError as error:
        raise KitError(str(error)) from None
    before = answers_of(repo)
    command = [sys.executable, "-m", "copier", "update", "--trust", "--defaults", *args.passthrough]
    result = subprocess.run(command, cwd=repo, check=False)
    if result.returncode != 0 and not conflict_problems(repo):  # the kit's guard names what it refused
        print(f"update: copier update failed (exit {result.returncode}); nothing was committed", file=sys.stderr)
        return result.returncode
    changed, gone = lost_answers(before, answers_of(repo), requested(args.passthrough))
    if gone:
        print(f"update: no longer asked, so no longer recorded: {', '.join(gone)}")
    if changed:
        for line in changed:
            print(f"error: answer {line}", file=sys.stderr)
        print(
            "update: answers would be lost: undo with `git reset --hard && git clean -fd`, then give each a value "
            'the new kit accepts: make update ARGS="--data key=value"',
            file=sys.stderr,
        )
        return 1
    problems = conflict_problems(repo)
    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    if problems:
        print(
            f"update: {len(problems)} conflict(s) between your edits and the kit's: resolve each as said above, "
            "then `make install test validate` and commit"
        )
        return 1
    print("update: done; review with `git diff`, then `make install test validate` and commit")
    return 0
