"""Every CPU the pod pays for is used: each KServe runtime's image run as its ServingRuntime runs it,
at `--cpus 1` and at `--cpus 2` (the container's CPU quota, as a pod's `limits.cpu` sets it), the
same V1 request at c=8 with wrk, the two limits alternating, side by side in one run.

    .venv/bin/python -m bench.cpus [--rounds 3] [--seconds 5] [--repo DIR ...] [--build-arg K=V]

The server starts one worker per CPU of the quota and sizes each worker's compute threads to its
share (kserve_kit.serving.workers, cpus): the table shows the workers each container reported.
Needs Docker or podman, as bench.images does; wrk. The load generator and the kernel's networking
share the machine's cores with the server: "CPUs used" is what the container got (its processes'
CPU time during the run), so a machine with no cores to spare shows in the table.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from bench.common import cleanup, image_arguments, image_repos, machine, table, wrk
from kserve_kit.container import Container, RunSpec, build, engine, staged_models
from kserve_kit.service import Service
from kserve_kit.smoke import Sample, SmokeClient, Target

RUNTIMES = {"sklearn": {}, "pytorch": {"runtime": "pytorch"}}
LIMITS = ("1", "2")
CONCURRENCY = 8


def cpu_seconds(tool: str, container: Container) -> float:
    """CPU time the container's processes have used so far (their host PIDs' /proc/PID/stat)."""
    pids = subprocess.run([tool, "top", container.name, "hpid"], capture_output=True, text=True, check=True)
    ticks = 0
    for pid in pids.stdout.split()[1:]:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


def measure(
    tool: str, service: Service, spec: RunSpec, models: Path | None, cpus: str, seconds: int
) -> tuple[float, float, str]:
    """requests/s at c=8 of one container with `--cpus cpus`, the CPUs it used meanwhile, and the
    workers its log reports."""
    spec.limits["cpu"] = cpus
    container = Container(tool, spec, models)
    try:
        container.start(120)
        sample = Sample.load(service.sample_path)
        SmokeClient(Target(container.url), service, "v1").wait_until_ready(120, sample)
        url, body = f"{container.url}/v1/models/{service.name}:predict", {"instances": sample.instances}
        wrk(url, body, CONCURRENCY, 1)  # warm-up
        before, started = cpu_seconds(tool, container), time.monotonic()
        rps = wrk(url, body, CONCURRENCY, seconds)["rps"]
        used = (cpu_seconds(tool, container) - before) / (time.monotonic() - started)
        reported = re.search(r": (\d+) worker\(s\) on port", container.log())
        return rps, used, reported.group(1) if reported else "1"
    finally:
        container.remove()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=5, help="wrk's duration per measurement")
    image_arguments(parser)
    args = parser.parse_args()
    tool = engine()
    repos = image_repos(args.repo, RUNTIMES)
    rows = []
    for repo, _, ours in repos:
        service = Service.load(repo)
        if service.server != "kserve":
            raise SystemExit(f"{repo}: bench.cpus measures KServe's Python server; this is {service.server}")
        spec = RunSpec.of(service)
        spec.image = f"localhost/kserve-kit-bench/{service.facts['runtime']}-{service.name}:latest"
        build(service, spec.image, tool, args.build_arg)
        rps: dict[str, list[float]] = {cpus: [] for cpus in LIMITS}
        used: dict[str, list[float]] = {cpus: [] for cpus in LIMITS}
        workers: dict[str, str] = {}
        with tempfile.TemporaryDirectory() as staging:
            models = staged_models(service, Path(staging) / "models") if spec.model_dir else None
            for _ in range(args.rounds):
                for cpus in LIMITS:  # alternating: a slow spell of the machine hits both
                    value, cpu, workers[cpus] = measure(tool, service, spec, models, cpus, args.seconds)
                    rps[cpus].append(value)
                    used[cpus].append(cpu)
        one, two = (statistics.median(rps[cpus]) for cpus in LIMITS)
        used_one, used_two = (statistics.median(used[cpus]) for cpus in LIMITS)
        rows.append([service.facts["runtime"], one, two, two / one, used_one, used_two,
                     (two / used_two) / (one / used_one), f"{workers['1']} / {workers['2']}"])  # fmt: skip
        if ours:
            cleanup(repo)
    print(f"# KServe runtimes' images at --cpus 1 and --cpus 2, V1 at c={CONCURRENCY} with wrk ({tool}); "
          f"median requests/s of {args.rounds} rounds ({machine()})\n")  # fmt: skip
    headers = ["runtime", "--cpus 1 (rps)", "--cpus 2 (rps)", "2 CPUs / 1", "CPUs used (1)", "CPUs used (2)",
               "rps per CPU used, 2 / 1", "workers (1 / 2)"]  # fmt: skip
    print(table(headers, rows))


if __name__ == "__main__":
    main()
