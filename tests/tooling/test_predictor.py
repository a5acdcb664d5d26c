"""What the cluster runs: KServe's merge of the ServingRuntime's container with the InferenceService's
model spec, and the pod around it (what container-smoke runs and checkov scans)."""

from __future__ import annotations

from pathlib import Path

import yaml

from kserve_kit.__main__ import main
from kserve_kit.container import RunSpec
from kserve_kit.predictor import predictor_container, predictor_pod
from kserve_kit.service import Service


def edit_isvc(service_dir: Path, **model_fields: object) -> None:
    path = service_dir / "k8s" / "isvc.yaml"
    isvc = yaml.safe_load(path.read_text())
    isvc["spec"]["predictor"]["model"].update(model_fields)
    isvc["spec"]["predictor"]["automountServiceAccountToken"] = False
    path.write_text(yaml.safe_dump(isvc))


def test_the_model_spec_is_merged_over_the_runtime_container(service_dir: Path) -> None:
    edit_isvc(
        service_dir,
        resources={"limits": {"memory": "2Gi"}, "requests": {"cpu": "250m"}},
        securityContext={"allowPrivilegeEscalation": False, "runAsUser": 2000},
        env=[{"name": "LOG_LEVEL", "value": "debug"}],
    )
    container = predictor_container(Service.load(service_dir))
    assert container["resources"] == {"limits": {"cpu": "1", "memory": "2Gi"}, "requests": {"cpu": "250m"}}
    assert container["securityContext"]["runAsUser"] == 2000
    assert container["securityContext"]["readOnlyRootFilesystem"] is True  # the runtime's, kept
    assert container["env"] == [{"name": "LOG_LEVEL", "value": "debug"}]
    assert container["args"][0] == "--model_name=row-sum"
    spec = RunSpec.of(Service.load(service_dir))  # what container-smoke runs
    assert spec.limits == {"cpu": "1", "memory": "2Gi"} and spec.user == "2000"


def test_the_pod_carries_what_the_predictor_sets(service_dir: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    edit_isvc(service_dir)
    pod = predictor_pod(Service.load(service_dir))
    assert pod["spec"]["automountServiceAccountToken"] is False
    assert pod["metadata"]["labels"]["serving.kserve.io/inferenceservice"] == "row-sum"
    assert pod["metadata"]["namespace"] == "team-a"
    assert main(["--repo", str(service_dir), "predictor-pod"]) == 0
    assert yaml.safe_load(capsys.readouterr().out) == pod
