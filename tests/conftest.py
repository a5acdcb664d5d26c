"""Fixtures for the kit's tests: render the template (in-process, through Copier's API), KServe's CRD
schemas, and the rendered repo's own commands run in its own environment."""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from copier import run_copy

from tests import compiled_templates
from tests.containers import TORCHSERVE_BASE, Unavailable, ensure_standins, podman_environment, torch_index

KIT_ROOT = Path(__file__).resolve().parent.parent
SCHEMA_DIR = Path(os.environ.get("KSERVE_SCHEMA_DIR", KIT_ROOT.parent / "shared" / "kserve-schemas"))
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

Render = Callable[..., Path]
compiled_templates.share()  # every render of this process (and the matrix's) compiles each template once


def render_into(destination: Path, **answers: Any) -> Path:
    """Render the kit's working tree (HEAD plus uncommitted changes) with `answers` over the defaults."""
    run_copy(str(KIT_ROOT), str(destination), data=answers, defaults=True, unsafe=True, vcs_ref="HEAD", quiet=True)
    return destination


@pytest.fixture(scope="session")
def render(tmp_path_factory: pytest.TempPathFactory) -> Render:
    """`render(**answers)`: a rendered service, rendered once per distinct answer set in the session."""
    cache: dict[tuple[tuple[str, Any], ...], Path] = {}

    def _render(**answers: Any) -> Path:
        key = tuple(sorted(answers.items()))
        if key not in cache:
            cache[key] = render_into(tmp_path_factory.mktemp("service") / "repo", **answers)
        return cache[key]

    return _render


@pytest.fixture(scope="session")
def schema_dir() -> Path:
    """KServe's CRD schemas (test data in ../shared, or KSERVE_SCHEMA_DIR). Without them the tests
    that need them skip with a loud reason; in CI (CI=true) their absence fails."""
    if not (SCHEMA_DIR / "inferenceservice-v1beta1.strict.json").is_file():
        message = (
            f"KServe's CRD schemas are not in {SCHEMA_DIR}: manifests cannot be checked against them. Set "
            "KSERVE_SCHEMA_DIR to a directory holding <kind>-<version>.strict.json files (KServe's CRDs)."
        )
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return SCHEMA_DIR


