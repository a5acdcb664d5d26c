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


def latest_version(source: str) -> Version:
    """The version of the kit at `source` now: a local directory, or the default branch of a git URL."""
    if Path(source).is_dir():
        return _version_of(Path(source) / "pyproject.toml")
    url = source.removeprefix("git+")
    with tempfile.TemporaryDirectory(prefix="kserve-kit-") as clone:
        result = subprocess.run(
            ["git", "clone", "--quiet", "--depth", "1", url, clone], capture_output=True, text=True, check=False
        )
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
    command = [sys.executable, "-m", "copier", "update", "--trust", "--defaults", *args.passthrough]
    result = subprocess.run(command, cwd=repo, check=False)
    if result.returncode != 0:
        print(f"update: copier update failed (exit {result.returncode}); nothing was committed", file=sys.stderr)
        return result.returncode
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
