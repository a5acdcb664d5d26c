"""Move a TorchServe service to the PyTorch runtime (`make update ARGS="--data runtime=pytorch"`).

    python torchserve_to_pytorch.py keep             # before the update renders
    python torchserve_to_pytorch.py finish           # after it

`keep` (a TorchServe service): the owner's handler and protocol modules are kept aside in .git/,
because the update removes them when the runtime changes (and Copier tells a migration the new
answers only afterwards). `finish` (the answers now say pytorch): what the owner had changed in
them, compared function by function with the kit's own TorchServe files as the service's kit version
rendered them (guard.py's old render), cannot be moved
mechanically: it goes to MIGRATION-torchserve-to-pytorch.md with where each piece goes in
predictor.py; and the owner's training, which imported the preprocessing from the handler, gets it
from predictor.py. The kept copies are removed either way. Silent when there is nothing to do.
"""

from __future__ import annotations

import ast
import difflib
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the new kit
from extensions.migrations.renders import render  # noqa: E402

REPORT = Path("MIGRATION-torchserve-to-pytorch.md")
MOVED = ("{package}/handler.py", "{package}/protocol.py", "config/config.properties")  # what the move removes
# Where each piece of a TorchServe handler goes in the PyTorch runtime's predictor.py.
WHERE = {
    "initialize": "`PyTorchModel.load` (kserve-kit's `TorchModel.load` builds `network_class` on the device and "
    "loads the weights: extend it)",
    "preprocess": "`to_model_input` or the start of `PyTorchModel.predict_rows`",
    "inference": "`PyTorchModel.predict_rows` (the forward pass: `self.forward`, without autograd)",
    "postprocess": "the end of `PyTorchModel.predict_rows` (scores -> one prediction per row)",
    "handle": "`PyTorchModel.predict_rows`: the server batches concurrent requests into one call (`batch_size`)",
    "parse_request": "`kserve_kit.serving.inputs` (the V1/V2 body checks; the route decides the protocol there)",
    "format_response": "`kserve_kit.serving.inputs.answer` (the library answers in the route's protocol)",
}


def functions(source: str) -> dict[str, str]:
    """Every function and method of a module, by name, as source text."""
    tree = ast.parse(source)
    return {node.name: ast.get_source_segment(source, node) or "" for node in ast.walk(tree)
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)}  # fmt: skip


def changes(owner: str, kit: str) -> list[tuple[str, str]]:
    """(function, unified diff) for each function the owner added or changed."""
    theirs, ours = functions(owner), functions(kit)
    found = []
    for name, body in theirs.items():
        if ours.get(name) != body:
            diff = difflib.unified_diff(ours.get(name, "").splitlines(), body.splitlines(), "kit", "yours", lineterm="")
            found.append((name, "\n".join(diff)))
    return found


def reported_files(old: dict[str, Any], new: dict[str, Any]) -> set[str]:
    """The TorchServe files this migration reports on (not kept by guard.py) when the runtime moves."""
    if old.get("runtime") != "torchserve" or new.get("runtime") != "pytorch":
        return set()
    return {path.format(package=str(old["service_name"]).replace("-", "_")) for path in MOVED}


def answers() -> dict[str, object]:
    return yaml.safe_load(Path(".copier-answers.yml").read_text(encoding="utf-8")) or {}


def kept() -> Path:
    git_dir = subprocess.run(["git", "rev-parse", "--git-dir"], capture_output=True, text=True, check=True)
    return Path(git_dir.stdout.strip()) / "kserve-template-torchserve"


def keep() -> None:
    if answers().get("runtime") != "torchserve":
        return
    package = str(answers()["service_name"]).replace("-", "_")
    for path in map(Path, (moved.format(package=package) for moved in MOVED)):
        if path.is_file():
            (kept() / path).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(path, kept() / path)


def finish() -> None:
    if kept().is_dir():
        if answers().get("runtime") == "pytorch":
            report(kept())
            imports()
        shutil.rmtree(kept())


def report(old: Path) -> None:
    """What the owner changed in the TorchServe files, against the kit's own as the service's version of
    the kit rendered them (guard.py's old render), so the kit's later changes are not taken for theirs."""
    package = str(answers()["service_name"]).replace("-", "_")
    sections = []
    for name in ("handler.py", "protocol.py"):
        path = Path(package) / name
        if (old / path).is_file():
            owners = (old / path).read_text(encoding="utf-8")
            kits = (render("old") / path).read_text(encoding="utf-8") if (render("old") / path).is_file() else ""
            for function, diff in changes(owners, kits):
                where = WHERE.get(function, "a function of your own in predictor.py (or a module beside it)")
                sections.append(f"### `{function}` in `{path}`\n\nMove it to {where}.\n\n```diff\n{diff}\n```\n")
    config = old / "config" / "config.properties"
    batch = re.search(r'"batchSize": (\d+), "maxBatchDelay": (\d+)', config.read_text()) if config.is_file() else None
    lines = [
        "# Moving from TorchServe to PyTorch (KServe's Python server)",
        "",
        "Written by `make update` when the runtime changed from torchserve to pytorch. Your network",
        f"(`{package}/model.py`), training and weights (`model/model.pt`) carry over as they are; the",
        "TorchServe files (handler, protocol, `config/`, the model archive) are gone. What follows is what",
        "you had changed in them compared with the kit's own, which no script can move: move each piece",
        f"to `{package}/predictor.py` as said, then `make test container-smoke`. Delete this file when done.",
        "",
        *(sections or ["Nothing: your handler and protocol were the kit's own.", ""]),
    ]
    if batch and int(batch.group(1)) > 1:
        lines += [
            f"TorchServe batched up to {batch.group(1)} requests, waiting {batch.group(2)} ms: KServe's batcher",
            'does that now (answers `batch_size`, `batch_latency_ms`: `make update ARGS="--data batch_size=8"`).',
            "",
        ]
    REPORT.write_text("\n".join(lines), encoding="utf-8")
    print(f"migration: TorchServe -> PyTorch: {len(sections)} handler change(s) to move, listed in {REPORT}")


def imports() -> list[Path]:
    """Training imported `to_model_input` from the handler: it is in predictor.py now."""
    changed = []
    for path in sorted(Path("training").glob("*.py")):
        lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
        old = next(
            (line for line in lines if re.match(r"from \w+\.handler import to_model_input$", line.strip())), None
        )
        if old is None:
            continue
        lines.remove(old)
        package = old.split()[1].split(".")[0]
        # After the package's other imports, so the import block stays sorted (predictor after model).
        last = max((index for index, line in enumerate(lines) if line.startswith(f"from {package}.")), default=-1)
        lines.insert(last + 1, f"from {package}.predictor import to_model_input\n")
        path.write_text("".join(lines), encoding="utf-8")
        changed.append(path)
    if changed:
        print(f"migration: to_model_input now comes from predictor.py in {', '.join(map(str, changed))}")
    return changed


if __name__ == "__main__":
    keep() if sys.argv[1] == "keep" else finish()
