"""The new kit's guard around every update, whatever the service's Makefile runs (`copier update` in
services of 0.1-0.3, `kserve-kit update` since): Copier runs the NEW kit's migrations.

    python guard.py answers KIT_ROOT VCS_REF DATA_JSON  # first of all, before Copier writes anything
    python guard.py keep KIT_ROOT                       # last before the update (after the moves)
    python guard.py finish                              # last of all

`answers` renders the version the repo was rendered from (its recorded answers at its `_commit`, as
Copier does) and the new version (the same answers and `--data`'s) into .git/kserve-template-update/,
and stops the update, naming each one, when the new kit refuses a recorded answer: Copier would
silently replace it with its default (an `s3://` URI becoming another bucket's). `keep` sets aside
each file the owner changed that the new kit no longer renders (Copier deletes it), and the owner's
files of the package when the service is renamed (`--data service_name=...`).

`finish` puts the kept files back (a renamed package's into the new package, with the repo's imports of
it renamed), lists them in MIGRATION-kept-files.md, and names every conflict the update left (exit 1).
The other migrations read the two renders (`render`): what the owner changed in a TorchServe handler,
the new deployment mode when the InferenceService conflicts.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml
from pathspec import PathSpec

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the new kit
from extensions.migrations.renders import render, work_dir  # noqa: E402
from extensions.migrations.torchserve_to_pytorch import reported_files  # noqa: E402

ANSWERS = Path(".copier-answers.yml")
REPORT = Path("MIGRATION-kept-files.md")
REFUSED = re.compile(r"Validation error for question '(?P<question>[^']+)': (?P<message>.*)", re.S)
CONFLICT_MARKERS = (b"<<<<<<< before updating", b">>>>>>> after updating")  # Copier's inline markers


def package(answers: dict[str, Any]) -> str:
    return str(answers["service_name"]).replace("-", "_")


def copy(src: str, destination: Path, ref: str, data: dict[str, Any]) -> None:
    from copier import run_copy  # the Copier running this update

    run_copy(src, str(destination), data=data, vcs_ref=ref, defaults=True, unsafe=True, quiet=True,
             skip_tasks=True, overwrite=True)  # fmt: skip


def render_new(kit_root: Path, ref: str, recorded: dict[str, Any], data: dict[str, Any]) -> list[tuple[str, str]]:
    """Render the new version with the recorded answers (and --data's) as given answers, which Copier
    validates (recorded ones it would drop silently); returns (question, refusal) for each it refused."""
    questions = {key for key in yaml.safe_load((kit_root / "copier.yml").read_text(encoding="utf-8")) if key[0] != "_"}
    given = {key: value for key, value in {**recorded, **data}.items() if key in questions}
    refused = []
    while True:
        shutil.rmtree(render("new"), ignore_errors=True)
        try:
            copy(str(kit_root), render("new"), ref, given)
            return refused
        except ValueError as error:
            found = REFUSED.match(str(error))
            if found is None or found["question"] not in given:
                raise
            refused.append((found["question"], found["message"].strip()))
            del given[found["question"]]


def files(root: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(root)): path.read_bytes()
        for path in root.rglob("*")
        if path.is_file() and ".git" not in path.relative_to(root).parts
    }


def tracked() -> list[str]:
    return subprocess.run(["git", "ls-files"], capture_output=True, text=True, check=True).stdout.splitlines()


def owners_files(kit_root: Path, old_package: str, new_package: str, handled: set[str]) -> dict[str, str]:
    """{file the update would delete: where it goes back}: the owner's work in files the new kit no
    longer renders (the kit's, changed since the old render), and a renamed package's files that are
    the owner's (written by them, changed, or theirs from day one: `_skip_if_exists`). Where the new
    kit renders a file of its own at the place, the owner's goes beside it as `<file>.yours`."""
    old_files, new_files = files(render("old")), files(render("new"))
    config = yaml.safe_load((kit_root / "copier.yml").read_text(encoding="utf-8"))
    yours = PathSpec.from_lines("gitwildmatch", config.get("_skip_if_exists") or [])
    kept = {}
    for path in tracked():
        renamed = old_package != new_package and path.startswith(f"{old_package}/")
        if not Path(path).is_file() or path in handled or path in new_files and not renamed:
            continue  # not the owner's to lose: Copier merges it, or another migration reports it
        owners = path not in old_files or yours.match_file(path) or old_files[path] != Path(path).read_bytes()
        if not renamed and path in old_files and owners:
            kept[path] = path
        elif renamed and owners:
            target = f"{new_package}/{path.removeprefix(f'{old_package}/')}"
            kept[path] = f"{target}.yours" if target in new_files and not yours.match_file(target) else target
    return kept


def check_answers(kit_root: Path, ref: str, data: dict[str, Any]) -> int:
    """Stage 1 (first of all migrations): the two renders, and the answers the new kit refuses."""
    recorded = yaml.safe_load(ANSWERS.read_text(encoding="utf-8")) or {}
    answers = {key: value for key, value in recorded.items() if not key.startswith("_")}
    shutil.rmtree(work_dir(), ignore_errors=True)
    copy(str(recorded["_src_path"]), render("old"), str(recorded["_commit"]), answers)
    refused = [(question, message) for question, message in render_new(kit_root, ref, answers, data)
               if question not in data]  # fmt: skip
    if refused:
        for question, message in refused:
            print(f"error: the new kit refuses your recorded answer {question}: {answers[question]!r}: {message}",
                  file=sys.stderr)  # fmt: skip
        fixes = " ".join(f"--data {question}=<value>" for question, _ in refused)
        print(f"update: stopped, nothing changed: Copier would replace {len(refused)} recorded answer(s) with "
              f'the default. Give each a value the new kit accepts: make update ARGS="{fixes}"',
              file=sys.stderr)  # fmt: skip
        shutil.rmtree(work_dir(), ignore_errors=True)
        return 1
    new = {**answers, **data}
    state = {"packages": [package(answers), package(new)], "handled": sorted(reported_files(answers, new))}
    (work_dir() / "state.json").write_text(json.dumps(state), encoding="utf-8")
    return 0


def keep(kit_root: Path) -> int:
    """Stage 2 (last before the update, after the moves): set the owner's files aside."""
    state = json.loads((work_dir() / "state.json").read_text(encoding="utf-8"))
    state["kept"] = owners_files(kit_root, *state["packages"], set(state["handled"]))
    for path in state["kept"]:
        (work_dir() / "kept" / path).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, work_dir() / "kept" / path)
    (work_dir() / "state.json").write_text(json.dumps(state), encoding="utf-8")
    return 0


def rename_imports(old: str, new: str) -> list[str]:
    """`import old` / `from old...` -> new in the repo's Python files."""
    pattern, changed = re.compile(rf"^(\s*(?:from|import)\s+){old}\b", re.M), []
    for path in [*tracked(), *[str(p) for p in Path(new).rglob("*.py")]]:
        if path.endswith(".py") and Path(path).is_file():
            text = Path(path).read_text(encoding="utf-8")
            if pattern.search(text):
                Path(path).write_text(pattern.sub(rf"\g<1>{new}", text), encoding="utf-8")
                changed.append(path)
    return sorted(set(changed))


def restore(kept: dict[str, str]) -> list[str]:
    """Put each kept file back; a report row for each."""
    rows = []
    for source, target in kept.items():
        Path(target).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(work_dir() / "kept" / source, target)
        if source != target and Path(source).is_file():
            Path(source).unlink()
        if target.endswith(".yours"):
            why = "the new kit renders its own file there: merge yours into it, then delete yours"
        else:
            why = "moved into the renamed package" if source != target else "the new kit no longer renders it"
        rows.append(f"| `{source}` | `{target}` | {why} |")
    return rows


def finish() -> int:
    """Stage 3 (last of all): the owner's files back, a renamed package's imports, the conflicts."""
    state_file = work_dir() / "state.json"
    state = json.loads(state_file.read_text(encoding="utf-8")) if state_file.is_file() else {}
    if state.get("kept"):
        (old, new), rows = state["packages"], restore(state["kept"])
        imports = rename_imports(old, new) if old != new else []
        if old != new and Path(old).is_dir():
            for leftover in sorted(Path(old).rglob("*"), reverse=True):  # what Python left: caches, empty dirs
                if leftover.name == "__pycache__" or leftover.is_dir() and not any(leftover.iterdir()):
                    shutil.rmtree(leftover)
            if not any(Path(old).iterdir()):
                Path(old).rmdir()
        report(rows, imports, old, new)
    shutil.rmtree(work_dir(), ignore_errors=True)
    conflicts = [path for path in dict.fromkeys([*tracked(), *others()]) if conflicted(Path(path))]
    for path in conflicts:
        kind = "a change it could not apply" if path.endswith(".rej") else "markers <<<<<<< ... >>>>>>>"
        print(f"error: {path}: the update left a conflict ({kind}): keep what you need of both sides, "
              "remove the rest", file=sys.stderr)  # fmt: skip
    if conflicts:
        print(f"update: {len(conflicts)} conflict(s) between your edits and the kit's: resolve them, then "
              "`make install test validate` and commit; or undo the update: `git reset --hard && git clean -fd`",
              file=sys.stderr)  # fmt: skip
    return 1 if conflicts else 0


def others() -> list[str]:
    listed = ["git", "ls-files", "--others", "--exclude-standard"]
    return subprocess.run(listed, capture_output=True, text=True, check=True).stdout.splitlines()


def conflicted(path: Path) -> bool:
    if path.suffix == ".rej":
        return True
    try:
        return any(line.rstrip() in CONFLICT_MARKERS for line in path.read_bytes().splitlines())
    except OSError:
        return False


def report(rows: list[str], imports: list[str], old: str, new: str) -> None:
    lines = [
        "# Your work the update kept",
        "",
        "Written by `make update`: these files held your work, and the new kit version would have deleted",
        "them. They are back where you see them; decide for each, then delete this file.",
        "",
        "| File | Why |",
        "|---|---|",
        *rows,
        "",
    ]
    if imports:
        listed = ", ".join(f"`{path}`" for path in imports)
        lines += [f"The package is `{new}` now (was `{old}`): its imports are renamed in {listed}.", ""]
    REPORT.write_text("\n".join(lines), encoding="utf-8")
    print(f"migration: {len(rows)} file(s) of yours kept from deletion, listed in {REPORT}")


if __name__ == "__main__":
    stage = sys.argv[1]
    if stage == "answers":
        sys.exit(check_answers(Path(sys.argv[2]), sys.argv[3], json.loads(sys.argv[4] or "{}")))
    sys.exit(keep(Path(sys.argv[2])) if stage == "keep" else finish())
