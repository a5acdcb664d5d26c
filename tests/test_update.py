"""`copier update`: a service follows new guidance and keeps its owner's edits.

Each test builds a git-tagged copy of the kit in tmp_path. v0.1.0 is today's kit where it differed
from v0.2.0 in what v0.2.0's migrations handle (the answer `protocol`, an older guidance edition);
v0.2.0 is the kit as it is now.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from copier import run_copy, run_update

from extensions.migrations.rename_answer import rename_answer
from extensions.migrations.rename_label import rename_label
from tests.conftest import KIT_ROOT, answers_of, run_make

KIT_FILES = ["copier.yml", "extensions", "platforms", "runtimes", "template"]
OLD_GUIDANCE, NEW_GUIDANCE = "2026.08", "2026.11"


def git(repo: Path, *args: str) -> str:
    command = ["git", "-c", "user.name=kit-tests", "-c", "user.email=kit-tests@example.com", *args]
    return subprocess.run(command, cwd=repo, check=True, capture_output=True, text=True).stdout


def commit_all(repo: Path, message: str, tag: str | None = None) -> None:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)
    if tag:
        git(repo, "tag", tag)


def copy_kit(destination: Path) -> None:
    for name in KIT_FILES:
        source, target = KIT_ROOT / name, destination / name
        if target.is_dir():
            shutil.rmtree(target)
        if source.is_dir():
            shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(source, target)


def make_v0_1_0(kit: Path) -> None:
    """Turn today's kit back into v0.1.0 where v0.2.0's migrations care."""
    for path in [kit / "copier.yml", *(kit / "template").rglob("*.jinja"), *(kit / "runtimes").rglob("*.*")]:
        path.write_text(path.read_text(encoding="utf-8").replace("inference_protocol", "protocol"), encoding="utf-8")
    profile = kit / "platforms" / "agora.yml"
    profile.write_text(profile.read_text().replace(f'"{NEW_GUIDANCE}"', f'"{OLD_GUIDANCE}"'), encoding="utf-8")


@pytest.fixture
def kit(tmp_path: Path) -> Path:
    """A kit repo with tags v0.1.0 and v0.2.0."""
    repo = tmp_path / "kit"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    copy_kit(repo)
    make_v0_1_0(repo)
    commit_all(repo, "kit v0.1.0", tag="v0.1.0")
    copy_kit(repo)
    commit_all(repo, "kit v0.2.0", tag="v0.2.0")
    return repo


def render(kit: Path, destination: Path, ref: str, **answers: Any) -> Path:
    run_copy(str(kit), str(destination), data=answers, defaults=True, unsafe=True, vcs_ref=ref, quiet=True)
    git(destination, "init", "-q", "-b", "main")
    commit_all(destination, "rendered")
    return destination


def update(service: Path, ref: str, **answers: Any) -> None:
    run_update(str(service), data=answers, defaults=True, overwrite=True, unsafe=True, vcs_ref=ref, quiet=True)


def has_conflict_markers(text: str) -> bool:
    return re.search(r"^<<<<<<< ", text, re.MULTILINE) is not None


def isvc_of(service: Path) -> dict[str, Any]:
    return yaml.safe_load((service / "k8s" / "inference-service.yaml").read_text(encoding="utf-8"))


def test_update_applies_new_guidance_and_keeps_the_owners_edits(kit: Path, tmp_path: Path) -> None:
    service = render(kit, tmp_path / "service", "v0.1.0", protocol="v2")
    assert answers_of(service)["protocol"] == "v2"
    assert isvc_of(service)["metadata"]["labels"]["kserve-template/guidance-version"] == OLD_GUIDANCE
    # The owner's own changes: code, README, a generated manifest, and a manifest of their own
    # written from an older edition of the guideline (the old Knative visibility label).
    model = service / "iris_classifier" / "model.py"
    model.write_text(model.read_text() + "\n\ndef owner_helper() -> str:\n    return 'kept'\n")
    readme = service / "README.md"
    readme.write_text(readme.read_text() + "\n## Our runbook\n\nPage the ml-team on-call.\n")
    isvc_file = service / "k8s" / "inference-service.yaml"
    isvc_file.write_text(isvc_file.read_text().replace("maxReplicas: 3", "maxReplicas: 5"))
    canary = service / "k8s" / "canary.yaml"
    canary.write_text("metadata:\n  labels:\n    serving.knative.dev/visibility: cluster-local\n")
    commit_all(service, "owner edits")

    update(service, "v0.2.0")

    answers = answers_of(service)
    assert answers["inference_protocol"] == "v2" and "protocol" not in answers  # migration: renamed answer
    isvc = isvc_of(service)
    assert isvc["spec"]["predictor"]["model"]["protocolVersion"] == "v2"
    assert isvc["metadata"]["labels"]["kserve-template/guidance-version"] == NEW_GUIDANCE  # new guidance
    assert isvc["spec"]["predictor"]["maxReplicas"] == 5  # owner's edit of a generated file
    assert isvc["metadata"]["annotations"]["kserve-template/kit-version"] == "v0.2.0"
    assert "def owner_helper" in model.read_text()
    assert "## Our runbook" in readme.read_text() and NEW_GUIDANCE in readme.read_text()
    assert "networking.knative.dev/visibility: cluster-local" in canary.read_text()  # migration: renamed label
    assert not has_conflict_markers(isvc_file.read_text()) and not has_conflict_markers(readme.read_text())


def test_a_conflict_is_reported_in_the_file_never_dropped(kit: Path, tmp_path: Path) -> None:
    service = render(kit, tmp_path / "service", "v0.1.0")
    isvc_file = service / "k8s" / "inference-service.yaml"
    # The owner pinned the guidance label by hand; v0.2.0 changes the same line.
    isvc_file.write_text(isvc_file.read_text().replace(f"'{OLD_GUIDANCE}'", "'owner-pinned'"))
    commit_all(service, "owner pins the label")

    update(service, "v0.2.0")

    text = isvc_file.read_text()
    assert has_conflict_markers(text) and re.search(r"^>>>>>>> ", text, re.MULTILINE)
    assert "owner-pinned" in text and NEW_GUIDANCE in text  # both sides kept for the owner to choose


def test_legacy_to_next_gen_update_equals_a_fresh_next_gen_render(kit: Path, tmp_path: Path) -> None:
    service = render(kit, tmp_path / "service", "v0.2.0", environment="dev", visibility="cluster-local")
    model = service / "iris_classifier" / "model.py"
    model.write_text(model.read_text() + "\n# owner's note\n")
    commit_all(service, "owner edits")

    update(service, "v0.2.0", environment="lab2")

    fresh = tmp_path / "fresh"
    run_copy(
        str(kit), str(fresh), data={"environment": "lab2", "visibility": "cluster-local"},
        defaults=True, unsafe=True, vcs_ref="v0.2.0", quiet=True,
    )  # fmt: skip
    generated = sorted(
        str(path.relative_to(fresh)) for path in fresh.rglob("*") if path.is_file() and path.name != "model.py"
    )
    assert "k8s/workspace-setup.yaml" in generated
    for name in generated:
        assert (service / name).read_text() == (fresh / name).read_text(), name
    isvc = isvc_of(service)
    assert isvc["metadata"]["annotations"]["serving.kserve.io/storage-initializer-uid"] == "1337"
    assert isvc["spec"]["predictor"]["model"]["securityContext"]["allowPrivilegeEscalation"] is False
    service_facts = yaml.safe_load((service / "service.yaml").read_text())
    gateway = service_facts["endpoints"]["local_gateway"]
    assert gateway == "http://knative-local-gateway.knative-serving.svc.cluster.local"
    assert model.read_text().endswith("# owner's note\n")  # the owner's code is untouched


def test_migrations_run_once_per_version_window(kit: Path, tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    service = render(kit, tmp_path / "service", "v0.1.0")
    capfd.readouterr()
    update(service, "v0.2.0")
    first = capfd.readouterr().out
    assert "migration: answer protocol -> inference_protocol: renamed" in first
    assert "migration: serving.knative.dev/visibility -> networking.knative.dev/visibility" in first
    commit_all(service, "updated to v0.2.0")
    (kit / "NOTES.md").write_text("a later release\n")
    commit_all(kit, "kit v0.2.1", tag="v0.2.1")

    update(service, "v0.2.1")

    assert "migration:" not in capfd.readouterr().out  # v0.2.0's migrations are behind this service
    assert answers_of(service)["_commit"] == "v0.2.1"


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


@pytest.mark.e2e
def test_make_update_refuses_a_dirty_tree_then_updates(kit: Path, tmp_path: Path) -> None:
    service = render(kit, tmp_path / "service", "v0.1.0")
    (service / "README.md").write_text("uncommitted\n")
    refused = run_make(service, "update", check=False)
    assert refused.returncode != 0 and "commit or stash your changes first" in refused.stdout
    git(service, "checkout", "--", "README.md")
    check = run_make(service, "update-check", check=False)
    assert "latest version is 0.2.0" in check.stdout
    run_make(service, "update")
    assert answers_of(service)["_commit"] == "v0.2.0"
