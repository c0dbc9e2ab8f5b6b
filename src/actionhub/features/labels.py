"""Labels of feature rows: class names or integer indices, from a file, a list or the store itself,
mapped onto the canonical spelling of a benchmark's classes (exact match first, then ignoring
case and every character that is not a letter or digit)."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence, Union

import numpy as np

from actionhub.features.featureset import FeatureError
from actionhub.utils.names import normalize_name
from actionhub.utils.textfile import read_text_file
from actionhub.utils.types import PathLike

LabelsArg = Union[PathLike, Sequence[Union[str, int]], np.ndarray, None]
_MAX_LISTED_LABELS = 10


def read_labels_arg(labels: LabelsArg) -> tuple[np.ndarray, str]:
    """``labels=`` as an ``(N,)`` array plus a description of where it came from."""
    if isinstance(labels, (str, os.PathLike)):
        path = Path(labels)
        if not path.is_file():
            raise FeatureError(f"labels file {path} does not exist; pass a text file with one label per line, in row "
                               "order")
        lines = [ln.strip() for ln in read_text_file(path, "labels file").splitlines()]
        return np.asarray([ln for ln in lines if ln], dtype=object), str(path)
    arr = np.asarray(labels)
    if arr.ndim != 1:
        raise FeatureError(f"the labels argument must be one label per row (1-D), got shape {arr.shape}")
    return arr, "the labels argument"


def resolve_labels(raw: np.ndarray, classes: Sequence[str] | None, where: str) -> np.ndarray:
    """Map raw labels ``(N,)`` to class names ``(N,)`` (object array of str).

    Integer labels (and all-digit strings not themselves class names) index into
    ``classes``; names map by exact match, then by :func:`normalize_name`.
    """
    raw = np.asarray(raw)
    if raw.dtype.kind == "f":
        raw = _integral_floats(raw, where)
    if raw.dtype.kind in "iu":
        return _labels_from_indices(raw.astype(np.int64), classes, where)
    if raw.dtype.kind not in "OUS":
        raise FeatureError(f"{where}: labels have dtype {raw.dtype}; use class names or integer class indices")
    uniq, inverse = np.unique(raw.astype(str), return_inverse=True)
    if classes is None:
        digits = [u for u in uniq if _is_index(u)]
        if digits:
            _raise_needs_classes(where)
        return uniq.astype(object)[inverse.reshape(-1)]
    mapped = _map_names([str(u) for u in uniq], [str(c) for c in classes], where)
    return np.asarray(mapped, dtype=object)[inverse.reshape(-1)]


def _is_index(s: str) -> bool:
    return s.isascii() and s.isdigit()


def _integral_floats(raw: np.ndarray, where: str) -> np.ndarray:
    """Float labels that are all whole numbers (e.g. Parquet ints with nulls cast away) as int64."""
    if raw.size and not (np.isfinite(raw).all() and (raw == np.round(raw)).all()):
        raise FeatureError(f"{where}: labels are non-integer floats; use class names or integer class indices")
    return raw.astype(np.int64)


def _raise_needs_classes(where: str) -> None:
    raise FeatureError(
        f"{where}: labels are integer class indices, which need the benchmark's class list "
        "to turn into names; give the benchmark they index (--benchmark; classes= in Python)"
    )


def _labels_from_indices(idx: np.ndarray, classes: Sequence[str] | None, where: str) -> np.ndarray:
    if classes is None:
        _raise_needs_classes(where)
    names = np.asarray([str(c) for c in classes], dtype=object)
    bad = (idx < 0) | (idx >= len(names))
    if bad.any():
        values = sorted({int(v) for v in idx[bad]})[:_MAX_LISTED_LABELS]
        raise FeatureError(
            f"{where}: {int(bad.sum())} integer labels fall outside 0..{len(names) - 1} "
            f"(values {values}); check that classes= is the class list the indices refer to"
        )
    return names[idx]


def _map_names(names: list[str], classes: list[str], where: str) -> list[str]:
    """Canonical class name for each of the distinct raw ``names``."""
    exact = set(classes)
    by_key: dict[str, list[str]] = {}
    for c in classes:
        owners = by_key.setdefault(normalize_name(c), [])
        if c not in owners:
            owners.append(c)
    out: list[str] = []
    unknown: list[str] = []
    for name in names:
        stripped = name.strip()
        if stripped in exact:
            out.append(stripped)
        elif _is_index(stripped):
            i = int(stripped)
            if i >= len(classes):
                raise FeatureError(
                    f"{where}: integer label {i} is outside 0..{len(classes) - 1}; "
                    "check that classes= is the class list the indices refer to"
                )
            out.append(classes[i])
        else:
            owners = by_key.get(normalize_name(stripped), [])
            if len(owners) > 1:
                raise FeatureError(
                    f"{where}: label {name!r} matches several classes {owners} when case and "
                    "punctuation are ignored; spell it exactly as in the class list"
                )
            out.append(owners[0] if owners else "")
            if not owners:
                unknown.append(name)
    if unknown:
        shown = ", ".join(repr(u) for u in unknown[:_MAX_LISTED_LABELS])
        more = f" ... ({len(unknown)} unknown names in total)" if len(unknown) > _MAX_LISTED_LABELS else ""
        sample = ", ".join(repr(c) for c in classes[:3])
        raise FeatureError(
            f"{where}: {len(unknown)} label names are not classes of the benchmark: {shown}{more}; "
            f"known classes look like {sample}; fix the names, or check --benchmark (the labels must be its classes)"
        )
    return out
