"""How many threads torch computes with: ``--threads N|auto`` (docs/training.md#threads).

torch's default (a thread per core, spinning while it waits for the others) collapses as soon as
another process wants a core: every operation waits for the thread that lost its core. So:

* ``import actionhub`` sets ``OMP_WAIT_POLICY=PASSIVE`` unless it is set: waiting threads sleep,
  and a busy machine costs about one thread's speed instead of 5-20x (:func:`wait_policy`);
* ``auto`` keeps a count the user chose (``OMP_NUM_THREADS``/``MKL_NUM_THREADS``, or
  ``torch.set_num_threads`` before the call), uses one thread where a step is too small for a
  second to pay (:data:`PAYS_FROM`), and torch's default otherwise.
"""
from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any, Iterator

__all__ = ["AUTO", "PAYS_FROM", "check_threads", "choose_threads", "torch_threads", "wait_policy"]

AUTO = "auto"
#: environment variables that set the thread count before torch starts (the user's choice wins)
THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS")
#: multiply-adds a training step must do before a second thread pays (measured: docs/training.md#threads)
PAYS_FROM = 20e6


def wait_policy() -> str:
    """How torch's threads wait, as recorded in run.json."""
    import actionhub  # noqa: PLC0415

    policy = os.environ.get("OMP_WAIT_POLICY", "").upper()
    if policy == "PASSIVE" and getattr(actionhub, "_PASSIVE_TOO_LATE", False):
        return "spin (torch was imported before actionhub; set OMP_WAIT_POLICY=PASSIVE before importing it)"
    return "passive (sleep)" if policy == "PASSIVE" else f"{policy.lower() or 'default'} (spin)"


def check_threads(value: Any) -> int | str:
    """``value`` as a thread count (an int >= 1) or ``"auto"``; anything else is a ValueError."""
    if isinstance(value, str) and value.strip().lower() == AUTO:
        return AUTO
    try:
        if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
            raise ValueError
        n = int(value)
    except (TypeError, ValueError):
        raise ValueError(f"threads must be a whole number >= 1 or 'auto', got {value!r}") from None
    if n < 1:
        raise ValueError(f"threads must be a whole number >= 1 or 'auto', got {value!r}")
    return n


def default_threads() -> int:
    """The count torch starts with when nobody sets one: its physical cores (from sysfs), else the CPUs."""
    cores = set()
    for topo in Path("/sys/devices/system/cpu").glob("cpu[0-9]*/topology"):
        try:
            cores.add(((topo / "physical_package_id").read_text().strip(), (topo / "core_id").read_text().strip()))
        except OSError:
            continue
    return len(cores) or os.cpu_count() or 1


def choose_threads(spec: int | str, current: int, work: float | None) -> tuple[int, str]:
    """``(threads, why)`` for ``spec`` when torch has ``current`` threads and a step does ``work``
    multiply-adds (None: unknown, torch's count is kept)."""
    spec = check_threads(spec)
    if spec != AUTO:
        return int(spec), "--threads"
    env = next((v for v in THREAD_VARS if os.environ.get(v)), None)
    if env:
        return current, f"{env}={os.environ[env]}"
    if current != default_threads():
        return current, "torch.set_num_threads"
    if work is not None and work < PAYS_FROM and current > 1:
        return 1, f"auto: {work / 1e6:.3g}M multiply-adds a step, too few for a second thread"
    return current, "auto: torch's default, one thread a core"


@contextlib.contextmanager
def torch_threads(spec: int | str = AUTO, work: float | None = None) -> Iterator[dict[str, Any]]:
    """Compute with the threads ``spec`` asks for (:func:`choose_threads`) inside the block, then
    restore torch's count. Yields what run.json records (``threads``, ``requested``, ``why``, ``wait``)."""
    import torch  # noqa: PLC0415

    before = torch.get_num_threads()
    n, why = choose_threads(spec, before, work)
    torch.set_num_threads(n)
    try:
        yield {"threads": n, "requested": spec, "why": why, "wait": wait_policy()}
    finally:
        torch.set_num_threads(before)
