"""Exclusive locks on outputs: one writer at a time.

:func:`output_lock` holds an ``flock`` on a lock file beside the output -- ``.NAME.lock`` in the
folder that holds ``NAME``, for a folder output and a file output alike -- so that the lock is
taken before the output itself is created, moved or removed (a refused writer has touched
nothing). The holder (pid, host, command, start time) is written into the lock file, so a second
writer is refused with a message that names it. The OS releases an ``flock`` when its process dies
(even on ``kill -9``), so a stale lock file is simply taken over. Re-entrant within one process.
See :mod:`actionhub.utils.outputs` for the staged writing that every verb builds on.
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

__all__ = ["LockedError", "OutputNotWritableError", "output_lock", "lock_path_for", "read_holder", "command_line"]

LOCK_SUFFIX = ".lock"

_held: dict[str, list[Any]] = {}   # lock file (absolute) -> [open file, depth]
_guard = threading.Lock()


class LockedError(UserError):
    """Another process is writing the same output."""


class OutputNotWritableError(UserError):
    """The folder that should hold an output cannot be written (read-only, no permission)."""


def _not_writable(out: Any, e: OSError) -> OutputNotWritableError:
    return OutputNotWritableError(f"cannot write {out}: {e.strerror or e} ({e.filename or out}); give an output "
                                  "path in a folder you can write to")


def lock_path_for(out: str | os.PathLike[str], folder: bool | None = None) -> Path:
    """The lock file of output ``out``: ``.NAME.lock`` beside it (``out`` resolved, so ``a/../b`` and
    ``b`` share one lock). ``folder`` is accepted for older callers; files and folders lock alike."""
    p = Path(out).resolve()
    return p.with_name(f".{p.name}{LOCK_SUFFIX}")


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


def command_line() -> str:
    args = [os.path.basename(sys.argv[0])] + sys.argv[1:] if sys.argv and sys.argv[0] else sys.argv[1:]
    text = " ".join(args)
    return text if len(text) <= 300 else text[:297] + "..."


@contextlib.contextmanager
def output_lock(out: str | os.PathLike[str], *, folder: bool | None = None, what: str = "output") -> Iterator[Path]:
    """Hold the exclusive lock of the output ``out`` (see the module docstring) while the block runs.

    The lock is taken before anything at ``out`` is created. ``folder=True``: ``out`` is a folder the
    block writes into; it is created once the lock is held, and removed again on release when it was
    created here and is still empty. ``what`` names the output in the refusal, e.g. ``"run directory"``.
    Raises :class:`LockedError` at once when another process holds it, :class:`OutputNotWritableError`
    when its folder cannot be written. Yields the lock file.
    """
    path = lock_path_for(out)
    key = str(path)
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
        fcntl = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fh = _acquire(path, fcntl, what, out) if fcntl else None
    except (PermissionError, OSError) as e:
        if isinstance(e, UserError) or not _is_permission(e):
            raise
        raise _not_writable(out, e) from None
    with _guard:
        _held[key] = [fh, 1]
    created = False
    try:
        if folder:
            target = Path(out)
            created = not target.exists()
            try:
                target.mkdir(parents=True, exist_ok=True)
            except OSError as e:
                if not _is_permission(e):
                    raise
                raise _not_writable(out, e) from None
        yield path
    finally:
        with _guard:
            _held.pop(key, None)
        if created:  # nothing was written: leave no empty folder behind
            with contextlib.suppress(OSError):
                Path(out).rmdir()
        if fh is not None:
            with contextlib.suppress(OSError):
                os.unlink(path)
            with contextlib.suppress(OSError):
                fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
            fh.close()


def _is_permission(e: OSError) -> bool:
    import errno  # noqa: PLC0415

    return isinstance(e, PermissionError) or e.errno in (errno.EROFS, errno.EACCES, errno.EPERM)


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
        rec = {"pid": os.getpid(), "host": socket.gethostname(), "command": command_line(),
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
