"""Rename a question's answer in `.copier-answers.yml` (run before the update renders).

    python rename_answer.py OLD NEW

Only when OLD is there and NEW is not; otherwise silent.
"""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

ANSWERS_FILE = Path(".copier-answers.yml")
HEADER = "# Changes here will be overwritten by Copier; NEVER EDIT MANUALLY\n"


def rename_answer(answers_file: Path, old: str, new: str) -> bool:
    """Move the answer `old` to `new`; False when there is nothing to do (already renamed)."""
    answers = yaml.safe_load(answers_file.read_text(encoding="utf-8")) or {}
    if old not in answers or new in answers:
        return False
    answers[new] = answers.pop(old)
    answers_file.write_text(HEADER + yaml.safe_dump(answers, sort_keys=True), encoding="utf-8")
    return True


if __name__ == "__main__":
    old_name, new_name = sys.argv[1:3]
    if rename_answer(ANSWERS_FILE, old_name, new_name):
        print(f"migration: answer {old_name} -> {new_name}: renamed, value kept")
