"""Render speed: `copier copy` of the full kit vs a one-question Copier template (Copier's floor),
and `copier update`, each as a whole process (imports included), side by side in one run.

    .venv/bin/python -m bench.render [--runs 7]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import yaml

from bench.common import KIT_ROOT, PYTHON, machine, table

KIT_FILES = ["copier.yml", "pyproject.toml", "extensions", "platforms", "template"]
GIT = ["git", "-c", "user.name=bench", "-c", "user.email=bench@example.com"]


def tagged_repo(path: Path) -> Path:
    subprocess.run([*GIT, "init", "-q", "-b", "main"], cwd=path, check=True)
    subprocess.run([*GIT, "add", "-A"], cwd=path, check=True)
    subprocess.run([*GIT, "commit", "-q", "-m", "bench"], cwd=path, check=True)
    subprocess.run([*GIT, "tag", "v1.0.0"], cwd=path, check=True)
    return path


def kit_copy(root: Path) -> Path:
    destination = root / "kit"
    destination.mkdir()
    for name in KIT_FILES:
        source = KIT_ROOT / name
        if source.is_dir():
            shutil.copytree(source, destination / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(source, destination / name)
    return tagged_repo(destination)


def kit_question_count() -> int:
    """The kit's questions: copier.yml's top-level keys that are not settings (`_...`)."""
    settings = yaml.safe_load((KIT_ROOT / "copier.yml").read_text(encoding="utf-8"))
    return sum(1 for key in settings if not key.startswith("_"))


def floor_template(root: Path, name: str = "floor", extra_files: int = 0, extra_questions: int = 0) -> Path:
    """Copier's floor: one question, one templated file. `extra_files` plain files and `extra_questions`
    validated questions (no other logic) give Copier's own cost for a template of a given shape."""
    destination = root / name
    (destination / "template").mkdir(parents=True)
    for index in range(extra_files):
        (destination / "template" / f"file{index}.txt").write_text(f"plain file {index}\n", encoding="utf-8")
    questions = "".join(
        f'q{index}:\n  type: str\n  help: "Question {index}"\n  default: value{index}\n'
        f"  validator: \"{{{{ '' if q{index} else 'required' }}}}\"\n"
        for index in range(extra_questions)
    )
    (destination / "copier.yml").write_text(
        "_subdirectory: template\nname:\n  type: str\n  default: demo\n" + questions, encoding="utf-8"
    )
    (destination / "template" / "README.md.jinja").write_text("# {{ name }}\n", encoding="utf-8")
    (destination / "template" / "{{_copier_conf.answers_file}}.jinja").write_text(
        "{{ _copier_answers|to_nice_yaml -}}\n", encoding="utf-8"
    )
    return tagged_repo(destination)


def timed(command: list[str], cwd: Path | None = None) -> float:
    started = time.perf_counter()
    subprocess.run(command, cwd=cwd, check=True, capture_output=True)
    return time.perf_counter() - started


def measure(template: Path, work: Path, runs: int) -> tuple[float, float]:
    """Median seconds of `copier copy` and of `copier update` (to the same version, answers changed)."""
    copies, updates = [], []
    for run in range(runs):
        destination = work / f"{template.name}-{run}"
        copies.append(timed([PYTHON, "-m", "copier", "copy", "--trust", "--defaults", "--quiet", str(template),
                             str(destination)]))  # fmt: skip
        subprocess.run([*GIT, "init", "-q"], cwd=destination, check=True)
        subprocess.run([*GIT, "add", "-A"], cwd=destination, check=True)
        subprocess.run([*GIT, "commit", "-q", "-m", "rendered"], cwd=destination, check=True)
        updates.append(timed([PYTHON, "-m", "copier", "update", "--trust", "--defaults", "--quiet"], cwd=destination))
    return statistics.median(copies), statistics.median(updates)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=7)
    runs = parser.parse_args().runs
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        kit = kit_copy(root)
        floor_copy, floor_update = measure(floor_template(root), root, runs)
        kit_copy_s, kit_update = measure(kit, root, runs)
        rendered = sum(1 for path in (root / "kit-0").rglob("*") if path.is_file() and ".git" not in path.parts)
        sized = floor_template(root, "floor-sized", extra_files=rendered - 2)
        sized_copy, sized_update = measure(sized, root, runs)
        questions = kit_question_count()
        shaped = floor_template(root, "floor-shaped", extra_files=rendered - 2, extra_questions=questions - 1)
        shaped_copy, shaped_update = measure(shaped, root, runs)
    print(f"# Render speed: median of {runs} whole-process runs ({machine()})\n")
    print(table(
        ["template", "copier copy (s)", "ratio to floor", "copier update (s)", "ratio to floor"],
        [
            ["one-question template (Copier's floor)", floor_copy, 1.0, floor_update, 1.0],
            [f"one question + {rendered - 2} plain files (Copier's floor at this size)", sized_copy,
             sized_copy / floor_copy, sized_update, sized_update / floor_update],
            [f"{questions} validated questions + {rendered - 2} plain files (Copier's floor at the kit's shape)",
             shaped_copy, shaped_copy / floor_copy, shaped_update, shaped_update / floor_update],
            [f"kserve-template, defaults ({questions} questions, {rendered} files rendered)", kit_copy_s,
             kit_copy_s / floor_copy, kit_update, kit_update / floor_update],
        ],
    ))  # fmt: skip
    print(f"\nkit vs Copier's floor at the same size: copy {kit_copy_s / sized_copy:.2f}x, "
          f"update {kit_update / sized_update:.2f}x")  # fmt: skip
    print(f"kit vs Copier's floor at the kit's shape (the kit's own logic): copy {kit_copy_s / shaped_copy:.2f}x, "
          f"update {kit_update / shaped_update:.2f}x")  # fmt: skip
    print(f"\ngoal: copy within 1.5x of the floor -> {'met' if kit_copy_s / floor_copy <= 1.5 else 'NOT met'}"
          f" (a template of the kit's shape with no logic at all: {shaped_copy / floor_copy:.2f}x)")  # fmt: skip


if __name__ == "__main__":
    main()
