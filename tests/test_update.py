"""`make update` (kserve-kit update = copier update + a conflict check) on the kit's real history.

Each test clones the kit's own git repository into tmp_path: a released version is the commit its
CHANGELOG section names, and "now" is that clone with today's working tree committed on top. Tags are
created only where a test says so: updates must work with and without them.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml
from copier import run_copy

from extensions.migrations.move_file import move_file
from extensions.migrations.rename_answer import rename_answer
from extensions.migrations.rename_label import rename_label
from extensions.profile import environment_facts, load_profile
from kserve_kit.__main__ import main as kit
from tests.conftest import KIT_ROOT, answers_of, facts_of, run_make
from tests.history import commit_all, git, released_versions, render, update


def isvc_of(service: Path) -> dict[str, Any]:
    return yaml.safe_load((service / "k8s" / "inference-service.yaml").read_text(encoding="utf-8"))


def test_changelog_names_a_commit_for_every_release() -> None:
    versions = released_versions()
    assert {"0.1.0", "0.2.0", "0.3.0"} <= set(versions), versions
    for commit in versions.values():
        git(KIT_ROOT, "cat-file", "-e", f"{commit}^{{commit}}")


def test_0_3_service_moves_to_the_thin_layout_keeping_the_owners_work(
    kit_repo: Path, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    service = render(kit_repo, tmp_path / "service", released_versions()["0.3.0"], inference_protocol="v2")
    assert (service / "scripts" / "smoke.py").is_file() and (service / "service.yaml").is_file()
    # The owner's own work: model code, the sample request, a label of their own.
    model = service / "iris_classifier" / "model.py"
    model.write_text(model.read_text() + '\n\ndef owner_helper() -> str:\n    return "kept"\n')
    sample = service / "scripts" / "sample.json"
    sample.write_text(sample.read_text().replace('"expected": [0, 1, 2]', '"expected": [0, 1, 2], "owner": true'))
    isvc_file = service / "k8s" / "inference-service.yaml"
    isvc_file.write_text(
        isvc_file.read_text().replace("    team: ml-team\n", "    team: ml-team\n    cost-center: cc-42\n")
    )
    commit_all(service, "owner edits")

    assert update(service) == 0, capfd.readouterr()

    assert "migration: moved scripts/sample.json to sample.json" in capfd.readouterr().out  # the copier task's
    assert not (service / "scripts").exists() and not (service / "service.yaml").exists()
    assert not (service / "tests" / "fixtures").exists()
    version = tomllib.loads((kit_repo / "pyproject.toml").read_text())["project"]["version"]
    assert (
        facts_of(service)["kit_version"]
        == version
        == isvc_of(service)["metadata"]["annotations"]["kserve-template/kit-version"]
    )
    assert '"owner": true' in (service / "sample.json").read_text()
    assert "def owner_helper" in model.read_text()
    isvc = isvc_of(service)
    assert isvc["metadata"]["labels"]["cost-center"] == "cc-42"
    assert isvc["spec"]["predictor"]["model"]["protocolVersion"] == "v2"
    assert answers_of(service)["inference_protocol"] == "v2"


def test_an_untagged_update_keeps_a_renamed_answer(kit_repo: Path, tmp_path: Path) -> None:
    """0.1.0 called the answer `protocol`; nothing is tagged, yet the migration runs and v2 stays v2."""
    service = render(kit_repo, tmp_path / "service", released_versions()["0.1.0"], protocol="v2")
    assert answers_of(service)["protocol"] == "v2"
    update(service)
    assert answers_of(service)["inference_protocol"] == "v2" and "protocol" not in answers_of(service)
    assert isvc_of(service)["spec"]["predictor"]["model"]["protocolVersion"] == "v2"


def test_conflicts_stop_the_update_and_name_each_file(
    kit_repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    service = render(kit_repo, tmp_path / "service", "HEAD")
    isvc_file = service / "k8s" / "inference-service.yaml"
    # The owner pinned the guidance label by hand; the next release changes the same line.
    isvc_file.write_text(isvc_file.read_text().replace("'2026.11'", "'owner-pinned'"))
    commit_all(service, "owner pins the label")
    profile = kit_repo / "platforms" / "agora.yml"
    profile.write_text(profile.read_text().replace('guidance_version: "2026.11"', 'guidance_version: "2026.12"'))
    commit_all(kit_repo, "new guidance")

    assert update(service) == 1
    captured = capsys.readouterr()
    assert "k8s/inference-service.yaml:" in captured.err and "merge conflict left by an update" in captured.err
    assert "1 conflict(s)" in captured.out
    text = isvc_file.read_text()
    assert "owner-pinned" in text and "2026.12" in text  # both sides kept for the owner to choose
    assert kit(["--repo", str(service), "conflicts"]) == 1
    assert update(service) == 2  # refuses to run again before they are resolved
    assert "resolve the conflicts of the last update first" in capsys.readouterr().err


def test_legacy_to_next_gen_update_equals_a_fresh_next_gen_render(kit_repo: Path, tmp_path: Path) -> None:
    service = render(kit_repo, tmp_path / "service", "HEAD", environment="dev", visibility="cluster-local")
    model = service / "iris_classifier" / "model.py"
    model.write_text(model.read_text() + "\n# owner's note\n")
    commit_all(service, "owner edits")

    assert update(service, "--data", "environment=lab2") == 0

    fresh = tmp_path / "fresh"
    run_copy(
        str(kit_repo), str(fresh), data={"environment": "lab2", "visibility": "cluster-local"},
        defaults=True, unsafe=True, vcs_ref="HEAD", quiet=True,
    )  # fmt: skip
    generated = sorted(
        str(path.relative_to(fresh)) for path in fresh.rglob("*") if path.is_file() and path.name != "model.py"
    )
    assert "k8s/workspace-setup.yaml" in generated
    for name in generated:
        assert (service / name).read_text() == (fresh / name).read_text(), name
    next_gen = environment_facts(load_profile("agora"), "lab2")
    isvc = isvc_of(service)
    assert isvc["metadata"]["annotations"]["serving.kserve.io/storage-initializer-uid"] == str(
        next_gen["storage_initializer_uid"]
    )
    assert facts_of(service)["endpoints"]["local_gateway"] == f"http://{next_gen['local_gateway']}"
    assert model.read_text().endswith("# owner's note\n")  # the owner's code is untouched


def move_next_gen_to_standard(kit_repo: Path) -> None:
    """A kit release in which the platform moves its next-gen clusters to KServe's Standard mode."""
    profile = kit_repo / "platforms" / "agora.yml"
    text = profile.read_text()
    next_gen = text.index("  next-gen:")
    text = text[:next_gen] + text[next_gen:].replace("deployment_mode: knative", "deployment_mode: standard", 1)
    text = text.replace("local_gateway: knative-local-gateway.knative-serving.svc.cluster.local", "local_gateway: null")
    profile.write_text(text)
    commit_all(kit_repo, "next-gen runs KServe in Standard mode")


