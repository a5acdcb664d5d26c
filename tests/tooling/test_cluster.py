"""`kserve-kit status` and `doctor` on recorded Kubernetes API objects, one snapshot per failure mode
(fixtures/cluster/<mode>.json: the InferenceService, pods and events as the API returns them), read
through the kubernetes client's own deserialisation. No cluster is needed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from extensions.derive import derive
from extensions.profile import environment_facts, load_profile
from kserve_kit.__main__ import main
from kserve_kit.checks.findings import anchor
from kserve_kit.cluster import doctor, status
from kserve_kit.cluster.snapshot import ClusterUnavailable, Subject, read_live, read_snapshot, record_snapshot

FIXTURES = Path(__file__).parent / "fixtures" / "cluster"
NAME, NAMESPACE = "iris-classifier", "kserve-test"
CONFIGS = Path(__file__).parent / "fixtures" / "kserve-config"
AGORA = load_profile("agora")
# What Agora requires on next-gen environments (the facts file's policy.required_annotations there).
NEXT_GEN_ANNOTATIONS = {
    "serving.kserve.io/storage-initializer-uid": str(AGORA["generations"]["next-gen"]["storage_initializer_uid"])
}


def environment_of(platform: str, generation: str) -> str:
    """The profile's first environment of that generation (its only one, if it has one generation)."""
    environments = load_profile(platform)["environments"]
    return next(
        (env for env, facts in environments.items() if facts["generation"] == generation), next(iter(environments))
    )


def subject(generation: str = "legacy", vault: bool = True, storage: str = "s3", platform: str = "agora") -> Subject:
    """The facts a service rendered with these answers has (extensions/derive.py, the profile's values)."""
    environment = environment_of(platform, generation)
    mode = environment_facts(load_profile(platform), environment)["deployment_mode"]
    defaults = load_profile(platform)["autoscaling"][mode]
    answers: dict[str, Any] = {
        "platform": platform, "environment": environment, "service_name": NAME, "namespace": NAMESPACE,
        "owner": "ml-team", "runtime": "sklearn", "visibility": "external", "model_storage": storage,
        "storage_uri": {"s3": "s3://models/iris", "pvc": "pvc://models/iris", "image": None}[storage],
        "vault": vault and storage == "s3", "vault_role": NAME,
        "vault_secret_path": f"secret/data/{NAMESPACE}/{NAME}/s3",
        f"{mode}_scale_metric": defaults["metric"], f"{mode}_scale_target": str(defaults["target"]),
        "knative_scale_down_delay": "0s",
    }  # fmt: skip
    return Subject(NAME, NAMESPACE, derive(answers)["facts"])


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
    assert len(snapshot.pods) + len(snapshot.events) + bool(snapshot.kserve_config) == len(items) - 1


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
        # An LLM's failures (#25): vLLM's own messages, as the kubelet and the scheduler report them.
        ("gpu-unschedulable", "legacy", "GPU not scheduled", "no node has a free nvidia.com/gpu",
         "Example Service: GPU InferenceService with S3 credential"),
        ("gpu-out-of-memory", "legacy", "out of GPU memory", "lower --max-model-len or --gpu-memory-utilization",
         "Example Service: GPU InferenceService with S3 credential"),
        ("startup-probe-too-short", "legacy", "startup probe too short", "raise failureThreshold", "FAQs"),
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
    agoras = load_profile("agora")["guideline_sections"]
    assert finding.render("https://guide", agoras).endswith("#fix-incompatibility-with-istio-cni")
    # Another organisation's guide has none of Agora's sections: the guide, and the section named.
    others = load_profile("example-standard")["guideline_sections"]
    assert finding.render("https://docs.example.com", others).endswith(
        "docs: https://docs.example.com (Fix incompatibility with Istio CNI)"
    )
    known_issue = anchor(status.KNOWN_ISSUE)
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


# ---------------------------------------------------------------- KServe's cluster configuration


def with_config(mode: str, config: str, **ingress: Any) -> Any:
    """A snapshot of `mode` with KServe's ConfigMap `config` (fixtures/kserve-config), its ingress
    settings changed as given."""
    snapshot = read_snapshot(fixture(mode))
    snapshot.kserve_config = json.loads((CONFIGS / f"{config}.json").read_text())
    data = snapshot.kserve_config["data"]
    data["ingress"] = json.dumps({**json.loads(data["ingress"]), **ingress})
    return snapshot


def titles(snapshot: Any, subject: Subject) -> list[str]:
    return [finding.title for finding in doctor.diagnose(snapshot, subject)]


@pytest.mark.parametrize("path", sorted(CONFIGS.glob("*.json")), ids=lambda path: path.stem)
def test_config_fixtures_are_kserve_configmaps_with_their_source(path: Path) -> None:
    config = client.ApiClient().deserialize(path.read_text(), "V1ConfigMap", "application/json")
    assert config.metadata.name == "inferenceservice-config" and config.metadata.namespace == "kserve"
    assert "kserve/kserve" in config.metadata.annotations["kserve-template/fixture-source"]
    for key in ("deploy", "ingress", "storageInitializer"):
        assert isinstance(json.loads(config.data[key]), dict), key


