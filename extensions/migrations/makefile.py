"""Kit 0.4: the kit's targets moved from the Makefile to kit.mk, which the Makefile includes; the
Makefile is the owner's (`_skip_if_exists`), so a kit release never conflicts with their targets.

    python makefile.py   # after the update

A Makefile without `include kit.mk` (rendered before 0.4) becomes the new one with the owner's own
lines (what follows the kit's lines as the old version rendered them, guard.py's old render) below
the include. A Makefile whose kit lines the owner changed is kept beside it as `Makefile.yours`.
Silent otherwise.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the new kit
from extensions.migrations.renders import render  # noqa: E402

MAKEFILE = Path("Makefile")
INCLUDE = "include kit.mk"


def migrate() -> str | None:
    """What was done, or None when the Makefile includes kit.mk already."""
    if not MAKEFILE.is_file() or INCLUDE in MAKEFILE.read_text(encoding="utf-8").splitlines():
        return None
    owners, kits = MAKEFILE.read_text(encoding="utf-8"), (render("old") / MAKEFILE).read_text(encoding="utf-8")
    new = (render("new") / MAKEFILE).read_text(encoding="utf-8")
    if owners.startswith(kits):
        own = owners[len(kits) :].strip("\n")
        MAKEFILE.write_text(new + (f"\n{own}\n" if own else ""), encoding="utf-8")
        kept = ", your targets kept below it" if own else ""
        return f"the kit's targets are in kit.mk now; the Makefile includes it{kept}"
    shutil.copy(MAKEFILE, "Makefile.yours")
    MAKEFILE.write_text(new, encoding="utf-8")
    return "the kit's targets are in kit.mk now; you had changed the kit's lines: your Makefile is Makefile.yours"


if __name__ == "__main__":
    if done := migrate():
        print(f"migration: {done}")
