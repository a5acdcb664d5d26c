"""Render answer sets and check the repo against the guideline and the real KServe CRD schemas."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from extensions.modes import DEPLOYMENT_MODE_ANNOTATION, MODES
from extensions.profile import environment_facts, external_host, load_profile
from kserve_kit.__main__ import main as kit
from tests import compiled_templates
from tests.conftest import Render, answers_of, facts_of, load_manifest, render_into

ANSWER_SETS: dict[str, dict[str, Any]] = {
    "defaults": {},
    "next-gen-cluster-local-v2": {"environment": "lab2", "visibility": "cluster-local", "inference_protocol": "v2"},
    "lab-pvc": {"environment": "lab", "model_storage": "pvc", "storage_uri": "pvc://models/iris"},
    "baked-image-scale-to-zero": {"model_storage": "image", "min_replicas": 0, "max_replicas": 1},
    "s3-without-vault": {"vault": False, "service_name": "fraud", "namespace": "risk", "owner": "risk-team"},
    "torchserve-gpu-vault-next-gen": {"runtime": "torchserve", "gpu": True, "environment": "lab2"},
    "torchserve-cpu-baked-v2": {"runtime": "torchserve", "model_storage": "image", "inference_protocol": "v2"},
    "next-gen-baked": {"environment": "lab2", "model_storage": "image"},
    # KServe mounts a pvc directly (no storage initializer): no Istio CNI UID annotation on next-gen.
    "next-gen-pvc-pytorch-gpu": {
        "environment": "lab2",
        "model_storage": "pvc",
        "storage_uri": "pvc://models/iris",
        "runtime": "pytorch",
        "gpu": True,
    },
    # Another organisation's profile: Standard mode, Gateway API, no Vault, no local gateway.
    "standard-defaults": {"platform": "example-standard"},
    "standard-prod-cluster-local-pytorch": {
        "platform": "example-standard",
        "environment": "prod",
        "visibility": "cluster-local",
        "runtime": "pytorch",
    },  # fmt: skip
    "standard-gpu": {"platform": "example-standard", "runtime": "pytorch", "gpu": True},
}


@pytest.fixture(params=list(ANSWER_SETS), scope="module")
def repo(request: pytest.FixtureRequest, render: Render) -> Path:
    return render(**ANSWER_SETS[request.param])


def test_every_yaml_file_parses(repo: Path) -> None:
    files = [*repo.rglob("*.yaml"), *repo.rglob("*.yml")]
    assert len(files) >= 5
    for path in files:
        assert list(yaml.safe_load_all(path.read_text(encoding="utf-8"))), path


def test_no_template_syntax_is_left_over(repo: Path) -> None:
    for path in repo.rglob("*"):
        if path.is_file() and path.suffix != ".jinja":
            text = path.read_text(encoding="utf-8")
            # The ServingRuntime's {{.Name}} and the Vault agent template are Go templates on purpose.
            # So is KServe's domain template in the facts file's control_plane (ingress.domainTemplate).
            text = text.replace("{{.Name}}", "").replace("{{ .Data.data.", "").replace("{{- ", "")
            text = text.replace("{{ .Name }}-{{ .Namespace }}.{{ .IngressDomain }}", "")
            assert "{{ " not in text and "{%" not in text, path


def test_manifests_validate_against_the_kserve_crd_schemas(
    repo: Path, schema_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert kit(["--repo", str(repo), "validate", "--schema-dir", str(schema_dir)]) == 0, capsys.readouterr().err
    assert "0 problem(s)" in capsys.readouterr().out


def test_kustomization_lists_exactly_the_manifests(repo: Path) -> None:
    listed = set(load_manifest(repo, "kustomization.yaml")["resources"])
    present = {path.name for path in (repo / "k8s").glob("*.yaml")} - {"kustomization.yaml"}
    assert listed == present


def test_environment_rules_of_the_guideline(repo: Path) -> None:
    """What the environment's facts in the platform profile require, whichever profile it is."""
    answers = answers_of(repo)
    profile = load_profile(answers["platform"])
    env = environment_facts(profile, answers["environment"])
    mode = MODES[env["deployment_mode"]]
    service = facts_of(repo)
    isvc = load_manifest(repo, "inference-service.yaml")
    annotations = isvc["metadata"]["annotations"]
    model = isvc["spec"]["predictor"]["model"]
    readme = (repo / "README.md").read_text(encoding="utf-8")
    assert annotations[DEPLOYMENT_MODE_ANNOTATION] == mode.name_for(env["kserve"]["version"])
    # "Fix incompatibility with Istio CNI" (where a storage initializer runs); the securityContext
    # is set everywhere.
    assert model["securityContext"]["allowPrivilegeEscalation"] is False
    # Only s3 runs KServe's storage initializer on these releases: a pvc is mounted directly (KServe
    # 0.15.2's shipped enableDirectPvcVolumeMount, always since 0.16), a baked model needs none.
    assert service["storage_initializer"] == (answers["model_storage"] == "s3")
    if env["storage_initializer_uid"] and service["storage_initializer"]:
        assert annotations["serving.kserve.io/storage-initializer-uid"] == str(env["storage_initializer_uid"])
    else:
        assert "serving.kserve.io/storage-initializer-uid" not in annotations
        if env["storage_initializer_uid"]:  # no storage initializer runs
            assert "storage-initializer-uid" not in readme
    if mode.local_gateway:
        assert service["endpoints"]["local_gateway"] == f"http://{env['local_gateway']}"
    else:
        assert service["endpoints"]["local_gateway"] is None
        assert "TARGET=gateway" not in readme and "no local gateway" in readme
    assert (repo / "k8s" / "workspace-setup.yaml").is_file() == env["workspace_setup"]
    assert ("Unknown" in readme) == env["ready_unknown_is_known_issue"]


