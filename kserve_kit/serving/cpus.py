"""How many CPUs the container may use: its cgroup's CPU quota, not the node's cores.

A pod with `limits.cpu: 1` on a 64-core node sees 64 cores (`os.cpu_count()`); numpy's BLAS,
OpenMP and torch would each start 64 compute threads, which the kernel then throttles to one CPU's
time (CFS quota): every request waits on the others. The thread pools follow the quota instead.
This module imports nothing heavy: `limit_threads()` must run before numpy or torch is imported.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

CGROUP = Path("/sys/fs/cgroup")
# The libraries' own variables: each reads its variable once, when it is first imported.
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS")


def _quota(cgroup: Path) -> float | None:
    """CPUs the cgroup's quota allows (cgroup v2 `cpu.max`, else v1 `cpu.cfs_quota_us`), None when unlimited."""
    try:
        quota, period = (cgroup / "cpu.max").read_text().split()[:2]
        return None if quota == "max" else int(quota) / int(period)
    except (OSError, ValueError):
        pass
    try:
        quota_us = int((cgroup / "cpu" / "cpu.cfs_quota_us").read_text())
        period_us = int((cgroup / "cpu" / "cpu.cfs_period_us").read_text())
    except (OSError, ValueError):
        return None
    return quota_us / period_us if quota_us > 0 else None


def container_cpus(cgroup: Path = CGROUP) -> int:
    """Whole CPUs this process may use: the quota rounded up, never more than the CPUs it may run on."""
    available = len(os.sched_getaffinity(0))
    quota = _quota(cgroup)
    return max(1, min(available, math.ceil(quota))) if quota else available


def limit_threads(cpus: int | None = None) -> int:
    """Size the compute thread pools to the container's CPUs, unless the owner set them (env)."""
    cpus = cpus or container_cpus()
    for variable in THREAD_VARIABLES:
        os.environ.setdefault(variable, str(cpus))
    return cpus
