"""Every update route on the kit's real history: from each released version and from commits in the
middle of a release, per profile and runtime as that commit had them, with the owner's edits at every
append point that version's README promised, to the kit as it is now. docs/update-routes.md lists
the same routes (a test keeps it so) with what they showed."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from copier import run_copy

from tests.conftest import KIT_ROOT, answers_of
from tests.history import commit_all, git, released_versions, render, update


class Route(NamedTuple):
    start: str  # a released version (x.y.z) or a commit of the kit's history
    platform: str
    runtime: str

    @property
    def id(self) -> str:
        return f"{self.start}-{self.platform}-{self.runtime}"


ROUTES = [
    *(
        Route(version, "agora", runtime)
        for version in ("0.1.0", "0.2.0", "0.3.0")
        for runtime in ("sklearn", "torchserve")
    ),
    Route("79775db", "agora", "sklearn"),  # mid 0.4: the thin layout (kserve-kit), before PyTorch
    Route("79775db", "agora", "torchserve"),
    Route("763b5be", "agora", "pytorch"),  # mid 0.4: the PyTorch runtime
    Route("00748a4", "example-standard", "sklearn"),  # mid 0.4: deployment modes, the second profile
    Route("00748a4", "agora", "pytorch"),
    Route("2503fe1", "example-standard", "pytorch"),  # mid 0.4: the control plane as data (#21)
    Route("2503fe1", "agora", "torchserve"),
    Route("490e601", "agora", "sklearn"),  # end of 0.4: the server's glue in the owner's package
    Route("490e601", "example-standard", "pytorch"),
]
OWNER_ANSWERS = {"service_name": "text-classifier", "namespace": "nlp", "owner": "nlp-team", "min_replicas": 2,
                 "max_replicas": 4}  # fmt: skip
OWNER_LINE = "Contact: #nlp-oncall (the owner's line, under the description)."
OWNER_TARGET = "benchmark: ## our load test\n\t$(PY) -m our_bench\n"


def edit_at_the_append_points(service: Path) -> None:
    """What that version's README promised would survive: code in the package, a README line, a label
    and an annotation at the end of their blocks, a Makefile target after its last line."""
    model = service / "text_classifier" / "model.py"
    model.write_text(model.read_text() + '\n\ndef owner_helper() -> str:\n    return "kept"\n')
    readme = service / "README.md"
    title, rest = readme.read_text().split("\n\n", 1)
    readme.write_text(f"{title}\n\n{OWNER_LINE}\n\n{rest}")
    isvc = service / "k8s" / "inference-service.yaml"
    text = isvc.read_text().replace("\n  annotations:\n", "\n    cost-center: cc-42\n  annotations:\n", 1)
    isvc.write_text(
        re.sub(r"(\n  annotations:\n(?:    .*\n)+)", r'\1    owner.example.com/alerts: "pager"\n', text, count=1)
    )
    makefile = service / "Makefile"
    makefile.write_text(makefile.read_text().rstrip("\n") + "\n\n" + OWNER_TARGET)
    commit_all(service, "owner edits at the append points")


def missing_imports(service: Path) -> list[str]:
    """`from text_classifier.<module> import` lines whose module the repo no longer has (the serving
    library took guards.py and inputs.py: the owner's files must not import them)."""
    found = []
    for path in [*service.glob("text_classifier/*.py"), *service.glob("training/*.py")]:
        for module in re.findall(r"^from text_classifier\.(\w+) import", path.read_text(), re.MULTILINE):
            if not (service / "text_classifier" / f"{module}.py").is_file():
                found.append(f"{path.relative_to(service)}: text_classifier.{module}")
    return found


@pytest.mark.parametrize("route", ROUTES, ids=lambda route: route.id)
def test_an_update_route_keeps_every_answer_and_edit(kit_repo: Path, tmp_path: Path, route: Route) -> None:
    ref = route.start
    if ref in released_versions():
        git(kit_repo, "tag", f"v{ref}", released_versions()[ref])  # released versions are tagged
        ref = f"v{ref}"
    answers: dict[str, Any] = {**OWNER_ANSWERS, "platform": route.platform, "runtime": route.runtime}
    service = render(kit_repo, tmp_path / "service", ref, **answers)
    edit_at_the_append_points(service)

    assert update(service) == 0
    commit_all(service, "updated")

    recorded = answers_of(service)
    assert all(str(recorded[key]) == str(value) for key, value in answers.items()), recorded
    assert "def owner_helper" in (service / "text_classifier" / "model.py").read_text()
    assert missing_imports(service) == []
    assert OWNER_LINE in (service / "README.md").read_text()
    isvc = (service / "k8s" / "inference-service.yaml").read_text()
    assert "    cost-center: cc-42\n" in isvc and '    owner.example.com/alerts: "pager"\n' in isvc
    assert "<<<<<<<" not in isvc
    assert (service / "Makefile").read_text().endswith(OWNER_TARGET) and "include kit.mk" in (
        service / "Makefile"
    ).read_text()
    # Beyond the owner's files, the repo is what a fresh render of the same (recorded) answers is.
    fresh = tmp_path / "fresh"
    given = {key: value for key, value in recorded.items() if not key.startswith("_")}
    run_copy(str(kit_repo), str(fresh), data=given, defaults=True, unsafe=True, vcs_ref="HEAD", quiet=True)
    owners = {"README.md", "Makefile", "k8s/inference-service.yaml", ".copier-answers.yml", "sample.json",
              "training/train.py", *(str(p.relative_to(fresh)) for p in fresh.glob("*/model.py")),
              *(str(p.relative_to(fresh)) for p in fresh.glob("*/predictor.py"))}  # fmt: skip
    for path in fresh.rglob("*"):
        name = str(path.relative_to(fresh))
        if path.is_file() and name not in owners and ".git" not in path.parts:
            assert (service / name).read_text() == path.read_text(), name
    assert update(service) == 0 and git(service, "status", "--porcelain") == ""  # nothing left to do


def test_the_docs_list_every_route_tested() -> None:
    table = (KIT_ROOT / "docs" / "update-routes.md").read_text(encoding="utf-8")
    listed = {
        tuple(cell.strip(" `") for cell in row.split("|")[1:4]) for row in table.splitlines() if row.startswith("| `")
    }
    assert listed == {(route.start, route.platform, route.runtime) for route in ROUTES}