def test_scaling_follows_the_deployment_mode(repo: Path) -> None:
    answers = answers_of(repo)
    mode = environment_facts(load_profile(answers["platform"]), answers["environment"])["deployment_mode"]
    isvc = load_manifest(repo, "inference-service.yaml")
    predictor, annotations = isvc["spec"]["predictor"], isvc["metadata"]["annotations"]
    assert predictor["scaleMetric"] == answers[f"{mode}_scale_metric"]
    assert predictor["scaleTarget"] == int(answers[f"{mode}_scale_target"])
    if mode == "knative":
        delay = annotations.get("autoscaling.knative.dev/scale-down-delay", "0s")  # Knative's default: none
        assert delay == answers["knative_scale_down_delay"]
        assert "serving.kserve.io/autoscalerClass" not in annotations
    else:
        assert annotations["serving.kserve.io/autoscalerClass"] == "hpa"
        assert predictor["minReplicas"] >= 1
    other = "standard" if mode == "knative" else "knative"
    assert not [key for key in answers if key.startswith(f"{other}_scale")]  # never asked


def test_visibility_rules_of_the_guideline(repo: Path) -> None:
    answers = answers_of(repo)
    profile = load_profile(answers["platform"])
    mode = MODES[environment_facts(profile, answers["environment"])["deployment_mode"]]
    labels = load_manifest(repo, "inference-service.yaml")["metadata"]["labels"]
    readme = (repo / "README.md").read_text(encoding="utf-8")
    host = external_host(profile, answers["environment"], answers["service_name"], answers["namespace"])
    if answers["visibility"] == "cluster-local":
        assert labels[mode.visibility_label] == "cluster-local"
        assert host not in readme
        assert facts_of(repo)["endpoints"]["external"] is None  # no external endpoint to smoke-test
    else:
        assert not {label for label in labels if label.endswith("/visibility")}
        assert host in readme


def test_vault_rules_of_the_guideline(repo: Path) -> None:
    answers = answers_of(repo)
    predictor = load_manifest(repo, "inference-service.yaml")["spec"]["predictor"]
    runtime_annotations = load_manifest(repo, "serving-runtime.yaml")["spec"].get("annotations", {})
    if answers.get("vault"):
        account, binding = yaml.safe_load_all((repo / "k8s" / "service-account.yaml").read_text(encoding="utf-8"))
        assert predictor["serviceAccountName"] == account["metadata"]["name"]
        assert binding["kind"] == "ClusterRoleBinding"
        assert binding["roleRef"]["name"] == "system:auth-delegator"
        assert binding["subjects"][0]["name"] == account["metadata"]["name"]
        assert runtime_annotations["vault.hashicorp.com/agent-inject"] == "true"
        assert runtime_annotations["vault.hashicorp.com/agent-init-first"] == "true"
    else:
        assert "serviceAccountName" not in predictor
        assert not (repo / "k8s" / "service-account.yaml").exists()
        assert not any(key.startswith("vault.hashicorp.com") for key in runtime_annotations)


def test_storage_rules(repo: Path) -> None:
    answers = answers_of(repo)
    model = load_manifest(repo, "inference-service.yaml")["spec"]["predictor"]["model"]
    args = " ".join(load_manifest(repo, "serving-runtime.yaml")["spec"]["containers"][0]["args"])
    dockerfile = (repo / "Dockerfile").read_text(encoding="utf-8")
    if answers["model_storage"] == "image":
        assert "storageUri" not in model
        assert "=/opt/model" in args and "/mnt/models" not in args
        assert "COPY model" in dockerfile and "/opt/model/" in dockerfile
    else:
        assert model["storageUri"] == answers["storage_uri"]
        assert "=/mnt/models" in args
        assert "COPY model" not in dockerfile


