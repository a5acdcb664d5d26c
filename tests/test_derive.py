"""The derived values: one function turns answers + platform profile into every URL and label."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from extensions.derive import derive
from extensions.kit_source import git_url, kit_pin, rendering_commit
from extensions.modes import MODES, names_for
from extensions.profile import available_platforms, environment_facts, load_profile

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
PLATFORMS = available_platforms()


def scaling_answers(platform: str, environment: str) -> dict[str, Any]:
    """The mode's scaling questions answered with the profile's defaults, as the wizard would."""
    mode = environment_facts(load_profile(platform), environment)["deployment_mode"]
    defaults = load_profile(platform)["autoscaling"][mode]
    answers = {f"{mode}_scale_metric": defaults["metric"], f"{mode}_scale_target": str(defaults["target"])}
    return answers | ({"knative_scale_down_delay": defaults["scale_down_delay"]} if mode == "knative" else {})


def derived(**changes: Any) -> dict[str, Any]:
    answers = {**BASE, **changes}
    if "environment" not in changes and answers["platform"] != BASE["platform"]:
        answers["environment"] = next(iter(load_profile(answers["platform"])["environments"]))
    return derive({**scaling_answers(answers["platform"], answers["environment"]), **answers})


def environments() -> list[tuple[str, str]]:
    return [(platform, env) for platform in PLATFORMS for env in load_profile(platform)["environments"]]


def test_agoras_endpoints_follow_the_guideline_formats() -> None:
    kit = derived()
    # "External Access": <isvc>-predictor-<namespace>-lambda.cityos-dev.woven-planet.tech
    assert kit["external_url"] == "http://pytorch-mnist-predictor-kserve-test-lambda.cityos-dev.woven-planet.tech"
    # "Internal Access": <isvc>-predictor.<namespace>.svc.cluster.local
    assert kit["internal_url"] == "http://pytorch-mnist-predictor.kserve-test.svc.cluster.local"
    assert kit["gateway_host_header"] == "pytorch-mnist-predictor.kserve-test"
    assert kit["facts"]["endpoints"]["external"] == kit["external_url"]  # what kserve-kit reads
    assert derived(visibility="cluster-local")["facts"]["endpoints"]["external"] is None


@pytest.mark.parametrize(("platform", "environment"), environments())
def test_each_environments_facts_come_from_its_profile_and_mode(platform: str, environment: str) -> None:
    profile = load_profile(platform)
    env = environment_facts(profile, environment)
    mode = MODES[env["deployment_mode"]]
    kit = derived(platform=platform, environment=environment)
    host = profile["external_host"].format(name="pytorch-mnist", namespace="kserve-test", domain=env["domain"])
    assert kit["external_url"] == f"http://{host}"
    assert kit["isvc_annotations"]["serving.kserve.io/deploymentMode"] == mode.name_for(env["kserve"]["version"])
    if mode.local_gateway:
        assert kit["local_gateway_url"] == f"http://{env['local_gateway']}"
        assert kit["gateway_host_header"] == "pytorch-mnist-predictor.kserve-test"
    else:  # Standard mode: in-cluster clients call the predictor's Service
        assert kit["local_gateway_url"] is None and kit["gateway_host_header"] is None
    uid = env["storage_initializer_uid"]
    annotations = kit["isvc_annotations"]
    assert annotations.get("serving.kserve.io/storage-initializer-uid") == (str(uid) if uid else None)
    assert kit["ready_unknown_is_known_issue"] == env["ready_unknown_is_known_issue"]
    assert kit["workspace_setup"] == env["workspace_setup"]
    labels = derived(platform=platform, environment=environment, visibility="cluster-local")["isvc_labels"]
    assert labels[mode.visibility_label] == "cluster-local"
    assert mode.visibility_label not in kit["isvc_labels"]


def test_the_mode_is_written_as_the_target_kserve_release_spells_it() -> None:
    # KServe 0.16 renamed the modes; 0.15 knows only the old names (and ignores the new ones).
    assert MODES["knative"].name_for("0.15.2") == "Serverless" and MODES["knative"].name_for("0.16.0") == "Knative"
    assert (
        MODES["standard"].name_for("0.15.2") == "RawDeployment" and MODES["standard"].name_for("0.17.0") == "Standard"
    )
    old, new = names_for("0.15.2"), names_for("0.17.0")
    assert set(old["accepted"]) == {"Serverless", "RawDeployment"} and old["deprecated"] == {}
    assert new["accepted"]["Knative"] == new["accepted"]["Serverless"] == "knative"
    assert new["deprecated"] == {"Serverless": "Knative", "RawDeployment": "Standard"}


def test_autoscaling_follows_the_mode() -> None:
    knative = derived(knative_scale_metric="rps", knative_scale_target="50", knative_scale_down_delay="5m")
    assert knative["scaling"] == {"metric": "rps", "target": 50, "unit": "requests per second per replica"}
    assert knative["isvc_annotations"]["autoscaling.knative.dev/scale-down-delay"] == "5m"
    assert "autoscaling.knative.dev/scale-down-delay" not in derived()["isvc_annotations"]  # 0s: Knative's default
    standard = derived(platform="example-standard", standard_scale_metric="memory", standard_scale_target="60")
    assert standard["scaling"]["metric"] == "memory" and standard["scaling"]["target"] == 60
    assert standard["isvc_annotations"]["serving.kserve.io/autoscalerClass"] == "hpa"


def test_next_gen_on_agora_needs_the_istio_cni_uid() -> None:
    uid = load_profile("agora")["generations"]["next-gen"]["storage_initializer_uid"]
    assert derived(environment="lab2")["isvc_annotations"]["serving.kserve.io/storage-initializer-uid"] == str(uid)


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
    for platform, environment in environments():
        assert derived(platform=platform, environment=environment, model_storage="image")["required_annotations"] == {}


def test_the_kit_version_comes_from_pyproject_and_needs_no_tag() -> None:
    import tomllib

    from extensions.derive import KIT_ROOT

    version = tomllib.loads((KIT_ROOT / "pyproject.toml").read_text())["project"]["version"]
    kit = derived()
    assert kit["version"] == kit["facts"]["kit_version"] == kit["isvc_annotations"]["kserve-template/kit-version"]
    assert kit["version"] == version
    assert next(iter(kit["isvc_annotations"])) == "kserve-template/kit-version"  # first: away from owners' additions


def test_the_kit_pin_is_an_immutable_reference_wherever_the_kit_comes_from(tmp_path: Path) -> None:
    assert git_url("gh:agora/kserve-template") == "https://github.com/agora/kserve-template.git"
    assert git_url("git@github.com:agora/kserve-template.git") == "ssh://git@github.com/agora/kserve-template.git"
    assert git_url("/srv/kits/kserve-template") is None
    kit = tmp_path / "kit"
    kit.mkdir()
    subprocess.run(["git", "init", "-q", str(kit)], check=True)
    (kit / "a").write_text("a")
    commit = ["git", "-C", str(kit), "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "-m"]
    subprocess.run(["git", "-C", str(kit), "add", "-A"], check=True)
    subprocess.run([*commit, "kit"], check=True)
    head = subprocess.run(["git", "-C", str(kit), "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    canonical = {"git": "https://git.example.com/platform/kserve-template.git"}

    remote = kit_pin("gh:agora/kserve-template", "1.2.0", canonical, kit)
    assert (
        remote.requirement
        == remote.ci_requirement
        == f"kserve-kit @ git+https://github.com/agora/kserve-template.git@{head}"
    )
    assert remote.notice == ""
    local = kit_pin(str(kit), "1.2.0", canonical, kit)
    assert local.requirement == f"kserve-kit @ git+{kit.as_uri()}@{head}"
    assert local.ci_requirement == f"kserve-kit @ git+{canonical['git']}@{head}" and "must be published" in local.notice
    indexed = kit_pin(str(kit), "1.2.0", {"index": "https://pypi.example.com/simple"}, kit)
    assert (indexed.ci_requirement, indexed.ci_index) == ("kserve-kit==1.2.0", "https://pypi.example.com/simple")
    # Copier's commit of a dirty checkout: the checkout itself, said loudly, and CI at the commit under it.
    subprocess.run(["git", "-C", str(kit), "add", "-A"], check=True)
    subprocess.run([*commit, "Copier automated commit for draft changes", "--allow-empty"], check=True)
    rendering_commit.cache_clear()
    draft = kit_pin(str(kit), "1.2.0", canonical, kit)
    assert draft.draft and draft.commit == head and draft.requirement == f"kserve-kit @ {kit.as_uri()}"
    assert "uncommitted changes" in draft.notice


def test_the_kits_renovate_config_pins_every_base_image_of_every_profile() -> None:
    """renovate.json (the kit's) keeps base images as name:tag@sha256:<digest>; its pattern must match
    each one, digest or not, or that image would build from a moving tag unnoticed."""
    [manager] = json.loads((Path(__file__).parent.parent / "renovate.json").read_text())["customManagers"]
    [pattern] = [re.compile(text.replace("(?<", "(?P<")) for text in manager["matchStrings"]]
    for platform in available_platforms():
        images = [image for devices in load_profile(platform)["base_images"].values() for image in devices.values()]
        for image in images:
            assert pattern.fullmatch(image), (platform, image)
            assert pattern.fullmatch(f"{image}@sha256:{'0' * 64}"), (platform, image)
