"""CPU thread settings that must be in place before torch is imported; this module never imports torch.

Two things go wrong on a small shared CPU (a 2-core Hugging Face Space, a busy laptop, CI):

* OpenMP's worker threads spin-wait between parallel regions (GNU OpenMP's default). When another
  process holds a core, the spinning threads and the one doing work fight for it, and a call that
  takes 1 s idle took 4-10x longer. ``OMP_WAIT_POLICY=PASSIVE`` makes idle workers sleep instead.
* torch sizes its thread pool from the machine's cores, not from the cores this process may use
  (CPU affinity, a container's cgroup CPU quota): 64 threads on a 2-CPU container slice is far slower
  than 2.

:func:`configure_cpu_threads` sets both as environment defaults; OpenMP and torch read them when
torch loads. Importing this module applies it (``CPU_THREAD_SETTINGS`` holds what it set), and
``fer/__init__.py`` imports it first, so any ``import fer...`` that comes before ``import torch``
is enough; entry points that import torch themselves (``train.py``, bench scripts) import ``fer``
first for that reason. Why in the package and not only in the entry points: a notebook or a
script doing ``import fer`` gets the same steady behaviour. A variable the user already set is
never changed, and nothing happens once torch is loaded.
"""

from __future__ import annotations

import math
import os
import sys
from pathlib import Path

# Variables read when torch (OpenMP, MKL) loads. OMP_NUM_THREADS also sizes torch's intra-op pool.
_THREAD_COUNT_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS")


def cgroup_cpu_limit(root: str | os.PathLike = "/sys/fs/cgroup") -> float | None:
    """The CPU quota of this process's cgroup in cores (e.g. 2.0), or None when there is none or it is unreadable.

    Reads cgroup v2's ``cpu.max`` ("200000 100000" = 2 cores; "max ..." = no limit) or v1's
    ``cpu.cfs_quota_us`` / ``cpu.cfs_period_us`` (quota -1 = no limit).
    """
    base = Path(root)
    try:
        quota, period = (base / "cpu.max").read_text().split()[:2]
        return None if quota == "max" else int(quota) / int(period)
    except (OSError, ValueError):
        pass
    try:
        quota_us = int((base / "cpu" / "cpu.cfs_quota_us").read_text())
        period_us = int((base / "cpu" / "cpu.cfs_period_us").read_text())
        return None if quota_us <= 0 or period_us <= 0 else quota_us / period_us
    except (OSError, ValueError):
        return None


def available_cpus() -> int:
    """The cores this process may actually use: its CPU affinity, capped by the cgroup quota (at least 1)."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # macOS, Windows
        cpus = os.cpu_count() or 1
    quota = cgroup_cpu_limit()
    if quota is not None:
        cpus = min(cpus, max(1, math.ceil(quota)))  # a 1.5-core quota still runs two threads well
    return max(1, cpus)


def configure_cpu_threads() -> dict[str, str]:
    """Set ``OMP_WAIT_POLICY=PASSIVE`` and the thread counts to :func:`available_cpus`, unless already set.

    Returns the variables it set. It only has an effect if torch is not imported yet; the settings
    are defaults, so a user's ``OMP_NUM_THREADS=1 python app.py`` (or ``OMP_WAIT_POLICY=ACTIVE``) wins.
    """
    if "torch" in sys.modules:
        return {}  # too late: OpenMP has read its environment; leave the process as the user set it up
    wanted = {"OMP_WAIT_POLICY": "PASSIVE"}
    if not any(os.environ.get(name) for name in _THREAD_COUNT_VARIABLES):
        count = str(available_cpus())
        wanted.update(dict.fromkeys(_THREAD_COUNT_VARIABLES, count))
    changed = {name: value for name, value in wanted.items() if not os.environ.get(name)}
    os.environ.update(changed)
    return changed


CPU_THREAD_SETTINGS: dict[str, str] = configure_cpu_threads()  # applied on import, before torch loads
