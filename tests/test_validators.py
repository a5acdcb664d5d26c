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


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("Bad_Name", "No upper-case, '_': use lower-case letters, digits, '-', e.g. bad-name"),
        ("iris classifier", "No ' ': use lower-case letters, digits, '-', e.g. iris-classifier"),
        ("1iris", "Start with a letter and end with a letter or digit, e.g. iris-classifier"),
        ("iris-", "Start with a letter and end with a letter or digit, e.g. iris"),
    ],
)
def test_a_bad_name_is_told_what_is_wrong_with_it_and_a_fix(name: str, message: str) -> None:
    assert validation.service_name_error(name, "agora") == message


def test_service_name_alone_can_break_the_hostname_budget() -> None:
    # <name>-predictor-x-lambda must fit 63 characters: 63 - len("-predictor-x-lambda") = 44.
    assert validation.service_name_error("a" * 44, "agora") == ""
    assert validation.service_name_error("a" * 45, "agora") == (
        "Name 1 too long: the external host label would be 64 of 63 characters"
    )


def test_every_name_kserve_derives_in_standard_mode_is_budgeted() -> None:
    # kube_ingress_reconciler.go / GenerateDomainName: <name>-predictor-<namespace> is a host label too
    # (the reproduction: 66 characters, so KServe never creates the route).
    name = "fraud-detector-gradient-boost1"
    message = validation.namespace_error("payments-risk-scoring-prd", name, "example-standard")
    assert message == "Namespace 3 too long: the predictor host label would be 66 of 63 characters"
    assert validation.namespace_error("payments-risk-scoring", name, "example-standard") == ""
    # The Deployment's pod label isvc.<name>-predictor (GetRawServiceLabel) caps the name at 48.
    assert validation.service_name_error("a" * 48, "example-standard") == ""
    assert validation.service_name_error("a" * 49, "example-standard") == (
        "Name 1 too long: the predictor pod label value would be 64 of 63 characters"
    )
    # And the default namespace is cut to fit them all.
    assert validation.fitting_namespace("a" * 45, "example-standard", "kserve-test") == "kserve"


@pytest.mark.parametrize("name", ["tests", "training", "kserve", "torch", "json", "http", "kserve-kit", "yaml"])
def test_service_name_may_not_shadow_a_module_the_repo_imports(name: str) -> None:
    assert "would shadow the Python module" in validation.service_name_error(name, "agora")


def test_namespace_error_says_how_many_characters_to_cut() -> None:
    assert validation.namespace_error("kserve-test", "iris", "agora") == ""
    message = validation.namespace_error("n" * 30, "s" * 20, "agora")
    # s*20 + "-predictor-" + n*30 + "-lambda" = 68 characters: 5 too many.
    assert message == "Namespace 5 too long: the external host label would be 68 of 63 characters"
    assert validation.namespace_error("n" * 25, "s" * 20, "agora") == ""  # the budget it named fits
    bad = validation.namespace_error("Bad_NS", "iris", "agora")
    assert bad == "No upper-case, '_': use lower-case letters, digits, '-', e.g. bad-ns"
    assert validation.namespace_error("", "iris", "agora").startswith("Namespace is required")


def test_owner_must_be_a_label_value() -> None:
    assert validation.label_value_error("The owner", "vision-ai") == ""
    assert validation.label_value_error("The owner", "").startswith("The owner is required")
    assert validation.label_value_error("The owner", "vision ai")
    assert validation.label_value_error("The owner", "x" * 64)


def test_description_is_one_short_line() -> None:
    assert validation.description_error("Detects people.") == ""
    assert validation.description_error("  ")
    assert validation.description_error("two\nlines")
    assert validation.description_error("x" * 201)


def test_resources_are_quantities_with_request_not_above_limit() -> None:
    assert validation.quantity_error("CPU request", "500m") == ""
    assert "not a Kubernetes quantity" in validation.quantity_error("CPU request", "half")
    assert "greater than zero" in validation.quantity_error("CPU request", "0")
    assert validation.resources_error("CPU", "500m", "1") == ""
    assert validation.resources_error("memory", "512Mi", "1Gi") == ""
    assert "below the request" in validation.resources_error("memory", "2Gi", "1Gi")
    assert validation.quantity_to_float("1.5Gi") == 1.5 * 2**30


