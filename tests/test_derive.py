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
    assert kit["external_host"] == "pytorch-mnist-predictor-kserve-test-lambda.cityos-dev.woven-planet.tech"
    # "Internal Access": <isvc>-predictor.<namespace>.svc.cluster.local
    assert kit["internal_host"] == "pytorch-mnist-predictor.kserve-test.svc.cluster.local"
    assert kit["gateway_host_header"] == "pytorch-mnist-predictor.kserve-test"


def test_legacy_and_next_gen_gateways_and_annotations() -> None:
    legacy, next_gen = derived(environment="lab"), derived(environment="lab2")
    assert legacy["local_gateway"] == "knative-local-gateway.istio-system.svc.cluster.local"
    assert next_gen["local_gateway"] == "knative-local-gateway.knative-serving.svc.cluster.local"
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
    assert with_vault["service_account_name"] == "pytorch-mnist-vault"
    annotations = with_vault["pod_annotations"]
    assert annotations["vault.hashicorp.com/agent-init-first"] == "true"
    assert annotations["vault.hashicorp.com/role"] == "mnist"
    assert 'secret "secret/data/x/s3"' in annotations["vault.hashicorp.com/agent-inject-template-aws-credentials"]
    on_pvc = derived(model_storage="pvc", storage_uri="pvc://claim/m", **vault)
    assert on_pvc["service_account_name"] is None and on_pvc["pod_annotations"] == {}


def test_storage_decides_uri_and_model_dir() -> None:
    assert derived()["storage_uri"] == "s3://bucket/mnist"
    assert derived()["model_dir"] == "/mnt/models"
    baked = derived(model_storage="image")
    assert baked["storage_uri"] is None and baked["model_dir"] == "/opt/model"
