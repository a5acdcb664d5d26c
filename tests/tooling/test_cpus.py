"""The container's CPUs as its cgroup quota says (kserve_kit.serving.cpus), not the node's cores:
what the serving library sizes torch's, OpenMP's and BLAS's thread pools to."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from kserve_kit.serving import cpus

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
    assert cpus.container_cpus(cgroup_v2(tmp_path, cpu_max)) == min(expected, AVAILABLE)


def test_no_quota_is_the_cpus_the_process_may_run_on(tmp_path: Path) -> None:
    assert cpus.container_cpus(cgroup_v2(tmp_path, "max 100000")) == AVAILABLE
    assert cpus.container_cpus(tmp_path / "none") == AVAILABLE  # no cgroup files at all


def test_a_quota_of_cgroup_v1(tmp_path: Path) -> None:
    assert cpus.container_cpus(cgroup_v1(tmp_path, 100_000)) == 1
    unlimited = tmp_path / "unlimited"
    unlimited.mkdir()
    assert cpus.container_cpus(cgroup_v1(unlimited, -1)) == AVAILABLE


def test_a_quota_above_the_cpus_is_the_cpus(tmp_path: Path) -> None:
    assert cpus.container_cpus(cgroup_v2(tmp_path, f"{(AVAILABLE + 8) * 100000} 100000")) == AVAILABLE


def test_thread_pools_follow_the_quota_unless_the_owner_set_them(monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in cpus.THREAD_VARIABLES:
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("MKL_NUM_THREADS", "3")  # the owner's choice (the ServingRuntime's env)
    assert cpus.limit_threads(2) == 2
    assert os.environ["OMP_NUM_THREADS"] == "2" and os.environ["OPENBLAS_NUM_THREADS"] == "2"
    assert os.environ["MKL_NUM_THREADS"] == "3"
