"""`kserve-kit status` and `doctor` on recorded Kubernetes API objects, one snapshot per failure mode
(fixtures/cluster/<mode>.json: the InferenceService, pods and events as the API returns them), read
through the kubernetes client's own deserialisation. No cluster is needed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from kserve_kit import doctor, status
from kserve_kit.__main__ import main
from kserve_kit.cluster import ClusterUnavailable, Subject, read_live, read_snapshot, record_snapshot

FIXTURES = Path(__file__).parent / "fixtures" / "cluster"
NAME, NAMESPACE = "iris-classifier", "kserve-test"
VAULT = {
    "role": "iris-classifier",
    "secret_path": "secret/data/kserve-test/iris-classifier/s3",
    "service_account": "iris-classifier-vault",
    "auth_delegator_role": "system:auth-delegator",
}
# What the platform requires on next-gen environments (the facts file's policy.required_annotations there).
NEXT_GEN_ANNOTATIONS = {"serving.kserve.io/storage-initializer-uid": "1337"}


def subject(generation: str = "legacy", vault: bool = True, storage: str = "s3") -> Subject:
    required = NEXT_GEN_ANNOTATIONS if generation == "next-gen" and storage != "image" else {}
    facts: dict[str, Any] = {
        "generation": generation,
        "environment": "dev" if generation == "legacy" else "lab2",
        "ready_unknown_is_known_issue": generation == "legacy",
        "storage": storage,
        "storage_uri": {"s3": "s3://models/iris", "pvc": "pvc://models/iris", "image": None}[storage],
        "vault": VAULT if vault and storage == "s3" else None,
        "guideline": {"url": "https://guide", "contacts": {"devrel": "the DevRel team", "infra": "the Infra team"}},
        "policy": {
            "required_annotations": required,
            "allowed_registries": ["docker.io", "ghcr.io"],
            "allowed_python_hosts": ["pypi.org"],
        },
    }
    return Subject(NAME, NAMESPACE, facts)


def fixture(mode: str) -> Path:
    return FIXTURES / f"{mode}.json"


@pytest.mark.parametrize("path", sorted(FIXTURES.glob("*.json")), ids=lambda path: path.stem)
def test_fixtures_follow_the_real_object_schemas(path: Path) -> None:
    items = json.loads(path.read_text())["items"]
    types = {"Pod": "V1Pod", "Event": "CoreV1Event"}
    serializer = client.ApiClient()
    for item in items:
        if item["kind"] in types:  # every field the fixture holds survives the client's typed model
            typed = serializer.deserialize(json.dumps(item), types[item["kind"]], "application/json")
            assert {"apiVersion": item["apiVersion"], "kind": item["kind"],
                    **serializer.sanitize_for_serialization(typed)} == item  # fmt: skip
    snapshot = read_snapshot(path)
    assert snapshot.isvc["kind"] == "InferenceService"
    assert len(snapshot.pods) + len(snapshot.events) == len(items) - 1


def test_status_healthy() -> None:
    result = status.assess(read_snapshot(fixture("healthy")), subject())
    assert result.ready and result.headline == "READY"
    pods = [line for line in result.details if line.startswith("pod iris-classifier-predictor-")]
    assert len(pods) == 1 and "2/2 containers ready, 0 restarts" in pods[0]


def test_status_unknown_on_legacy_is_the_known_issue_not_a_failure() -> None:
    snapshot = read_snapshot(fixture("legacy-ready-unknown"))
    legacy = status.assess(snapshot, subject("legacy"))
    assert legacy.ready and "known issue of legacy environments" in legacy.headline
    next_gen = status.assess(snapshot, subject("next-gen"))
    assert not next_gen.ready and "Ready=Unknown" in next_gen.headline
    assert doctor.diagnose(snapshot, subject("legacy")) == []


def test_status_not_ready_points_at_doctor() -> None:
    result = status.assess(read_snapshot(fixture("storage-initializer-forbidden")), subject())
    assert not result.ready and "make doctor" in result.headline


@pytest.mark.parametrize(
    ("mode", "generation", "title", "fix", "section"),
    [
        ("storage-initializer-forbidden", "legacy", "storage initializer cannot start (credentials)",
         "in Vault at secret/data/kserve-test/iris-classifier/s3", "A storage initializer container cannot start"),
        ("storage-initializer-istio-cni", "next-gen", "storage initializer cannot start (Istio CNI)",
         'serving.kserve.io/storage-initializer-uid: "1337"', "Fix incompatibility with Istio CNI"),
        ("api-unreachable", "legacy", "pod running, model API not reachable",
         "install every dependency in the Dockerfile",
         "An InferenceService pod is running, but its model API service is not accessible"),
        ("image-not-allowed", "legacy", "image cannot be pulled or resolved",
         "push registry.example.com/team/iris-classifier:0.1.0 to an allowed registry", "Image Registries"),
        ("vault-injection-missing", "legacy", "Vault injection missing",
         "the Vault injector webhook serves this namespace", "Credential for Storage Initializer"),
        ("vault-login-failed", "legacy", "Vault agent cannot log in",
         "needs the system:auth-delegator cluster role", "Credential for Storage Initializer"),
        ("vault-service-account-missing", "legacy", "Vault service account missing",
         "create service account iris-classifier-vault", "Credential for Storage Initializer"),
    ],
)  # fmt: skip
def test_doctor_maps_each_failure_to_the_guideline(
    mode: str, generation: str, title: str, fix: str, section: str
) -> None:
    findings = doctor.diagnose(read_snapshot(fixture(mode)), subject(generation))
    matching = [finding for finding in findings if finding.title == title]
    assert matching, [finding.title for finding in findings]
    assert fix in matching[0].fix and matching[0].section == section


def test_doctor_with_the_istio_cni_annotation_deployed_points_at_the_connection() -> None:
    snapshot = read_snapshot(fixture("storage-initializer-istio-cni"))
    snapshot.isvc["metadata"]["annotations"].update(NEXT_GEN_ANNOTATIONS)
    titles = [finding.title for finding in doctor.diagnose(snapshot, subject("next-gen"))]
    assert "storage initializer cannot reach storage" in titles
    assert "storage initializer cannot start (Istio CNI)" not in titles


def test_doctor_finds_nothing_wrong_with_a_healthy_subject() -> None:
    assert doctor.diagnose(read_snapshot(fixture("healthy")), subject("next-gen")) == []


def test_doctor_does_not_expect_vault_when_the_service_has_none() -> None:
    findings = doctor.diagnose(read_snapshot(fixture("vault-injection-missing")), subject(vault=False))
    assert not any("Vault" in finding.title for finding in findings)


def test_doctor_links_the_guideline_section() -> None:
    finding = doctor.diagnose(read_snapshot(fixture("storage-initializer-istio-cni")), subject("next-gen"))[0]
    assert finding.render("https://guide").endswith("docs: https://guide#fix-incompatibility-with-istio-cni")
    known_issue = doctor.anchor(status.KNOWN_ISSUE)
    assert known_issue == "incorrect-status-unknown-of-inferenceservice-resources-on-the-legacy-environments-lab--dev"


def test_doctor_does_not_stay_silent_about_a_service_that_is_not_ready() -> None:
    """Not ready, and no known cause: a finding that shows what was seen, never "nothing wrong"."""
    snapshot = read_snapshot(fixture("legacy-ready-unknown"))
    snapshot.events = read_snapshot(fixture("api-unreachable")).events  # what the cluster said last
    findings = doctor.diagnose(snapshot, subject("next-gen"))  # on next-gen, Unknown is not the known issue
    assert [finding.title for finding in findings] == ["not ready, cause not recognised"]
    seen = findings[0].seen
    assert "Ready=Unknown (Uninitialized: Waiting for load balancer to be ready)" in seen
    assert f"event Unhealthy: {snapshot.events[-1].message}" in seen
    assert "make doctor RECORD=snapshot.json" in findings[0].fix


def test_doctor_storage_advice_fits_the_storage() -> None:
    snapshot = read_snapshot(fixture("storage-initializer-forbidden"))
    [on_pvc] = [f for f in doctor.diagnose(snapshot, subject(storage="pvc")) if "storage" in f.title]
    assert on_pvc.title == "storage initializer cannot start (volume claim)"
    assert "PersistentVolumeClaim" in on_pvc.fix and "credentials" not in on_pvc.fix
    [on_s3] = [f for f in doctor.diagnose(snapshot, subject(vault=False)) if "storage" in f.title]
    assert "storage credentials secret" in on_s3.fix


@pytest.fixture
def repo_of_iris(render: Any) -> Path:
    """A rendered repo whose service is the one the snapshots hold (iris-classifier in kserve-test)."""
    return render()


def test_cli_reads_a_snapshot_and_exits_by_the_result(repo_of_iris: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = ["--repo", str(repo_of_iris)]
    assert main([*repo, "doctor", "--snapshot", str(fixture("image-not-allowed"))]) == 1
    assert "[image cannot be pulled or resolved]" in capsys.readouterr().out
    assert main([*repo, "status", "--snapshot", str(fixture("legacy-ready-unknown"))]) == 0  # dev: the known issue
    assert main([*repo, "doctor", "--snapshot", str(fixture("healthy"))]) == 0
    assert "nothing wrong was found" in capsys.readouterr().out


def test_a_snapshot_of_another_service_is_refused(repo_of_iris: Path, capsys: pytest.CaptureFixture[str]) -> None:
    snapshot = json.loads(fixture("healthy").read_text())
    snapshot["items"][0]["metadata"]["name"] = "fraud-detector"
    other = repo_of_iris.parent / "other.json"
    other.write_text(json.dumps(snapshot))
    assert main(["--repo", str(repo_of_iris), "status", "--snapshot", str(other)]) == 2
    assert "holds InferenceService fraud-detector in kserve-test, not iris-classifier" in capsys.readouterr().err
    named = ["--repo", str(repo_of_iris), "status", "--snapshot", str(other), "--name", "fraud-detector"]
    assert main([*named, "--namespace", "kserve-test"]) == 0


def test_any_inference_service_by_name_without_a_repo(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The platform team points status and doctor at any InferenceService: no facts file needed."""
    command = ["--repo", str(tmp_path), "doctor", "--name", NAME, "--namespace", NAMESPACE]
    assert main([*command, "--snapshot", str(fixture("image-not-allowed"))]) == 1
    out = capsys.readouterr().out
    assert "[image cannot be pulled or resolved]" in out and "docs: guideline: Image Registries" in out
    assert main(["--repo", str(tmp_path), "status", "--snapshot", str(fixture("healthy"))]) == 2
    assert "no kserve-kit.yaml" in capsys.readouterr().err
    assert main(["--repo", str(tmp_path), "status", "--name", NAME]) == 2
    assert "give both --name and --namespace" in capsys.readouterr().err


def test_a_recorded_snapshot_reads_back_the_same(tmp_path: Path) -> None:
    original = read_snapshot(fixture("vault-login-failed"))
    record_snapshot(original, tmp_path / "snapshot.json")
    again = read_snapshot(tmp_path / "snapshot.json")
    assert [pod.to_dict() for pod in again.pods] == [pod.to_dict() for pod in original.pods]
    assert [event.to_dict() for event in again.events] == [event.to_dict() for event in original.events]
    assert again.isvc == original.isvc


def test_no_cluster_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, repo_of_iris: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "missing-kubeconfig"))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    with pytest.raises(ClusterUnavailable, match="no kubeconfig"):
        read_live(NAME, NAMESPACE)
    assert main(["--repo", str(repo_of_iris), "status"]) == 2
    err = capsys.readouterr().err
    assert "cannot read iris-classifier in kserve-test: no cluster to read: no kubeconfig (set KUBECONFIG" in err
    assert "SNAPSHOT=<file>" in err and "Service host/port" not in err  # the fix, not the client's internals
