"""Move a file the owner keeps to where the new kit version expects it (run before the update renders).

    python move_file.py OLD NEW

Only when OLD exists and NEW does not, with `git mv` so Copier's update sees the move and keeps the
owner's content; otherwise silent.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def move_file(old: Path, new: Path) -> bool:
    """True when the file was moved; False when there is nothing to do."""
    if not old.is_file() or new.exists():
        return False
    new.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["git", "mv", str(old), str(new)], check=True, capture_output=True)
    return True


if __name__ == "__main__":
    old_path, new_path = map(Path, sys.argv[1:3])
    if move_file(old_path, new_path):
        print(f"migration: moved {old_path} to {new_path}")
