"""Rename a label or annotation key in every manifest under k8s/, the owner's own files included.

    python rename_label.py OLD NEW

Only keys are renamed (`OLD:` at the start of a line), so values and comments stay as they are.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

MANIFESTS = Path("k8s")


def rename_label(manifests: Path, old: str, new: str) -> list[Path]:
    """Rewrite `old:` keys to `new:`; returns the files changed (none when already done)."""
    key = re.compile(rf"^(\s*(?:-\s+)?)[\"']?{re.escape(old)}[\"']?(\s*:)", re.MULTILINE)
    changed = []
    for path in sorted([*manifests.glob("**/*.yaml"), *manifests.glob("**/*.yml")]):
        text = path.read_text(encoding="utf-8")
        updated = key.sub(rf"\g<1>{new}\g<2>", text)
        if updated != text:
            path.write_text(updated, encoding="utf-8")
            changed.append(path)
    return changed


if __name__ == "__main__":
    old_key, new_key = sys.argv[1:3]
    if files := rename_label(MANIFESTS, old_key, new_key):
        print(f"migration: {old_key} -> {new_key} in " + ", ".join(map(str, files)))
