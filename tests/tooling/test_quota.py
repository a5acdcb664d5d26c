"""The container's CPUs as its cgroup quota says (kserve_kit.serving.quota), not the node's cores:
what the serving library sizes torch's, OpenMP's and BLAS's thread pools to."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from kserve_kit.serving import quota

AVAILABLE = len(os.sched_getaffinity(0))


def cgroup_v2(root: Path, cpu_max: str) -> Path:
    (root / "cpu.max").write_text(cpu_max + "\n")
    return root


def cgroup_v1(root: Path, quota_us: int, period_us: int = 100_000) -> Path:
    (root / "cpu").mkdir()
    (root / "cpu" / "cpu.cfs_quota_us").write_text(f"{quota_us}\n")
    (root / "cpu" / "cpu.cfs_period_us").write_text(f"{period_us}\n")
    return root


@pytest.mark.parametrize(("cpu_max", "expected"), [("100000 100000", 1), ("150000 100000", 2), ("50000 100000", 1)])
def test_a_quota_of_cgroup_v2_rounds_up_to_whole_cpus(tmp_path: Path, cpu_max: str, expected: int) -> None:
    assert quota.container_cpus(cgroup_v2(tmp_path, cpu_max)) == min(expected, AVAILABLE)


def test_no_quota_is_the_cpus_the_process_may_run_on(tmp_path: Path) -> None:
    assert quota.container_cpus(cgroup_v2(tmp_path, "max 100000")) == AVAILABLE
    assert quota.container_cpus(tmp_path / "none") == AVAILABLE  # no cgroup files at all


def test_a_quota_of_cgroup_v1(tmp_path: Path) -> None:
    assert quota.container_cpus(cgroup_v1(tmp_path, 100_000)) == 1
    unlimited = tmp_path / "unlimited"
    unlimited.mkdir()
    assert quota.container_cpus(cgroup_v1(unlimited, -1)) == AVAILABLE


def test_a_quota_above_the_cpus_is_the_cpus(tmp_path: Path) -> None:
    assert quota.container_cpus(cgroup_v2(tmp_path, f"{(AVAILABLE + 8) * 100000} 100000")) == AVAILABLE


def test_thread_pools_follow_the_quota_unless_the_owner_set_them() -> None:
    # What the environment held when the library loaded is the owner's (the ServingRuntime's env), or
    # a worker's share from its parent: a fresh interpreter, as the server starts.
    env = {key: value for key, value in os.environ.items() if key not in quota.THREAD_VARIABLES}
    script = (
        "import os; from kserve_kit.serving import quota; quota.limit_threads(2); "
        "print(*(os.environ[v] for v in quota.THREAD_VARIABLES), quota.compute_threads())"
    )
    shown = subprocess.run([sys.executable, "-c", script], env={**env, "MKL_NUM_THREADS": "3"},
                           capture_output=True, text=True, check=True).stdout.split()  # fmt: skip
    assert shown == ["2", "2", "3", "2", "2"]  # OMP, OpenBLAS, MKL (the owner's), numexpr; torch's


def test_the_memory_limit_of_cgroup_v2_and_v1(tmp_path: Path) -> None:
    v2, v1, unlimited = (tmp_path / name for name in ("v2", "v1", "unlimited"))
    for directory in (v2, v1 / "memory", unlimited / "memory"):
        directory.mkdir(parents=True)
    (v2 / "memory.max").write_text("1073741824\n")
    (v1 / "memory" / "memory.limit_in_bytes").write_text("536870912\n")
    (unlimited / "memory" / "memory.limit_in_bytes").write_text("9223372036854771712\n")  # v1's "no limit"
    assert quota.memory_limit(v2) == 2**30 and quota.memory_limit(v1) == 2**29
    assert quota.memory_limit(unlimited) is None and quota.memory_limit(tmp_path / "none") is None


MB = 2**20


@pytest.mark.parametrize(
    ("wanted", "limit", "expected"),
    [
        (4, None, 4),  # no limit: one per CPU
        (4, 1024 * MB, 2),  # 0.9 GiB - 100 MB parent holds two 400 MB workers
        (2, 4096 * MB, 2),  # never more than the CPUs
        (4, 300 * MB, 1),  # not even one fits: one still runs (the pod was sized for one process)
    ],
)
def test_workers_are_as_many_as_the_memory_limit_holds(wanted: int, limit: int | None, expected: int) -> None:
    assert quota.workers_that_fit(wanted, limit, parent_bytes=100 * MB, worker_bytes=400 * MB) == expected
