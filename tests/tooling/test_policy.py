"""kserve-kit's platform policy: a rendered repo passes, and each rule catches its own mistake."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from extensions.runtimes import RUNTIMES
from kserve_kit.__main__ import main
from kserve_kit.checks import policy
from kserve_kit.checks.policy import RULES, Finding, Repo, policy_findings
from kserve_kit.digest import pin_digest
from kserve_kit.service import FACTS_FILE, Service
from tests.conftest import Render


@pytest.fixture
def copy(render: Render, tmp_path: Path) -> Path:
    """A rendered repo (the defaults), copied so a test can break it."""
    destination = tmp_path / "repo"
    shutil.copytree(render(), destination)
    return destination


def edit_yaml(path: Path, change: Callable[[list[dict[str, Any]]], None]) -> None:
    documents = list(yaml.safe_load_all(path.read_text(encoding="utf-8")))
    change(documents)
    path.write_text(yaml.safe_dump_all(documents), encoding="utf-8")


def facts_of(root: Path) -> dict[str, Any]:
    return yaml.safe_load((root / FACTS_FILE).read_text(encoding="utf-8"))


def findings(root: Path, rule: Callable[[Repo], Any]) -> list[Finding]:
    return list(rule(Repo(Service.load(root))))


def predictor(documents: list[dict[str, Any]]) -> dict[str, Any]:
    return documents[0]["spec"]["predictor"]


def test_a_rendered_repo_follows_the_policy(copy: Path) -> None:
    """Nothing wrong; what a repo not yet locked nor pushed cannot have (reproducible builds) said."""
    found = policy_findings(Repo(Service.load(copy)))
    assert [finding for finding in found if finding.section != "reproducible builds"] == []
    assert all(finding.warning for finding in found)


def test_rule_reproducible_builds(copy: Path) -> None:
    found = findings(copy, policy.reproducible_builds)
    assert [finding.file for finding in found] == ["Dockerfile", "requirements.lock", "k8s/serving-runtime.yaml"]
    assert all(finding.warning for finding in found)
    # Locked, pushed (the digest recorded), the base image by digest: nothing to say.
    (copy / "requirements.lock").write_text("# make lock\n")
    digest = "sha256:" + "0" * 64
    image = yaml.safe_load_all((copy / "k8s" / "serving-runtime.yaml").read_text())
    tag = next(doc for doc in image if doc)["spec"]["containers"][0]["image"]
    pin_digest(copy / "k8s" / "kustomization.yaml", tag, digest)
    dockerfile = copy / "Dockerfile"
    dockerfile.write_text(re.sub(r"^(FROM \S+)", rf"\1@{digest}", dockerfile.read_text(), flags=re.M))
    assert findings(copy, policy.reproducible_builds) == []


def test_rule_runtime_not_deprecated(render: Render, schema_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = render(runtime="torchserve")
    [finding] = findings(repo, policy.runtime_not_deprecated)
    assert finding.warning and 'make update ARGS="--data runtime=pytorch"' in finding.message
    unfixable = RUNTIMES["torchserve"].unfixable
    assert f"lets through {len(unfixable)} kind(s) of request nothing can refuse" in finding.message
    readme = (repo / "README.md").read_text(encoding="utf-8")
    assert all(f"- {limit}" in readme for limit in unfixable)  # the owner reads each of them
    assert main(["--repo", str(repo), "validate", "--schema-dir", str(schema_dir)]) == 0  # a warning, not an error
    assert "warning: kserve-kit.yaml: the torchserve runtime is deprecated" in capsys.readouterr().err


def test_every_rule_is_tested() -> None:
    tested = {name.removeprefix("test_rule_") for name in globals() if name.startswith("test_rule_")}
    assert tested == {rule.__name__ for rule in RULES}


def test_rule_image_registries(copy: Path) -> None:
    def move_image(docs: list[dict[str, Any]]) -> None:
        docs[0]["spec"]["containers"][0]["image"] = "registry.example.com/team/model:1"

    edit_yaml(copy / "k8s" / "serving-runtime.yaml", move_image)
    [finding] = findings(copy, policy.image_registries)
    assert "registry.example.com" in finding.message and finding.section == "Image Registries"


def test_rule_python_package_hosts(copy: Path) -> None:
    dockerfile = copy / "Dockerfile"
    dockerfile.write_text(
        dockerfile.read_text() + "RUN pip install --extra-index-url https://pkgs.example.com/simple extra\n"
    )
    [finding] = findings(copy, policy.python_package_hosts)
    assert "pkgs.example.com" in finding.message and finding.section == "Python Dependencies"


def test_rule_no_start_up_installs(copy: Path) -> None:
    (copy / "config").mkdir(exist_ok=True)
    (copy / "config" / "config.properties").write_text("install_py_dep_per_model=true\n")
    [finding] = findings(copy, policy.no_start_up_installs)
    assert "install_py_dep_per_model=false" in finding.message and "FAQs" in finding.section


def test_rule_visibility_label(copy: Path) -> None:
    label = facts_of(copy)["visibility_label"]

    def flip(docs: list[dict[str, Any]]) -> None:
        labels = docs[0]["metadata"]["labels"]
        if labels.pop(label, None) is None:
            labels[label] = "cluster-local"

    edit_yaml(copy / "k8s" / "inference-service.yaml", flip)
    [finding] = findings(copy, policy.visibility_label)
    assert label in finding.message and finding.section == "External Access"


def set_mode(copy: Path, value: str | None) -> None:
    def change(docs: list[dict[str, Any]]) -> None:
        annotations = docs[0]["metadata"]["annotations"]
        annotations.pop("serving.kserve.io/deploymentMode", None)
        if value is not None:
            annotations["serving.kserve.io/deploymentMode"] = value

    edit_yaml(copy / "k8s" / "inference-service.yaml", change)


def test_rule_deployment_mode(copy: Path, render: Render, tmp_path: Path) -> None:
    # Agora's KServe 0.15.2 knows only the old names: "Knative" would be ignored, silently.
    for value, expected in ((None, "add the annotation serving.kserve.io/deploymentMode: Serverless"),
                            ("Knative", "KServe 0.15.2 does not know the deployment mode 'Knative'"),
                            ("RawDeployment", "dev runs Serverless mode, not RawDeployment")):  # fmt: skip
        set_mode(copy, value)
        [finding] = findings(copy, policy.deployment_mode)
        assert expected in finding.message and not finding.warning, finding.message
    # A KServe 0.17 platform: the old name of its own mode is a warning naming the new one.
    example = tmp_path / "example"
    shutil.copytree(render(platform="example-standard", environment="staging", vault=False), example)
    assert findings(example, policy.deployment_mode) == []
    set_mode(example, "RawDeployment")
    [finding] = findings(example, policy.deployment_mode)
    assert finding.warning and "write Standard" in finding.message


def test_rule_next_gen_istio_cni(copy: Path) -> None:
    facts = facts_of(copy)
    facts["policy"]["required_annotations"] = {"serving.kserve.io/storage-initializer-uid": "1337"}
    (copy / FACTS_FILE).write_text(yaml.safe_dump(facts))

    def drop(docs: list[dict[str, Any]]) -> None:
        docs[0]["metadata"]["annotations"].pop("serving.kserve.io/storage-initializer-uid", None)
        predictor(docs)["model"].pop("securityContext")

    edit_yaml(copy / "k8s" / "inference-service.yaml", drop)
    messages = [finding.message for finding in findings(copy, policy.next_gen_istio_cni)]
    assert len(messages) == 2
    assert "1337" in messages[0] and "allowPrivilegeEscalation: false" in messages[1]


def test_rule_gpu_needs_gpu_image(copy: Path) -> None:
    resource = facts_of(copy)["policy"]["gpu_resource"]

    def ask_for_gpu(docs: list[dict[str, Any]]) -> None:
        predictor(docs)["model"]["resources"]["limits"][resource] = "1"

    edit_yaml(copy / "k8s" / "inference-service.yaml", ask_for_gpu)
    (copy / "Dockerfile").write_text("FROM docker.io/library/python:3.11-slim\nUSER 1000\n")
    [finding] = findings(copy, policy.gpu_needs_gpu_image)
    assert "not a CUDA image" in finding.message


def test_rule_no_credentials(copy: Path) -> None:
    (copy / "k8s" / "leak.yaml").write_text("apiVersion: v1\nkind: Secret\nmetadata: {name: s3}\nstringData: {k: v}\n")
    edit_yaml(copy / "k8s" / "kustomization.yaml", lambda docs: docs[0]["resources"].append("leak.yaml"))
    # Built from pieces so that this file itself holds no credential-looking literal.
    fake_key_id, fake_secret = "AKIA" + "IOSFODNN7EXAMPLE", "wJalrXUtnFEMI" + "K7MDENGbPxRfiCYEXAMPLEKEY"
    (copy / "notes.txt").write_text(f"aws_secret_access_key = {fake_secret}\n{fake_key_id}\n")
    found = findings(copy, policy.no_credentials)
    sections = {finding.section for finding in found}
    messages = " ".join(finding.message for finding in found)
    assert sections == {"Credential for Storage Initializer"}
    assert "AWS access key id" in messages and "secret value" in messages and "Secret with values" in messages


def test_rule_non_root_with_limits(copy: Path) -> None:
    def loosen(docs: list[dict[str, Any]]) -> None:
        container = docs[0]["spec"]["containers"][0]
        container.pop("securityContext")

    edit_yaml(copy / "k8s" / "serving-runtime.yaml", loosen)
    (copy / "Dockerfile").write_text((copy / "Dockerfile").read_text().replace("USER 1000", "USER root"))
    messages = " ".join(finding.message for finding in findings(copy, policy.non_root_with_limits))
    assert "non-root USER" in messages and "runAsNonRoot" in messages and "allowPrivilegeEscalation" in messages
    assert "readOnlyRootFilesystem: true" in messages


def test_rule_vault_service_account(copy: Path) -> None:
    def inject_without_account(docs: list[dict[str, Any]]) -> None:
        docs[0]["spec"]["annotations"] = {"vault.hashicorp.com/agent-inject": "true"}

    edit_yaml(copy / "k8s" / "serving-runtime.yaml", inject_without_account)
    edit_yaml(copy / "k8s" / "inference-service.yaml", lambda docs: predictor(docs).pop("serviceAccountName", None))
    messages = " ".join(finding.message for finding in findings(copy, policy.vault_service_account))
    assert "agent-init-first" in messages and "serviceAccountName" in messages


def test_validate_names_the_file_and_the_fix(copy: Path, schema_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    def typo_and_bad_registry(docs: list[dict[str, Any]]) -> None:
        docs[0]["spec"]["containers"][0]["image"] = "registry.example.com/x:1"
        docs[0]["spec"]["containers"][0]["imagePullPolcy"] = "Always"

    edit_yaml(copy / "k8s" / "serving-runtime.yaml", typo_and_bad_registry)
    assert main(["--repo", str(copy), "validate", "--schema-dir", str(schema_dir)]) == 1
    errors = capsys.readouterr().err
    assert "k8s/serving-runtime.yaml (ServingRuntime iris-classifier-sklearn): spec.containers.0: " in errors
    assert "'imagePullPolcy' was unexpected" in errors
    assert "[guideline: Image Registries]" in errors


def test_validate_reports_a_manifest_that_is_not_yaml(
    copy: Path, schema_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with (copy / "k8s" / "inference-service.yaml").open("a", encoding="utf-8") as manifest:
        manifest.write("metadata: [unclosed\n")
    assert main(["--repo", str(copy), "validate", "--schema-dir", str(schema_dir)]) in (1, 2)
    assert "k8s/inference-service.yaml: not valid YAML" in capsys.readouterr().err
