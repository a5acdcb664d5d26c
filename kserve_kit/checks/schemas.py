"""KServe's CRD schemas, to check InferenceService and ServingRuntime objects as the API server would.

A source is one of:
- a directory or a URL base holding `<kind>-<version>.strict.json` / `<kind>-<version>.json`
  (standalone JSON schemas, e.g. KServe's CRDs converted for tests);
- a directory, file or URL of CRD YAML (`kubectl get crd -o yaml`, or a KServe release's `kserve.yaml`);
- the live cluster's CustomResourceDefinition objects (kubeconfig).
Schemas taken from CRDs are made strict (unknown fields are errors), as `kubectl apply --validate=strict`.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from kserve_kit import KitError

Schemas = dict[tuple[str, str], dict[str, Any]]  # (apiVersion, kind) -> JSON schema
KSERVE_GROUP = "serving.kserve.io"


def strict(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema with `additionalProperties: false` on every object that lists its properties and
    does not preserve unknown fields: misspelled fields become errors."""
    result = copy.deepcopy(schema)

    def visit(node: Any) -> None:
        if isinstance(node, dict):
            if (
                "properties" in node
                and "additionalProperties" not in node
                and not node.get("x-kubernetes-preserve-unknown-fields")
            ):
                node["additionalProperties"] = False
            for value in node.values():
                visit(value)
        elif isinstance(node, list):
            for value in node:
                visit(value)

    visit(result)
    return result


def from_crds(documents: Iterable[Any]) -> Schemas:
    """Strict schemas of every served version of every KServe CRD among `documents`."""
    schemas: Schemas = {}
    for crd in documents:
        if not isinstance(crd, dict) or crd.get("kind") != "CustomResourceDefinition":
            continue
        spec = crd.get("spec") or {}
        if spec.get("group") != KSERVE_GROUP:
            continue
        for version in spec.get("versions") or []:
            openapi = ((version.get("schema") or {}).get("openAPIV3Schema")) or None
            if openapi and version.get("served", True):
                schemas[(f"{KSERVE_GROUP}/{version['name']}", spec["names"]["kind"])] = strict(openapi)
    return schemas


def _fetch(url: str) -> str | None:
    import httpx

    try:
        response = httpx.get(url, timeout=60, follow_redirects=True)
    except httpx.HTTPError as error:
        raise KitError(
            f"cannot read KServe's CRD schemas from {url}: {error}. Offline, point KSERVE_SCHEMA_DIR (or "
            "--schema-dir) at a directory or file holding KServe's CRDs (kserve.yaml of the cluster's release)"
        ) from error
    return response.text if response.status_code == 200 else None


class SchemaSource:
    """Schemas looked up by (apiVersion, kind), read lazily from one source."""

    def __init__(self, location: str) -> None:
        self.location = location
        self._cache: dict[tuple[str, str], dict[str, Any] | None] = {}
        self._crds: Schemas | None = None

    def __str__(self) -> str:
        return self.location

    def _crd_schemas(self) -> Schemas:
        if self._crds is None:
            location, texts = self.location, []
            if location.startswith(("http://", "https://")):
                if location.endswith((".yaml", ".yml")):
                    text = _fetch(location)
                    if text is None:
                        raise KitError(f"no CRD file at {location}")
                    texts.append(text)
            elif Path(location).is_file():
                texts.append(Path(location).read_text(encoding="utf-8"))
            elif Path(location).is_dir():
                texts += [path.read_text(encoding="utf-8") for path in sorted(Path(location).glob("*.y*ml"))]
            self._crds = from_crds(doc for text in texts for doc in yaml.safe_load_all(text))
        return self._crds

    def _standalone(self, api_version: str, kind: str) -> dict[str, Any] | None:
        version = api_version.rsplit("/", 1)[-1]
        for name in (f"{kind.lower()}-{version}.strict.json", f"{kind.lower()}-{version}.json"):
            if self.location.startswith(("http://", "https://")):
                if self.location.endswith((".yaml", ".yml")):
                    return None
                text = _fetch(f"{self.location.rstrip('/')}/{name}")
            else:
                path = Path(self.location) / name
                text = path.read_text(encoding="utf-8") if path.is_file() else None
            if text is not None:
                schema = json.loads(text)
                return schema if name.endswith(".strict.json") else strict(schema)
        return None

    def schema(self, api_version: str, kind: str) -> dict[str, Any] | None:
        key = (api_version, kind)
        if key not in self._cache:
            self._cache[key] = self._standalone(api_version, kind) or self._crd_schemas().get(key)
        return self._cache[key]


class ClusterSchemas(SchemaSource):
    """The CRDs of the cluster the kubeconfig points at."""

    def __init__(self) -> None:
        super().__init__("the cluster's CRDs (kubeconfig)")

    def _crd_schemas(self) -> Schemas:
        if self._crds is None:
            from kubernetes import client

            from kserve_kit.cluster.snapshot import api_client

            try:
                crds = client.ApiextensionsV1Api(api_client()).list_custom_resource_definition()
            except client.ApiException as error:
                raise KitError(f"cannot list CRDs on the cluster: {error.status} {error.reason}") from error
            self._crds = from_crds(client.ApiClient().sanitize_for_serialization(crd) for crd in crds.items)
        return self._crds

    def _standalone(self, api_version: str, kind: str) -> dict[str, Any] | None:
        return None
