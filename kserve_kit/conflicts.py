"""Leftovers of an update that did not merge cleanly: conflict markers and `*.rej` files.

`copier update` writes both sides of a conflicting change into the file between `<<<<<<<` and
`>>>>>>>` lines (or, with `--conflict rej`, the kit's change into `<file>.rej`). Until the owner
resolves them the repo is broken in ways that may not show (a README, a config file), so
`kserve-kit update`, `validate` and `conflicts` (run by `make test`) refuse such a repo.

    kserve-kit conflicts    exit 0: none, 1: conflicts listed with what to do
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path

from kserve_kit.service import SKIPPED_DIRS, text_files

MARKER = re.compile(r"^(<{7}|>{7})(?: |$)", re.MULTILINE)
RESOLVE = "keep the lines you want, delete the <<<<<<<, ======= and >>>>>>> lines, then `git add` the file"
APPLY = "apply the change it holds by hand to {target}, then delete the .rej file"


def conflict_problems(root: Path) -> list[str]:
    problems = []
    for name, text in text_files(root):
        if name.endswith(".rej"):
            continue
        if match := MARKER.search(text):
            line = text.count("\n", 0, match.start()) + 1
            problems.append(f"{name}:{line}: merge conflict left by an update: {RESOLVE}")
    for directory, subdirectories, names in os.walk(root):
        subdirectories[:] = [name for name in subdirectories if name not in SKIPPED_DIRS]
        for name in sorted(names):
            if name.endswith(".rej"):
                path = Path(directory, name).relative_to(root)
                target = str(path)[: -len(".rej")]
                problems.append(f"{path}: a change the update could not apply: {APPLY.format(target=target)}")
    return problems


def add_arguments(parser: argparse.ArgumentParser) -> None:
    del parser  # no options


def run(args: argparse.Namespace) -> int:
    problems = conflict_problems(args.repo)
    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    if problems:
        print(f"conflicts: {len(problems)} unresolved in {args.repo}: resolve them, then run the command again")
        return 1
    return 0
