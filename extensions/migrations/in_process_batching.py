"""Kit 0.4 (#23): the PyTorch server batches concurrent requests itself, and never makes one wait for a
batch to fill (kserve_kit.serving.batching). Before, `batch_size` 0 (its default then) kept KServe's
batcher sidecar out, which adds up to `batch_latency_ms` to every request. An update keeps every
recorded answer (0 stays off: the guard and older kits' `kserve-kit update` would report a changed
answer as lost), and says how to turn the new batching on. Run after the update; silent otherwise.

    python in_process_batching.py
"""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the new kit
from extensions.migrations.rename_answer import ANSWERS_FILE  # noqa: E402
from extensions.migrations.renders import render  # noqa: E402
from extensions.runtimes import default_batch_size  # noqa: E402

BATCHING_ARGUMENT = "--max_batch_requests"


def main() -> int:
    answers = yaml.safe_load(ANSWERS_FILE.read_text(encoding="utf-8")) or {}
    old_runtime = render("old") / "k8s" / "serving-runtime.yaml"
    if answers.get("runtime") != "pytorch" or str(answers.get("batch_size")) != "0" or not old_runtime.is_file():
        return 0
    if BATCHING_ARGUMENT in old_runtime.read_text(encoding="utf-8"):
        return 0  # rendered by a kit that batches in the server: 0 is the owner's choice
    print(
        "batching: the PyTorch server can batch concurrent requests itself now, without making any wait; "
        f'batch_size is 0 (off): make update ARGS="--data batch_size={default_batch_size("pytorch")}" turns it on'
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
