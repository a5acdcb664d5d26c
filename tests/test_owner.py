"""Proven as an owner uses it: for each runtime, a service whose name sorts after every top-level
module of the repo (`text-classifier`) gets its own `make install` into its own environment, then
its own `make lint test validate smoke`."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from kserve_kit.local_server import free_port
from tests.conftest import KIT_ROOT, Render, facts_of, port_closes, read_until, run_make

pytestmark = pytest.mark.e2e

OWNERS = {
    "sklearn": {"service_name": "text-classifier"},
    "pytorch": {"service_name": "text-classifier", "runtime": "pytorch"},
    "embeddings": {"service_name": "text-classifier", "runtime": "embeddings"},
    "text-generation": {"service_name": "text-classifier", "runtime": "text-generation"},
    # GPU answers, run on CPU: the handler picks the device at run time.
    "torchserve-gpu": {"service_name": "text-classifier", "runtime": "torchserve", "gpu": True, "environment": "lab2"},
}


@pytest.fixture(params=list(OWNERS), scope="module")
def repo(request: pytest.FixtureRequest, installed: Render) -> Path:
    if "torchserve" in request.param and shutil.which("java") is None:
        pytest.fail("TorchServe needs Java 17 and this machine has none: install a JRE (openjdk-17-jre-headless)")
    return installed(**OWNERS[request.param])


def test_its_own_lint_tests_and_validate_pass(repo: Path, schema_dir: Path) -> None:
    run_make(repo, "lint")
    result = run_make(repo, "test")
    assert " passed" in result.stdout and " failed" not in result.stdout
    assert "validate: 0 problem(s)" in run_make(repo, "validate", KSERVE_SCHEMA_DIR=str(schema_dir)).stdout


def test_its_own_smoke_checks_v1_and_v2_on_a_real_local_server(repo: Path) -> None:
    result = run_make(repo, "smoke", SMOKE_ARGS="--requests 5")
    assert "  v1: ready, sample.json predicted as expected" in result.stdout
    assert "  v2: ready, sample.json predicted as expected" in result.stdout
    openai_lines = {  # OpenAI's routes, by OpenAI's client
        "embeddings": "  openai: text-classifier listed, 3 texts of sample.json embedded (384 dimensions",
        "text-generation": "  openai: text-classifier listed, /completions of sample.json's first prompt as expected, "
        "streamed alike, max_tokens and stop honoured, /chat/completions answered",
    }
    task = facts_of(repo)["task"]
    assert task is None or openai_lines[task] in result.stdout
    assert result.stdout.strip().splitlines()[-1].startswith("SMOKE OK text-classifier at the local server")


def test_its_tooling_is_the_kit_version_it_was_rendered_from(repo: Path) -> None:
    python = repo / ".venv" / "bin" / "python"
    show = subprocess.run([python, "-m", "pip", "show", "kserve-kit"], capture_output=True, text=True, check=True)
    assert f"Version: {facts_of(repo)['kit_version']}" in show.stdout
    check = run_make(repo, "update-check", check=False)
    if facts_of(repo)["kit_draft"]:  # rendered from a kit tree with uncommitted changes: said, exit 4
        assert check.returncode != 0 and "rendered from uncommitted changes of the kit" in check.stderr
    else:
        assert check.returncode == 0 and "up to date" in check.stdout


def test_a_generative_models_latency_is_timed_in_tokens(installed: Render, tmp_path: Path) -> None:
    """`make latency` of a text-generation service: V1 and V2 as for any model, and streamed chats as an
    LLM's users feel them (time to first token, between tokens, tokens/s), each drawn on docs/latency.md."""
    owner = installed(**OWNERS["text-generation"])
    repo = tmp_path / "generator"
    shutil.copytree(owner, repo, ignore=shutil.ignore_patterns(".venv"))
    result = run_make(repo, "latency", REQUESTS="20", CONCURRENCY="2", PY=str(owner / ".venv" / "bin" / "python"))
    assert "openai: 20 streamed chats at concurrency 2: time to first token p50" in result.stdout, result.stdout
    page = (repo / "docs" / "latency.md").read_text(encoding="utf-8")
    assert page.count("<svg") == 3 and "time to first token: 20 streamed chats" in page, page[:800]


