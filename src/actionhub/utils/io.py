"""Atomic file writes shared by every module that saves results.

A crash (or an exception in the writer) must never leave a half-written file at the
destination, nor destroy the previous version of it.  Every function here writes to a
temporary file in the destination directory (same filesystem, so the final
:func:`os.replace` is atomic), flushes it to disk and only then renames it over the
destination.
"""
from __future__ import annotations

import json
import logging
import os
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from actionhub.utils.types import PathLike

logger = logging.getLogger(__name__)


__all__ = [
    "atomic_write_bytes",
    "atomic_write_text",
    "atomic_write_json",
    "atomic_path",
    "json_default",
]


def _temp_path_for(path: Path) -> Path:
    """A fresh, unused temp name next to ``path`` that keeps its suffix.

    The suffix is kept because some writers append one when it is missing
    (``np.save`` adds ``.npy``, ``np.savez`` adds ``.npz``).  The leading dot hides the
    file from globbing while it is being written.
    """
    return path.with_name(f".{path.stem}.tmp-{uuid.uuid4().hex[:12]}{path.suffix}")


def _fsync(path: Path) -> None:
    """Flush a file's data, or a directory's entries (so a rename persists), to disk.

    Best effort: some filesystems refuse, and directories cannot be opened off POSIX.
    """
    if path.is_dir() and os.name != "posix":
        return
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _remove_quietly(path: Path) -> None:
    try:
        path.unlink()
    except FileNotFoundError:
        pass
    except OSError as exc:  # pragma: no cover - permissions etc.
        logger.warning("could not remove temporary file %s: %s", path, exc)


@contextmanager
def atomic_path(path: PathLike) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; move it onto ``path`` on success.

    For libraries that insist on writing to a path themselves::

        with atomic_path("runs/x/model.pt") as tmp:
            torch.save(state, tmp)

    The temp path has the same directory and suffix as ``path`` and does not exist
    yet (the writer creates it, so the usual umask permissions apply).  If the block
    raises, the temp file is removed, ``path`` is left untouched and the exception
    propagates.  If the block finishes without creating the file, ``FileNotFoundError``
    is raised.
    """
    dest = Path(path)
    tmp = _temp_path_for(dest)
    try:
        yield tmp
        if not tmp.exists():
            raise FileNotFoundError(f"the writer did not create {tmp} (destination {dest})")
        _fsync(tmp)
        os.replace(tmp, dest)
    except BaseException:
        _remove_quietly(tmp)
        raise
    _fsync(dest.parent)


def atomic_write_bytes(path: PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (temp file, fsync, ``os.replace``)."""
    dest = Path(path)
    tmp = _temp_path_for(dest)
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, dest)
    except BaseException:
        _remove_quietly(tmp)
        raise
    _fsync(dest.parent)


def atomic_write_text(path: PathLike, text: str, encoding: str = "utf-8") -> None:
    """Write ``text`` to ``path`` atomically (``encoding``, default UTF-8; no newline translation)."""
    atomic_write_bytes(path, text.encode(encoding))


def json_default(obj: Any) -> Any:
    """``json.dumps(default=...)`` hook: numpy scalars/arrays and paths to plain JSON values."""
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    if isinstance(obj, (set, frozenset)):
        return sorted(obj, key=str)
    raise TypeError(f"Object of type {type(obj).__name__} is not JSON serializable")


def atomic_write_json(path: PathLike, obj: Any, indent: int | None = 2) -> None:
    """Write ``obj`` as JSON to ``path`` atomically.

    Keys keep their insertion order, non-ASCII text is written as is (UTF-8) and the
    file ends with a newline.  Numpy scalars and arrays are converted to plain values.
    """
    text = json.dumps(obj, indent=indent, sort_keys=False, ensure_ascii=False, default=json_default)
    atomic_write_text(path, text + "\n")