def test_gpu_rules(repo: Path) -> None:
    answers = answers_of(repo)
    predictor = load_manifest(repo, "inference-service.yaml")["spec"]["predictor"]
    resources = predictor["model"]["resources"]
    base_image = (repo / "Dockerfile").read_text(encoding="utf-8").split("\nFROM ", 1)[1].split()[0]
    if answers.get("gpu"):
        profile = load_profile(answers["platform"])
        features = (facts_of(repo)["control_plane"]["knative"] or {}).get("features")
        assert resources["requests"]["nvidia.com/gpu"] == resources["limits"]["nvidia.com/gpu"] == "1"
        if features is None:  # Standard mode: no Knative field mask
            assert predictor["nodeSelector"] == profile["gpu"]["node_selector"]
        else:  # Knative admits the node selector and tolerations only where config-features enables them
            flags = ("kubernetes.podspec-nodeselector", "kubernetes.podspec-tolerations")
            assert [features[flag] for flag in flags] == ["disabled", "disabled"]
            assert "nodeSelector" not in predictor and "tolerations" not in predictor
            manifest = (repo / "k8s" / "inference-service.yaml").read_text(encoding="utf-8")
            assert "kubernetes.podspec-nodeselector is disabled" in manifest
            assert "ExtendedResourceToleration" in (repo / "README.md").read_text(encoding="utf-8")
        assert "gpu" in base_image or "cuda" in base_image
        if answers["runtime"] == "torchserve":
            assert "number_of_gpu=1" in (repo / "config" / "config.properties").read_text(encoding="utf-8")
    else:
        assert "nvidia.com/gpu" not in resources["limits"]
        assert "nodeSelector" not in predictor
        assert "gpu" not in base_image


def test_runtime_files_are_exactly_the_runtimes_own(repo: Path) -> None:
    answers = answers_of(repo)
    package = repo / answers["service_name"].replace("-", "_")
    torchserve_files = [package / "handler.py", package / "protocol.py", repo / "config" / "config.properties"]
    kserve_files = [package / "__main__.py"]
    expected, absent = (
        (torchserve_files, kserve_files) if answers["runtime"] == "torchserve" else (kserve_files, torchserve_files)
    )
    assert all(path.is_file() for path in expected), expected
    assert not any(path.exists() for path in absent), absent
    # The serving layer and the conformance tests are kserve-kit's, never copied in (#23).
    glue = [
        package / "guards.py",
        package / "inputs.py",
        repo / "tests" / "conftest.py",
        repo / "tests" / "test_server.py",
    ]
    assert not any(path.exists() for path in glue), glue
    assert not (repo / "scripts").exists() and not (repo / "service.yaml").exists()


def test_the_repo_is_thin(repo: Path) -> None:
    """Only the owner's code: the serving library, the platform tooling and the conformance tests are
    kserve-kit, pinned, not copied in. docs/rendered-repo.md: 112 lines for scikit-learn, 173 for
    PyTorch (its network and its training loop), 339 for TorchServe (its handler and protocol)."""
    lines = sum(len(path.read_text(encoding="utf-8").splitlines()) for path in repo.rglob("*.py"))
    runtime = answers_of(repo)["runtime"]
    assert lines <= {"sklearn": 200, "pytorch": 200, "torchserve": 400}[runtime], lines
    pyproject = (repo / "pyproject.toml").read_text(encoding="utf-8")
    version = facts_of(repo)["kit_version"]
    assert f'"kserve-kit[tooling]=={version}"' in pyproject
    assert (f'"kserve-kit[serving]=={version}"' in pyproject) == (runtime != "torchserve")


def test_torchserve_never_installs_dependencies_at_start_up(repo: Path) -> None:
    """Guideline "Python Dependencies" and the FAQ: the mesh blocks pip in the pod."""
    answers = answers_of(repo)
    if answers["runtime"] == "torchserve":
        config = (repo / "config" / "config.properties").read_text(encoding="utf-8")
        assert "install_py_dep_per_model=false" in config
        readme = (repo / "README.md").read_text(encoding="utf-8")
        assert "### TorchServe is deprecated: move to PyTorch" in readme and "--data runtime=pytorch" in readme


def test_image_is_on_an_allowed_registry(repo: Path) -> None:
    image = load_manifest(repo, "serving-runtime.yaml")["spec"]["containers"][0]["image"]
    assert image.split("/")[0] in facts_of(repo)["policy"]["allowed_registries"]