def test_make_smoke_without_a_model_says_to_train(tmp_path: Path, installed: Render) -> None:
    repo = installed(**OWNERS["sklearn"])
    untrained = tmp_path / "untrained"
    shutil.copytree(repo, untrained, ignore=shutil.ignore_patterns(".venv", "model"), symlinks=True)
    for target, command in (("smoke", "smoke"), ("run", "serve")):  # neither a traceback nor a silent exit
        result = run_make(untrained, target, check=False, PY=str(repo / ".venv" / "bin" / "python"))
        assert result.returncode != 0 and "Traceback" not in result.stderr
        assert f"{command}: no model in model/: run `make train` first" in result.stderr


def test_make_demo_renders_trains_and_smoke_tests(tmp_path: Path) -> None:
    demo = tmp_path / "demo"
    result = run_make(KIT_ROOT, "demo", DEMO_DIR=str(demo), timeout=1800)
    assert "SMOKE OK iris-classifier" in result.stdout
    assert (demo / ".venv" / "bin" / "kserve-kit").is_file()  # the demo's own environment
    # A second `make demo` never deletes edits made in the demo: it refuses, naming them.
    (demo / "README.md").write_text("my notes\n", encoding="utf-8")
    again = run_make(KIT_ROOT, "demo", DEMO_DIR=str(demo), check=False)
    assert again.returncode != 0 and "holds changes a new render would delete: M README.md" in again.stdout
    assert (demo / "README.md").read_text(encoding="utf-8") == "my notes\n"


WINE_TRAINING = '''"""Our model: wine classes from 13 measurements."""

from __future__ import annotations

import argparse
from pathlib import Path

import joblib
from kserve_kit.serving.artifacts import JOBLIB_FILE
from sklearn.datasets import load_wine
from sklearn.ensemble import RandomForestClassifier


def train(output_dir: Path) -> Path:
    features, labels = load_wine(return_X_y=True)
    output_dir.mkdir(parents=True, exist_ok=True)
    path = output_dir / JOBLIB_FILE
    joblib.dump(RandomForestClassifier(n_estimators=20, random_state=0).fit(features, labels), path)
    return path


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--output", type=Path, default=Path("model"))
    print(f"saved {train(parser.parse_args().output)}")
'''


def test_another_model_needs_only_its_training_and_its_sample(installed: Render, tmp_path: Path) -> None:
    """The README's promise: swap the demo model by changing training/train.py and sample.json."""
    owner = installed(**OWNERS["sklearn"])
    repo = tmp_path / "wine"
    shutil.copytree(owner, repo, ignore=shutil.ignore_patterns(".venv", "model"))
    python = str(owner / ".venv" / "bin" / "python")
    (repo / "training" / "train.py").write_text(WINE_TRAINING)
    run_make(repo, "train", PY=python)
    stale = run_make(repo, "smoke", check=False, PY=python)  # the iris sample no longer fits
    assert stale.returncode != 0 and "the request comes from sample.json: does it fit the model?" in stale.stderr
    rows = "import json, sklearn.datasets as d; print(json.dumps(d.load_wine().data[[0, 70, 140]].tolist()))"
    instances = json.loads(subprocess.run([python, "-c", rows], capture_output=True, text=True, check=True).stdout)
    (repo / "sample.json").write_text(json.dumps({"instances": instances, "expected": [0, 1, 2]}))
    run_make(repo, "test", "smoke", PY=python)


def test_a_killed_serve_leaves_no_server_behind(repo: Path) -> None:
    """kill -9 of `make run`'s kserve-kit (or a test run killed at its timeout): the model server goes
    too, TorchServe's Java included, instead of holding the port with PPID 1."""
    port = free_port()
    command = [repo / ".venv" / "bin" / "python", "-m", "kserve_kit", "--repo", str(repo), "serve", "--port", str(port)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert read_until(process, "serving text-classifier on"), "the server did not start"
    process.kill()
    process.wait(timeout=10)
    assert port_closes(port), f"a server still answers on port {port} after kserve-kit was killed"


def test_make_run_stopped_by_sigterm_stops_its_server(repo: Path) -> None:
    """`timeout 6 make run`, an IDE's stop button: make passes SIGTERM on, and the server goes with it."""
    port = free_port()
    make = subprocess.Popen(["make", "--no-print-directory", "run", f"PORT={port}"], cwd=repo,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)  # fmt: skip
    assert read_until(make, "serving text-classifier on"), "make run did not start the server"
    make.terminate()
    make.wait(timeout=60)
    assert port_closes(port), f"a server still answers on port {port} after make run was stopped"
