"""The derived values: one function turns answers + platform profile into every URL and label."""

from __future__ import annotations

from typing import Any

from extensions.derive import derive

BASE: dict[str, Any] = {
    "platform": "agora",
    "service_name": "pytorch-mnist",
    "namespace": "kserve-test",
    "owner": "vision-ai",
    "environment": "dev",
    "runtime": "sklearn",
    "model_storage": "s3",
    "storage_uri": "s3://bucket/mnist",
    "vault": False,
    "visibility": "external",
}


def derived(**changes: Any) -> dict[str, Any]:
    return derive({**BASE, **changes})


def test_endpoints_follow_the_guideline_formats() -> None:
    kit = derived()
    # "External Access": <isvc>-predictor-<namespace>-lambda.cityos-dev.woven-planet.tech
    assert kit["external_url"] == "http://pytorch-mnist-predictor-kserve-test-lambda.cityos-dev.woven-planet.tech"
    # "Internal Access": <isvc>-predictor.<namespace>.svc.cluster.local
    assert kit["internal_url"] == "http://pytorch-mnist-predictor.kserve-test.svc.cluster.local"
    assert kit["gateway_host_header"] == "pytorch-mnist-predictor.kserve-test"
    assert kit["facts"]["endpoints"]["external"] == kit["external_url"]  # what kserve-kit reads
    assert derived(visibility="cluster-local")["facts"]["endpoints"]["external"] is None


def test_legacy_and_next_gen_gateways_and_annotations() -> None:
    legacy, next_gen = derived(environment="lab"), derived(environment="lab2")
    assert legacy["local_gateway_url"] == "http://knative-local-gateway.istio-system.svc.cluster.local"
    assert next_gen["local_gateway_url"] == "http://knative-local-gateway.knative-serving.svc.cluster.local"
    assert "serving.kserve.io/storage-initializer-uid" not in legacy["isvc_annotations"]
    assert next_gen["isvc_annotations"]["serving.kserve.io/storage-initializer-uid"] == "1337"
    assert legacy["ready_unknown_is_known_issue"] and not next_gen["ready_unknown_is_known_issue"]
    assert next_gen["workspace_setup"] and not legacy["workspace_setup"]


def test_visibility_label_only_when_cluster_local() -> None:
    assert "networking.knative.dev/visibility" not in derived()["isvc_labels"]
    labels = derived(visibility="cluster-local")["isvc_labels"]
    assert labels["networking.knative.dev/visibility"] == "cluster-local"


def test_vault_only_with_s3_storage() -> None:
    vault = {"vault": True, "vault_role": "mnist", "vault_secret_path": "secret/data/x/s3"}
    with_vault = derived(**vault)
    assert with_vault["vault"]["service_account"] == "pytorch-mnist-vault"
    annotations = with_vault["pod_annotations"]
    assert annotations["vault.hashicorp.com/agent-init-first"] == "true"
    assert annotations["vault.hashicorp.com/role"] == "mnist"
    assert 'secret "secret/data/x/s3"' in annotations["vault.hashicorp.com/agent-inject-template-aws-credentials"]
    on_pvc = derived(model_storage="pvc", storage_uri="pvc://claim/m", **vault)
    assert on_pvc["vault"] is None and on_pvc["pod_annotations"] == {}


def test_storage_decides_uri_and_model_dir() -> None:
    assert derived()["storage_uri"] == "s3://bucket/mnist"
    assert derived()["model_dir"] == "/mnt/models"
    baked = derived(model_storage="image")
    assert baked["storage_uri"] is None and baked["model_dir"] == "/opt/model"
    # No storage initializer runs for a baked model: the Istio CNI fix for it does not apply.
    assert derived(model_storage="image", environment="lab2")["required_annotations"] == {}


def test_the_kit_version_comes_from_pyproject_and_needs_no_tag() -> None:
    import tomllib

    from extensions.derive import KIT_ROOT

    version = tomllib.loads((KIT_ROOT / "pyproject.toml").read_text())["project"]["version"]
    kit = derived()
    assert kit["version"] == kit["facts"]["kit_version"] == kit["isvc_annotations"]["kserve-template/kit-version"]
    assert kit["version"] == version
    assert next(iter(kit["isvc_annotations"])) == "kserve-template/kit-version"  # first: away from owners' additions


def test_tooling_source_is_a_pip_direct_reference() -> None:
    from extensions.derive import tooling_source

    assert tooling_source("/srv/kits/kserve-template") == "file:///srv/kits/kserve-template"
    assert tooling_source("gh:agora/kserve-template") == "git+https://github.com/agora/kserve-template.git"
    assert (
        tooling_source("https://git.example.com/kserve-template.git")
        == "git+https://git.example.com/kserve-template.git"
    )
    assert (
        tooling_source("git@github.com:agora/kserve-template.git")
        == "git+ssh://git@github.com/agora/kserve-template.git"
    )
