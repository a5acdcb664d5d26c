"""Every question's validator: a unit test of the rule, and the refusal seen through Copier."""

from __future__ import annotations

from pathlib import Path

import pytest
from copier import run_copy

from extensions import validation
from tests.conftest import KIT_ROOT


def test_platform_must_have_a_profile() -> None:
    assert validation.platform_error("agora") == ""
    assert "choose one of agora" in validation.platform_error("nowhere")


def test_service_name_must_be_a_dns_1035_label() -> None:
    assert validation.service_name_error("iris-classifier", "agora") == ""
    for bad in ("Iris", "1iris", "iris_classifier", "iris-", "-iris", ""):
        assert validation.service_name_error(bad, "agora"), bad


def test_service_name_alone_can_break_the_hostname_budget() -> None:
    # <name>-predictor-x-lambda must fit 63 characters: 63 - len("-predictor-x-lambda") = 44.
    assert validation.service_name_error("a" * 44, "agora") == ""
    assert "1 characters too long" in validation.service_name_error("a" * 45, "agora")


def test_namespace_error_says_how_many_characters_to_cut() -> None:
    assert validation.namespace_error("kserve-test", "iris", "agora") == ""
    message = validation.namespace_error("n" * 30, "s" * 20, "agora")
    # s*20 + "-predictor-" + n*30 + "-lambda" = 68 characters: 5 too many.
    assert "is 68 characters" in message and "by 5 characters" in message
    assert validation.namespace_error("Bad_NS", "iris", "agora")
    assert validation.namespace_error("", "iris", "agora") == "The namespace is required"


def test_owner_must_be_a_label_value() -> None:
    assert validation.label_value_error("The owner", "vision-ai") == ""
    assert validation.label_value_error("The owner", "") == "The owner is required"
    assert validation.label_value_error("The owner", "vision ai")
    assert validation.label_value_error("The owner", "x" * 64)


def test_description_is_one_short_line() -> None:
    assert validation.description_error("Detects people.") == ""
    assert validation.description_error("  ")
    assert validation.description_error("two\nlines")
    assert validation.description_error("x" * 201)


def test_resources_are_quantities_with_request_not_above_limit() -> None:
    assert validation.resources_error("CPU", "500m", "1") == ""
    assert validation.resources_error("memory", "512Mi", "1Gi") == ""
    assert "not a Kubernetes quantity" in validation.resources_error("CPU", "half", "1")
    assert "larger than the limit" in validation.resources_error("memory", "2Gi", "1Gi")
    assert "greater than zero" in validation.resources_error("CPU", "0", "1")
    assert validation.quantity_to_float("1.5Gi") == 1.5 * 2**30


def test_replicas_are_ordered() -> None:
    assert validation.replicas_error(0, 1) == ""
    assert validation.replicas_error(3, 2)
    assert validation.replicas_error(-1, 2)
    assert validation.replicas_error(0, 0)


def test_storage_uri_matches_the_storage_kind() -> None:
    assert validation.storage_uri_error("s3://bucket/models/iris", "s3") == ""
    assert validation.storage_uri_error("pvc://claim/iris", "pvc") == ""
    assert validation.storage_uri_error("gs://bucket/iris", "s3")
    assert validation.storage_uri_error("s3://", "s3")
    assert validation.storage_uri_error("s3://bucket/with space", "s3")


def test_image_repository_must_be_on_an_allowed_registry() -> None:
    assert validation.image_repository_error("ghcr.io/team/iris", "agora") == ""
    message = validation.image_repository_error("registry.example.com/team/iris", "agora")
    assert "not allowed" in message and "Image Registries" in message
    assert "without a tag" in validation.image_repository_error("ghcr.io/team/iris:1.0", "agora")
    assert validation.image_repository_error("ghcr.io/Team/Iris", "agora")


def test_vault_secret_path_is_a_path_not_a_value() -> None:
    assert validation.vault_path_error("secret/data/vision-ai/s3") == ""
    assert validation.vault_path_error("AKIAIOSFODNN7EXAMPLE")
    assert validation.vault_path_error("secret/data/with space")


@pytest.mark.parametrize(
    ("answers", "message"),
    [
        ({"service_name": "Iris_Classifier"}, "is not a DNS label"),
        ({"service_name": "s" * 30, "namespace": "n" * 20}, "by 5 characters"),
        ({"namespace": "Kserve Test"}, "is not a DNS label"),
        ({"owner": ""}, "The owner is required"),
        ({"description": ""}, "The description is required"),
        ({"environment": "prod"}, "prod"),
        ({"runtime": "onnx"}, "Invalid choice for 'runtime'"),
        ({"inference_protocol": "v3"}, "Invalid choice for 'inference_protocol'"),
        ({"model_storage": "gcs"}, "Invalid choice for 'model_storage'"),
        ({"visibility": "public"}, "Invalid choice for 'visibility'"),
        ({"cpu_request": "2", "cpu_limit": "1"}, "larger than the limit"),
        ({"memory_limit": "lots"}, "not a Kubernetes quantity"),
        ({"min_replicas": 4, "max_replicas": 2}, "larger than the maximum"),
        ({"storage_uri": "gs://bucket/iris"}, "must look like s3://"),
        ({"image_repository": "registry.example.com/team/iris"}, "not allowed"),
        ({"vault_secret_path": "not a path"}, "not a Vault secret path"),
        ({"vault_role": ""}, "The Vault role is required"),
        ({"platform": "nowhere"}, "nowhere"),
    ],
)
def test_copier_refuses_bad_answers_and_renders_nothing(tmp_path: Path, answers: dict, message: str) -> None:
    destination = tmp_path / "service"
    with pytest.raises(ValueError, match=message):
        run_copy(str(KIT_ROOT), str(destination), data=answers, defaults=True, unsafe=True, vcs_ref="HEAD", quiet=True)
    assert not destination.exists() or not any(destination.iterdir())
