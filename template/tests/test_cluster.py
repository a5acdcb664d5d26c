"""`make status` and `make doctor` on recorded Kubernetes API objects, one snapshot per failure mode
(tests/fixtures/cluster/<mode>.json: the InferenceService, pods and events as the API returns them),
read through the kubernetes client's own deserialisation. No cluster is needed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from scripts import doctor, status
from scripts.cluster import ClusterUnavailable, read_live, read_snapshot, record_snapshot
from scripts.service_facts import load_service
from scripts.validate import type_errors

FIXTURES = Path(__file__).parent / "fixtures" / "cluster"
SERVICE = load_service()
VAULT = {
    "role": "iris-classifier",
    "secret_path": "secret/data/kserve-test/iris-classifier/s3",
    "service_account": "iris-classifier-vault",
    "auth_delegator_role": "system:auth-delegator",
}


# What the platform requires on next-gen environments (service.yaml's policy.required_annotations there).
NEXT_GEN_ANNOTATIONS = {"serving.kserve.io/storage-initializer-uid": "1337"}


def service(generation: str = "legacy", vault: bool = True) -> dict[str, Any]:
    required = NEXT_GEN_ANNOTATIONS if generation == "next-gen" else {}
    return {
        **SERVICE,
        "generation": generation,
        "ready_unknown_is_known_issue": generation == "legacy",
        "vault": VAULT if vault else None,
        "policy": {**SERVICE["policy"], "required_annotations": required},
    }


def fixture(mode: str) -> Path:
    return FIXTURES / f"{mode}.json"


@pytest.mark.parametrize("path", sorted(FIXTURES.glob("*.json")), ids=lambda path: path.stem)
def test_fixtures_follow_the_real_object_schemas(path: Path) -> None:
    items = json.loads(path.read_text())["items"]
    types = {"Pod": "V1Pod", "Event": "CoreV1Event"}
    for item in items:
        if item["kind"] in types:
            assert list(type_errors(item, types[item["kind"]], item["kind"])) == []
    snapshot = read_snapshot(path)
    assert snapshot.isvc["kind"] == "InferenceService"
    assert len(snapshot.pods) + len(snapshot.events) == len(items) - 1


def test_status_healthy() -> None:
    result = status.assess(read_snapshot(fixture("healthy")), service())
    assert result.ready and result.headline == "READY"
    pods = [line for line in result.details if line.startswith("pod iris-classifier-predictor-")]
    assert len(pods) == 1 and "2/2 containers ready, 0 restarts" in pods[0]


def test_status_unknown_on_legacy_is_the_known_issue_not_a_failure() -> None:
    snapshot = read_snapshot(fixture("legacy-ready-unknown"))
    legacy = status.assess(snapshot, service("legacy"))
    assert legacy.ready and "known issue of legacy environments" in legacy.headline
    next_gen = status.assess(snapshot, service("next-gen"))
    assert not next_gen.ready and "Ready=Unknown" in next_gen.headline
    assert doctor.diagnose(snapshot, service("legacy")) == []


def test_status_not_ready_points_at_doctor() -> None:
    result = status.assess(read_snapshot(fixture("storage-initializer-forbidden")), service())
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
    findings = doctor.diagnose(read_snapshot(fixture(mode)), service(generation))
    matching = [finding for finding in findings if finding.title == title]
    assert matching, [finding.title for finding in findings]
    assert fix in matching[0].fix and matching[0].section == section


def test_doctor_with_the_istio_cni_annotation_deployed_points_at_the_connection() -> None:
    snapshot = read_snapshot(fixture("storage-initializer-istio-cni"))
    snapshot.isvc["metadata"]["annotations"].update(NEXT_GEN_ANNOTATIONS)
    titles = [finding.title for finding in doctor.diagnose(snapshot, service("next-gen"))]
    assert "storage initializer cannot reach storage" in titles
    assert "storage initializer cannot start (Istio CNI)" not in titles


def test_doctor_finds_nothing_wrong_with_a_healthy_service() -> None:
    assert doctor.diagnose(read_snapshot(fixture("healthy")), service("next-gen")) == []


def test_doctor_does_not_expect_vault_when_the_service_has_none() -> None:
    findings = doctor.diagnose(read_snapshot(fixture("vault-injection-missing")), service(vault=False))
    assert not any("Vault" in finding.title for finding in findings)


def test_doctor_links_the_guideline_section() -> None:
    finding = doctor.diagnose(read_snapshot(fixture("storage-initializer-istio-cni")), service("next-gen"))[0]
    assert finding.render("https://guide").endswith("docs: https://guide#fix-incompatibility-with-istio-cni")
    known_issue = doctor.anchor(status.KNOWN_ISSUE)
    assert known_issue == "incorrect-status-unknown-of-inferenceservice-resources-on-the-legacy-environments-lab--dev"


def test_cli_reads_a_snapshot_and_exits_by_the_result(capsys: pytest.CaptureFixture[str]) -> None:
    assert doctor.main(["--snapshot", str(fixture("image-not-allowed"))]) == 1
    assert "[image cannot be pulled or resolved]" in capsys.readouterr().out
    expected = 0 if SERVICE["ready_unknown_is_known_issue"] else 1
    assert status.main(["--snapshot", str(fixture("legacy-ready-unknown"))]) == expected


def test_a_recorded_snapshot_reads_back_the_same(tmp_path: Path) -> None:
    original = read_snapshot(fixture("vault-login-failed"))
    record_snapshot(original, tmp_path / "snapshot.json")
    again = read_snapshot(tmp_path / "snapshot.json")
    assert [pod.to_dict() for pod in again.pods] == [pod.to_dict() for pod in original.pods]
    assert [event.to_dict() for event in again.events] == [event.to_dict() for event in original.events]
    assert again.isvc == original.isvc


def test_no_cluster_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "missing-kubeconfig"))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    with pytest.raises(ClusterUnavailable, match="no kubeconfig"):
        read_live("iris-classifier", "kserve-test")
    assert status.main([]) == 2
