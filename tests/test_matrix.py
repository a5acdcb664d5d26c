"""The whole answer matrix: runtime x environment x storage/vault x visibility x GPU x protocol.

Every combination renders, and kserve-kit's validate (the kustomize build against KServe's real CRD
schemas and Kubernetes' schemas, platform policy, hadolint) passes on it. All repos are checked by one
validate run (repos listed), which reads the schemas once, so the matrix stays fast enough for CI.
"""

from __future__ import annotations

import contextlib
import io
import itertools
import json
import multiprocessing
import os
import re
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from extensions.runtimes import RUNTIMES
from kserve_kit.__main__ import main as kit
from tests.conftest import Render, render_into, run_make

STORAGE_AND_VAULT = [("s3", True), ("s3", False), ("pvc", False), ("image", False)]


def answerable(runtime: str, storage: str, gpu: bool, protocol: str) -> bool:
    """vLLM runs only on a GPU, from storage (its image is the platform's), and has no V1/V2 question."""
    entry = RUNTIMES[runtime]
    return (
        (gpu or not entry.requires_gpu)
        and (storage != "image" or entry.builds_image)
        and (protocol == "v2" or bool(entry.protocols))
    )


def answer_matrix() -> dict[str, dict[str, Any]]:
    matrix = {}
    for runtime, environment, (storage, vault), visibility, gpu, protocol in itertools.product(
        RUNTIMES, ["dev", "lab", "lab2"], STORAGE_AND_VAULT, ["external", "cluster-local"], [False, True], ["v1", "v2"],
    ):  # fmt: skip
        if gpu and not RUNTIMES[runtime].supports_gpu or not answerable(runtime, storage, gpu, protocol):
            continue  # GPU is asked for the runtimes that can use one
        answers = {
            "runtime": runtime, "environment": environment, "model_storage": storage, "visibility": visibility,
            "gpu": gpu, "inference_protocol": protocol,
        }  # fmt: skip
        if runtime == "pytorch" and protocol == "v1":
            answers["batch_size"] = "8"  # KServe's batcher on the InferenceService
        if storage == "s3":
            answers["vault"] = vault
        if storage == "pvc":
            answers["storage_uri"] = "pvc://models/service"
        key = "-".join(f"{name}={value}" for name, value in answers.items())
        matrix[key] = answers
    # Hugging Face's hub (with and without a token from Vault) and OCI modelcars: where the big models
    # come from, so for the text runtimes, on every environment and visibility.
    for runtime, environment, (storage, vault), visibility in itertools.product(
        ["text-generation", "vllm"], ["dev", "lab", "lab2"], [("hf", True), ("hf", False), ("oci", False)],
        ["external", "cluster-local"],
    ):  # fmt: skip
        answers = {"runtime": runtime, "environment": environment, "model_storage": storage, "visibility": visibility,
                   "gpu": True, "inference_protocol": "v2"}  # fmt: skip
        if storage == "hf":
            answers["vault"] = vault
        matrix["-".join(f"{name}={value}" for name, value in answers.items())] = answers
    # Another organisation's profile (Standard mode, Gateway API, no Vault): what differs is the mode
    # and the profile's facts, not the protocol or the environment, so those are not multiplied again.
    for runtime, storage, visibility, gpu in itertools.product(
        RUNTIMES, ["s3", "pvc", "image"], ["external", "cluster-local"], [False, True]
    ):
        if gpu and not RUNTIMES[runtime].supports_gpu or not answerable(runtime, storage, gpu, "v2"):
            continue
        answers = {"platform": "example-standard", "runtime": runtime, "model_storage": storage,
                   "visibility": visibility, "gpu": gpu, "inference_protocol": "v2"}  # fmt: skip
        if storage == "pvc":
            answers["storage_uri"] = "pvc://models/service"
        matrix["-".join(f"{name}={value}" for name, value in answers.items())] = answers
    return matrix


MATRIX = answer_matrix()


