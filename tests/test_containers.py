"""The image is what runs: each runtime's image is built from its repo's own Dockerfile and run by the
repo's own `make container-smoke` exactly as its ServingRuntime runs it (podman here, no Docker
engine), with STAND-IN base images (tests/containers.py says how they differ from upstream). A broken
Dockerfile, a model the server cannot read as UID 1000, a server that writes to its read-only root
and a model pickled by another scikit-learn each fail with their cause named."""

from __future__ import annotations

import json
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

from kserve_kit.manifests import build
from tests.conftest import Render, load_manifest, render_into, run_make
from tests.test_owner import OWNERS

pytestmark = [pytest.mark.e2e, pytest.mark.container]


def variant(repo: Path, tmp_path: Path, name: str, **answers: str) -> Path:
    """Another render of `repo`'s service, with `repo`'s trained model; it uses `repo`'s environment
    (make PY=...), not an environment of its own."""
    copy = render_into(tmp_path / name, service_name=repo.name, **answers)
    shutil.copytree(repo / "model", copy / "model")
    return copy


def container_smoke(repo: Path, env: dict[str, str], python: Path | None = None, **variables: str):
    extra = {"PY": str(python)} if python else {}
    return run_make(repo, "container-smoke", check=False, env=env, timeout=1800, **extra, **variables)


@pytest.fixture
def podman_with(podman: dict[str, str], image_build_args: str) -> dict[str, str]:
    """podman's environment, and the build arguments images need here, for `make` (IMAGE_BUILD_ARGS)."""
    return {**podman, "IMAGE_BUILD_ARGS": image_build_args}


@pytest.mark.parametrize("owner", list(OWNERS))
def test_each_runtime_image_runs_as_its_serving_runtime_says(
    installed: Render, podman_with: dict[str, str], owner: str
) -> None:
    repo = installed(**OWNERS[owner])
    result = container_smoke(repo, podman_with)
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    limits = load_manifest(repo, "inference-service.yaml")["spec"]["predictor"]["model"]["resources"]["limits"]
    run_with = {resource: str(limits[resource]) for resource in ("cpu", "memory")}  # 1Gi, 4Gi on a GPU
    assert f"as UID 1000, read-only root, limits {run_with}" in out
    assert "v1: ready, sample.json predicted as expected" in out and "v2: ready" in out
    assert "stopped on SIGTERM in" in out  # within the grace period, not killed
    assert out.strip().splitlines()[-1] == "CONTAINER SMOKE OK text-classifier (podman)"


def test_a_baked_in_model_image(installed: Render, podman_with: dict[str, str], tmp_path: Path) -> None:
    owner = installed(**OWNERS["sklearn"])
    baked = variant(owner, tmp_path, "baked", model_storage="image")
    result = container_smoke(baked, podman_with, owner / ".venv" / "bin" / "python")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "CONTAINER SMOKE OK" in result.stdout


def failing(repo: Path, env: dict[str, str], python: Path) -> str:
    result = container_smoke(repo, env, python)
    assert result.returncode != 0, result.stdout
    return result.stderr


def test_a_broken_dockerfile_names_what_is_missing(
    installed: Render, podman_with: dict[str, str], tmp_path: Path
) -> None:
    owner = installed(**OWNERS["sklearn"])
    repo = variant(owner, tmp_path, "broken")
    dockerfile = repo / "Dockerfile"
    dockerfile.write_text(dockerfile.read_text().replace("WORKDIR /app\n", "WORKDIR /app\nCOPY settings.toml ./\n"))
    errors = failing(repo, podman_with, owner / ".venv" / "bin" / "python")
    assert "the image build failed" in errors and "settings.toml" in errors


def test_a_model_uid_1000_cannot_read_is_named(installed: Render, podman_with: dict[str, str], tmp_path: Path) -> None:
    owner = installed(**OWNERS["sklearn"])
    repo = variant(owner, tmp_path, "unreadable", model_storage="image")
    dockerfile = repo / "Dockerfile"
    dockerfile.write_text(
        dockerfile.read_text().replace("\nUSER 1000\n", "\nRUN chmod 600 /opt/model/model.joblib\nUSER 1000\n")
    )
    errors = failing(repo, podman_with, owner / ".venv" / "bin" / "python")
    assert "exited with" in errors and "before it was ready" in errors
    assert "cannot read or write /opt/model/model.joblib as UID 1000" in errors


