"""Each runtime's image: its size, and container start to ready (model loaded: the readiness route
for KServe's Python server, a first answered prediction for TorchServe), run exactly as its
ServingRuntime runs it (kserve-kit's container contract), side by side in one run.

    .venv/bin/python -m bench.images [--rounds 3] [--repo DIR ...]

Needs Docker, or podman with its configuration in the environment (CONTAINERS_CONF,
CONTAINERS_STORAGE_CONF); on the kit's machines the base images are STAND-INS (tests/containers.py).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from bench.common import cleanup, image_arguments, image_repos, machine, table
from kserve_kit.container import Container, RunSpec, build, engine, staged_models
from kserve_kit.service import Service
from kserve_kit.smoke import Sample, SmokeClient, Target

RUNTIMES = {"sklearn": {}, "pytorch": {"runtime": "pytorch"}, "torchserve": {"runtime": "torchserve"}}


def size_mb(tool: str, image: str) -> float:
    size = subprocess.run([tool, "image", "inspect", "--format", "{{.Size}}", image], capture_output=True, text=True)
    return int(size.stdout.strip()) / 1e6


def start_to_ready(tool: str, service: Service, spec: RunSpec, models: Path | None) -> float:
    container = Container(tool, spec, models)
    started = time.monotonic()
    try:
        container.start(120)
        client = SmokeClient(Target(container.url), service, service.protocol)
        client.wait_until_ready(120, Sample.load(service.sample_path))
        return time.monotonic() - started
    finally:
        container.remove()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    image_arguments(parser)
    args = parser.parse_args()
    tool = engine()
    repos = image_repos(args.repo, RUNTIMES)
    rows = []
    for repo, _, ours in repos:
        service = Service.load(repo)
        spec = RunSpec.of(service)
        spec.image = f"localhost/kserve-kit-bench/{service.facts['runtime']}-{service.name}:latest"
        build(service, spec.image, tool, args.build_arg)
        with tempfile.TemporaryDirectory() as staging:
            models = staged_models(service, Path(staging) / "models") if spec.model_dir else None
            times = [start_to_ready(tool, service, spec, models) for _ in range(args.rounds)]
        base = (repo / "Dockerfile").read_text().split("FROM ", 1)[1].split()[0]
        rows.append([service.facts["runtime"], size_mb(tool, spec.image), statistics.median(times), min(times), base])
        if ours:
            cleanup(repo)
    print(f"# Service images, run as their ServingRuntime runs them ({tool}); start to ready: median and best of "
          f"{args.rounds} ({machine()})\n")  # fmt: skip
    print(table(["runtime", "image (MB)", "start to ready (s)", "best (s)", "base image"], rows))


if __name__ == "__main__":
    main()
