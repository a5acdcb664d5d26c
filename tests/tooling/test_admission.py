"""kserve-kit's admission rules (kserve_kit/admission): each one refuses a manifest KServe's or
Knative's webhook would refuse, for the release it names, and admits the one beside it. They run on
the hand-written service (fixtures/service), edited per test."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from kserve_kit.admission import names, releases
from kserve_kit.admission.rules import admission_findings
from kserve_kit.checks.policy import Repo
from kserve_kit.service import Service

Edit = Callable[[dict[str, Any]], None]


def findings(
    service_dir: Path,
    isvc: Edit | None = None,
    runtime: Edit | None = None,
    kserve: str = "0.15.2",
    mode: str = "knative",
    features: dict[str, str] | None = None,
    config: dict[str, Any] | None = None,
    warnings: bool = False,
) -> list[str]:
    """The admission errors (or `warnings`) after editing the manifests, for a cluster of this release and mode."""
    for name, edit in (("isvc.yaml", isvc), ("runtime.yaml", runtime)):
        if edit:
            path = service_dir / "k8s" / name
            document = yaml.safe_load(path.read_text())
            edit(document)
            path.write_text(yaml.safe_dump(document))
    facts_path = service_dir / "kserve-kit.yaml"
    facts = yaml.safe_load(facts_path.read_text())
    knative = {"features": features or {}} if mode == "knative" else None
    facts["control_plane"] = releases.control_plane({"version": kserve, "config": config or {}}, knative, set())
    facts["deployment_mode"] = {"mode": mode}
    facts_path.write_text(yaml.safe_dump(facts))
    found = admission_findings(Repo(Service.load(service_dir)))
    return [str(finding) for finding in found if finding.warning == warnings]


def predictor(edit: Callable[[dict[str, Any]], None]) -> Edit:
    return lambda isvc: edit(isvc["spec"]["predictor"])


def annotate(**annotations: str) -> Edit:
    return lambda isvc: isvc["metadata"].setdefault("annotations", {}).update(annotations)


def test_the_hand_written_service_is_admitted(service_dir: Path) -> None:
    assert findings(service_dir) == []


def test_gpu_node_selection_is_refused_by_a_default_knative(service_dir: Path) -> None:
    # kserve/kserve#1425: Knative's config-features keep nodeSelector and tolerations off by default.
    def gpu(spec: dict[str, Any]) -> None:
        spec["nodeSelector"] = {"nvidia.com/gpu.present": "true"}
        spec["tolerations"] = [{"key": "nvidia.com/gpu", "operator": "Exists"}]

    refused = findings(service_dir, predictor(gpu))
    assert len(refused) == 2
    assert "must not set the field(s): spec.template.spec.nodeSelector" in refused[0]
    assert "kubernetes.podspec-nodeselector: disabled" in refused[0] and "[Knative 1.15.2:" in refused[0]
    assert "spec.template.spec.tolerations" in refused[1]
    flags = {"kubernetes.podspec-nodeselector": "enabled", "kubernetes.podspec-tolerations": "Enabled"}
    assert findings(service_dir, features=flags) == []  # the edit above is still in place
    assert findings(service_dir, mode="standard") == []  # no Knative in Standard mode


def test_the_servingruntime_scheduling_fields_reach_knative_too(service_dir: Path) -> None:
    # MergePodSpec copies the ServingRuntime's affinity into the revision; schedulerName only since 0.17.0.
    def schedule(runtime: dict[str, Any]) -> None:
        runtime["spec"]["affinity"] = {"nodeAffinity": {}}
        runtime["spec"]["schedulerName"] = "bin-packer"

    [affinity] = findings(service_dir, runtime=schedule)
    assert "spec.template.spec.affinity" in affinity
    assert len(findings(service_dir, kserve="0.17.0")) == 2


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (predictor(lambda spec: spec.update(hostNetwork=True)), "spec.template.spec.hostNetwork (Knative 1.15.2 never"),
        (predictor(lambda spec: spec.update(securityContext={"fsGroup": 1000})), "spec.template.spec.securityContext"),
        (
            predictor(lambda spec: spec["model"].update(env=[{"name": "K_REVISION", "value": "x"}])),
            "reserved environment",
        ),
        (predictor(lambda spec: spec.update(timeout=900)), "expected 0 <= 900 <= 600"),
        (
            predictor(lambda spec: spec["model"]["securityContext"].update(privileged=False)),
            "securityContext.privileged",
        ),
    ],
    ids=["host-network", "pod-security-context", "reserved-env", "timeout", "privileged-false-before-1.17"],
)
def test_knative_field_mask(service_dir: Path, edit: Edit, message: str) -> None:
    [refused] = findings(service_dir, edit)
    assert message in refused


def test_knative_ports_volumes_and_mounts(service_dir: Path) -> None:
    def extras(runtime: dict[str, Any]) -> None:
        container = runtime["spec"]["containers"][0]
        container["ports"] = [{"containerPort": 8080}, {"containerPort": 9090}]
        container["volumeMounts"] = [{"name": "scratch", "mountPath": "/tmp"}]
        runtime["spec"]["volumes"] = [{"name": "scratch", "emptyDir": {}}, {"name": "data", "hostPath": {"path": "/"}}]

    refused = findings(service_dir, runtime=extras)
    assert any("9090 is a reserved port" in line for line in refused)
    assert any("more than one container port is set" in line for line in refused)
    assert any("volumes[1].hostPath (Knative's volume mask)" in line for line in refused)  # no flag before 1.17
    assert any('volume with name "data" not mounted' in line for line in refused)
    assert not any("scratch" in line for line in refused)  # emptyDir ships enabled, and it is mounted


def test_standard_mode_scaling_is_validated_as_the_release_knows_the_mode(service_dir: Path) -> None:
    # inference_service_validation.go validateAutoScalingCompExtension: 0.15 knows the raw mode only as
    # RawDeployment; "Standard" falls to the Knative branch, which refuses cpu.
    hpa = annotate(**{"serving.kserve.io/deploymentMode": "Standard", "serving.kserve.io/autoscalerClass": "hpa"})

    def cpu(isvc: dict[str, Any]) -> None:
        hpa(isvc)
        isvc["spec"]["predictor"].update(scaleMetric="cpu", scaleTarget=80)

    [refused] = findings(service_dir, cpu, mode="standard")
    assert "[cpu] is not a supported metric" in refused and "knows the raw mode only as 'RawDeployment'" in refused
    assert findings(service_dir, mode="standard", kserve="0.16.0") == []
    # 0.16.0 in turn refuses cpu under the old name; 0.17.0's defaulter rewrites it first (#5025).
    old = annotate(**{"serving.kserve.io/deploymentMode": "RawDeployment"})
    assert "[cpu] is not a supported metric" in "".join(findings(service_dir, old, mode="standard", kserve="0.16.0"))
    assert findings(service_dir, mode="standard", kserve="0.17.0") == []
    assert findings(service_dir, mode="standard", kserve="0.15.2") == []


def test_hpa_target_and_autoscaler_class(service_dir: Path) -> None:
    raw = {"serving.kserve.io/deploymentMode": "RawDeployment", "serving.kserve.io/autoscalerClass": "hpa"}

    def over(isvc: dict[str, Any]) -> None:
        annotate(**raw)(isvc)
        isvc["spec"]["predictor"].update(scaleMetric="memory", scaleTarget=120)

    [refused] = findings(service_dir, over, mode="standard")
    assert "the target utilization percentage should be a [1-100] integer" in refused
    [kpa] = findings(service_dir, annotate(**{"serving.kserve.io/autoscalerClass": "kpa"}), mode="standard")
    assert "[kpa] is not a supported autoscaler class type" in kpa


def test_replicas_implementations_and_model_name(service_dir: Path) -> None:
    def bad(spec: dict[str, Any]) -> None:
        spec.update(minReplicas=3, maxReplicas=2)
        spec["sklearn"] = {"storageUri": "s3://b/m"}

    refused = findings(service_dir, predictor(bad))
    assert any("'MinReplicas' cannot be greater than MaxReplicas" in line for line in refused)
    assert any("exactly one of the implementations" in line for line in refused)
    assert findings(service_dir, predictor(lambda spec: (spec.pop("sklearn"), spec.update(maxReplicas=0)))) == []
    named = predictor(lambda spec: spec["model"].update(name="kserve-container"))
    assert findings(service_dir, named) == []  # 0.15 allows it
    assert "'name' field is not allowed" in findings(service_dir, kserve="0.16.0")[0]


def test_pythonpath_is_blocked_since_0_18(service_dir: Path) -> None:
    def pythonpath(runtime: dict[str, Any]) -> None:
        runtime["spec"]["containers"][0]["env"] = [{"name": "PYTHONPATH", "value": "/app"}]

    assert findings(service_dir, runtime=pythonpath, kserve="0.17.0") == []
    [refused] = findings(service_dir, kserve="0.18.0")
    assert 'setting PYTHONPATH in container "kserve-container" is not allowed' in refused
    assert "servingruntime_webhook.go validateBlockedEnvVars" in refused


def test_the_predictor_host_label_of_standard_mode_is_checked(service_dir: Path) -> None:
    # KServe builds <name>-predictor-<namespace> before anything else (raw_kube_reconciler.go).
    # (k8s/kustomization.yaml puts it in namespace team-a.)
    [refused] = findings(service_dir, lambda isvc: isvc["metadata"].update(name="a" * 47), mode="standard")
    assert f"the predictor host label '{'a' * 47}-predictor-team-a' is 64 characters, 1 over 63" in refused
    # Knative's host is <name>-predictor.<namespace>: only `make canary`'s latest- tag route overflows (a warning).
    assert findings(service_dir, mode="knative") == []
    [canary] = findings(service_dir, mode="knative", warnings=True)
    assert "the canary's latest tag host label" in canary and "make canary" in canary


def test_the_mode_rename_releases_are_named(service_dir: Path) -> None:
    [skip] = findings(service_dir, kserve="0.16.0", warnings=True)
    assert "kserve/kserve#4798" in skip and "KServe 0.17 or later" in skip
    assert findings(service_dir, kserve="0.17.0", warnings=True) == findings(service_dir, warnings=True) == []


def test_derived_names_per_mode() -> None:
    knative = {
        n.what: n.value
        for n in names.derived_names("iris", "team", "knative", "{name}-predictor-{namespace}-x.{domain}")
    }
    assert knative["the predictor Service name"] == "iris-predictor"
    assert knative["the Knative revision"] == "iris-predictor-00001"
    assert knative["the canary's latest tag host label"] == "latest-iris-predictor-team-x"
    standard = {n.what: n.value for n in names.derived_names("iris", "team", "standard", None)}
    assert standard["the top-level host label"] == "iris-team"
    assert standard["the predictor host label"] == "iris-predictor-team"
    assert standard["the predictor pod label value"] == "isvc.iris-predictor"


def test_release_defaults_and_what_the_profile_states() -> None:
    cluster = releases.control_plane(
        {"version": "0.15.2", "config": {"metricsAggregator.enablePrometheusScraping": "true"}},
        {"features": {"kubernetes.podspec-nodeselector": "enabled"}},
        {"knative.features"},
    )
    assert cluster["kserve"]["config"]["storageInitializer.enableDirectPvcVolumeMount"] is True  # shipped in 0.15.2
    assert cluster["knative"]["version"] == "1.15.2"  # what KServe 0.15.2 installs
    assert cluster["knative"]["features"]["kubernetes.podspec-tolerations"] == "disabled"
    assert "kserve.config.metricsAggregator.enablePrometheusScraping" not in cluster["unconfirmed"]  # stated
    assert "knative.features.kubernetes.podspec-nodeselector" in cluster["unconfirmed"]  # stated, unconfirmed
    assert releases.knative_release_for("0.17.0") == "1.21.1"
    assert "kubernetes.podspec-dryrun" not in releases.knative_feature_defaults("1.21.1")
    with pytest.raises(ValueError, match="kserve.config: nonsense unknown"):
        releases.control_plane({"version": "0.15.2", "config": {"nonsense": 1}}, None, set())


def test_what_go_would_not_send_is_not_refused(service_dir: Path) -> None:
    # KServe's Go types drop empty and false fields (omitempty): Knative never sees them.
    def empty(spec: dict[str, Any]) -> None:
        spec.update(tolerations=[], nodeSelector={}, hostNetwork=False, scaleMetricType="Utilization")
        spec["model"].update(stdin=False, securityContext=None)

    assert findings(service_dir, predictor(empty)) == []


def test_odd_values_are_left_to_the_schema_check(service_dir: Path) -> None:
    def odd(spec: dict[str, Any]) -> None:
        spec.update(scaleTarget="50%", minReplicas=None, timeout="soon", logger=None)

    assert findings(service_dir, predictor(odd)) == []


def test_a_missing_serving_runtime_does_not_stop_the_other_checks(service_dir: Path) -> None:
    (service_dir / "k8s" / "kustomization.yaml").write_text("namespace: team-a\nresources: [isvc.yaml]\n")
    assert findings(service_dir, annotate(**{"serving.kserve.io/autoscalerClass": "kpa"}))  # still reported


def test_volumes_merge_by_name_and_model_mounts_count(service_dir: Path) -> None:
    def runtime_volume(runtime: dict[str, Any]) -> None:
        runtime["spec"]["volumes"] = [{"name": "cache", "emptyDir": {}}]

    def predictor_volume(spec: dict[str, Any]) -> None:
        spec["volumes"] = [{"name": "extra", "configMap": {"name": "x"}}]
        spec["model"]["volumeMounts"] = [
            {"name": "cache", "mountPath": "/cache"},
            {"name": "extra", "mountPath": "/extra", "readOnly": True},
        ]

    assert findings(service_dir, predictor(predictor_volume), runtime_volume) == []


def test_an_explainer_with_art_is_one_implementation(service_dir: Path) -> None:
    def explainer(isvc: dict[str, Any]) -> None:
        isvc["spec"]["explainer"] = {"art": {"type": "SquareAttack"}}

    assert findings(service_dir, explainer) == []


def _storage(uri: str) -> Edit:
    return predictor(lambda spec: spec["model"].update(storageUri=uri))


def test_hugging_face_storage_is_accepted_from_0_15(service_dir: Path) -> None:
    """ValidateStorageURI's scheme list (pkg/controller/v1beta1/inferenceservice/utils/utils.go): hf:// is
    in v0.15.0's, not in v0.14.1's."""
    assert findings(service_dir, isvc=_storage("hf://my-org/my-model"), kserve="0.15.0") == []
    [refused] = findings(service_dir, kserve="0.14.1")
    assert "KServe 0.14.1 does not support hf:// storage" in refused and "ValidateStorageURI" in refused


def test_an_oci_model_needs_the_clusters_modelcar(service_dir: Path) -> None:
    """Without storageInitializer.enableModelcar the pod webhook hands oci:// to a storage initializer,
    which cannot read images (storage_initializer_injector.go InjectModelcar; on by default from 0.15.2)."""
    assert findings(service_dir, isvc=_storage("oci://ghcr.io/my-org/my-model:1.0"), kserve="0.15.2") == []
    [refused] = findings(service_dir, kserve="0.15.2", config={"storageInitializer.enableModelcar": False})
    assert "storageInitializer.enableModelcar" in refused and "InjectModelcar" in refused
    [refused] = findings(service_dir, kserve="0.15.1")  # before 0.15.2 the modelcar is off unless enabled
    assert "modelcar" in refused