def test_a_server_writing_to_its_root_is_named(installed: Render, podman_with: dict[str, str], tmp_path: Path) -> None:
    owner = installed(**OWNERS["sklearn"])
    repo = variant(owner, tmp_path, "writer")
    model = repo / "text_classifier" / "model.py"
    # The owner's model class writes a cache file when it loads (its class is the file's last block).
    model.write_text(
        model.read_text()
        + "\n    def load(self) -> bool:\n        from pathlib import Path\n\n"
        + '        Path("/app/cache.txt").write_text("x")\n        return super().load()\n'
    )
    errors = failing(repo, podman_with, owner / ".venv" / "bin" / "python")
    assert "the server writes to /app/cache.txt on the read-only root filesystem" in errors
    assert "emptyDir" in errors


def test_a_model_from_another_scikit_learn_is_named(
    installed: Render, podman_with: dict[str, str], tmp_path: Path
) -> None:
    owner = installed(**OWNERS["sklearn"])
    repo = variant(owner, tmp_path, "parity")
    python = owner / ".venv" / "bin" / "python"
    # The model, pickled as an older scikit-learn would have pickled it (the version it records).
    pickle_as_1_0_2 = (
        "import sklearn.base; sklearn.base.__version__ = '1.0.2'\n"
        "from pathlib import Path\nfrom training.train import train\ntrain(Path('model'))\n"
    )
    subprocess.run([python, "-c", pickle_as_1_0_2], cwd=repo, check=True, capture_output=True)
    errors = failing(repo, podman_with, python)
    assert "the model was pickled by scikit-learn 1.0.2 and the image has" in errors


def test_make_push_deploys_the_digest_the_image_was_pushed_under(
    installed: Render, podman_with: dict[str, str], tmp_path: Path
) -> None:
    """The push goes to an OCI archive here (no registry): the digest recorded in the kustomization is
    the manifest digest the archive holds, and what `kubectl apply -k k8s` would deploy."""
    owner = installed(**OWNERS["sklearn"])
    repo = tmp_path / "pushed"
    shutil.copytree(owner, repo, symlinks=True, ignore=shutil.ignore_patterns(".venv"))
    python = owner / ".venv" / "bin" / "python"
    run_make(repo, "image", env=podman_with, timeout=1800, PY=str(python))
    archive = tmp_path / "image.tar"
    pushed = subprocess.run([python, "-m", "kserve_kit", "--repo", str(repo), "push", "--destination",
                             f"oci-archive:{archive}"], env=podman_with, capture_output=True, text=True)  # fmt: skip
    assert pushed.returncode == 0, pushed.stderr
    with tarfile.open(archive) as tar:
        index = json.load(tar.extractfile("index.json"))  # type: ignore[arg-type]
    digest = index["manifests"][0]["digest"]
    assert f"digest: {digest}" in (repo / "k8s" / "kustomization.yaml").read_text()
    [runtime] = build(repo / "k8s").of_kind("ServingRuntime")
    assert runtime.obj["spec"]["containers"][0]["image"].endswith(f"@{digest}")


def test_rebuilding_leaves_no_superseded_image_behind(
    installed: Render, podman_with: dict[str, str], tmp_path: Path
) -> None:
    """Each build used to leave the previous image and its dependency stage untagged (about 600 MB
    each); the dependency stage keeps a tag of its own, so its layers stay the next build's cache."""
    owner = installed(**OWNERS["sklearn"])
    repo = tmp_path / "rebuilt"
    shutil.copytree(owner, repo, symlinks=True, ignore=shutil.ignore_patterns(".venv"))
    python = str(owner / ".venv" / "bin" / "python")
    run_make(repo, "image", env=podman_with, timeout=1800, PY=python)
    model = repo / "text_classifier" / "model.py"
    model.write_text(model.read_text() + "\n# a change of the owner's: the final stage is rebuilt\n")
    run_make(repo, "image", env=podman_with, timeout=1800, PY=python)
    listed = ["podman", "images", "--quiet", "--filter", "dangling=true", "--filter",
              "label=io.kserve-template.service=text-classifier"]  # fmt: skip
    assert subprocess.run(listed, env=podman_with, capture_output=True, text=True, check=True).stdout.strip() == ""
    tagged = ["podman", "image", "exists", "localhost/kserve-kit-cache/text-classifier-sklearn:dependencies"]
    assert subprocess.run(tagged, env=podman_with, check=False).returncode == 0
