"""`kserve-kit validate`: what `kubectl apply -k k8s` would send, checked against KServe's CRD schemas
(from a directory, a CRD file, a URL or the cluster) and Kubernetes' own schemas, on a service that
kserve-template did not render."""

from __future__ import annotations

import json
import shutil
import socket
import threading
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml

from kserve_kit.__main__ import main
from kserve_kit.checks.schemas import SchemaSource
from kserve_kit.checks.validate import structure_errors
from kserve_kit.manifests import build
from kserve_kit.service import Service


def validate(service_dir: Path, *args: str) -> int:
    return main(["--repo", str(service_dir), "validate", *args])


def test_a_hand_written_service_validates(service_dir: Path, schema_dir: Path, capsys: pytest.CaptureFixture) -> None:
    assert validate(service_dir, "--schema-dir", str(schema_dir)) == 0
    assert "validate: 0 problem(s)" in capsys.readouterr().out


def test_the_build_is_what_kubectl_apply_k_sends(service_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if shutil.which("kubectl") is None:
        pytest.fail("kubectl is not on this machine: the kustomize build cannot be compared with kubectl's own")
    with_kubectl = build(service_dir / "k8s")
    monkeypatch.setenv("PATH", "/nonexistent")
    built_in = build(service_dir / "k8s")
    assert with_kubectl.method == "kubectl kustomize" and built_in.method.startswith("built-in")
    assert sorted(m.obj["kind"] for m in built_in.manifests) == ["InferenceService", "ServingRuntime"]
    assert [m.obj for m in built_in.manifests] == [m.obj for m in with_kubectl.manifests]
    assert {m.obj["metadata"]["namespace"] for m in built_in.manifests} == {"team-a"}  # the kustomization's
    assert {m.source for m in built_in.manifests} == {"k8s/runtime.yaml", "k8s/isvc.yaml"}


def test_kustomization_problems_are_named(service_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    kustomization = service_dir / "k8s" / "kustomization.yaml"
    (service_dir / "k8s" / "extra.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n")
    assert any("k8s/extra.yaml is not in k8s/kustomization.yaml" in note for note in build(service_dir / "k8s").notes)
    kustomization.write_text(kustomization.read_text() + "  - missing.yaml\n")
    assert "k8s/kustomization.yaml lists missing.yaml, which does not exist" in build(service_dir / "k8s").problems
    monkeypatch.setenv("PATH", "/nonexistent")
    kustomization.write_text("resources: [isvc.yaml]\npatches: [{path: p.yaml}]\n")
    [problem] = build(service_dir / "k8s").problems
    assert "uses patches: install kubectl" in problem


def test_unknown_fields_are_errors_with_their_path(service_dir: Path, schema_dir: Path) -> None:
    isvc_file = service_dir / "k8s" / "isvc.yaml"
    isvc = yaml.safe_load(isvc_file.read_text())
    isvc["spec"]["predictor"]["model"]["storageURI"] = isvc["spec"]["predictor"]["model"].pop("storageUri")
    isvc_file.write_text(yaml.safe_dump(isvc))
    account = "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: sa}\nautomountToken: false\n"
    (service_dir / "k8s" / "account.yaml").write_text(account)
    kustomization = service_dir / "k8s" / "kustomization.yaml"
    kustomization.write_text(kustomization.read_text() + "  - account.yaml\n")
    errors = list(structure_errors(Service.load(service_dir), SchemaSource(str(schema_dir))))
    assert any(
        error.startswith("k8s/isvc.yaml (InferenceService row-sum): spec.predictor.model: ")
        and "'storageURI' was unexpected" in error
        for error in errors
    ), errors
    assert any(
        error.startswith("k8s/account.yaml (ServiceAccount sa): (root): ")
        and "'automountToken' was unexpected" in error
        for error in errors
    ), errors


def crd_from(schema_file: Path, kind: str, plural: str, version: str) -> dict:
    """A CustomResourceDefinition as the API server holds it, around one version's schema."""
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.serving.kserve.io"},
        "spec": {
            "group": "serving.kserve.io",
            "names": {"kind": kind, "plural": plural},
            "versions": [
                {"name": version, "served": True, "schema": {"openAPIV3Schema": json.loads(schema_file.read_text())}}
            ],
        },
    }


def test_schemas_from_a_crd_file_are_strict(service_dir: Path, schema_dir: Path, tmp_path: Path) -> None:
    crds = [
        crd_from(schema_dir / "inferenceservice-v1beta1.json", "InferenceService", "inferenceservices", "v1beta1"),
        crd_from(schema_dir / "servingruntime-v1alpha1.json", "ServingRuntime", "servingruntimes", "v1alpha1"),
    ]
    crd_file = tmp_path / "kserve-crds.yaml"
    crd_file.write_text(yaml.safe_dump_all(crds))
    assert validate(service_dir, "--schema-dir", str(crd_file)) == 0
    isvc_file = service_dir / "k8s" / "isvc.yaml"
    isvc_file.write_text(
        isvc_file.read_text().replace("runtime: row-sum-runtime", "runtime: row-sum-runtime\n      runtme: x")
    )
    assert validate(service_dir, "--schema-dir", str(crd_file)) == 1  # not pruned silently: strict


@pytest.fixture
def schema_url(schema_dir: Path) -> Iterator[str]:
    """KServe's schemas served over HTTP on 127.0.0.1, as a URL base."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(SimpleHTTPRequestHandler, directory=str(schema_dir)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()


def test_schemas_from_a_url(service_dir: Path, schema_url: str) -> None:
    assert validate(service_dir, "--schema-dir", schema_url) == 0


def test_an_unreachable_schema_url_says_how_to_work_offline(service_dir: Path, capsys: pytest.CaptureFixture) -> None:
    with socket.socket() as closed:  # a port nothing listens on
        closed.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{closed.getsockname()[1]}/kserve.yaml"
    assert validate(service_dir, "--schema-dir", url) == 2
    err = capsys.readouterr().err
    assert f"cannot read KServe's CRD schemas from {url}" in err and "Offline, point KSERVE_SCHEMA_DIR" in err


def test_no_schema_source_says_how_to_name_one(
    service_dir: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    monkeypatch.delenv("KSERVE_SCHEMA_DIR", raising=False)
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "none"))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    assert validate(service_dir) == 2
    assert "set KSERVE_SCHEMA_DIR to a directory or URL" in capsys.readouterr().err
    assert validate(service_dir, "--schema-dir", str(tmp_path / "nowhere")) == 2
    assert "does not exist" in capsys.readouterr().err


def test_a_repo_with_conflict_markers_is_refused(
    service_dir: Path, schema_dir: Path, capsys: pytest.CaptureFixture
) -> None:
    (service_dir / "README.md").write_text("# x\n<<<<<<< before updating\nmine\n=======\nkit\n>>>>>>> after updating\n")
    (service_dir / "Dockerfile.rej").write_text("@@ a rejected hunk\n")
    assert validate(service_dir, "--schema-dir", str(schema_dir)) == 1
    errors = capsys.readouterr().err
    assert "README.md:2: merge conflict left by an update" in errors
    assert (
        "Dockerfile.rej: a change the update could not apply: apply the change it holds by hand to Dockerfile" in errors
    )