def test_agoras_gateway_is_compared_with_the_clusters() -> None:
    # KServe's shipped defaults name Knative's ingress gateway; Agora publishes on its own.
    shipped = with_config("healthy", "kserve-defaults")
    [finding] = doctor.diagnose(shipped, subject())
    assert finding.title == "external traffic comes through another gateway"
    assert "knative-serving/knative-ingress-gateway" in finding.seen and AGORA["ingress_gateway"] in finding.seen
    assert (
        doctor.diagnose(with_config("healthy", "kserve-defaults", ingressGateway=AGORA["ingress_gateway"]), subject())
        == []
    )


def scraping(snapshot: Any, value: str) -> Any:
    """The snapshot with KServe's metricsAggregator.enablePrometheusScraping set to `value`."""
    data = snapshot.kserve_config["data"]
    data["metricsAggregator"] = json.dumps({**json.loads(data["metricsAggregator"]), "enablePrometheusScraping": value})
    return snapshot


def test_a_standard_mode_service_is_checked_against_its_gateway_api_cluster() -> None:
    example = subject(platform="example-standard", vault=False)
    domain = load_profile("example-standard")["environments"]["staging"]["domain"]
    # As installed, ingressDomain is KServe's example.com: the service would be published elsewhere; and
    # the profile says this cluster scrapes pods (metricsAggregator), which KServe's shipped config does not.
    published, scraped = doctor.diagnose(with_config("healthy", "standard-gateway-api"), example)
    assert published.title == "the cluster publishes the service under another host"
    assert "iris-classifier-kserve-test.example.com" in published.seen and "ENDPOINT=http://" in published.fix
    assert scraped.title == "KServe is configured otherwise than the profile says"
    assert "metricsAggregator.enablePrometheusScraping is false; the platform profile models true" in scraped.seen
    fixed = scraping(with_config("healthy", "standard-gateway-api", ingressDomain=domain), "true")
    # With scraping on, KServe's pod mutator points prometheus.io/port at a queue-proxy port (9091) that a
    # Standard pod lacks, unless the InferenceService turns it off, as the kit renders it.
    [blind] = doctor.diagnose(fixed, example)
    assert blind.title == "Prometheus scrapes a port the pod does not have" and '"false"' in blind.fix
    fixed.isvc["metadata"].setdefault("annotations", {})["serving.kserve.io/enable-prometheus-scraping"] = "false"
    assert doctor.diagnose(fixed, example) == []


def test_a_standard_mode_service_on_a_knative_configured_cluster() -> None:
    found = titles(with_config("healthy", "kserve-defaults"), subject(platform="example-standard", vault=False))
    assert "the cluster's default deployment mode is not this service's" in found
    assert "the cluster routes external traffic differently" in found  # Ingress objects, not the Gateway API
    assert "the predictor's Service is headless" in found  # serviceClusterIPNone: port 80 goes nowhere


def test_a_service_deployed_in_another_mode_must_be_re_created() -> None:
    snapshot = read_snapshot(fixture("healthy"))
    snapshot.isvc["status"]["deploymentMode"] = "Knative"  # how KServe >= 0.16 records a Knative service
    assert doctor.diagnose(snapshot, subject()) == []  # Serverless and Knative are one mode
    [finding] = doctor.diagnose(snapshot, subject(platform="example-standard", vault=False))
    assert finding.title == "deployed in another deployment mode"
    assert f"kubectl delete inferenceservice {NAME} -n {NAMESPACE}" in finding.fix
    assert "deployment mode: Knative" in status.assess(snapshot, subject()).details


def test_a_storage_initializer_image_from_a_registry_not_allowed() -> None:
    snapshot = with_config("healthy", "kserve-defaults", ingressGateway=AGORA["ingress_gateway"])
    data = snapshot.kserve_config["data"]
    data["storageInitializer"] = json.dumps(
        {**json.loads(data["storageInitializer"]), "image": "registry.internal/si:1"}
    )
    [finding] = doctor.diagnose(snapshot, subject())
    assert finding.title == "the storage initializer's image is on a registry the platform does not allow"


def test_the_kserve_config_is_recorded_and_read_back(tmp_path: Path) -> None:
    original = with_config("healthy", "kserve-defaults")
    record_snapshot(original, tmp_path / "snapshot.json")
    assert read_snapshot(tmp_path / "snapshot.json").kserve_config == original.kserve_config


def test_doctor_recognises_a_missing_volume_claim_without_a_storage_initializer() -> None:
    # KServe 0.15.2 (enableDirectPvcVolumeMount) and 0.16+ mount pvc:// directly: no init container runs.
    facts = subject("next-gen", storage="pvc")
    assert facts.fact("storage_initializer") is False and facts.policy("required_annotations") == {}
    [finding] = doctor.diagnose(read_snapshot(fixture("pvc-claim-missing")), facts)
    assert finding.title == "the model's volume claim is missing or unbound"
    assert "create the PersistentVolumeClaim models in kserve-test" in finding.fix
    assert 'persistentvolumeclaim "models" not found' in finding.seen


