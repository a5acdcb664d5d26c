"""Hostile answers: quotes, colons, newlines, unicode, YAML and Jinja syntax. Each answer is either
refused by its validator or rendered so that every file parses back to exactly that value, and no
answer can add a field to a manifest."""

from __future__ import annotations

import ast
import tempfile
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from extensions import validation
from extensions.copier_hooks import quoted
from tests.conftest import answers_of, render_into

TRICKY = st.sampled_from(
    [
        "{{ 7 * 7 }}", "{% raw %}x{% endraw %}", "${HOME}", "a: b", "- item", "key: [1, 2]", "'\"", '"""',
        "x\ny: z", "é漢字🙂", "#comment", "&anchor *alias", "!!python/object:os.system", "null", "yes", "1e3",
        "\\", "\t", "--- \n...", "<script>", "`cmd`", "$(rm -rf /)",
    ]
)  # fmt: skip
HOSTILE = st.one_of(TRICKY, st.text(min_size=1, max_size=40), st.builds("".join, st.lists(TRICKY, max_size=3)))
SETTINGS = settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def try_render(**answers: Any) -> Path | None:
    """The rendered repo, or None when Copier refused an answer (a validator said why)."""
    destination = Path(tempfile.mkdtemp(prefix="hostile-")) / "repo"
    try:
        return render_into(destination, **answers)
    except ValueError as error:
        assert "Validation error" in str(error), error
        assert not destination.exists() or not any(destination.iterdir()), "a refused answer rendered files"
        return None


def shape(value: Any) -> Any:
    """The structure of parsed YAML: keys and nesting, not values."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shape(item) for item in value]
    return type(value).__name__


def manifest_shapes(repo: Path) -> dict[str, Any]:
    files = [*sorted((repo / "k8s").glob("*.yaml")), repo / "kserve-kit.yaml"]
    return {path.name: [shape(doc) for doc in yaml.safe_load_all(path.read_text(encoding="utf-8"))] for path in files}


@pytest.fixture(scope="module")
def baseline() -> dict[str, Any]:
    repo = try_render()
    assert repo is not None
    return manifest_shapes(repo)


@SETTINGS
@given(description=HOSTILE)
def test_description_is_refused_or_round_trips(baseline: dict[str, Any], description: str) -> None:
    repo = try_render(description=description)
    if repo is None:
        assert validation.description_error(description)
        return
    assert validation.description_error(description) == ""
    pyproject = tomllib.loads((repo / "pyproject.toml").read_text(encoding="utf-8"))
    assert pyproject["project"]["description"] == description
    package = ast.parse((repo / "iris_classifier" / "__init__.py").read_text(encoding="utf-8"))
    assert ast.get_docstring(package, clean=False) == description
    assert answers_of(repo)["description"] == description
    assert manifest_shapes(repo) == baseline


@SETTINGS
@given(suffix=HOSTILE)
def test_storage_uri_is_refused_or_round_trips(baseline: dict[str, Any], suffix: str) -> None:
    storage_uri = f"s3://bucket/{suffix}"
    repo = try_render(storage_uri=storage_uri)
    if repo is None:
        assert validation.storage_uri_error(storage_uri, "s3")
        return
    isvc = yaml.safe_load((repo / "k8s" / "inference-service.yaml").read_text(encoding="utf-8"))
    assert isvc["spec"]["predictor"]["model"]["storageUri"] == storage_uri
    assert yaml.safe_load((repo / "kserve-kit.yaml").read_text(encoding="utf-8"))["storage_uri"] == storage_uri
    assert manifest_shapes(repo) == baseline


@SETTINGS
@given(field=st.sampled_from(["owner", "vault_role", "service_name", "namespace", "vault_secret_path"]), value=HOSTILE)
def test_names_are_refused_or_round_trip(baseline: dict[str, Any], field: str, value: str) -> None:
    repo = try_render(**{field: value})
    if repo is None:
        return  # refused by its validator (try_render checked it was a validation error)
    answers = answers_of(repo)
    assert answers[field] == value
    assert manifest_shapes(repo) == baseline


@given(text=st.text(alphabet=st.characters(exclude_categories=["Cs"])))
@settings(max_examples=300)
def test_quoted_reads_back_the_same_in_yaml_toml_and_python(text: str) -> None:
    literal = quoted(text)
    assert yaml.safe_load(f"value: {literal}")["value"] == text
    assert tomllib.loads(f"value = {literal}")["value"] == text
    assert ast.literal_eval(literal) == text