def test_unconfirmed_facts_are_marked_where_they_are_shown(render: Render) -> None:
    note = "[unconfirmed: ask the Agora Infra team]"
    lab = (render(environment="lab") / "README.md").read_text(encoding="utf-8")
    external = next(line for line in lab.splitlines() if line.startswith("| External (company network)"))
    assert "cityos-lab.woven-planet.tech" in external and note in external
    dev = (render() / "README.md").read_text(encoding="utf-8")
    external = next(line for line in dev.splitlines() if line.startswith("| External (company network)"))
    assert note not in external  # dev's domain is the guideline's own example


def test_workspace_setup_allows_knative_into_this_service_only(render: Render) -> None:
    policy = load_manifest(render(environment="lab2"), "workspace-setup.yaml")
    assert policy["spec"]["action"] == "ALLOW"
    assert policy["spec"]["selector"] == {"matchLabels": {"serving.kserve.io/inferenceservice": "iris-classifier"}}


def test_backstage_finds_the_service_by_its_label(repo: Path) -> None:
    entity = yaml.safe_load((repo / "catalog-info.yaml").read_text(encoding="utf-8"))
    kubernetes_id = entity["metadata"]["annotations"]["backstage.io/kubernetes-id"]
    assert load_manifest(repo, "inference-service.yaml")["metadata"]["labels"]["backstage.io/kubernetes-id"] == (
        kubernetes_id
    )


def test_one_ruff_for_make_lint_and_pre_commit(repo: Path) -> None:
    pyproject = (repo / "pyproject.toml").read_text(encoding="utf-8")
    pinned = re.search(r'"ruff==([\d.]+)"', pyproject)
    hooks = yaml.safe_load((repo / ".pre-commit-config.yaml").read_text(encoding="utf-8"))
    [ruff] = [entry for entry in hooks["repos"] if "ruff-pre-commit" in entry["repo"]]
    assert pinned and ruff["rev"] == f"v{pinned.group(1)}"


def test_a_description_is_shown_as_text_never_as_html(render: Render) -> None:
    repo = render(description="Finds <script>alert(1)</script> & *stars*")
    readme = (repo / "README.md").read_text(encoding="utf-8")
    assert "<script>" not in readme and "&lt;script&gt;alert(1)&lt;/script&gt; &amp;" in readme


def test_kserve_servers_start_without_an_undeclared_grpc_listener(repo: Path) -> None:
    # KServe's model_server.py defaults --enable_grpc to true: a listener on 8081 the pod never declares.
    args = load_manifest(repo, "serving-runtime.yaml")["spec"]["containers"][0]["args"]
    assert ("--enable_grpc=false" in args) == (answers_of(repo)["runtime"] != "torchserve")


def test_standard_mode_keeps_kserve_from_rewriting_the_scrape_port(repo: Path) -> None:
    annotations = load_manifest(repo, "inference-service.yaml")["metadata"]["annotations"]
    if facts_of(repo)["deployment_mode"]["mode"] == "standard":
        assert annotations["serving.kserve.io/enable-prometheus-scraping"] == "false"


def test_another_organisations_render_carries_none_of_agoras_wording(render: Render) -> None:
    """A Standard-mode profile without Istio CNI or next-gen clusters: its manifests, scan reasons and
    README say nothing of them, nor of Knative resolving tags."""
    repo = render(platform="example-standard")
    for path in [*sorted((repo / "k8s").glob("*.yaml")), repo / ".checkov.yaml", repo / "README.md"]:
        text = path.read_text(encoding="utf-8")
        for agoras in ("Istio CNI", "next-gen", "Knative resolves", "Agora", "revision"):
            assert agoras not in text, (path.name, agoras)


GENERATIVE_ON_GPU = {"runtime": "text-generation", "gpu": True, "model_storage": "hf", "vault": True}


@pytest.mark.parametrize("answers", [{}, GENERATIVE_ON_GPU])
def test_a_render_with_the_shared_compiled_templates_is_the_render_without(
    tmp_path: Path, answers: dict[str, Any]
) -> None:
    # The suite's renders share compiled Jinja code (tests/compiled_templates.py): it must change nothing.
    trees = []
    for shared in (False, True):
        compiled_templates.share(shared)
        try:
            repo = render_into(tmp_path / str(shared) / "repo", **answers)
        finally:
            compiled_templates.share()
        trees.append({path.relative_to(repo): path.read_bytes() for path in sorted(repo.rglob("*")) if path.is_file()})
    for tree in trees:  # a render of uncommitted changes records Copier's draft commit, new every copy
        tree[Path(".copier-answers.yml")] = re.sub(rb"_commit: .*", b"", tree[Path(".copier-answers.yml")])
    assert len(trees[0]) > 20 and trees[0] == trees[1]