def test_doctor_recognises_a_model_that_is_not_at_its_path_on_the_claim() -> None:
    [finding] = doctor.diagnose(read_snapshot(fixture("pvc-model-path-wrong")), subject("legacy", storage="pvc"))
    assert finding.title == "the model is not at its path on the volume claim"
    assert "nothing usable at iris on claim models" in finding.fix and "No such file" in finding.seen


def test_doctor_recognises_a_volume_that_cannot_be_mounted() -> None:
    snapshot = read_snapshot(fixture("pvc-claim-missing"))
    snapshot.events[0].reason = "FailedMount"
    snapshot.events[0].message = 'MountVolume.SetUp failed for volume "kserve-pvc-source": rpc error: timed out'
    [finding] = doctor.diagnose(snapshot, subject("legacy", storage="pvc"))
    assert finding.title == "the model's volume cannot be mounted" and "kubectl describe pvc models" in finding.fix


def test_doctor_does_not_call_a_connection_failure_on_legacy_a_credentials_problem() -> None:
    [finding] = doctor.diagnose(read_snapshot(fixture("storage-initializer-istio-cni")), subject("legacy"))
    assert finding.title == "storage initializer cannot reach storage"
    assert (
        "credentials are not the cause" in finding.fix
        and finding.section == "A storage initializer container cannot start"
    )


def test_doctor_recognises_knatives_refusal_of_gpu_node_selection() -> None:
    [finding] = doctor.diagnose(read_snapshot(fixture("knative-field-refused")), subject("next-gen"))
    assert finding.title == "Knative refused the revision's pod spec"
    assert "kubernetes.podspec-nodeselector, kubernetes.podspec-tolerations" in finding.fix
    assert "knative.features" in finding.fix


def test_doctor_recognises_a_host_label_kserve_cannot_create() -> None:
    snapshot = read_snapshot(fixture("standard-host-label-too-long"))
    found = doctor.diagnose(snapshot, subject(platform="example-standard", vault=False))
    assert [finding.title for finding in found] == ["KServe cannot name the service's host"]
    assert "over 63 characters" in found[0].fix


def test_doctor_compares_the_clusters_kserve_release_and_knative_flags(tmp_path: Path) -> None:
    snapshot = read_snapshot(fixture("healthy"))
    image = "kserve/kserve-controller:v0.16.0"
    snapshot.kserve_controller = {
        "kind": "Deployment",
        "metadata": {"name": "kserve-controller-manager"},
        "spec": {"template": {"spec": {"containers": [{"name": "manager", "image": image}]}}},
    }
    snapshot.knative_features = {"kind": "ConfigMap", "metadata": {"name": "config-features"},
                                 "data": {"kubernetes.podspec-nodeselector": "enabled"}}  # fmt: skip
    release, flags = doctor.diagnose(snapshot, subject())
    assert release.title == "the cluster runs another KServe release" and "says KServe 0.15.2" in release.seen
    assert "(a shipped default or unconfirmed)" in release.seen  # Agora's kserve.version is unconfirmed
    assert flags.title == "Knative's feature flags differ from the profile's"
    assert "kubernetes.podspec-nodeselector is enabled; the platform profile models disabled" in flags.seen
    record_snapshot(snapshot, tmp_path / "recorded.json")  # a recorded snapshot keeps them
    again = read_snapshot(tmp_path / "recorded.json")
    assert (again.kserve_controller, again.knative_features) == (snapshot.kserve_controller, snapshot.knative_features)


def test_a_controller_pinned_by_digest_is_the_release_its_tag_says() -> None:
    snapshot = read_snapshot(fixture("healthy"))
    image = "kserve/kserve-controller:v0.15.2@sha256:" + "a" * 64
    snapshot.kserve_controller = {"spec": {"template": {"spec": {"containers": [{"name": "m", "image": image}]}}}}
    snapshot.knative_features = {"data": {}}  # every flag unset: Knative's defaults, as Agora's profile models
    assert doctor.diagnose(snapshot, subject()) == []


@pytest.mark.parametrize(
    ("message", "flag"),
    [
        ("validation failed: pod spec support for init-containers is off, but found 1 init containers",
         "kubernetes.podspec-init-containers"),
        ("validation failed: Persistent volume write support is disabled, but found persistent volume claim m",
         "kubernetes.podspec-persistent-volume-write"),
        ("validation failed: must not set the field(s): spec.template.spec.affinity", "kubernetes.podspec-affinity"),
    ],
)  # fmt: skip
def test_doctor_names_the_flag_each_knative_refusal_needs(message: str, flag: str) -> None:
    snapshot = read_snapshot(fixture("knative-field-refused"))
    snapshot.events[0].message = message
    [finding] = doctor.diagnose(snapshot, subject())
    assert f"config-features keep {flag} off" in finding.fix