def test_limit_defaults_follow_the_request() -> None:
    assert validation.at_least("2", "1") == "2" and validation.at_least("500m", "1") == "1"
    assert validation.at_least("2Gi", "1Gi") == "2Gi" and validation.at_least("lots", "1Gi") == "1Gi"


def test_namespace_default_always_fits() -> None:
    long_name = "a" * 44
    default = validation.fitting_namespace(long_name, "agora", "kserve-test")
    assert validation.namespace_error(default, long_name, "agora") == ""
    assert validation.fitting_namespace("iris", "agora", "kserve-test") == "kserve-test"


def test_replicas_are_whole_numbers_in_order() -> None:
    assert validation.replicas_error("0", "1") == ""
    assert validation.replicas_error("3", "2")
    assert "whole number" in validation.replicas_error("-1")
    assert "whole number" in validation.replicas_error("abc")
    assert validation.replicas_error("0", "0")


def test_only_knative_mode_scales_to_zero() -> None:
    assert validation.replicas_error("0", "3", "knative") == ""
    assert "Standard mode cannot scale to zero" in validation.replicas_error("0", "3", "standard")
    assert validation.replicas_error("1", "3", "standard") == ""


def test_scale_down_delay_is_a_bounded_duration() -> None:
    for good in ("0s", "90s", "5m", "1h", "59m30s"):
        assert validation.duration_error("The delay", good, 3600) == "", good
    for bad in ("", "5", "five minutes", "-1m", "5 m"):
        assert "duration such as" in validation.duration_error("The delay", bad, 3600), bad
    assert "at most 60 minutes" in validation.duration_error("The delay", "1h1s", 3600)


def test_storage_uri_matches_the_storage_kind() -> None:
    assert validation.storage_uri_error("s3://bucket/models/iris", "s3") == ""
    assert validation.storage_uri_error("pvc://claim/iris", "pvc") == ""
    assert validation.storage_uri_error("", "image") == ""
    assert "needs no storage URI" in validation.storage_uri_error("s3://b/x", "image")
    for bad in ("gs://bucket/iris", "s3://", "s3://bucket/with space", "s3://Bucket/x", "s3://ab/x",
                "s3://192.168.0.1/x", "s3://a..b/x"):  # fmt: skip
        assert validation.storage_uri_error(bad, "s3"), bad
    assert "PVC claim" in validation.storage_uri_error("pvc://My_Claim/x", "pvc")


def test_hugging_face_and_oci_uris_are_what_kserve_reads() -> None:
    """hf://<org>/<model>[:<revision>] exactly (KServe's _download_hf splits on one '/'); oci:// an image
    reference with a tag or digest (a modelcar's image)."""
    for good in ("hf://my-org/my-model", "hf://Qwen/Qwen2.5-0.5B-Instruct", "hf://org/model:main"):
        assert validation.storage_uri_error(good, "hf") == "", good
    for bad in ("hf://org", "hf://org/model/extra", "hf://../model", "hf://org/", "hf://org/model:a..b"):
        assert validation.storage_uri_error(bad, "hf"), bad
    assert validation.storage_uri_error("oci://ghcr.io/my-org/my-model:1.0", "oci") == ""
    assert validation.storage_uri_error("oci://ghcr.io/org/model@sha256:" + "a" * 64, "oci") == ""
    assert "tag or digest" in validation.storage_uri_error("oci://ghcr.io/org/model", "oci")
    assert "oci://<registry>/" in validation.storage_uri_error("oci://model:1.0", "oci")
    for storage in ("s3", "pvc", "hf", "oci"):  # each default is valid for its kind
        uri = validation.storage_uri_default(storage, "vision-ai", "iris-classifier", "agora")
        assert validation.storage_uri_error(uri, storage) == "", uri