def test_the_matrix_covers_every_combination() -> None:
    # Agora: sklearn: 3 environments x 4 storage/vault x 2 visibilities x 2 protocols; PyTorch,
    # embeddings, text generation, TorchServe: x 2 for GPU; vLLM: GPU only, 3 storage/vault (not in the
    # image), no protocol question. Example Standard: 3 storages x 2 visibilities (x 2 for GPU; vLLM:
    # GPU only, 2 storages).
    assert len(RUNTIMES) == 6
    # Hugging Face's hub and OCI: text generation and vLLM x 3 environments x 3 storage/vault x 2 visibilities.
    assert len(MATRIX) == (3 * 4 * 2 * 2 + 4 * (3 * 4 * 2 * 2 * 2) + 3 * 3 * 2 + 2 * (3 * 3 * 2)
                           + 3 * 2 + 4 * (3 * 2 * 2) + 2 * 2)  # fmt: skip


def render_and_validate(keys: list[str], root: Path, schema_dir: Path) -> dict[str, list[str]]:
    """Render `keys` of the matrix under `root` and validate them in one run (the schemas read once)."""
    repos = {key: render_into(root / f"repo{index}", **MATRIX[key]) for index, key in enumerate(keys)}
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = kit(["validate", "--json", "--schema-dir", str(schema_dir), *map(str, repos.values())])
    assert code in (0, 1), out.getvalue()
    problems = json.loads(out.getvalue())
    return {key: problems[str(repo)] for key, repo in repos.items()}


@pytest.fixture(scope="session")
def matrix_results(tmp_path_factory: pytest.TempPathFactory, schema_dir: Path) -> dict[str, list[str]]:
    """Every combination, on every CPU: one process per core renders and validates its share."""
    workers = max(os.cpu_count() or 1, 1)
    shares = [list(MATRIX)[index::workers] for index in range(workers)]
    roots = [tmp_path_factory.mktemp(f"matrix{index}") for index in range(workers)]
    with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        results = pool.map(render_and_validate, shares, roots, [schema_dir] * workers)
        return {key: problems for result in results for key, problems in result.items()}


@pytest.mark.parametrize("key", list(MATRIX))
def test_combination_validates(key: str, matrix_results: dict[str, list[str]]) -> None:
    assert matrix_results[key] == []


CHECKOV_VENV = Path(__file__).resolve().parent.parent / ".venv-checkov"


@pytest.mark.e2e
@pytest.mark.parametrize(
    "answers",
    [
        {},
        {"runtime": "pytorch", "gpu": True, "environment": "lab2", "model_storage": "image"},
        {"runtime": "torchserve", "gpu": True, "environment": "lab2", "model_storage": "image"},
        {"platform": "example-standard", "runtime": "pytorch"},
        {"runtime": "vllm", "environment": "lab2"},
    ],
    ids=[
        "defaults",
        "pytorch-gpu-next-gen-baked",
        "torchserve-gpu-next-gen-baked",
        "example-standard-pytorch",
        "vllm-next-gen",
    ],
)
def test_checkov_scan_passes(render: Render, answers: dict[str, Any]) -> None:
    if not (CHECKOV_VENV / "bin" / "checkov").is_file():
        pytest.fail(f"checkov is not installed in {CHECKOV_VENV}: run `make install` in the kit")
    result = run_make(render(**answers), "scan", CHECKOV_VENV=str(CHECKOV_VENV), PY=sys.executable)
    failed = re.findall(r"Failed checks: (\d+)", result.stdout)  # checkov also exits 1 on a failure
    builds_image = answers.get("runtime") != "vllm"  # vLLM's is the platform's image: no Dockerfile
    assert ("dockerfile scan results" in result.stdout) == builds_image and failed and set(failed) == {"0"}
    # The predictor pod is what checkov's container checks see (it does not know KServe's resources).
    kubernetes = re.search(r"kubernetes scan results:\s+Passed checks: (\d+)", result.stdout)
    assert kubernetes and int(kubernetes.group(1)) >= 40, result.stdout
