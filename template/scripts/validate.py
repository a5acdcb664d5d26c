"""`make validate`: check every manifest in k8s/ before the cluster sees it.

Structure: each object is walked against the typed models of the installed kserve SDK and
kubernetes client (their OpenAPI field maps); unknown or misspelled fields and wrong types are
errors, reported with the file and field path. With --schema-dir (or KSERVE_SCHEMA_DIR) the KServe
objects are also checked against KServe's CRD JSON schemas (`<kind>-<version>.strict.json`).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kserve.models
import kubernetes.client.models
import yaml

from scripts.service_facts import REPO_ROOT

MANIFESTS = REPO_ROOT / "k8s"
# apiVersion/kind -> typed model. Objects of other kinds are reported as not checked.
TYPED_MODELS = {
    ("serving.kserve.io/v1beta1", "InferenceService"): "V1beta1InferenceService",
    ("serving.kserve.io/v1alpha1", "ServingRuntime"): "V1alpha1ServingRuntime",
    ("v1", "ServiceAccount"): "V1ServiceAccount",
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
            known = ", ".join(sorted(fields))
            yield f"{path}.{key}: unknown field (a typo?); {type_name} has: {known}"
        else:
            yield from type_errors(item, model.openapi_types[fields[key]], f"{path}.{key}")


def schema_errors(obj: dict[str, Any], schema_dir: Path) -> Iterator[str]:
    """Errors against KServe's CRD schema for this kind, when the directory has one."""
    import jsonschema

    kind, version = obj["kind"].lower(), obj["apiVersion"].rsplit("/", 1)[-1]
    schema_file = schema_dir / f"{kind}-{version}.strict.json"
    if not schema_file.is_file():
        return
    schema = json.loads(schema_file.read_text(encoding="utf-8"))
    for error in jsonschema.Draft4Validator(schema).iter_errors(obj):
        field = ".".join(str(part) for part in error.absolute_path) or "(root)"
        yield f"{field}: {error.message} (CRD schema {schema_file.name})"


def manifest_errors(path: Path, schema_dir: Path | None) -> Iterator[str]:
    """Every problem in one manifest file, each prefixed with the file and object."""
    try:
        documents = [doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc is not None]
    except yaml.YAMLError as error:
        yield f"{path.name}: not valid YAML: {error}"
        return
    for doc in documents:
        kind, api = doc.get("kind", "?"), doc.get("apiVersion", "?")
        name = (doc.get("metadata") or {}).get("name", "?")
        where = f"{path.name} ({kind} {name})"
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
        if schema_dir is not None:
            for error in schema_errors(doc, schema_dir):
                yield f"{where}: {error}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--manifests", type=Path, default=MANIFESTS, help="directory of manifests")
    parser.add_argument(
        "--schema-dir",
        type=Path,
        default=os.environ.get("KSERVE_SCHEMA_DIR") or None,
        help="directory of KServe CRD JSON schemas (also KSERVE_SCHEMA_DIR)",
    )
    args = parser.parse_args(argv)
    if args.schema_dir is not None and not args.schema_dir.is_dir():
        print(f"error: schema directory {args.schema_dir} does not exist", file=sys.stderr)
        return 2
    errors = [
        error for path in sorted(args.manifests.glob("*.yaml")) for error in manifest_errors(path, args.schema_dir)
    ]
    for error in errors:
        print(f"error: {error}", file=sys.stderr)
    checked = "typed models" + (f" and CRD schemas in {args.schema_dir}" if args.schema_dir else "")
    print(f"validate: {len(errors)} problem(s) in {args.manifests} ({checked})")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
