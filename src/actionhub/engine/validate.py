"""Checks of a run before any expensive work, and the guard around a run directory.

* :func:`check_device` -- ``--device cuda`` without CUDA is a clear error, not a torch traceback.
* A run directory that holds another run is refused before any data is loaded, naming the settings
  that differ: :meth:`actionhub.utils.rundir.RunDir.holds`.
* :func:`guard_run_dir` -- the decorator of :func:`actionhub.engine.trainer.train_run`: it holds the
  run directory's lock (one writer at a time), turns a full disk into a clear error, and never
  leaves a run marked ``running`` after an error (it is marked ``failed``, or ``interrupted``).
"""
from __future__ import annotations

import functools
import inspect
from pathlib import Path
from typing import Any, Callable

from actionhub.utils.device import check_device  # noqa: F401 - re-exported
from actionhub.utils.errors import DiskFullError, disk_full_message, is_disk_full
from actionhub.utils.lock import output_lock
from actionhub.utils.rundir import RunDir

__all__ = ["check_device", "guard_run_dir"]


def guard_run_dir(param: str = "out_dir") -> Callable:
    """Decorator for a function writing the run directory passed as ``param``: hold its lock,
    report a full disk clearly, and mark the run ``failed``/``interrupted`` on any error."""

    def deco(fn: Callable) -> Callable:
        sig = inspect.signature(fn)

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            out = Path(sig.bind_partial(*args, **kwargs).arguments[param])
            with output_lock(out, folder=True, what="run directory"):
                try:
                    return fn(*args, **kwargs)
                except KeyboardInterrupt:
                    RunDir(out).mark("interrupted", "interrupted; rerun the same command to resume")
                    raise
                except Exception as e:
                    if is_disk_full(e):
                        msg = disk_full_message(out, e, "the finished epochs are kept in checkpoint.pt: free "
                                                        "space and rerun the same command to resume")
                        RunDir(out).mark("failed", msg)
                        raise DiskFullError(msg) from None
                    RunDir(out).mark("failed", f"{type(e).__name__}: {e}"[:1000])
                    raise

        return wrapper

    return deco
