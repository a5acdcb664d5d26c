"""A service owner learns about a broken manifest from `make validate`, not from a pod that never
becomes ready: each mistake fails it with the file, the field and the fix."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from kserve_kit.__main__ import main as kit
from tests.conftest import Render


def test_validate_points_at_each_mistake(
    render: Render, tmp_path: Path, schema_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(render(visibility="cluster-local", environment="lab2"), repo)
    isvc_file, runtime_file = repo / "k8s" / "inference-service.yaml", repo / "k8s" / "serving-runtime.yaml"
    isvc = yaml.safe_load(isvc_file.read_text())
    isvc["spec"]["predictor"]["model"]["storageURI"] = isvc["spec"]["predictor"]["model"].pop("storageUri")
    del isvc["metadata"]["labels"]["networking.knative.dev/visibility"]
    del isvc["metadata"]["annotations"]["serving.kserve.io/storage-initializer-uid"]
    isvc_file.write_text(yaml.safe_dump(isvc))
    runtime = yaml.safe_load(runtime_file.read_text())
    runtime["spec"]["containers"][0]["image"] = "registry.example.com/team/iris:0.1.0"
    runtime_file.write_text(yaml.safe_dump(runtime))

    assert kit(["--repo", str(repo), "validate", "--schema-dir", str(schema_dir)]) == 1

    captured = capsys.readouterr()
    errors = captured.err
    assert "k8s/inference-service.yaml (InferenceService iris-classifier): spec.predictor.model: " in errors
    assert "'storageURI' was unexpected" in errors
    assert "add the label networking.knative.dev/visibility: cluster-local [guideline: External Access]" in errors
    assert 'serving.kserve.io/storage-initializer-uid: "1337"' in errors
    assert "Fix incompatibility with Istio CNI" in errors
    assert "registry.example.com" in errors and "[guideline: Image Registries]" in errors
    assert "problem(s)" in captured.out


def test_validate_passes_on_a_fresh_render(render: Render, schema_dir: Path, capsys: pytest.CaptureFixture) -> None:
    assert kit(["--repo", str(render()), "validate", "--schema-dir", str(schema_dir)]) == 0
    out = capsys.readouterr().out
    assert "validate: 0 problem(s)" in out and f"KServe CRD schemas from {schema_dir}" in out
