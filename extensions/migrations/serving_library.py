"""Kit 0.4 (#23): the server's glue moved from the service's package into kserve-kit's serving library
(`kserve_kit.serving`): `<package>/guards.py` and `<package>/inputs.py` are gone, `__main__.py` calls
`kserve_kit.serving.server.serve`, and the model classes build on the library's (`JoblibModel`,
`TorchModel`). The owner's files (`*/model.py`, `*/predictor.py`, `training/train.py`) are never
rewritten by an update (copier.yml `_skip_if_exists`), yet those of 0.4 import the removed modules.

    python serving_library.py   # after the update (guard.py's renders are there)

Each such file the owner never changed (it is the old render's) becomes the new render's. One the
owner changed keeps every line of theirs, with its imports of the removed modules pointed at the
library (unless the owner kept their own edited copy of that module: MIGRATION-kept-files.md); it
still runs (on KServe's route: the fast path and batching need the library's base classes), and
MIGRATION-serving-library.md shows the new render's version to adopt. Silent otherwise.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the new kit
from extensions.migrations.renders import render  # noqa: E402

REPORT = Path("MIGRATION-serving-library.md")
OWNERS_FILES = ("{package}/model.py", "{package}/predictor.py", "training/train.py")
# What the removed modules' importers get instead: (the removed module, pattern, replacement), with
# `{package}` filled in; MODEL_FILE left model.py for the library (model.py itself stays).
IMPORTS = (
    ("inputs", r"from {package}\.inputs import", "from kserve_kit.serving.inputs import"),
    ("guards", r"from {package} import guards\b", "from kserve_kit.serving import guards"),
    (None, r"from {package}\.model import MODEL_FILE\b",
     "from kserve_kit.serving.artifacts import JOBLIB_FILE as MODEL_FILE"),
)  # fmt: skip


def packages() -> list[str]:
    """The service's package: the folder the old render had guards.py in."""
    old = render("old")
    return [guards.parent.name for guards in old.glob("*/guards.py")] if old.is_dir() else []


def repoint(text: str, package: str) -> str:
    for module, pattern, replacement in IMPORTS:
        if module and Path(package, f"{module}.py").is_file():
            continue  # the owner kept their own copy of it (MIGRATION-kept-files.md): their imports stay with it
        text = re.sub(pattern.format(package=package), replacement, text)
    return text


def migrate(package: str) -> list[str]:
    rows = []
    for pattern in OWNERS_FILES:
        name = pattern.format(package=package)
        path, old, new = Path(name), render("old") / name, render("new") / name
        if not path.is_file() or not old.is_file() or not new.is_file():
            continue
        text = path.read_text(encoding="utf-8")
        if text == old.read_text(encoding="utf-8"):
            path.write_text(new.read_text(encoding="utf-8"), encoding="utf-8")
            print(f"serving library: {name} is the new kit's (you had not changed it)")
        elif (repointed := repoint(text, package)) != text or package + ".inputs" in text:
            path.write_text(repointed, encoding="utf-8")
            rows.append(name)
    return rows


def report(rows: list[str]) -> None:
    parts = [
        "# The serving library (kserve-template 0.4)\n",
        "The server's glue (request guards, input checks, metrics, start-up) is now kserve-kit's serving",
        "library, `kserve_kit.serving`, pinned with the tooling. You had changed the files below: every line of",
        "yours is kept, with imports of the removed `guards.py`/`inputs.py` pointed at the library. They run",
        "as before, on KServe's own route. To get the fast path and in-process batching, build on the",
        "library's classes as the new kit's version of each file does (below), then delete this file.\n",
    ]
    for name in rows:
        new = render("new").joinpath(name).read_text(encoding="utf-8").rstrip()
        parts += [f"## `{name}`: the new kit's version\n", "```python", new, "```\n"]
    REPORT.write_text("\n".join(parts), encoding="utf-8")
    print(f"serving library: {', '.join(rows)} kept as you changed them, imports repointed; see {REPORT}")


def main() -> int:
    rows = [row for package in packages() for row in migrate(package)]
    if rows:
        report(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
