"""Staged outputs: the one way every verb that writes a finished output puts it in place.

1. The output's lock (:func:`~actionhub.utils.lock.output_lock`) is taken before anything is touched.
2. Results go into a hidden sibling (``.NAME.staging-XXXX``), moved into place when complete: a new
   output by one rename; an existing one only with ``overwrite``, entry by entry, replacing only
   what this kind of output wrote there before.
3. What each kind wrote is recorded in ``.actionhub-outputs.json`` with its state, so a killed
   writer is visible and a rerun replaces exactly it.
Long resumable jobs (collect, extract, train) write into their folder under the lock instead.
Docs: docs/errors.md#finished-outputs-whole-or-not-at-all
"""
from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import time
import uuid
from pathlib import Path
from typing import Callable, Iterable, Iterator, Mapping, Optional, Union

from actionhub.utils.errors import UserError
from actionhub.utils.io import atomic_path, atomic_write_json
from actionhub.utils.lock import command_line, output_lock
from actionhub.utils.types import PathLike

__all__ = ["MANIFEST", "OutputExistsError", "OutputOverlapError", "staged_folder", "stages_folder", "staged_file",
           "check_new_file", "check_new_folder", "check_no_overlap", "output_state"]

log = logging.getLogger(__name__)

MANIFEST = ".actionhub-outputs.json"


class OutputExistsError(UserError):
    """The output exists and would be replaced, or files of someone else are in its way."""


class OutputOverlapError(UserError):
    """An output path is (or lies inside, or holds) one of the command's inputs."""


def _listing(names: list[str], n: int = 5) -> str:
    shown = ", ".join(names[:n])
    return shown + (f" and {len(names) - n} more" if len(names) > n else "")


def _read_manifest(folder: Path) -> dict:
    try:
        rec = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError, RecursionError):
        log.warning("%s is unreadable; treating the folder as written by nobody", folder / MANIFEST)
        return {}
    if not isinstance(rec, dict):
        return {}
    return {k: v for k, v in rec.items()
            if isinstance(v, dict) and isinstance(v.get("files"), list) and all(isinstance(f, str) for f in v["files"])}


def output_state(out: PathLike, kind: str) -> Optional[str]:
    """``"complete"`` or ``"replacing"`` (a writer was stopped while moving entries in) for the output of
    ``kind`` in folder ``out``; None when no output of that kind is recorded there."""
    rec = _read_manifest(Path(out)).get(kind)
    return str(rec.get("state", "complete")) if rec else None


def _entries(folder: Path) -> list[str]:
    if not folder.is_dir():
        return []
    return sorted(e.name for e in folder.iterdir() if e.name != MANIFEST)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def _clear_leftovers(out: Path) -> None:
    """Remove staging and trash siblings of ``out`` left by a killed writer (the lock is held)."""
    for pattern in (f".{out.name}.staging-*", f".{out.name}.trash-*"):
        for p in out.parent.glob(pattern):
            _remove(p)


