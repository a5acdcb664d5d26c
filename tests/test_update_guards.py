"""The new kit's guards on the kit's real history (extensions/migrations/guard.py), whatever the
service's Makefile runs, and `make update-check` counting the kit's commits (kserve_kit/update.py)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from pre_commit_hooks.check_merge_conflict import main as check_merge_conflict

from kserve_kit.__main__ import main as kit
from kserve_kit.update import BEHIND, NOT_IN_KIT, UNREACHABLE, UP_TO_DATE
from tests.conftest import answers_of, facts_of, run_make
from tests.history import commit_all, git, released_versions, render, update
from tests.test_update import move_next_gen_to_standard


def plain_copier_update(service: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """What the Makefile of a 0.1-0.3 service runs: Copier alone, no kserve-kit around it."""
    command = [sys.executable, "-m", "copier", "update", "--trust", "--defaults", "--vcs-ref", "HEAD", *args]
    return subprocess.run(command, cwd=service, capture_output=True, text=True, check=False)


def test_a_0_2_answer_the_new_kit_refuses_stops_even_a_plain_copier_update(kit_repo: Path, tmp_path: Path) -> None:
    """0.2 accepted `s3://fraud-models` (a bucket, no path); Copier alone would load another bucket's model."""
    git(kit_repo, "tag", "v0.2.0", released_versions()["0.2.0"])
    service = render(kit_repo, tmp_path / "service", "v0.2.0", service_name="fraud", model_storage="s3",
                     storage_uri="s3://fraud-models")  # fmt: skip
    result = plain_copier_update(service)
    assert result.returncode != 0
    assert "the new kit refuses your recorded answer storage_uri: 's3://fraud-models'" in result.stderr
    assert 'make update ARGS="--data storage_uri=<value>"' in result.stderr
    assert git(service, "status", "--porcelain") == "" and answers_of(service)["storage_uri"] == "s3://fraud-models"


def test_owner_edits_in_files_the_new_kit_deletes_are_kept_and_listed(kit_repo: Path, tmp_path: Path) -> None:
    git(kit_repo, "tag", "v0.3.0", released_versions()["0.3.0"])
    service = render(kit_repo, tmp_path / "service", "v0.3.0", service_name="text-classifier")
    edited = {"scripts/smoke.py": "# our retry loop\n", "tests/test_policy.py": "# our own rule\n",
              "service.yaml": "# our note\n"}  # fmt: skip
    for path, line in edited.items():
        (service / path).write_text((service / path).read_text() + line)
    commit_all(service, "owner edits in files 0.4 no longer has")

    result = plain_copier_update(service)
    assert result.returncode == 0, result.stderr
    assert "migration: 3 file(s) of yours kept from deletion, listed in MIGRATION-kept-files.md" in result.stdout
    report = (service / "MIGRATION-kept-files.md").read_text()
    for path, line in edited.items():
        assert (service / path).read_text().endswith(line), path
        assert f"| `{path}` | `{path}` | the new kit no longer renders it |" in report
    assert not (service / "scripts" / "status.py").exists()  # unedited kit files go, as the release says
    assert not (service / "tests" / "test_cluster.py").exists()


def test_a_rename_moves_the_owners_package_and_its_imports(kit_repo: Path, tmp_path: Path) -> None:
    service = render(kit_repo, tmp_path / "service", "HEAD", service_name="skl-r")
    model = service / "skl_r" / "model.py"
    model.write_text(model.read_text() + '\n\ndef owner_helper() -> str:\n    return "kept"\n')
    (service / "skl_r" / "features.py").write_text('"""Ours."""\n\nfrom skl_r.model import owner_helper\n')
    train = service / "training" / "train.py"
    train.write_text(train.read_text() + "\nfrom skl_r.model import owner_helper  # noqa: E402\n")
    commit_all(service, "owner's model, module and training")

    assert update(service, "--data", "service_name=skl-x") == 0
    assert not (service / "skl_r").exists()
    assert "def owner_helper" in (service / "skl_x" / "model.py").read_text()
    assert "from skl_x.model import owner_helper" in (service / "skl_x" / "features.py").read_text()
    assert "from skl_x.model import owner_helper" in (service / "training" / "train.py").read_text()
    assert "skl_r" not in (service / "training" / "train.py").read_text()
    report = (service / "MIGRATION-kept-files.md").read_text()
    assert "| `skl_r/model.py` | `skl_x/model.py` | moved into the renamed package |" in report
    assert "The package is `skl_x` now (was `skl_r`)" in report


