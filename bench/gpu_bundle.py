"""What bench.gpu carries to the GPU machine (#25): the embeddings and text-generation services,
trained here, and the wheels their server and smoke need that the GPU machine lacks, in one folder
that fits the machine's 64 MiB limit on what travels (the working tree included).

    .venv/bin/python -m bench.gpu_bundle [--out build/gpu] [--repo EMBEDDINGS_REPO --repo TEXT_GENERATION_REPO]

The GPU machine reaches no package registry; its Python (3.12, x86-64) already holds torch with
CUDA, transformers and sentence-transformers, and none of kserve. The wheels are those of
`kserve-kit[serving]` and the smoke's libraries resolved here for that Python, less the big ones it
has (DEVICE_HAS). all-MiniLM-L6-v2's weights (90 MB) do not fit: the bundle carries the model's
configuration and tokenizer, and bench.gpu builds random weights of the same shape there, which cost
the same to run (its answers mean nothing; the embeddings smoke checks shapes, not meanings).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

from packaging.requirements import Requirement

from bench.common import KIT_ROOT, cleanup, prepared

CARRY_LIMIT = 64 * 2**20  # the device tool's limit on the working tree and every carried path together
DEVICE_PYTHON = ("3.12", ["manylinux_2_28_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64"])
# Already on the GPU machine, in versions kserve accepts (/work/.library/device/KINDS.md, read
# 2026-11-17: numpy 2.5.2 < 3; uvloop), and too big to carry again (16 and 5 MB).
DEVICE_HAS = {"numpy", "uvloop"}
SMOKE_NEEDS = ("httpx", "pyyaml", "openai")  # what `kserve-kit smoke` imports, from the tooling extra
WEIGHTS = ("model.safetensors", "pytorch_model.bin")
BIG = 16 * 2**20  # weights above this stay behind (MiniLM's 90 MB); the tiny GPT-2's, trained here, travel
SKIPPED = shutil.ignore_patterns(".venv*", ".git", "__pycache__", ".pytest_cache", ".ruff_cache", ".kit", "*.egg-info")
RUNTIMES = {"embeddings": "embedder", "text-generation": "generator"}


def requirements() -> tuple[list[str], list[str]]:
    """(what the kit's wheel needs at run time, what the smoke imports): the ranges in the kit's pyproject."""
    extras = tomllib.loads((KIT_ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    tooling = {Requirement(requirement).name: requirement for requirement in extras["tooling"]}
    return extras["serving"], [tooling[name] for name in SMOKE_NEEDS]


def wheels(target: Path) -> list[str]:
    """The kit's wheel and the run-time closure for the device's Python, less DEVICE_HAS; what bench.gpu
    installs from them (the kit pinned to its wheel's version, and the smoke's libraries)."""
    target.mkdir(parents=True)
    pip = [sys.executable, "-m", "pip"]
    subprocess.run([*pip, "wheel", "-q", "--no-deps", "-w", str(target), str(KIT_ROOT)], check=True)
    version, platforms = DEVICE_PYTHON
    with tempfile.TemporaryDirectory(prefix="gpu-wheels-") as scratch:
        platform_args = [arg for name in platforms for arg in ("--platform", name)]
        serving, smoke = requirements()
        subprocess.run([*pip, "download", "-q", "--only-binary=:all:", "--python-version", version, *platform_args,
                        "-d", scratch, *serving, *smoke], check=True)  # fmt: skip
        for wheel in Path(scratch).glob("*.whl"):
            if wheel.name.split("-")[0].lower().replace("_", "-") not in DEVICE_HAS:
                shutil.copy(wheel, target)
    [kit] = target.glob("kserve_kit-*.whl")
    return [f"kserve-kit[serving]=={kit.name.split('-')[1]}", *smoke]


def copy_repo(repo: Path, target: Path) -> bool:
    """The service's files and trained model/ (never its venv); True where big weights were left out."""
    shutil.copytree(repo, target, ignore=SKIPPED)
    big = [path for name in WEIGHTS for path in (target / "model").rglob(name) if path.stat().st_size > BIG]
    for path in big:
        path.unlink()
    return bool(big)


def working_tree_bytes() -> int:
    """What travels besides the carried paths: the kit's tracked and untracked, not ignored, files."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=KIT_ROOT,
                            capture_output=True, check=True).stdout  # fmt: skip
    return sum((KIT_ROOT / name).stat().st_size for name in listed.decode().split("\0") if (KIT_ROOT / name).is_file())


def size_of(folder: Path) -> int:
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=KIT_ROOT / "build" / "gpu", help="the bundle (git ignores build/)")
    parser.add_argument("--repo", type=Path, action="append", help="installed, trained: embeddings, text-generation")
    args = parser.parse_args()
    given = args.repo or [None] * len(RUNTIMES)
    if args.out.exists():
        shutil.rmtree(args.out)
    manifest: dict[str, object] = {"install": wheels(args.out / "wheels"), "repos": {}}
    for (runtime, name), repo in zip(RUNTIMES.items(), given, strict=True):
        path, _, ours = prepared(repo, runtime=runtime, service_name=name)
        try:
            random = copy_repo(path, args.out / "repos" / runtime)
        finally:
            if ours:
                cleanup(path)
        manifest["repos"][runtime] = {"random_weights": random}  # type: ignore[index]
    (args.out / "bundle.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    total = size_of(args.out) + working_tree_bytes()
    print(f"{args.out}: {size_of(args.out) / 2**20:.1f} MiB, {total / 2**20:.1f} MiB with the working tree "
          f"(limit {CARRY_LIMIT / 2**20:.0f} MiB); {len(list(args.out.glob('wheels/*.whl')))} wheels")  # fmt: skip
    if total > CARRY_LIMIT:
        shutil.rmtree(args.out)
        raise SystemExit(f"the bundle and the working tree are {total / 2**20:.1f} MiB, over the device's "
                         f"{CARRY_LIMIT / 2**20:.0f} MiB: carry fewer wheels (DEVICE_HAS) or smaller "
                         "models")  # fmt: skip


if __name__ == "__main__":
    main()
