"""Docs and ecosystem files: the kit's docs build and cannot drift from copier.yml; a rendered repo's
TechDocs build in strict mode, and its Backstage entity, CI workflow and pre-commit config parse and
point at things that exist."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from extensions.questions_doc import questions_doc
from kserve_kit.lock import LOCKS
from tests.conftest import KIT_ROOT, Render, answers_of, run_make, working_copy


def test_questions_doc_is_generated_from_copier_yml() -> None:
    committed = (KIT_ROOT / "docs" / "questions.md").read_text(encoding="utf-8")
    assert committed == questions_doc(), "docs/questions.md is out of date: run `make docs`"
    config = yaml.safe_load((KIT_ROOT / "copier.yml").read_text(encoding="utf-8"))
    for question in (name for name in config if not name.startswith("_")):
        assert f"`{question}`" in committed


def test_the_kits_docs_build_strictly(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=KIT_ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr


@pytest.fixture(params=[{}, {"runtime": "torchserve", "visibility": "cluster-local", "model_storage": "image"}],
                ids=["defaults", "torchserve-cluster-local-baked"])  # fmt: skip
def repo(request: pytest.FixtureRequest, render: Render) -> Path:
    return render(**request.param)


def make_targets(repo: Path) -> set[str]:
    """The targets `make help` lists (the Makefile's and the kit.mk it includes)."""
    listed = subprocess.run(["make", "-s", "help"], cwd=repo, capture_output=True, text=True, check=True).stdout
    return {line.split()[0] for line in listed.splitlines() if line.strip()}


@pytest.mark.e2e
def test_rendered_techdocs_build_strictly(repo: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    copy = working_copy(repo, tmp_path_factory)
    run_make(copy, "docs", PY=sys.executable)  # mkdocs from the kit's environment
    assert (copy / "site" / "index.html").is_file()


def test_catalog_info_is_a_backstage_component(repo: Path) -> None:
    entity = yaml.safe_load((repo / "catalog-info.yaml").read_text(encoding="utf-8"))
    answers = answers_of(repo)
    assert entity["apiVersion"] == "backstage.io/v1alpha1" and entity["kind"] == "Component"
    assert entity["metadata"]["name"] == answers["service_name"]
    assert entity["metadata"]["description"] == answers["description"]
    assert entity["metadata"]["annotations"]["backstage.io/techdocs-ref"] == "dir:."
    assert entity["spec"] == {"type": "service", "lifecycle": "experimental", "owner": answers["owner"]}
    titles = {link["title"] for link in entity["metadata"]["links"]}
    assert ("External endpoint (dev)" in titles) == (answers["visibility"] == "external")
    assert "Internal endpoint (in-cluster)" in titles
    assert (repo / "mkdocs.yml").is_file() and (repo / "docs" / "index.md").is_file()


def test_ci_workflow_runs_existing_make_targets(repo: Path) -> None:
    workflow = yaml.safe_load((repo / ".github" / "workflows" / "ci.yml").read_text(encoding="utf-8"))
    commands = [step["run"] for job in workflow["jobs"].values() for step in job["steps"] if "run" in step]
    used = {target for command in commands for target in re.findall(r"\bmake ((?:[a-z-]+ ?)+)", command)}
    targets = {target for group in used for target in group.split()}
    assert {"install", "test", "validate", "container-smoke"} <= targets
    assert targets <= make_targets(repo), targets - make_targets(repo)


def test_pre_commit_config_runs_ruff_yaml_checks_and_validate(repo: Path) -> None:
    config = yaml.safe_load((repo / ".pre-commit-config.yaml").read_text(encoding="utf-8"))
    hooks = {hook["id"] for entry in config["repos"] for hook in entry["hooks"]}
    assert {"ruff", "ruff-format", "check-yaml", "detect-private-key", "validate"} <= hooks
    assert "validate" in make_targets(repo)


def test_ignore_files_keep_models_and_secrets_out(repo: Path) -> None:
    answers = answers_of(repo)
    gitignore = (repo / ".gitignore").read_text(encoding="utf-8").splitlines()
    dockerignore = (repo / ".dockerignore").read_text(encoding="utf-8").splitlines()
    assert {"model/", "model-store/", ".env", "*credentials*", "*.pem"} <= set(gitignore)
    assert {".env", "*credentials*", ".venv"} <= set(dockerignore)
    baked = answers["model_storage"] == "image"
    assert ("model" in dockerignore) != baked  # a baked model must reach the image, others must not


def test_messages_after_copy_and_update_give_three_commands() -> None:
    config = yaml.safe_load((KIT_ROOT / "copier.yml").read_text(encoding="utf-8"))
    for message in (config["_message_after_copy"], config["_message_after_update"]):
        commands = [line for line in message.splitlines() if line.startswith("  ")]  # indented: commands
        assert len(commands) == 3, commands


def test_renovate_config_updates_the_kit_with_copiers_manager(repo: Path) -> None:
    config = json.loads((repo / "renovate.json").read_text(encoding="utf-8"))
    assert config["ignoreScripts"] is False  # copier update --trust runs the kit's extensions and migrations
    assert any("copier" in rule.get("matchManagers", []) for rule in config["packageRules"])
    # Each update re-locks: the commands are the repo's own targets, the files the locks kserve-kit writes.
    tasks = config["postUpgradeTasks"]
    assert {command.split()[1] for command in tasks["commands"]} <= make_targets(repo)
    assert set(tasks["fileFilters"]) == set(LOCKS)


@pytest.mark.e2e
def test_a_description_is_text_in_the_built_techdocs(render: Render, tmp_path_factory: pytest.TempPathFactory) -> None:
    copy = working_copy(render(description="Finds <script>alert(1)</script> in text"), tmp_path_factory)
    run_make(copy, "docs", PY=sys.executable)
    site = (copy / "site" / "index.html").read_text(encoding="utf-8")
    assert "<script>alert(1)</script>" not in site and "&lt;script&gt;alert(1)&lt;/script&gt;" in site


def test_the_messages_line_up_their_comments() -> None:
    config = yaml.safe_load((KIT_ROOT / "copier.yml").read_text(encoding="utf-8"))
    for message in (config["_message_after_copy"], config["_message_after_update"]):
        commands = [line for line in message.splitlines() if line.startswith("  ") and "#" in line]
        assert len({line.index("#") for line in commands}) == 1, commands


def test_the_admission_doc_lists_every_derived_name_and_control_plane_fact() -> None:
    from kserve_kit.admission import names, releases

    text = (KIT_ROOT / "docs" / "admission.md").read_text(encoding="utf-8")
    derived = [
        *names.derived_names("a", "b", "knative", "{name}.{domain}"),
        *names.derived_names("a", "b", "standard", None),
    ]
    missing = [name.what.removeprefix("the ") for name in derived if name.what.removeprefix("the ") not in text]
    missing += [key for key in releases.KSERVE_CONFIG_DEFAULTS if f"kserve.config.{key}" not in text]
    assert not missing, f"docs/admission.md does not list: {missing}"


def test_make_help_fits_80_columns(repo: Path) -> None:
    listed = subprocess.run(["make", "-s", "help"], cwd=repo, capture_output=True, text=True, check=True).stdout
    wide = [line for line in listed.splitlines() if len(line) > 80]
    assert listed and not wide, wide


def test_a_target_on_a_fresh_clone_installs_the_environment_first(repo: Path, tmp_path: Path) -> None:
    """A fresh clone has no .venv: `make validate` (or smoke, update, ...) runs `make install` first."""
    clone = tmp_path / "clone"
    shutil.copytree(repo, clone, ignore=shutil.ignore_patterns(".venv"))
    dry_run = ["make", "--no-print-directory", "-n", "validate"]  # a make under make: no "Entering" lines
    planned = subprocess.run(dry_run, cwd=clone, capture_output=True, text=True, check=True).stdout
    assert "-m venv .venv" in planned and planned.index("-m venv .venv") < planned.index("kserve_kit validate")
    (clone / ".venv" / "bin").mkdir(parents=True)
    (clone / ".venv" / "bin" / "python").write_text("")
    planned = subprocess.run(dry_run, cwd=clone, capture_output=True, text=True, check=True).stdout
    assert "-m venv" not in planned and "kserve_kit validate" in planned