def test_the_deployment_mode_report_is_written_even_when_the_isvc_conflicts(
    kit_repo: Path, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    """The README's advice (a label of your own at the end of the labels) meets the visibility label
    the move to Standard mode renames: a conflict, and still the steps KServe requires."""
    service = render(kit_repo, tmp_path / "service", "HEAD", environment="lab2", visibility="cluster-local")
    isvc = service / "k8s" / "inference-service.yaml"
    label = "    networking.knative.dev/visibility: cluster-local\n"
    isvc.write_text(isvc.read_text().replace(label, label.replace("\n", "  # ours: no ingress\n"), 1))
    commit_all(service, "an owner's comment on the visibility label")
    move_next_gen_to_standard(kit_repo)

    assert update(service) == 1
    assert "<<<<<<<" in isvc.read_text()
    assert "error: k8s/inference-service.yaml: the update left a conflict" in capfd.readouterr().err
    report = (service / "MIGRATION-deployment-mode.md").read_text()
    assert "# Moving iris-classifier from Knative to Standard mode" in report


def test_a_plain_copier_update_names_its_conflicts_and_fails(kit_repo: Path, tmp_path: Path) -> None:
    service = render(kit_repo, tmp_path / "service", "HEAD")
    readme = service / "README.md"
    readme.write_text(readme.read_text().replace("## Notes from the team", "## Notes from our team", 1))
    commit_all(service, "owner edit")
    template = kit_repo / "template" / "README.md.jinja"
    template.write_text(template.read_text().replace("## Notes from the team", "## Notes from the owners", 1))
    commit_all(kit_repo, "kit renames the section")

    result = plain_copier_update(service)
    assert result.returncode != 0
    assert "error: README.md: the update left a conflict (markers <<<<<<< ... >>>>>>>)" in result.stderr
    # pre-commit's check, as the rendered config runs it, refuses the file (Copier's markers are
    # written outside a git merge, where the hook without --assume-in-merge passes them).
    config = yaml.safe_load((service / ".pre-commit-config.yaml").read_text())
    [hook] = [hook for repo in config["repos"] for hook in repo["hooks"] if hook["id"] == "check-merge-conflict"]
    assert check_merge_conflict([*hook["args"], str(service / "README.md")]) == 1
    assert check_merge_conflict([str(service / "README.md")]) == 0  # what it did before
    # The undo the message gives works on the unmerged paths the update left.
    undo = result.stderr.split("or undo the update: `")[1].split("`")[0]
    subprocess.run(undo, shell=True, cwd=service, check=True, capture_output=True)
    assert git(service, "status", "--porcelain") == ""


def test_a_0_3_torchserve_service_moving_to_pytorch_reports_no_change_of_the_owners(
    kit_repo: Path, tmp_path: Path
) -> None:
    """The handler is compared with the one 0.3 rendered, not with the kit's newest (whose own changes
    would read as the owner's, reversed)."""
    git(kit_repo, "tag", "v0.3.0", released_versions()["0.3.0"])
    service = render(kit_repo, tmp_path / "service", "v0.3.0", runtime="torchserve", service_name="digits")
    assert update(service, "--data", "runtime=pytorch") == 0
    report = (service / "MIGRATION-torchserve-to-pytorch.md").read_text()
    assert "Nothing: your handler and protocol were the kit's own." in report, report


def test_update_check_counts_kit_commits_and_says_why_it_cannot(
    kit_repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    service = render(kit_repo, tmp_path / "service", "HEAD")
    assert kit(["--repo", str(service), "update-check"]) == UP_TO_DATE
    # Same version, new kit commits: behind, by that many.
    for number in (1, 2):
        (kit_repo / "template" / "docs" / "index.md.jinja").write_text(f"change {number}\n")
        commit_all(kit_repo, f"a kit change {number}")
    capsys.readouterr()
    assert kit(["--repo", str(service), "update-check"]) == BEHIND
    assert "2 kit commit(s) since this repo's" in capsys.readouterr().out
    pyproject = kit_repo / "pyproject.toml"
    pyproject.write_text(re.sub(r'^version = ".*"$', 'version = "99.0.0"', pyproject.read_text(), flags=re.M))
    commit_all(kit_repo, "kit 99.0.0")
    assert kit(["--repo", str(service), "update-check"]) == BEHIND
    assert "kserve-template 99.0.0 is out: 3 kit commit(s)" in capsys.readouterr().out

    answers = service / ".copier-answers.yml"
    answers.write_text(re.sub(r"^_src_path: .*$", f"_src_path: {tmp_path / 'gone'}", answers.read_text(), flags=re.M))
    assert kit(["--repo", str(service), "update-check"]) == UNREACHABLE
    assert "cannot reach the kit at" in capsys.readouterr().err


def test_a_service_of_a_tag_the_kit_clone_lacks_is_told_to_fetch_the_tags(
    kit_repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    git(kit_repo, "tag", "v0.3.0", released_versions()["0.3.0"])
    service = render(kit_repo, tmp_path / "service", "v0.3.0")
    git(kit_repo, "tag", "-d", "v0.3.0")
    capsys.readouterr()
    assert kit(["--repo", str(service), "update-check"]) == NOT_IN_KIT
    assert f"`git -C {kit_repo} fetch --tags`" in capsys.readouterr().err
    assert update(service) == 2  # no traceback: the same message
    assert "fetch --tags" in capsys.readouterr().err and git(service, "status", "--porcelain") == ""


@pytest.mark.e2e
def test_a_kit_release_never_breaks_a_service_that_has_not_updated(
    kit_repo: Path, tmp_path: Path, schema_dir: Path
) -> None:
    """The service pins the kit commit it was rendered from: the kit's branch moving to 0.5.0 (with a
    tooling change that would break it) changes nothing for its install, tests and CI steps."""
    service = render(kit_repo, tmp_path / "service", "HEAD")
    pinned = git(kit_repo, "rev-parse", "HEAD").strip()
    assert f"KIT_REQUIREMENT ?= kserve-kit @ git+{kit_repo.as_uri()}@{pinned}" in (service / "kit.mk").read_text()
    workflow = (service / ".github" / "workflows" / "ci.yml").read_text()
    assert f"git+https://github.com/woven-city/kserve-template.git@{pinned}" in workflow  # the profile's kit_source
    assert "file://" not in workflow  # a hosted runner cannot see the owner's disk
    pyproject = kit_repo / "pyproject.toml"
    pyproject.write_text(re.sub(r'^version = ".*"$', 'version = "0.5.0"', pyproject.read_text(), flags=re.M))
    (kit_repo / "kserve_kit" / "checks" / "validate.py").write_text("raise SystemExit('the next release')\n")
    commit_all(kit_repo, "kit 0.5.0 moves on")

    result = run_make(service, "install", "train", "lint", "test", "validate", "docs", timeout=1800,
                      KSERVE_SCHEMA_DIR=str(schema_dir))  # fmt: skip
    assert " passed" in result.stdout and "validate: 0 problem(s)" in result.stdout
    shown = subprocess.run([service / ".venv" / "bin" / "python", "-m", "pip", "show", "kserve-kit"],
                           capture_output=True, text=True, check=True)  # fmt: skip
    assert f"Version: {facts_of(service)['kit_version']}" in shown.stdout  # not 0.5.0
    check = subprocess.run([service / ".venv" / "bin" / "kserve-kit", "update-check"], cwd=service,
                           capture_output=True, text=True)  # fmt: skip
    assert check.returncode == BEHIND and "kserve-template 0.5.0 is out: 1 kit commit(s)" in check.stdout


@pytest.mark.e2e
def test_make_install_names_the_fix_when_the_pin_cannot_be_reached(kit_repo: Path, tmp_path: Path) -> None:
    service = render(kit_repo, tmp_path / "service", "HEAD")
    result = run_make(
        service, "install", check=False, KIT_REQUIREMENT=f"kserve-kit @ git+{(tmp_path / 'gone').as_uri()}@abc"
    )
    assert result.returncode != 0
    assert "install: pip could not install the service with kserve-kit @ git+" in result.stdout
    assert "never loosen the pin (make update moves it)" in result.stdout
