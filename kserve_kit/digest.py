"""`kserve-kit push` (make push): push the image that was built and tested, and deploy exactly it.

Knative resolves a tag to a digest itself, but without the pod's pull secrets
(knative/serving#16282), and a tag can move between a test and a rollout. So `push` records the
digest the registry gave the pushed image in `k8s/kustomization.yaml` (kustomize's `images:`, under
the marker comment the kit renders there), and `kubectl apply -k k8s` (make deploy) sends the
ServingRuntime with `image: <repository>@sha256:...`.

    kserve-kit push [--destination REF]   # REF: another place to push to (e.g. oci-archive:<file>)
"""

from __future__ import annotations

import argparse
import re
import subprocess
import tempfile
from pathlib import Path

from kserve_kit import KitError
from kserve_kit.container import RunSpec, engine
from kserve_kit.manifests import KUSTOMIZATION, repository
from kserve_kit.service import Service

MARKER = "# ---- `make push` records the pushed image's digest below: what was tested is what is deployed. ----"
DIGEST = re.compile(r"sha256:[0-9a-f]{64}")


def pin_digest(kustomization: Path, image: str, digest: str) -> None:
    """Below the marker: `images:` naming the image's repository and its digest (replacing any before)."""
    if not DIGEST.fullmatch(digest):
        raise KitError(f"the registry answered {digest!r}, which is not an image digest (sha256:<64 hex>)")
    text = kustomization.read_text(encoding="utf-8")
    if MARKER not in text:
        raise KitError(f"k8s/{KUSTOMIZATION} has no line {MARKER!r} to record the digest under: `make update` adds it")
    head = text[: text.index(MARKER) + len(MARKER)]
    kustomization.write_text(
        f"{head}\nimages:\n  - name: {repository(image)}\n    digest: {digest}\n", encoding="utf-8"
    )


def push(tool: str, image: str, destination: str | None) -> str:
    """Push; the digest the registry (or the destination) holds the image under."""
    with tempfile.TemporaryDirectory(prefix="kserve-kit-push-") as scratch:
        digest_file = Path(scratch) / "digest"
        if tool == "podman":
            command = [
                "podman",
                "push",
                "--digestfile",
                str(digest_file),
                image,
                *([destination] if destination else []),
            ]
        else:
            command = ["docker", "push", destination or image]
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise KitError(f"{' '.join(command)} failed: {result.stderr.strip()[-500:]}")
        if tool == "podman":
            return digest_file.read_text(encoding="utf-8").strip()
        found = DIGEST.search(result.stdout)
        if not found:
            raise KitError(f"docker push printed no digest for {image}")
        return found.group(0)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--destination", help="push there instead of the image's registry (podman: any transport)")


def run(args: argparse.Namespace) -> int:
    service = Service.load(args.repo)
    service.require_own_image()
    image = RunSpec.of(service).image
    digest = push(engine(), image, args.destination)
    pin_digest(args.repo / "k8s" / KUSTOMIZATION, image, digest)
    print(f"push: {image} is {digest}; k8s/{KUSTOMIZATION} now deploys that digest: commit it, then `make deploy`")
    return 0
