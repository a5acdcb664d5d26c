"""A service whose KServe deployment mode changes: `make update ARGS="--data environment=<env>"` to an
environment of another mode, or a kit release that moves its environment (or renames the mode).

    python deployment_mode.py keep     # before the update renders
    python deployment_mode.py finish   # after it

`keep` sets aside (in .git/) the mode the InferenceService declares and the endpoints it had. The
update re-renders the kit's manifests for the new mode (annotation, visibility label, autoscaling,
endpoints); `finish` then renames the old mode's visibility label in the owner's own manifests and
writes MIGRATION-deployment-mode.md: KServe refuses to change the mode of an existing
InferenceService, so the owner must re-create it, and clients must move to the new endpoints. A new
name for the same mode (KServe 0.16: Serverless -> Knative) gets the same file: KServe 0.16.0 refuses the
new name on an InferenceService created with the old one. Silent otherwise.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the kit: its modes, its label migration
from extensions.migrations.rename_label import MANIFESTS, rename_label  # noqa: E402
from extensions.migrations.renders import render  # noqa: E402
from extensions.modes import DEPLOYMENT_MODE_ANNOTATION, MODES, NAMES  # noqa: E402

ISVC = MANIFESTS / "inference-service.yaml"
FACTS = Path("kserve-kit.yaml")
REPORT = Path("MIGRATION-deployment-mode.md")


def kept() -> Path:
    git_dir = subprocess.run(["git", "rev-parse", "--git-dir"], capture_output=True, text=True, check=True)
    return Path(git_dir.stdout.strip()) / "kserve-template-deployment-mode.json"


def first_document(path: Path) -> dict[str, Any]:
    """The file's first YAML document; {} when it is missing or unreadable (an update that left conflict
    markers in it: the new render says what the update wrote there)."""
    try:
        documents = list(yaml.safe_load_all(path.read_text(encoding="utf-8"))) if path.is_file() else []
    except yaml.YAMLError:
        return {}
    return next((doc for doc in documents if isinstance(doc, dict)), {})


def declared(root: Path = Path()) -> dict[str, Any]:
    """The mode name the InferenceService declares, and the endpoints and namespace of the facts file."""
    isvc, facts = first_document(root / ISVC), first_document(root / FACTS)
    metadata = isvc.get("metadata") or {}
    return {
        "name": (metadata.get("annotations") or {}).get(DEPLOYMENT_MODE_ANNOTATION),
        "isvc": metadata.get("name"),
        "namespace": metadata.get("namespace"),
        "endpoints": facts.get("endpoints") or {},
    }


def keep() -> None:
    kept().write_text(json.dumps(declared()), encoding="utf-8")


def finish() -> None:
    if not kept().is_file():
        return
    before, after = json.loads(kept().read_text(encoding="utf-8")), declared()
    kept().unlink()
    if after["name"] is None:  # the update left a conflict in the InferenceService: the mode it writes
        after = declared(render("new"))
    old, new = before["name"], after["name"]
    if old == new or old not in NAMES or new not in NAMES:
        return
    if NAMES[old] == NAMES[new]:
        print(
            f"migration: deployment mode {old} is now written {new} (KServe's name for it since 0.16; same mode). "
            "KServe 0.16 to 0.18 refuse the new name on an InferenceService whose status still holds the old one "
            f"(created before 0.16; fixed in 0.19, kserve/kserve#5427): if `make deploy` is refused, re-create it "
            f"(see {REPORT})"
        )
        report(before, after, old, new, [])
        return
    old_mode, new_mode = MODES[NAMES[old]], MODES[NAMES[new]]
    renamed = rename_label(MANIFESTS, old_mode.visibility_label, new_mode.visibility_label)
    report(before, after, old_mode.name, new_mode.name, renamed)
    print(f"migration: deployment mode {old_mode.name} -> {new_mode.name}: what to do is in {REPORT}")


def report(before: dict[str, Any], after: dict[str, Any], old: str, new: str, renamed: list[Path]) -> None:
    name, namespace = after["isvc"], after["namespace"]
    endpoints = [
        f"| {access} | `{before['endpoints'].get(access) or 'none'}` | `{after['endpoints'].get(access) or 'none'}` |"
        for access in ("external", "internal", "local_gateway")
        if before["endpoints"].get(access) != after["endpoints"].get(access)
    ]
    lines = [
        f"# Moving {name} from {old} to {new} mode",
        "",
        "Written by `make update` when the service's deployment mode changed. The manifests are now the new",
        f"mode's: the `{DEPLOYMENT_MODE_ANNOTATION}` annotation, the visibility label, the autoscaling",
        "(`scaleMetric`, `scaleTarget` and the mode's own annotations: see the README's \"Deployment mode and",
        'scaling") and the endpoints in `kserve-kit.yaml`.',
        "",
        "## What you must do",
        "",
        "KServe refuses to change the mode of an existing InferenceService (`update rejected: deploymentMode",
        "cannot be changed`), so `make deploy` alone fails. Re-create it, in a quiet hour:",
        "",
        "```bash",
        f"kubectl delete inferenceservice {name} -n {namespace}",
        "make deploy && make smoke TARGET=internal",
        "```",
        "",
        "Or deploy the new mode under another name first and move the clients, then delete the old one.",
        "",
    ]
    if endpoints:
        lines += ["## Endpoints that changed", "", "| Access | Before | After |", "|---|---|---|", *endpoints, ""]
    if renamed:
        files = ", ".join(f"`{path}`" for path in renamed)
        lines += [f"Your own manifests ({files}) had the {old} visibility label: it is the {new} one now.", ""]
    lines += ["Delete this file when done.", ""]
    REPORT.write_text("\n".join(lines), encoding="utf-8")


if __name__ == "__main__":
    keep() if sys.argv[1] == "keep" else finish()