def test_a_storage_the_environments_kserve_does_not_serve_is_refused() -> None:
    assert validation.model_storage_error("hf", "text-generation", "agora", "dev") == ""  # KServe 0.15.2
    assert validation.model_storage_error("oci", "vllm", "agora", "lab2") == ""
    assert "choose s3, pvc, hf or oci" in validation.model_storage_error("image", "vllm", "agora", "dev")
    assert validation.vault_error(True, "hf") == ""  # a private or gated model's token
    assert "there are none" in validation.vault_error(True, "oci")


def test_image_repository_must_be_on_an_allowed_registry() -> None:
    assert validation.image_repository_error("ghcr.io/team/iris", "agora") == ""
    assert "not allowed" in validation.image_repository_error("registry.example.com/team/iris", "agora")
    assert "without a tag" in validation.image_repository_error("ghcr.io/team/iris:1.0", "agora")
    assert validation.image_repository_error("ghcr.io/Team/Iris", "agora")
    assert "e.g. docker.io/myteam/iris" in validation.image_repository_error("myteam/iris", "agora")


def test_vault_secret_path_is_a_path_not_a_value() -> None:
    assert validation.vault_path_error("secret/data/vision-ai/s3") == ""
    assert validation.vault_path_error("AKIAIOSFODNN7EXAMPLE")
    assert validation.vault_path_error("secret/data/with space")
    assert "'..'" in validation.vault_path_error("secret/data/../other")
    assert "'..'" in validation.vault_path_error("secret/./data")


def test_answers_that_do_not_apply_are_refused() -> None:
    assert "runs on CPU" in validation.gpu_error(True, "sklearn", ["torchserve"])
    assert validation.gpu_error(False, "sklearn", ["torchserve"]) == ""
    assert "answer no" in validation.vault_error(True, "pvc")
    assert validation.vault_error(False, "pvc") == ""
    assert "has no Vault" in validation.vault_error(True, "s3", "example-standard")
    assert validation.vault_error(False, "s3", "example-standard") == ""


@pytest.mark.parametrize(
    ("validator", "arguments"),
    [
        (validation.service_name_error, ("Iris_Classifier", "agora")),
        (validation.service_name_error, ("a" * 60, "agora")),
        (validation.namespace_error, ("n" * 60, "s" * 40, "agora")),
        (validation.label_value_error, ("The Vault role", "x y")),
        (validation.resources_error, ("memory", "8Gi", "1Gi")),
        (validation.storage_uri_error, ("s3://x/y", "s3")),
        (validation.image_repository_error, ("a-very-long-team-name/with-a-very-long-image-name", "agora")),
        (validation.image_repository_error, ("registry.example.com/team/iris", "agora")),
        (validation.vault_path_error, ("not a path",)),
    ],
)
def test_messages_fit_one_terminal_line(validator, arguments) -> None:  # type: ignore[no-untyped-def]
    message = validator(*arguments)
    assert message and len(message) <= validation.MESSAGE_MAX, message