def _record(kind: str, files: list[str], state: str) -> dict:
    return {"files": files, "state": state, "command": command_line(),
            "written_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}


@contextlib.contextmanager
def staged_folder(out: PathLike, *, kind: str, overwrite: bool = False, what: str = "output folder",
                  flag: str = "--out", names: Optional[Iterable[str]] = None,
                  legacy: Optional[Callable[[Path], bool]] = None) -> Iterator[Path]:
    """Write a folder output through a staging sibling (module docstring); yields the staging folder.

    ``kind``: what this output is (``"export"``, ``"report"``, ...), recorded in the manifest: with
    ``overwrite`` the entries an earlier ``kind`` output wrote are replaced or removed, other files are
    kept, and a new entry whose name is taken by something else is refused (nothing is moved then).
    Without ``overwrite`` a folder that holds anything is refused before any work. ``names``: the
    entries the output will have, when known up front (checked before the work, not only at the end).
    ``legacy(folder)``: True for an earlier output of this kind written before manifests existed (its
    entries then count as this kind's). ``flag`` names the option in messages.
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise OutputExistsError(f"{flag} {out} is a file; give a folder for the {what}")
    with output_lock(out, what=what):
        _clear_leftovers(out)
        check_new_folder(out, overwrite, kind=kind, what=what, flag=flag)
        if names is not None:
            _in_the_way(out, kind, set(names), legacy, flag)
        staging = out.parent / f".{out.name}.staging-{uuid.uuid4().hex[:10]}"
        staging.mkdir()
        try:
            yield staging
            _commit(staging, out, kind, legacy, flag)
        finally:
            _remove(staging)


def check_new_folder(out: PathLike, overwrite: bool = False, *, kind: str, what: str = "output folder",
                     flag: str = "--out") -> None:
    """Refuse a folder output ``out`` that is a file, or that holds anything unless ``overwrite`` (what
    :func:`staged_folder` checks; callers may check it before long work that comes first)."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise OutputExistsError(f"{flag} {out} is a file; give a folder for the {what}")
    existing = _entries(out)
    if existing and not overwrite:
        torn = (f" (an earlier {kind} output was stopped while its files were being replaced)"
                if output_state(out, kind) == "replacing" else "")
        raise OutputExistsError(f"{flag} {out} already holds {_listing(existing)}{torn}; pass --overwrite to "
                                f"replace what an earlier {what} wrote there (other files are kept), or give a new "
                                "folder")


def _owned(out: Path, kind: str, legacy: Optional[Callable[[Path], bool]]) -> tuple[set[str], set[str], dict]:
    """(entries of ``kind``, entries recorded for other kinds, the manifest) of folder ``out``."""
    manifest = _read_manifest(out)
    mine = set(manifest.get(kind, {}).get("files", []))
    if kind not in manifest and legacy is not None and out.is_dir() and legacy(out):
        mine = set(_entries(out))
    others = {f for k, v in manifest.items() if k != kind for f in v["files"]}
    return mine, others, manifest


def _in_the_way(out: Path, kind: str, new: set[str], legacy: Optional[Callable[[Path], bool]], flag: str) -> dict:
    mine, others, manifest = _owned(out, kind, legacy)
    blocked = sorted(n for n in new & set(_entries(out)) if n not in mine or n in others)
    if blocked:
        raise OutputExistsError(f"{flag} {out}: {_listing(blocked)} would be replaced but "
                                f"{'is' if len(blocked) == 1 else 'are'} not from an earlier {kind} output; move "
                                f"{'it' if len(blocked) == 1 else 'them'} away or give another folder")
    return manifest


def _commit(staging: Path, out: Path, kind: str, legacy: Optional[Callable[[Path], bool]], flag: str) -> None:
    new = _entries(staging)
    if not _entries(out):   # a new (or empty) output: one rename puts the whole of it in place
        atomic_write_json(staging / MANIFEST, {kind: _record(kind, new, "complete")})
        if out.is_dir():    # empty, or holding only the records of outputs that are gone
            with contextlib.suppress(FileNotFoundError):
                (out / MANIFEST).unlink()
            out.rmdir()
        os.rename(staging, out)
        return
    mine = _owned(out, kind, legacy)[0]
    manifest = _in_the_way(out, kind, set(new), legacy, flag)
    manifest[kind] = _record(kind, sorted(mine | set(new)), "replacing")
    atomic_write_json(out / MANIFEST, manifest)
    trash = out.parent / f".{out.name}.trash-{uuid.uuid4().hex[:10]}"
    trash.mkdir()
    try:
        for name in new:
            if os.path.lexists(out / name):
                os.rename(out / name, trash / name)
            os.rename(staging / name, out / name)
        for name in sorted(mine - set(new)):
            if os.path.lexists(out / name):
                os.rename(out / name, trash / name)
        manifest[kind] = _record(kind, new, "complete")
        atomic_write_json(out / MANIFEST, manifest)
    finally:
        _remove(trash)


def stages_folder(param: str, *, kind: str, what: str = "output folder",
                  legacy: Optional[Callable[[Path], bool]] = None):
    """Decorator for a function that writes a folder output given as its argument ``param``: the call
    runs inside :func:`staged_folder` and receives the staging folder instead (so what it writes appears
    whole or not at all); a returned path inside the staging folder (alone or in a list) comes back as the same path
    in the output. Adds the keyword argument ``overwrite`` (default False)."""
    import functools  # noqa: PLC0415
    import inspect  # noqa: PLC0415

    def deco(fn):
        sig = inspect.signature(fn)

        @functools.wraps(fn)
        def wrapper(*args, overwrite: bool = False, **kwargs):
            bound = sig.bind(*args, **kwargs)
            out = Path(bound.arguments[param])
            with staged_folder(out, kind=kind, overwrite=overwrite, what=what, legacy=legacy) as staging:
                bound.arguments[param] = staging
                result = fn(*bound.args, **bound.kwargs)
            return _moved(result, staging, out)

        return wrapper

    return deco


def _moved(result, staging: Path, out: Path):
    """``result`` with paths inside ``staging`` (alone or in a list) given as the same paths in ``out``."""
    if isinstance(result, list):
        return [_moved(r, staging, out) for r in result]
    if isinstance(result, Path) and (result == staging or staging in result.parents):
        return out / result.relative_to(staging)
    return result


@contextlib.contextmanager
def staged_file(out: PathLike, *, overwrite: bool = False, what: str = "output file",
                flag: str = "--out") -> Iterator[Path]:
    """Write a one-file output atomically under its lock; yields the temporary path to write.

    An existing ``out`` is refused unless ``overwrite`` (checked under the lock, before any work); a
    folder at ``out`` is always refused. The file appears complete or not at all.
    """
    out = Path(out)
    if out.is_dir():
        raise OutputExistsError(f"{flag} {out} is a folder; give a file name for the {what}")
    with output_lock(out, what=what):
        check_new_file(out, overwrite, what=what, flag=flag)
        out.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(out) as tmp:
            yield tmp


def check_new_file(out: PathLike, overwrite: bool = False, *, what: str = "output file", flag: str = "--out") -> None:
    """Refuse a file output ``out`` that is a folder, or that exists unless ``overwrite`` (for writers that
    hold the output's lock themselves and write with :func:`~actionhub.utils.io.atomic_path`)."""
    out = Path(out)
    if out.is_dir():
        raise OutputExistsError(f"{flag} {out} is a folder; give a file name for the {what}")
    if out.exists() and not overwrite:
        raise OutputExistsError(f"{flag} {out} already exists; pass --overwrite to replace it, or give a new "
                                "file name")


def _paths(value: Union[PathLike, Iterable[PathLike], None]) -> list[Path]:
    if value is None:
        return []
    if isinstance(value, (str, os.PathLike)):
        return [Path(value)]
    return [Path(v) for v in value]


def check_no_overlap(outputs: Mapping[str, Union[PathLike, Iterable[PathLike], None]],
                     inputs: Mapping[str, Union[PathLike, Iterable[PathLike], None]]) -> None:
    """Refuse an output that is one of the inputs, lies inside one, or holds one (paths resolved, so
    ``sub/../x`` and links count); keys are the flags named in the message (``{"--out": out}``)."""
    for oflag, ovalue in outputs.items():
        for o in _paths(ovalue):
            ro = o.resolve()
            for iflag, ivalue in inputs.items():
                for i in _paths(ivalue):
                    ri = i.resolve()
                    if ro == ri:
                        how = "is"
                    elif ri in ro.parents:
                        how = "lies inside"
                    elif ro in ri.parents:
                        how = "holds"
                    else:
                        continue
                    raise OutputOverlapError(f"{oflag} {o} {how} the input {iflag} {i}; writing there would "
                                             "destroy the input: give an output path elsewhere")
