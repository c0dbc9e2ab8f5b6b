"""Exclusive locks on output folders and files: one writer at a time.

:func:`output_lock` holds an ``flock`` on a lock file -- ``OUT/.lock`` for a folder output,
``OUT.lock`` next to a file output -- and writes its holder (pid, host, command, start time)
into it, so a second writer is refused with a message that names the holder. The OS releases
an ``flock`` when its process dies (even on ``kill -9``), so a stale lock file left by a dead
holder is simply taken over. The lock file is removed on release (and a folder the lock created,
if nothing was written into it); a taker checks that the file it locked is still the one at the
path, so removal cannot let two writers in.

The lock is re-entrant within one process (the library and its callers may both take it).
"""
from __future__ import annotations

import contextlib
import json
import os
import socket
import sys
import threading
import time
from pathlib import Path
from typing import Any, Iterator

from actionhub.utils.errors import UserError

__all__ = ["LockedError", "output_lock", "lock_path_for", "read_holder"]

LOCK_NAME = ".lock"

_held: dict[str, list[Any]] = {}   # lock file (absolute) -> [open file, depth]
_guard = threading.Lock()


class LockedError(UserError):
    """Another process is writing the same output."""


def lock_path_for(out: str | os.PathLike[str], folder: bool | None = None) -> Path:
    """The lock file of output ``out``: ``out/.lock`` for a folder (an existing directory, or
    ``folder=True``), ``out.lock`` beside it for a file."""
    p = Path(out)
    if folder is None:
        folder = p.is_dir()
    return p / LOCK_NAME if folder else p.with_name(p.name + ".lock")


def read_holder(lock_file: str | os.PathLike[str]) -> dict[str, Any]:
    """The holder record written into ``lock_file`` (empty when missing or unreadable)."""
    try:
        rec = json.loads(Path(lock_file).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return rec if isinstance(rec, dict) else {}


def _describe(rec: dict[str, Any]) -> str:
    if not rec.get("pid"):
        return "another process"
    cmd = rec.get("command") or ""
    return (f"process {rec['pid']} on {rec.get('host') or '?'}" + (f" ({cmd})" if cmd else "")
            + (f", since {rec['since']}" if rec.get("since") else ""))


def _command() -> str:
    args = [os.path.basename(sys.argv[0])] + sys.argv[1:] if sys.argv and sys.argv[0] else sys.argv[1:]
    text = " ".join(args)
    return text if len(text) <= 300 else text[:297] + "..."


@contextlib.contextmanager
def output_lock(out: str | os.PathLike[str], *, folder: bool | None = None, what: str = "output") -> Iterator[Path]:
    """Hold the exclusive lock of the output ``out`` (see the module docstring) while the block runs.

    ``folder``: whether ``out`` is a folder (created when missing) or a file; default: a folder
    when it exists as one. ``what`` names the output in the refusal, e.g. ``"run directory"``.
    Raises :class:`LockedError` at once when another process holds it. Yields the lock file.
    """
    path = lock_path_for(out, folder)
    created = path.name == LOCK_NAME and not path.parent.exists()  # a folder output we make here
    path.parent.mkdir(parents=True, exist_ok=True)
    key = os.path.abspath(path)
    with _guard:
        if key in _held:
            _held[key][1] += 1
            reentered = True
        else:
            reentered = False
    if reentered:
        try:
            yield path
        finally:
            with _guard:
                _held[key][1] -= 1
        return
    try:
        import fcntl  # noqa: PLC0415
    except ImportError:  # pragma: no cover - not POSIX: no inter-process lock
        yield path
        return
    fh = _acquire(path, fcntl, what, out)
    with _guard:
        _held[key] = [fh, 1]
    try:
        yield path
    finally:
        with _guard:
            _held.pop(key, None)
        with contextlib.suppress(OSError):
            os.unlink(path)
        with contextlib.suppress(OSError):
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
        fh.close()
        if created:  # refused before anything was written: leave no empty folder behind
            with contextlib.suppress(OSError):
                path.parent.rmdir()


def _acquire(path: Path, fcntl: Any, what: str, out: Any) -> Any:
    for _ in range(20):
        fh = open(path, "a+", encoding="utf-8")
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.close()
            holder = _describe(read_holder(path))
            raise LockedError(f"{what} {out} is being written by {holder} (it holds {path}); wait for it to "
                              "finish or stop it, or write to another path") from None
        try:
            same = os.fstat(fh.fileno()).st_ino == os.stat(path).st_ino
        except FileNotFoundError:
            same = False
        if not same:  # the holder removed the file between our open and our lock: retry on the new one
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
            fh.close()
            continue
        rec = {"pid": os.getpid(), "host": socket.gethostname(), "command": _command(),
               "since": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        try:
            fh.seek(0)
            fh.truncate()
            fh.write(json.dumps(rec) + "\n")
            fh.flush()
        except OSError:  # disk full: the lock holds all the same, only its label is missing
            pass
        return fh
    raise LockedError(f"could not take the lock {path} of {what} {out}: it keeps changing; is another "
                      "process starting and stopping on it?")


def locks_output(param: str, *, folder: bool | None = None, what: str = "output"):
    """Decorator: hold :func:`output_lock` on the function's argument ``param`` (a path; nothing
    is locked when it is None) for the whole call."""
    import functools
    import inspect

    def deco(fn):
        sig = inspect.signature(fn)

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            out = sig.bind_partial(*args, **kwargs).arguments.get(param)
            if out is None:
                return fn(*args, **kwargs)
            with output_lock(out, folder=folder, what=what):
                return fn(*args, **kwargs)

        return wrapper

    return deco
