"""The manifests in k8s/ pass `make validate` and agree with service.yaml."""

from __future__ import annotations

import yaml

from scripts.service_facts import REPO_ROOT, load_service
from scripts.validate import main as validate
from scripts.validate import type_errors

SERVICE = load_service()


def load(name: str) -> dict:
    return yaml.safe_load((REPO_ROOT / "k8s" / name).read_text(encoding="utf-8"))


def test_manifests_validate() -> None:
    assert validate([]) == 0


def test_a_misspelled_field_is_reported_with_its_path() -> None:
    isvc = load("inference-service.yaml")
    isvc["spec"]["predictor"]["model"]["storageURI"] = "s3://typo"
    errors = list(type_errors(isvc, "V1beta1InferenceService", "InferenceService"))
    assert len(errors) == 1
    assert errors[0].startswith("InferenceService.spec.predictor.model.storageURI: unknown field")
    assert "storageUri" in errors[0]  # the message lists the right spelling


def test_inference_service_matches_the_service() -> None:
    isvc = load("inference-service.yaml")
    assert isvc["metadata"]["name"] == SERVICE["name"]
    assert isvc["metadata"]["namespace"] == SERVICE["namespace"]
    assert isvc["spec"]["predictor"]["model"]["protocolVersion"] == SERVICE["protocol"]
    cluster_local = isvc["metadata"]["labels"].get(SERVICE["visibility_label"]) == "cluster-local"
    assert cluster_local == (SERVICE["visibility"] == "cluster-local")
