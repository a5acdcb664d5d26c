"""Kit 0.4: the InferenceService's labels and annotations end with a marker comment, below which the
owner's own lines go (a kit release never adds lines there). Before it, owners added theirs at the
end of a block, exactly where the marker now goes: the update would conflict on each.

    python append_points.py keep     # before the update writes (after guard.py's renders)
    python append_points.py finish   # after it

`keep` (an InferenceService without the markers): the owner's own labels and annotations (keys the
version the repo was rendered from did not write, guard.py's old render) are taken out and set aside,
so the update merges cleanly; `finish` puts them below the markers. Silent otherwise.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the new kit
from extensions.migrations.renders import render, work_dir  # noqa: E402

ISVC = Path("k8s/inference-service.yaml")
BLOCKS = ("labels", "annotations")
MARKER = "    # ---- Your own {block} go below this line: kit updates never add lines here. ----"
KEY = re.compile(r"^    ([^\s#][^:]*):")


def block(lines: list[str], name: str) -> tuple[int, int]:
    """[start, end) of the lines of `metadata.<name>` (indented by 4), (0, 0) when there is none."""
    try:
        start = lines.index(f"  {name}:") + 1
    except ValueError:
        return 0, 0
    end = start
    while end < len(lines) and (lines[end].startswith("    ") or not lines[end].strip()):
        end += 1
    return start, end


def keys(lines: list[str]) -> set[str]:
    return {found.group(1) for line in lines if (found := KEY.match(line))}


def saved() -> Path:
    return work_dir() / "append-points.json"


def keep() -> None:
    old_isvc = render("old") / ISVC
    if not ISVC.is_file() or not old_isvc.is_file():
        return
    lines, old = ISVC.read_text(encoding="utf-8").splitlines(), old_isvc.read_text(encoding="utf-8").splitlines()
    if MARKER.format(block="labels") in lines:
        return
    owners: dict[str, list[str]] = {}
    for name in BLOCKS:
        start, end = block(lines, name)
        kits = keys(old[slice(*block(old, name))])
        owners[name] = [line for line in lines[start:end] if (found := KEY.match(line)) and found.group(1) not in kits]
    if not any(owners.values()):
        return
    kept = [line for line in lines if not any(line in taken for taken in owners.values())]
    ISVC.write_text("\n".join(kept) + "\n", encoding="utf-8")
    subprocess.run(["git", "add", str(ISVC)], check=True)
    saved().write_text(json.dumps(owners), encoding="utf-8")


def finish() -> None:
    if not saved().is_file():
        return
    owners = json.loads(saved().read_text(encoding="utf-8"))
    lines = ISVC.read_text(encoding="utf-8").splitlines()
    moved = []
    for name, own in owners.items():
        marker = MARKER.format(block=name)
        if own and marker in lines:
            at = lines.index(marker) + 1
            lines[at:at] = own
            moved += own
    ISVC.write_text("\n".join(lines) + "\n", encoding="utf-8")
    saved().unlink()
    if moved:
        print(f"migration: your {len(moved)} own label(s)/annotation(s) are below the markers of {ISVC} now")


if __name__ == "__main__":
    keep() if sys.argv[1] == "keep" else finish()
