"""Checks of a run before any expensive work, and the guard around a run directory.

* :func:`check_device` -- ``--device cuda`` without CUDA is a clear error, not a torch traceback.
* :func:`check_run_dir` -- a run directory that holds another run is refused before any data is
  loaded, naming the settings that differ.
* :func:`guard_run_dir` -- the decorator of :func:`actionhub.engine.trainer.train_run`: it holds the
  run directory's lock (one writer at a time), turns a full disk into a clear error, and never
  leaves a run marked ``running`` after an error (it is marked ``failed``, or ``interrupted``).
"""
from __future__ import annotations

import functools
import inspect
import logging
from pathlib import Path
from typing import Any, Callable, Mapping

from actionhub.utils import jsontext
from actionhub.utils.device import check_device  # noqa: F401 - re-exported
from actionhub.utils.errors import DiskFullError, UserError, disk_full_message, is_disk_full
from actionhub.utils.io import atomic_write_json
from actionhub.utils.lock import output_lock
from actionhub.utils.runinfo import now

log = logging.getLogger(__name__)

__all__ = ["check_device", "check_run_dir", "run_differences", "guard_run_dir"]


# --------------------------------------------------------------------------- what differs between two runs

def _flat(d: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in d.items():
        if isinstance(v, Mapping) and k in ("model", "optim", "method_params"):
            out.update(_flat(v, f"{prefix}{k}." if k == "method_params" else ""))
        else:
            out[f"{prefix}{k}"] = v
    return out


def _flag(name: str) -> str:
    if name.startswith("method_params."):
        return f"--method-param {name.split('.', 1)[1]}"
    return "--" + name.replace("_", "-")


def run_differences(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """The settings in which the run record ``old`` (run.json) and ``new`` (same keys: config,
    benchmark, split, data paths) differ, as ``--flag OLD (now NEW)`` strings."""
    diffs: list[str] = []
    oc, nc = _flat(old.get("config") or {}), _flat(new.get("config") or {})
    for k in nc:
        if k in oc and oc[k] != nc[k]:
            diffs.append(f"{_flag(k)} {oc[k]!r} (now {nc[k]!r})")
    for k in ("benchmark", "split"):
        if k in old and k in new and old[k] != new[k]:
            diffs.append(f"--{k} {old[k]!r} (now {new[k]!r})")
    od, nd = old.get("data") or {}, new.get("data") or {}
    for k in ("features", "eval_features", "text_features", "cim_pool"):
        if k in od and k in nd and od[k] != nd[k]:
            diffs.append(f"--{k.replace('_', '-')} {od[k]!r} (now {nd[k]!r})")
    return diffs


def _different_run(out: Path, diffs: list[str]) -> UserError:
    from actionhub.engine.checkpoint import RunDirError

    what = ("it was trained with " + "; ".join(diffs[:8]) + (" ..." if len(diffs) > 8 else "")) if diffs else \
        "its config, split or data differ"
    return RunDirError(f"{out} already holds a different run: {what}. Use a new --out directory, or delete "
                       f"{out} to start over.")


def check_run_dir(out: str | Path, new: Mapping[str, Any]) -> None:
    """Refuse ``out`` when its run.json (or config.json) records other settings than ``new``
    (``{"config", "benchmark", "split", "data"}``); cheap, so it runs before any data is loaded."""
    out = Path(out)
    # --refit: the folder's own run trained for the steps chosen on val; the selection run in
    # select/ holds the settings the command asked for.
    old = _json_object(out / "select" / "run.json") or _json_object(out / "run.json")
    if old is None:
        config = _json_object(out / "config.json")
        old = {"config": config} if config is not None else None
    if old is None:
        return   # nothing (readable) there: the fingerprint check after loading decides
    diffs = run_differences(old, new)
    if diffs:
        raise _different_run(out, diffs)


def different_run_error(out: str | Path, new: Mapping[str, Any]) -> UserError:
    """The "already holds a different run" error for ``out``, naming what differs when run.json says."""
    out = Path(out)
    old = _json_object(out / "run.json")
    return _different_run(out, run_differences(old, new) if old is not None else [])


def _json_object(path: Path) -> dict[str, Any] | None:
    """The JSON object in ``path``; None when it is missing, unreadable or not an object."""
    try:
        obj = jsontext.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return obj if isinstance(obj, dict) else None


# --------------------------------------------------------------------------- the guard of a run directory

def _mark(out: Path, status: str, error: str) -> None:
    path = out / "run.json"
    rec = _json_object(path)
    if rec is None or rec.get("status") != "running":
        return   # a finished run is never touched
    rec.update(status=status, error=error, stopped_at=now())
    try:
        atomic_write_json(path, rec)
    except OSError as e:   # the disk is still full: say so, the run stays resumable all the same
        log.warning("could not mark %s as %s: %s", path, status, e)


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
                    _mark(out, "interrupted", "interrupted; rerun the same command to resume")
                    raise
                except Exception as e:
                    if is_disk_full(e):
                        msg = disk_full_message(out, e, "the finished epochs are kept in checkpoint.pt: free "
                                                        "space and rerun the same command to resume")
                        _mark(out, "failed", msg)
                        raise DiskFullError(msg) from None
                    _mark(out, "failed", f"{type(e).__name__}: {e}"[:1000])
                    raise

        return wrapper

    return deco
