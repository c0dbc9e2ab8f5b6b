"""Memory budgets of out-of-core jobs: the machine's memory, a safe default share of it, and what
this process holds now (Linux ``/proc``; elsewhere the checks that need it are skipped)."""
from __future__ import annotations

import math
import os
from pathlib import Path

__all__ = ["DEFAULT_FRACTION", "machine_memory", "default_budget", "resident_bytes", "mapped_resident_bytes", "gb"]

DEFAULT_FRACTION = 0.25  # of the machine's memory: room for the OS, page cache and other jobs


def machine_memory() -> int:
    """Physical memory in bytes, or the container's limit (cgroup v2 ``memory.max``) when lower."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # pragma: no cover - not POSIX
        total = 8 << 30
    try:
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        if limit.isdigit():
            total = min(total, int(limit))
    except OSError:
        pass
    return int(total)


def default_budget() -> int:
    """The default memory budget of a job: :data:`DEFAULT_FRACTION` of :func:`machine_memory`."""
    return int(machine_memory() * DEFAULT_FRACTION)


def resident_bytes() -> int:
    """This process's resident memory now, in bytes (0 where ``/proc`` is not there)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):  # pragma: no cover - not Linux
        return 0


def mapped_resident_bytes() -> int:
    """Resident pages of files this process maps (and shared memory), in bytes; -1 where ``/proc``
    is not there. What a search of memory-mapped files holds beyond its own arrays."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[2]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):  # pragma: no cover - not Linux
        return -1


def gb(n: float) -> str:
    """``n`` bytes as GB for messages, rounded up to 0.1 GB (a budget named this way is enough)."""
    return f"{math.ceil(max(n, 0) * 10 / (1 << 30)) / 10:.1f} GB"
