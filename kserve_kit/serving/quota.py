"""What the container may use: its cgroup's CPU quota (not the node's cores) and memory limit.

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
UNLIMITED = 2**60  # cgroup v1 writes "no limit" as a number near 2**63
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS")
# Set before this module loaded: the owner's (the pod's env), or a worker's share from its parent.
OWNER_SET = frozenset(variable for variable in THREAD_VARIABLES if variable in os.environ)


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
    """Size the compute thread pools to `cpus` (default: the container's CPUs), unless the owner set
    them (env); a server with several workers gives each its share (server.py)."""
    cpus = cpus or container_cpus()
    for variable in set(THREAD_VARIABLES) - OWNER_SET:
        os.environ[variable] = str(cpus)
    return cpus


def compute_threads() -> int:
    """The threads this process's compute pools may run (torch reads it at load): OMP_NUM_THREADS."""
    try:
        return max(1, int(os.environ["OMP_NUM_THREADS"]))
    except (KeyError, ValueError):
        return container_cpus()


def workers_that_fit(wanted: int, limit: int | None, parent_bytes: int, worker_bytes: int) -> int:
    """Workers (at least one, at most `wanted`) that the memory limit holds beside the parent, with a
    tenth of it to spare, each as big as the first one measured after loading its model."""
    if limit is None:
        return wanted
    return max(1, min(wanted, int((limit * 0.9 - parent_bytes) // max(worker_bytes, 1))))


def memory_limit(cgroup: Path = CGROUP) -> int | None:
    """The container's memory limit in bytes (cgroup v2 `memory.max`, else v1), None when unlimited."""
    for path in (cgroup / "memory.max", cgroup / "memory" / "memory.limit_in_bytes"):
        try:
            value = path.read_text().strip()
        except OSError:
            continue
        return None if value == "max" or int(value) >= UNLIMITED else int(value)
    return None
