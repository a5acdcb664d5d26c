"""Keeping a service current with its kit: `kserve-kit update` and `kserve-kit update-check`.

The kit's version is the `version` in its pyproject.toml, recorded in the facts file at render time:
neither command depends on git tags.

    kserve-kit update [COPIER_ARGS ...]   # `make update`: copier update, then refuse unresolved conflicts
    kserve-kit update-check               # exit 0: up to date, 1: a newer kit version exists
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import tomllib
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


def _version_of(pyproject: Path) -> Version:
    try:
        return Version(tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]["version"])
    except (OSError, KeyError, tomllib.TOMLDecodeError, InvalidVersion) as error:
        raise KitError(f"cannot read the kit's version from {pyproject}: {error}") from error


def _newest_tag(tags: list[str]) -> str | None:
    versions = []
    for tag in tags:
        try:
            versions.append((Version(tag), tag))
        except InvalidVersion:
            continue
    return max(versions)[1] if versions else None


def latest_version(source: str) -> Version:
    """The version `make update` would bring: copier update takes the kit's newest version tag, or
    its default branch when it has no tags; the version is that commit's pyproject.toml's."""
    url = source.removeprefix("git+")
    if Path(source).is_dir():
        tag = _newest_tag(_git(Path(source), "tag", "--list").stdout.split())
        if tag is None:
            return _version_of(Path(source) / "pyproject.toml")
        return Version(tomllib.loads(_git(Path(source), "show", f"{tag}:pyproject.toml").stdout)["project"]["version"])
    listed = subprocess.run(["git", "ls-remote", "--tags", url], capture_output=True, text=True, check=False)
    if listed.returncode != 0:
        raise KitError(f"cannot reach the kit at {source}: {listed.stderr.strip()}")
    tag = _newest_tag([line.split("refs/tags/")[-1] for line in listed.stdout.splitlines() if "^{}" not in line])
    with tempfile.TemporaryDirectory(prefix="kserve-kit-") as clone:
        branch = ["--branch", tag] if tag else []
        result = subprocess.run(["git", "clone", "--quiet", "--depth", "1", *branch, url, clone],
                                capture_output=True, text=True, check=False)  # fmt: skip
        if result.returncode != 0:
            raise KitError(f"cannot reach the kit at {source}: {result.stderr.strip()}")
        return _version_of(Path(clone) / "pyproject.toml")


def current_version(repo: Path) -> Version:
    facts = yaml.safe_load((repo / FACTS_FILE).read_text(encoding="utf-8")) or {}
    try:
        return Version(str(facts["kit_version"]))
    except (KeyError, InvalidVersion) as error:
        raise KitError(f"{FACTS_FILE} records no kit version ({error}): run `make update`") from error


def add_check_arguments(parser: argparse.ArgumentParser) -> None:
    del parser  # no options


def run_check(args: argparse.Namespace) -> int:
    source = kit_source(args.repo)
    current, latest = current_version(args.repo), latest_version(source)
    if latest > current:
        print(f"update-check: kserve-template {latest} is out (this repo is at {current}): run `make update`")
        return 1
    print(f"update-check: up to date (kserve-template {current}, the newest at {source})")
    return 0


def answers_of(repo: Path) -> dict[str, Any]:
    """The repo's answers (not Copier's own `_` entries)."""
    answers = yaml.safe_load((repo / ANSWERS_FILE).read_text(encoding="utf-8")) or {}
    return {key: value for key, value in answers.items() if not key.startswith("_")}


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
    before = answers_of(repo)
    command = [sys.executable, "-m", "copier", "update", "--trust", "--defaults", *args.passthrough]
    result = subprocess.run(command, cwd=repo, check=False)
    if result.returncode != 0:
        print(f"update: copier update failed (exit {result.returncode}); nothing was committed", file=sys.stderr)
        return result.returncode
    changed, gone = lost_answers(before, answers_of(repo), requested(args.passthrough))
    if gone:
        print(f"update: no longer asked, so no longer recorded: {', '.join(gone)}")
    if changed:
        for line in changed:
            print(f"error: answer {line}", file=sys.stderr)
        print(
            "update: answers would be lost: undo with `git checkout . && git clean -fd`, then give each a value "
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