@pytest.mark.parametrize(
    ("answers", "message"),
    [
        ({"service_name": "Iris_Classifier"}, "lower-case letters"),
        ({"service_name": "s" * 30, "namespace": "n" * 20}, "Namespace 5 too long: the external host label"),
        ({"namespace": "Kserve Test"}, "lower-case letters"),
        ({"owner": ""}, "The owner is required"),
        ({"description": ""}, "The description is required"),
        ({"environment": "prod"}, "prod"),
        ({"runtime": "onnx"}, "Invalid choice for 'runtime'"),
        ({"inference_protocol": "v3"}, "Invalid choice for 'inference_protocol'"),
        ({"model_storage": "gcs"}, "Invalid choice for 'model_storage'"),
        ({"visibility": "public"}, "Invalid choice for 'visibility'"),
        ({"cpu_request": "2", "cpu_limit": "1"}, "below the request"),
        ({"cpu_request": "half"}, "not a Kubernetes quantity"),
        ({"memory_limit": "lots"}, "not a Kubernetes quantity"),
        ({"min_replicas": 4, "max_replicas": 2}, "at least the minimum"),
        ({"min_replicas": "abc"}, "whole number"),
        ({"storage_uri": "gs://bucket/iris"}, "must start with s3://"),
        ({"model_storage": "image", "storage_uri": "s3://b/x"}, "needs no storage URI"),
        ({"model_storage": "pvc", "vault": True}, "Vault injects storage credentials"),
        ({"gpu": True}, "sklearn runs on CPU"),
        ({"service_name": "tests"}, "would shadow"),
        ({"image_repository": "registry.example.com/team/iris"}, "not allowed"),
        ({"vault_secret_path": "not a path"}, "Not a Vault path"),
        ({"vault_role": ""}, "The Vault role is required"),
        ({"platform": "nowhere"}, "nowhere"),
    ],
)
def test_copier_refuses_bad_answers_and_renders_nothing(tmp_path: Path, answers: dict, message: str) -> None:
    destination = tmp_path / "service"
    with pytest.raises(ValueError, match=message):
        run_copy(str(KIT_ROOT), str(destination), data=answers, defaults=True, unsafe=True, vcs_ref="HEAD", quiet=True)
    assert not destination.exists() or not any(destination.iterdir())


def test_the_pull_secret_defaults_to_the_profiles_for_the_registry_and_must_be_a_secret_name() -> None:
    pull_secret_default, pull_secret_error = validation.pull_secret_default, validation.pull_secret_error
    assert pull_secret_default("registry.example.com/models/iris", "example-standard") == "registry-example-pull"
    assert pull_secret_default("docker.io/team/iris", "example-standard") == ""
    assert pull_secret_default("ghcr.io/woven-city/ns/iris", "agora") == ""
    assert pull_secret_error("") == "" and pull_secret_error("registry-pull.v2") == ""
    assert "A Secret's name" in pull_secret_error("Registry_Pull")


def test_copier_copy_into_a_folder_of_files_stops_before_writing(tmp_path: Path) -> None:
    folder = tmp_path / "existing"
    folder.mkdir()
    (folder / "README.md").write_text("the owner's\n")
    with pytest.raises(
        ValueError, match=r"already holds files \(README.md\): render into a new folder, or add --overwrite"
    ):
        run_copy(str(KIT_ROOT), str(folder), defaults=True, unsafe=True, vcs_ref="HEAD", quiet=True)
    assert [path.name for path in folder.iterdir()] == ["README.md"]  # nothing half-written
    run_copy(str(KIT_ROOT), str(folder), defaults=True, unsafe=True, vcs_ref="HEAD", quiet=True, overwrite=True)
    assert (folder / "kit.mk").is_file()


@pytest.mark.parametrize(
    ("validator", "arguments", "message"),
    [
        (validation.storage_uri_error, ("s3://models/a/../b", "s3"), "no '.', '..'"),
        (validation.storage_uri_error, ("s3://models/a//b", "s3"), "empty parts"),
        (validation.storage_uri_error, ("s3://models/a\x07b", "s3"), "control characters"),
        (validation.storage_uri_error, ("s3://models/a`<script>alert(1)</script>`", "s3"), "control characters"),
        (validation.storage_uri_error, ("pvc://claim/AKIAABCDEFGHIJKLMNOP", "pvc"), "an AWS access key id"),
        (validation.vault_path_error, ("kv/data/AKIAABCDEFGHIJKLMNOP",), "an AWS access key id"),
        (validation.quantity_error, ("memory request", "999999999Ei"), "more than any node has"),
        (validation.quantity_error, ("CPU limit", "100000"), "more than any node has"),
        (validation.replicas_error, ("1", "100000"), "at most 1000"),
    ],
)
def test_hostile_answers_are_refused_at_render_time(validator, arguments, message) -> None:  # type: ignore[no-untyped-def]
    """What would break out of the README's code spans, leak a key into the repo, or ask for a pod no
    node can hold: refused by the wizard, in one terminal line, not later by validate (or never)."""
    refusal = validator(*arguments)
    assert message in refusal and len(refusal) <= validation.MESSAGE_MAX, refusal