def working_copy(repo: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of a cached render for tests that build, train or edit in it (renders are shared)."""
    destination = tmp_path_factory.mktemp("work") / repo.name
    shutil.copytree(repo, destination)
    return destination


def answers_of(repo: Path) -> dict[str, Any]:
    """The answers a rendered repo records in .copier-answers.yml."""
    return yaml.safe_load((repo / ".copier-answers.yml").read_text(encoding="utf-8"))


def facts_of(repo: Path) -> dict[str, Any]:
    """What the kit derived for a rendered repo (its kserve-kit.yaml)."""
    return yaml.safe_load((repo / "kserve-kit.yaml").read_text(encoding="utf-8"))


def load_manifest(repo: Path, name: str) -> dict[str, Any]:
    return yaml.safe_load((repo / "k8s" / name).read_text(encoding="utf-8"))


def run_make(
    repo: Path,
    *targets: str,
    timeout: int = 900,
    check: bool = True,
    env: dict[str, str] | None = None,
    **variables: str,
) -> subprocess.CompletedProcess[str]:
    """`make <targets>` in a rendered repo; with `check`, a failure shows the output."""
    args = [f"{key}={value}" for key, value in variables.items()]
    result = subprocess.run(
        ["make", "--no-print-directory", *targets, *args],
        cwd=repo, capture_output=True, text=True, timeout=timeout, env=env,
    )  # fmt: skip
    assert not check or result.returncode == 0, f"make {' '.join(targets)} failed:\n{result.stdout}\n{result.stderr}"
    return result


@pytest.fixture(scope="session")
def installed(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> Render:
    """`installed(**answers)`: a rendered service after its own `make install train`, into its own
    .venv (as its owner runs them), once per answer set in the whole run: pytest-xdist's workers share
    them (the first to need one installs it, holding its lock; another waits for it and takes it).
    Java is needed for TorchServe."""
    base = tmp_path_factory.getbasetemp()
    shared = (base if worker_id == "master" else base.parent) / "owners"  # the run's, beside the workers'
    shared.mkdir(exist_ok=True)

    def _installed(**answers: Any) -> Path:
        key = hashlib.sha256(json.dumps(answers, sort_keys=True).encode()).hexdigest()[:16]
        home = shared / key
        repo = home / answers.get("service_name", "service")
        with (shared / f"{key}.lock").open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
            if not (home / "installed").is_file():
                shutil.rmtree(home, ignore_errors=True)  # what a worker that failed half-way left
                render_into(repo, **answers)
                subprocess.run(["git", "init", "-q", "-b", "main"], cwd=repo, check=True)
                run_make(repo, "install", "train", timeout=1800)
                (home / "installed").touch()
        return repo

    return _installed


@pytest.fixture(scope="session")
def podman() -> dict[str, str]:
    """podman's environment, with the stand-in bases built (once per machine)."""
    try:
        env = podman_environment()
        ensure_standins(env, torchserve=True)
    except Unavailable as missing:
        pytest.fail(f"containers cannot be built or run on this machine: {missing}")
    # The GPU service's base: the same CPU stand-in under the CUDA image's name (no CUDA inside; the
    # handler falls back to the CPU, as it does on any machine without a GPU).
    subprocess.run(["podman", "tag", TORCHSERVE_BASE, TORCHSERVE_BASE.replace("-cpu", "-gpu")], env=env, check=True)
    return env


@pytest.fixture(scope="session")
def image_build_args() -> Iterator[str]:
    """What image builds here are given: PyTorch's CPU index is not reachable, so the PyTorch runtime's
    image takes torch from a local index holding the same wheel (tests/containers.py)."""
    with torch_index() as url:
        yield f"--build-arg TORCH_INDEX={url}"


# The kit's real history for update tests (tests/history.py): its fixture, for every test module.
from tests.history import kit_repo  # noqa: E402, F401


def read_until(process: subprocess.Popen[str], text: str, timeout_s: float = 180) -> str:
    """The first line of the process's output holding `text` ("" if it stopped or took too long)."""
    deadline, line = time.monotonic() + timeout_s, ""
    while text not in line and time.monotonic() < deadline and process.poll() is None:
        line = process.stdout.readline() if process.stdout else ""
    return line if text in line else ""


def port_closes(port: int, within_s: float = 30) -> bool:
    """Whether nothing answers on 127.0.0.1:`port` within `within_s` seconds."""
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
        except OSError:
            return True
        time.sleep(0.2)
    return False


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups from the markers
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """`make test` runs one pytest worker per CPU (pytest-xdist, `--dist loadgroup`); each worker has
    its own session fixtures. Tests that build images share the stand-in bases, image tags and the
    installed repos' `.kit/`: they run on one worker, in order ("images"). The other tests on owners'
    installed repos (installed once for all workers: `installed`) run on one worker too ("owners"), so
    no two of them run in one repo at once; an image build beside them only writes the repo's `.kit/`.
    The answer matrix's tests share one session fixture that renders and validates every combination
    on every CPU: on one worker ("matrix"), or each worker would compute it all. The rest spread over
    the workers."""
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        if "podman" in fixtures:
            item.add_marker(pytest.mark.xdist_group("images"))
        elif "installed" in fixtures:
            item.add_marker(pytest.mark.xdist_group("owners"))
        elif "matrix_results" in fixtures:  # rendered and validated once, on one worker's processes
            item.add_marker(pytest.mark.xdist_group("matrix"))


def pytest_collection_finish(session: pytest.Session) -> None:
    """On an xdist worker: the groups took effect (xdist names a grouped test `<id>@<group>`), or stop
    before the image builds of two workers overwrite each other's tags."""
    if not getattr(session.config.option, "loadgroup", False):
        return
    lost = [item.nodeid for item in session.items if item.get_closest_marker("xdist_group") and "@" not in item.nodeid]
    if lost:
        message = (
            f"pytest-xdist did not group {len(lost)} test(s), e.g. {lost[0]}: this pytest breaks --dist loadgroup "
            "(pytest-xdist #1386); `make install` installs the pytest pyproject.toml names"
        )
        print(message, file=sys.__stderr__, flush=True)  # a worker's own output does not reach the terminal
        pytest.exit(message, returncode=pytest.ExitCode.USAGE_ERROR)