def own_manifest_with_the_knative_label(service: Path) -> Path:
    """An owner's own manifest that copied the Knative visibility label."""
    own = service / "k8s" / "own-route.yaml"
    own.write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: own-route\n  labels:\n"
        "    networking.knative.dev/visibility: cluster-local\n"
    )
    commit_all(service, "the owner's own manifest")
    return own


def test_a_release_that_moves_the_environment_to_standard_mode_moves_the_service(
    kit_repo: Path, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    answers = {"environment": "lab2", "visibility": "cluster-local", "knative_scale_target": "25"}
    service = render(kit_repo, tmp_path / "service", "HEAD", **answers)
    own = own_manifest_with_the_knative_label(service)
    move_next_gen_to_standard(kit_repo)

    assert update(service) == 0
    out = capfd.readouterr().out  # the migration runs in a process of its own
    assert "deployment mode Knative -> Standard" in out and "MIGRATION-deployment-mode.md" in out
    assert "no longer asked, so no longer recorded: knative_scale_down_delay" in out
    isvc = isvc_of(service)
    assert isvc["metadata"]["annotations"]["serving.kserve.io/deploymentMode"] == "RawDeployment"  # KServe 0.15
    assert isvc["metadata"]["labels"]["networking.kserve.io/visibility"] == "cluster-local"
    assert "networking.knative.dev/visibility" not in isvc["metadata"]["labels"]
    assert "networking.kserve.io/visibility: cluster-local" in own.read_text()
    assert isvc["spec"]["predictor"]["scaleMetric"] == "cpu"  # the Standard questions, at their defaults
    recorded = answers_of(service)
    assert recorded["standard_scale_target"] == "80" and "knative_scale_target" not in recorded
    report = (service / "MIGRATION-deployment-mode.md").read_text()
    assert "kubectl delete inferenceservice iris-classifier -n" in report
    assert "knative-local-gateway.knative-serving.svc.cluster.local" in report  # the endpoint that went away
    assert facts_of(service)["endpoints"]["local_gateway"] is None


def test_moving_to_an_environment_of_another_mode_equals_a_fresh_render(kit_repo: Path, tmp_path: Path) -> None:
    move_next_gen_to_standard(kit_repo)
    service = render(kit_repo, tmp_path / "service", "HEAD", environment="dev")
    model = service / "iris_classifier" / "model.py"
    model.write_text(model.read_text() + "\n# owner's note\n")
    commit_all(service, "owner edits")

    assert update(service, "--data", "environment=lab2") == 0

    fresh = tmp_path / "fresh"
    run_copy(str(kit_repo), str(fresh), data={"environment": "lab2"}, defaults=True, unsafe=True, vcs_ref="HEAD",
             quiet=True)  # fmt: skip
    for path in fresh.rglob("*"):
        if path.is_file() and path.name not in ("model.py", ".copier-answers.yml"):
            name = path.relative_to(fresh)
            assert (service / name).read_text() == path.read_text(), name
    assert answers_of(service) | {"_commit": None} == answers_of(fresh) | {"_commit": None}
    assert (service / "MIGRATION-deployment-mode.md").is_file()
    assert model.read_text().endswith("# owner's note\n")


def test_a_kserve_release_that_renames_the_mode_is_said_with_what_kserve_may_refuse(
    kit_repo: Path, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    service = render(kit_repo, tmp_path / "service", "HEAD")
    profile = kit_repo / "platforms" / "agora.yml"
    profile.write_text(profile.read_text().replace('version: "0.15.2"', 'version: "0.16.0"'))
    commit_all(kit_repo, "the clusters run KServe 0.16")

    assert update(service) == 0
    out = capfd.readouterr().out
    assert "deployment mode Serverless is now written Knative" in out and "same mode" in out
    assert isvc_of(service)["metadata"]["annotations"]["serving.kserve.io/deploymentMode"] == "Knative"
    report = (service / "MIGRATION-deployment-mode.md").read_text()
    assert "kubectl delete inferenceservice iris-classifier" in report


def test_a_standard_mode_environment_refuses_the_knative_only_scale_to_zero(
    kit_repo: Path, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    service = render(kit_repo, tmp_path / "service", "HEAD", environment="lab2", min_replicas="0")
    move_next_gen_to_standard(kit_repo)

    assert update(service) == 1  # never a silent min_replicas 1
    errors = capfd.readouterr().err
    assert "the new kit refuses your recorded answer min_replicas: '0': Standard mode cannot scale to zero" in errors
    assert 'make update ARGS="--data min_replicas=<value>"' in errors
    assert git(service, "status", "--porcelain") == ""  # stopped before anything was written


def test_make_update_refuses_a_dirty_tree_and_a_repo_without_git(
    kit_repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    service = render(kit_repo, tmp_path / "service", "HEAD")
    (service / "README.md").write_text("uncommitted\n")
    assert update(service) == 2
    assert "commit or stash your changes first" in capsys.readouterr().err
    shutil.rmtree(service / ".git")
    assert update(service) == 2
    assert "is not a git repository" in capsys.readouterr().err


def test_rename_answer_is_idempotent(tmp_path: Path) -> None:
    answers = tmp_path / ".copier-answers.yml"
    answers.write_text("_commit: v0.1.0\nprotocol: v2\nservice_name: iris\n")
    assert rename_answer(answers, "protocol", "inference_protocol") is True
    expected = {"_commit": "v0.1.0", "inference_protocol": "v2", "service_name": "iris"}
    assert yaml.safe_load(answers.read_text()) == expected
    assert rename_answer(answers, "protocol", "inference_protocol") is False


def test_rename_label_is_idempotent_and_leaves_values_alone(tmp_path: Path) -> None:
    manifests = tmp_path / "k8s"
    manifests.mkdir()
    extra = manifests / "extra.yaml"
    extra.write_text(
        "# keeps serving.knative.dev/visibility in comments\nmetadata:\n  labels:\n"
        "    serving.knative.dev/visibility: cluster-local\n    note: serving.knative.dev/visibility\n"
    )
    assert rename_label(manifests, "serving.knative.dev/visibility", "networking.knative.dev/visibility") == [extra]
    text = extra.read_text()
    assert "    networking.knative.dev/visibility: cluster-local\n" in text
    assert "note: serving.knative.dev/visibility" in text and text.startswith("# keeps serving")
    assert rename_label(manifests, "serving.knative.dev/visibility", "networking.knative.dev/visibility") == []


def test_move_file_is_idempotent(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    git(tmp_path, "init", "-q")
    (tmp_path / "scripts").mkdir()
    (tmp_path / "scripts" / "sample.json").write_text("{}")
    git(tmp_path, "add", "-A")
    assert move_file(Path("scripts/sample.json"), Path("sample.json")) is True
    assert (tmp_path / "sample.json").read_text() == "{}" and not (tmp_path / "scripts" / "sample.json").exists()
    assert move_file(Path("scripts/sample.json"), Path("sample.json")) is False


# ---------------------------------------------------------------- every release, as owners have them

NON_DEFAULTS = {
    "service_name": "text-classifier", "namespace": "nlp", "owner": "nlp-team", "visibility": "cluster-local",
    "cpu_request": "2", "cpu_limit": "2", "memory_request": "2Gi", "memory_limit": "2Gi",
    "min_replicas": 2, "max_replicas": 4,
}  # fmt: skip
RUNTIME_ANSWERS = {"sklearn": {}, "torchserve": {"runtime": "torchserve"}}
OWNER_LINE = "Contact: #nlp-oncall (the owner's line, under the description)."


def answers_at(version: str, runtime: str) -> dict[str, Any]:
    """Non-default answers, as that release named them (0.1 said `protocol`)."""
    protocol = {"protocol" if version == "0.1.0" else "inference_protocol": "v2"}
    return {**NON_DEFAULTS, **protocol, **RUNTIME_ANSWERS[runtime]}


def edit_as_owner(service: Path) -> None:
    """What owners commonly do: code in their package, a line in the README, a label of their own."""
    model = service / "text_classifier" / "model.py"
    model.write_text(model.read_text() + '\n\ndef owner_helper() -> str:\n    return "kept"\n')
    readme = service / "README.md"
    title, rest = readme.read_text().split("\n\n", 1)
    description, rest = rest.split("\n\n", 1)
    readme.write_text(f"{title}\n\n{description}\n\n{OWNER_LINE}\n\n{rest}")
    isvc = service / "k8s" / "inference-service.yaml"  # a label of their own, at the end of the labels
    isvc.write_text(isvc.read_text().replace("\n  annotations:\n", "\n    cost-center: cc-42\n  annotations:\n", 1))
    commit_all(service, "owner edits")


@pytest.mark.parametrize("runtime", list(RUNTIME_ANSWERS))
@pytest.mark.parametrize("version", ["0.1.0", "0.2.0", "0.3.0"])
def test_each_release_updates_to_now_keeping_answers_and_edits(
    kit_repo: Path, tmp_path: Path, capfd: pytest.CaptureFixture[str], version: str, runtime: str
) -> None:
    git(kit_repo, "tag", f"v{version}", released_versions()[version])  # released versions are tagged
    service = render(kit_repo, tmp_path / "service", f"v{version}", **answers_at(version, runtime))
    edit_as_owner(service)
    capfd.readouterr()

    assert update(service) == 0, capfd.readouterr()
    first = capfd.readouterr().out
    commit_all(service, "updated")

    answers = answers_of(service)
    for key, value in {**NON_DEFAULTS, "inference_protocol": "v2", **RUNTIME_ANSWERS[runtime]}.items():
        assert str(answers[key]) == str(value), key  # no answer lost
    assert ("migration: answer protocol -> inference_protocol" in first) == (version == "0.1.0")
    assert OWNER_LINE in (service / "README.md").read_text()
    assert "def owner_helper" in (service / "text_classifier" / "model.py").read_text()
    isvc = isvc_of(service)
    assert isvc["metadata"]["labels"]["cost-center"] == "cc-42"
    assert (isvc["spec"]["predictor"]["minReplicas"], isvc["spec"]["predictor"]["maxReplicas"]) == (2, 4)

    # The result is a fresh render of the same answers, plus the owner's edits; the owner's own files
    # (rendered once) stay as they were.
    fresh = tmp_path / "fresh"
    run_copy(str(kit_repo), str(fresh), data={**NON_DEFAULTS, "inference_protocol": "v2", **RUNTIME_ANSWERS[runtime]},
             defaults=True, unsafe=True, vcs_ref="HEAD", quiet=True)  # fmt: skip
    owners = {"README.md", "k8s/inference-service.yaml", "text_classifier/model.py", "training/train.py",
              "sample.json", ".copier-answers.yml"}  # fmt: skip
    for path in fresh.rglob("*"):
        name = str(path.relative_to(fresh))
        if path.is_file() and name not in owners:
            assert (service / name).read_text() == path.read_text(), name

    assert update(service) == 0  # a second update: nothing left to migrate
    assert "migration:" not in capfd.readouterr().out
    assert git(service, "status", "--porcelain") == ""


def test_an_answer_the_new_kit_refuses_is_never_dropped_silently(
    kit_repo: Path, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    service = render(kit_repo, tmp_path / "service", "HEAD", service_name="iris", namespace="a" * 40)
    # The next release's hostname suffix is longer: the recorded namespace no longer fits the budget.
    profile = kit_repo / "platforms" / "agora.yml"
    profile.write_text(profile.read_text().replace("-lambda.{domain}", "-lambda-external.{domain}"))
    commit_all(kit_repo, "a longer hostname suffix")

    assert update(service) == 1
    errors = capfd.readouterr().err
    assert f"error: the new kit refuses your recorded answer namespace: '{'a' * 40}': Namespace" in errors
    assert 'make update ARGS="--data namespace=<value>"' in errors
    assert git(service, "status", "--porcelain") == ""
    # The answer the owner gives is checked too, and with one that fits the update goes through.
    assert update(service, "--data", "namespace=" + "a" * 30) == 0
    assert answers_of(service)["namespace"] == "a" * 30


@pytest.mark.parametrize("platform", ["agora", "example-standard"])
def test_owner_edits_at_the_append_points_survive_a_release(kit_repo: Path, tmp_path: Path, platform: str) -> None:
    """The kit version changes at every release, and the kit's README and Makefile change at their
    ends: an owner's annotation, README notes and Makefile target must not conflict with that."""
    service = render(kit_repo, tmp_path / "service", "HEAD", platform=platform)
    isvc_file = service / "k8s" / "inference-service.yaml"
    text = isvc_file.read_text()
    for block, line in (
        ("labels", "    cost-center: cc-42\n"),
        ("annotations", '    owner.example.com/alerts: "pager"\n'),
    ):
        marker = f"    # ---- Your own {block} go below this line: kit updates never add lines here. ----\n"
        assert marker in text, block  # the README's promised append points
        text = text.replace(marker, marker + line)
    isvc_file.write_text(text)
    readme = service / "README.md"
    readme.write_text(readme.read_text() + "\nOn-call: page #nlp-oncall; model card in Confluence.\n")
    makefile = service / "Makefile"
    makefile.write_text(makefile.read_text() + "\nbenchmark: ## our load test\n\t$(PY) -m our_bench\n")
    commit_all(service, "owner edits at the append points")
    # The next release: a new version, a new README section before the owner's, a new Makefile target.
    pyproject = kit_repo / "pyproject.toml"
    pyproject.write_text(re.sub(r'^version = ".*"$', 'version = "99.0.0"', pyproject.read_text(), flags=re.M))
    template_readme = kit_repo / "template" / "README.md.jinja"
    cost = "## Cost\n\nGPU hours are billed to the owning team.\n\n## Notes from the team"
    template_readme.write_text(template_readme.read_text().replace("## Notes from the team", cost))
    template_isvc = kit_repo / "template" / "k8s" / "inference-service.yaml.jinja"
    template_isvc.write_text(
        template_isvc.read_text()
        .replace(  # a new annotation and label, last of the kit's
            "{{ kit.isvc_annotations | toyaml(4) }}\n",
            '{{ kit.isvc_annotations | toyaml(4) }}\n    kit.example.com/new: "1"\n',
        )
        .replace(
            "{{ kit.isvc_labels | toyaml(4) }}\n", '{{ kit.isvc_labels | toyaml(4) }}\n    kit.example.com/tier: "a"\n'
        )
    )
    template_makefile = kit_repo / "template" / "kit.mk.jinja"
    kit_mk = template_makefile.read_text()
    assert "\nupdate:" in kit_mk
    cost = "\ncost: ## what the service costs\n\t@echo see README\n"
    template_makefile.write_text(kit_mk.replace("\nupdate:", f"{cost}\nupdate:", 1))
    commit_all(kit_repo, "kit 99.0.0")

    assert update(service) == 0
    isvc = isvc_of(service)
    assert isvc["metadata"]["annotations"]["owner.example.com/alerts"] == "pager"
    assert isvc["metadata"]["labels"]["cost-center"] == "cc-42"
    assert (
        isvc["metadata"]["annotations"]["kit.example.com/new"] == "1"
        and isvc["metadata"]["labels"]["kit.example.com/tier"]
    )
    assert isvc["metadata"]["annotations"]["kserve-template/kit-version"] == "99.0.0"
    text = readme.read_text()
    assert "## Cost" in text and text.rstrip().endswith("model card in Confluence.")
    assert "cost: ## what the service costs" in (service / "kit.mk").read_text()
    assert makefile.read_text().rstrip().endswith("$(PY) -m our_bench")


@pytest.mark.e2e
@pytest.mark.parametrize("runtime", list(RUNTIME_ANSWERS))
def test_a_0_3_service_after_its_update_passes_its_own_checks_in_its_own_environment(
    kit_repo: Path, tmp_path: Path, schema_dir: Path, runtime: str
) -> None:
    git(kit_repo, "tag", "v0.3.0", released_versions()["0.3.0"])
    service = render(kit_repo, tmp_path / "service", "v0.3.0", **answers_at("0.3.0", runtime))
    edit_as_owner(service)
    assert update(service) == 0
    commit_all(service, "updated to the thin layout")
    # The owner's model.py and training are still 0.3's (updates never overwrite them): the tests,
    # the new tooling and the checks must work with them.
    result = run_make(service, "install", "train", "lint", "test", "validate", timeout=1800,
                      KSERVE_SCHEMA_DIR=str(schema_dir))  # fmt: skip
    assert " passed" in result.stdout and "validate: 0 problem(s)" in result.stdout


# ---------------------------------------------------------------- TorchServe -> PyTorch

MOVE = ("--data", "runtime=pytorch")


def test_a_torchserve_service_moves_to_pytorch_with_a_report_of_its_handler_changes(
    kit_repo: Path, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    service = render(kit_repo, tmp_path / "service", "HEAD", runtime="torchserve", service_name="digits")
    handler = service / "digits" / "handler.py"
    tweak = "        labels = scores.argmax(dim=1).tolist()\n        return [lab if lab != 7 else 1 for lab in labels]"
    handler.write_text(handler.read_text().replace("        return scores.argmax(dim=1).tolist()", tweak))
    commit_all(service, "our handler tweak")
    capfd.readouterr()

    assert update(service, *MOVE) == 0, capfd.readouterr()

    out = capfd.readouterr().out
    assert "migration: TorchServe -> PyTorch: 1 handler change(s) to move" in out
    assert "migration: to_model_input now comes from predictor.py in training/train.py" in out
    report = (service / "MIGRATION-torchserve-to-pytorch.md").read_text()
    assert "### `postprocess` in `digits/handler.py`" in report and "the end of `PyTorchModel.predict_rows`" in report
    assert "+        return [lab if lab != 7 else 1 for lab in labels]" in report
    assert "TorchServe batched up to 8 requests" in report
    for gone in ("digits/handler.py", "digits/protocol.py", "config/config.properties"):
        assert not (service / gone).exists(), gone
    assert "from digits.predictor import to_model_input" in (service / "training" / "train.py").read_text()
    # The manifests, image and glue are a fresh PyTorch render's.
    fresh = tmp_path / "fresh"
    run_copy(str(kit_repo), str(fresh), data={"runtime": "pytorch", "service_name": "digits", "batch_size": "8"},
             defaults=True, unsafe=True, vcs_ref="HEAD", quiet=True)  # fmt: skip
    for name in ("k8s/inference-service.yaml", "k8s/serving-runtime.yaml", "Dockerfile", "Makefile", "kserve-kit.yaml",
                 "pyproject.toml", "digits/__main__.py", "digits/predictor.py"):  # fmt: skip
        assert (service / name).read_text() == (fresh / name).read_text(), name
    commit_all(service, "moved to PyTorch")
    assert update(service) == 0 and "migration:" not in capfd.readouterr().out  # once


def test_a_handler_the_kit_changed_since_the_render_is_not_reported_as_the_owners(
    kit_repo: Path, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    service = render(kit_repo, tmp_path / "service", "HEAD", runtime="torchserve", service_name="digits")
    # A later kit release changes a function of its own handler; the owner changed nothing.
    handler = next((kit_repo / "template").glob("*/*handler.py*"))
    changed = handler.read_text().replace(
        "return scores.argmax(dim=1).tolist()", "return list(scores.argmax(dim=1).tolist())"
    )
    assert changed != handler.read_text()
    handler.write_text(changed)
    commit_all(kit_repo, "the kit's handler changes")
    capfd.readouterr()
    assert update(service, *MOVE) == 0, capfd.readouterr()
    assert "0 handler change(s) to move" in capfd.readouterr().out
    report = (service / "MIGRATION-torchserve-to-pytorch.md").read_text()
    assert "Nothing: your handler and protocol were the kit's own." in report


# Run with the service's own Python: its pinned tooling serves it; 64 of scikit-learn's digits,
# V1 and V2, and their true labels.
PREDICT_DIGITS = """
import json
from pathlib import Path

from sklearn.datasets import load_digits

from kserve_kit.local_server import LocalServer
from kserve_kit.service import Service
from kserve_kit.smoke import Sample, SmokeClient, Target

digits = load_digits()
images = digits.data[:64].tolist()
service = Service.load(Path("."))
answers = {"labels": digits.target[:64].tolist()}
with LocalServer(service) as server:
    for protocol in ("v1", "v2"):
        client = SmokeClient(Target(server.url), service, protocol, timeout_s=30)
        client.wait_until_ready(120, Sample(Path("sample.json"), images, None))
        answers[protocol] = client.predict(images)
print(json.dumps(answers))
"""


def predicted_digits(service: Path) -> dict[str, list[int]]:
    python = service / ".venv" / "bin" / "python"
    result = subprocess.run([python, "-c", PREDICT_DIGITS], cwd=service, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.e2e
def test_a_moved_service_answers_as_its_torchserve_did_and_passes_its_own_checks(
    kit_repo: Path, tmp_path: Path, schema_dir: Path
) -> None:
    service = render(kit_repo, tmp_path / "digits", "HEAD", runtime="torchserve", service_name="digits")
    run_make(service, "install", "train", timeout=1800)
    before = predicted_digits(service)
    right = sum(p == t for p, t in zip(before["v1"], before["labels"], strict=True))
    assert right >= 56, f"TorchServe got {right}/64 digits right: the trained model is not one to compare"

    # As the owner does it: their own `make update`, then `make install` for the new runtime's packages.
    run_make(service, "update", ARGS="--vcs-ref HEAD --data runtime=pytorch", timeout=600)
    commit_all(service, "moved to PyTorch")
    result = run_make(service, "install", "lint", "test", "validate", timeout=1800, KSERVE_SCHEMA_DIR=str(schema_dir))
    assert " passed" in result.stdout and "validate: 0 problem(s)" in result.stdout

    # The weights TorchServe served (model/model.pt, kept: the update does not touch them) give the same answers.
    after = predicted_digits(service)
    assert after["v1"] == before["v1"] and after["v2"] == before["v2"]
