"""Feature files: the three layouts users bring pre-extracted per-video features in.

:func:`load_features` detects the layout from the path and returns a :class:`FeatureSet`:
(a) a directory of ``<video id>.npy`` ``(1, D)`` or ``(D,)`` with a video list (``metas.jsonl``
or ``videos.txt`` inside, or ``video_list=``); (b) one ``.npy`` ``(N, D)`` with ``labels=`` or
``video_list=``, or an ``.npz`` with ``features (N, D)``, ``labels (N,)``, ``videos (N,)``, ``meta``;
(c) Parquet with ``video``, ``label`` and a ``feature`` list column or ``f0 .. f{D-1}``.
:func:`save_features` writes (b) and (c). Labels are class names (matched ignoring case and
non-alphanumerics) or indices into ``classes``; user mistakes raise :class:`FeatureError`.
Docs: docs/training.md#feature-files
"""
from __future__ import annotations

import json
import logging
import os
import re
import zipfile
import zlib
from pathlib import Path
from typing import Any, NamedTuple, Sequence

import numpy as np

from actionhub.features.featureset import FeatureError, FeatureSet
from actionhub.features.labels import LabelsArg, read_labels_arg, resolve_labels
from actionhub.features.video_lists import drop_missing, find_video_list, read_video_list
from actionhub.utils import jsontext
from actionhub.utils.io import atomic_path, json_default
from actionhub.utils.names import listing
from actionhub.utils.progress import progress_bar
from actionhub.utils.types import PathLike

logger = logging.getLogger(__name__)

__all__ = ["FeatureSet", "FeatureError", "load_features", "save_features"]


#: Suffixes of the single-file layouts.
NPY_SUFFIXES = (".npy",)
NPZ_SUFFIXES = (".npz",)
PARQUET_SUFFIXES = (".parquet", ".pq")
#: Meta key under which Parquet stores record their meta (JSON).
PARQUET_META_KEY = b"actionhub"
#: Upper bound on elements scanned at once by the NaN/inf check (bounded memory for memmaps).
_FINITE_CHUNK_ELEMENTS = 1 << 24
_FINITE_CHUNK_MAX_ROWS = 65536
_MAX_LISTED = 5
_MAX_LISTED_LABELS = 10


class _Raw(NamedTuple):
    """What a layout reader returns before the shared checks and label mapping."""

    features: np.ndarray          # (N, D) any numeric dtype
    labels: np.ndarray            # (N,) raw labels: names, indices or digit strings
    videos: np.ndarray | None     # (N,) video ids, or None when the store records none
    label_source: str             # file (or argument) the labels came from, for messages
    meta: dict[str, Any]


# --------------------------------------------------------------------------- public API


def load_features(
    path: PathLike,
    *,
    labels: LabelsArg = None,
    video_list: PathLike | None = None,
    classes: Sequence[str] | None = None,
    mmap: bool = True,
    check_finite: bool = True,
    missing: str = "error",
) -> FeatureSet:
    """Load a feature store in any supported layout (see the module docstring).

    Args:
        path: a per-video directory, or a ``.npy`` / ``.npz`` / ``.parquet`` file.
        labels: one label per row -- a text file (one per line) or a sequence.  Needed
            for ``.npy`` (unless ``video_list`` is given); overrides the labels stored
            in ``.npz``/Parquet; not accepted for directories (use ``video_list``).
        video_list: metas JSONL or ``video_id label`` text file; for directories (and
            for ``.npy``, where it gives ids and labels in row order).
        classes: the benchmark's canonical class names.  Integer labels index into it;
            names are mapped onto it.  ``None`` keeps names as given.
        mmap: memory-map ``.npy`` files (kept as a memmap when the file is float32).
        check_finite: reject rows with NaN/inf (scanned in bounded-memory chunks).
        missing: for directories, what to do about listed videos without a ``.npy``:
            ``"error"`` (default) or ``"skip"`` (warn and drop them).

    Returns:
        A :class:`FeatureSet` with ``features (N, D) float32``.

    Raises:
        FeatureError: on every problem with the files or arguments.
    """
    if missing not in ("error", "skip"):
        raise ValueError(f"missing must be 'error' or 'skip', got {missing!r}")
    src = Path(path)
    if not src.exists():
        raise FeatureError(
            f"feature store {src} does not exist; pass a per-video directory or a "
            f".npy/.npz/.parquet file (check the path and the current directory {Path.cwd()})"
        )
    suffix = src.suffix.lower()
    if src.is_dir():
        if labels is not None:
            raise FeatureError(
                f"{src} is a per-video directory: its labels come from the video list; "
                "drop --labels (labels=) and pass --video-list <metas.jsonl or videos.txt> instead"
            )
        raw = _load_directory(src, video_list, missing)
    elif suffix in NPY_SUFFIXES:
        raw = _load_npy(src, labels, video_list, mmap)
    elif suffix in NPZ_SUFFIXES:
        _reject_video_list(src, video_list)
        raw = _load_npz(src, labels)
    elif suffix in PARQUET_SUFFIXES:
        _reject_video_list(src, video_list)
        raw = _load_parquet(src, labels)
    else:
        raise FeatureError(
            f"{src}: unknown feature layout {suffix or '(no suffix)'!r}; expected a directory of "
            "per-video .npy files, a .npy/.npz matrix or a .parquet table"
        )
    fs = _finalize(src, raw, classes, check_finite)
    logger.info("loaded %d x %d features from %s%s", len(fs), fs.dim, src,
                " (memory-mapped)" if isinstance(fs.features, np.memmap) else "")
    return fs


def save_features(
    path: PathLike,
    features: FeatureSet | np.ndarray,
    labels: Sequence[str | int] | np.ndarray | None = None,
    videos: Sequence[str] | np.ndarray | None = None,
    *,
    meta: dict[str, Any] | None = None,
) -> Path:
    """Write features atomically as ``.npz`` (layout b) or Parquet (layout c), by suffix.

    Args:
        path: destination ending in ``.npz``, ``.parquet`` or ``.pq``.
        features: a :class:`FeatureSet` (its labels, videos and meta are used) or an
            ``(N, D)`` array.
        labels: ``(N,)`` names or integer indices; required with an array, overrides
            the set's labels otherwise.
        videos: ``(N,)`` video ids; row numbers when neither given nor in the set.
        meta: JSON-able dict merged over the set's meta; ``dim`` is filled in.

    Returns:
        The destination path.
    """
    dest = Path(path)
    feats, labs, vids, merged = _save_inputs(dest, features, labels, videos, meta)
    suffix = dest.suffix.lower()
    if suffix in NPZ_SUFFIXES:
        _save_npz(dest, feats, labs, vids, merged)
    elif suffix in PARQUET_SUFFIXES:
        _save_parquet(dest, feats, labs, vids, merged)
    else:
        raise FeatureError(f"{dest}: save_features writes .npz or .parquet; rename the destination")
    logger.info("saved %d x %d features to %s", feats.shape[0], feats.shape[1], dest)
    return dest


# --------------------------------------------------------------------------- shared checks


def _reject_video_list(src: Path, video_list: PathLike | None) -> None:
    if video_list is not None:
        raise FeatureError(
            f"{src}: --video-list only applies to per-video directories and .npy files; "
            "this store records its own videos and labels (use --labels to override labels)"
        )


def _finalize(src: Path, raw: _Raw, classes: Sequence[str] | None, check_finite: bool) -> FeatureSet:
    """Shared validation: dtype, shape, sizes, labels, NaN/inf, meta dim."""
    feats = _as_float32(raw.features, src)
    if feats.ndim != 2:
        raise FeatureError(
            f"{src}: features must be a 2-D (N, D) array, got shape {feats.shape}; "
            "reshape to one row per video before saving"
        )
    n, d = feats.shape
    if n == 0 or d == 0:
        raise FeatureError(f"{src}: the feature set is empty (shape {feats.shape}); point to a store with videos in it")
    if len(raw.labels) != n:
        raise FeatureError(
            f"{src} has {n} feature rows but {raw.label_source} has {len(raw.labels)} labels; "
            "there must be exactly one label per row, in row order"
        )
    if raw.videos is None:
        videos = np.asarray([str(i) for i in range(n)], dtype=object)
    else:
        videos = np.asarray(raw.videos).astype(str).astype(object)
        if len(videos) != n:
            raise FeatureError(
                f"{src} has {n} feature rows but {len(videos)} video ids; store one id per row"
            )
    raw_labels = raw.labels
    if raw.videos is not None:
        feats, raw_labels, videos = _drop_duplicate_videos(src, feats, raw_labels, videos)
    labels = resolve_labels(raw_labels, classes, raw.label_source)
    if check_finite:
        _check_finite(feats, videos, src)
    meta = dict(raw.meta)
    if "dim" in meta and _safe_int(meta["dim"]) != d:
        raise FeatureError(
            f"{src}: its meta records dim={meta['dim']!r} but the features have D={d}; "
            "fix the meta or re-extract the features"
        )
    meta["dim"] = d
    return FeatureSet(features=feats, labels=labels, videos=videos, source=str(src), meta=meta)


def _drop_duplicate_videos(src: Path, feats: np.ndarray, labels: Any, videos: np.ndarray
                           ) -> tuple[np.ndarray, Any, np.ndarray]:
    """Keep the first row of every video id that occurs more than once, with a warning naming
    them, so a video is trained on and counted in the metrics once."""
    _, first = np.unique(videos.astype(str), return_index=True)
    if len(first) == len(videos):
        return feats, labels, videos
    keep = np.sort(first)
    dropped = np.setdiff1d(np.arange(len(videos)), keep)
    names = sorted({str(videos[i]) for i in dropped})
    logger.warning("%s: %d video id(s) occur more than once (%d extra rows), e.g. %s; keeping the first row of "
                   "each, so each video counts once", src, len(names), len(dropped),
                   listing([repr(n) for n in names[:_MAX_LISTED]], len(names)))
    return np.asarray(feats[keep]), np.asarray(labels)[keep], videos[keep]   # labels keep their dtype


def _safe_int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _check_numeric(arr: np.ndarray, where: str) -> None:
    if arr.dtype.kind not in "iuf":
        raise FeatureError(
            f"{where}: features have dtype {arr.dtype}; they must be numeric (float32 preferred), "
            "re-save them with arr.astype(np.float32)"
        )


def _as_float32(arr: np.ndarray, src: Path) -> np.ndarray:
    """``arr`` as float32: a float32 array (memmap included) is kept, anything else copied."""
    _check_numeric(arr, str(src))
    if arr.dtype == np.float32:
        return arr
    with np.errstate(over="ignore", invalid="ignore"):  # overflow becomes inf, caught by the NaN/inf check
        return np.asarray(arr, dtype=np.float32)


def _nonfinite_rows(feats: np.ndarray) -> np.ndarray:
    """Indices of rows of ``feats (N, D)`` holding NaN or inf, scanned in bounded chunks."""
    n, d = feats.shape
    step = max(1, min(_FINITE_CHUNK_MAX_ROWS, _FINITE_CHUNK_ELEMENTS // max(d, 1)))
    bad: list[np.ndarray] = []
    for start in range(0, n, step):
        chunk = np.asarray(feats[start:start + step])
        ok = np.isfinite(chunk).all(axis=1)
        if not ok.all():
            bad.append(np.flatnonzero(~ok) + start)
    return np.concatenate(bad) if bad else np.empty(0, dtype=np.int64)


def _check_finite(feats: np.ndarray, videos: np.ndarray, src: Path) -> None:
    bad = _nonfinite_rows(feats)
    if bad.size:
        names = listing([repr(str(videos[i])) for i in bad[:_MAX_LISTED]], int(bad.size))
        raise FeatureError(
            f"{src}: {bad.size} of {len(videos)} rows contain NaN/inf values (videos {names}); "
            "re-extract those videos or drop them from the store"
        )


def _load_one_npy(path: Path) -> np.ndarray:
    try:
        return np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise FeatureError(f"{path}: cannot read this .npy file ({exc}); re-extract it") from None


def _load_directory(directory: Path, video_list: PathLike | None, missing: str) -> _Raw:
    """Stack ``<dir>/<id>.npy`` files ``(1, D)``/``(D,)`` into one ``(N, D)`` float32 array."""
    list_path = find_video_list(directory, video_list)
    ids, labels = read_video_list(list_path)
    ids, labels = drop_missing(directory, ids, labels, list_path, missing)
    if not ids:
        raise FeatureError(f"{list_path} lists no videos with features in {directory}; nothing to load")
    _refuse_outside(directory, ids, list_path)
    out: np.ndarray | None = None
    first: Path | None = None
    first_shape: tuple[int, ...] = ()
    for row, vid in enumerate(progress_bar(ids, desc=f"loading {directory.name}", unit="video")):
        file = directory / f"{vid}.npy"
        arr = _load_one_npy(file)
        if arr.ndim not in (1, 2) or (arr.ndim == 2 and arr.shape[0] != 1):
            raise FeatureError(
                f"{file}: expected shape (1, D) or (D,), got {arr.shape}; save one feature vector per video"
            )
        _check_numeric(arr, str(file))
        if out is None:
            first, first_shape = file, arr.shape
            out = np.empty((len(ids), arr.shape[-1]), dtype=np.float32)
        elif arr.shape[-1] != out.shape[1]:
            raise FeatureError(
                f"{file} has shape {arr.shape} but {first} has shape {first_shape}; every video must "
                "have the same feature dimension (re-extract the odd file with the same backbone)"
            )
        out[row] = arr.reshape(-1)
    assert out is not None
    return _Raw(out, np.asarray(labels, dtype=object), np.asarray(ids, dtype=object),
                str(list_path), _read_dir_meta(directory))


def _refuse_outside(directory: Path, ids: list[str], list_path: Path) -> None:
    """Video ids name files inside the feature folder: an absolute path or one that climbs out with
    ``..`` is refused (a shared video list must not make us read files elsewhere)."""
    bad = [v for v in ids if os.path.isabs(v) or v.startswith(("/", "\\"))
           or os.path.normpath(v).replace("\\", "/").split("/")[0] == ".."]
    if bad:
        raise FeatureError(
            f"{list_path} names {len(bad)} video(s) outside the feature folder {directory}, e.g. "
            f"{listing([repr(v) for v in bad[:_MAX_LISTED]], len(bad))}; list video ids relative to that folder "
            "(no absolute paths, no '..')")


def _read_dir_meta(directory: Path) -> dict[str, Any]:
    path = directory / "meta.json"
    if not path.is_file():
        return {}
    return _parse_meta(path.read_text(encoding="utf-8"), path)


def _parse_meta(text: str, where: Path | str) -> dict[str, Any]:
    try:
        meta = jsontext.loads(text)
    except json.JSONDecodeError as exc:
        raise FeatureError(f"{where}: its meta is not valid JSON ({exc.msg}); fix or remove it") from None
    if not isinstance(meta, dict):
        raise FeatureError(f"{where}: its meta must be a JSON object, got {type(meta).__name__}")
    return meta


# --------------------------------------------------------------------------- layout (b): .npy / .npz


def _load_npy(path: Path, labels: LabelsArg, video_list: PathLike | None, mmap: bool) -> _Raw:
    """An ``(N, D)`` matrix; labels from ``labels=`` or ``video_list=``."""
    try:
        feats = np.load(path, mmap_mode="r" if mmap else None, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise FeatureError(f"{path}: cannot read this .npy file ({exc}); it must hold a numeric (N, D) array") from None
    if labels is not None and video_list is not None:
        raise FeatureError(f"{path}: pass either --labels or --video-list, not both")
    if labels is not None:
        lab, where = read_labels_arg(labels)
        return _Raw(feats, lab, None, where, {})
    if video_list is not None:
        list_path = Path(video_list)
        if not list_path.is_file():
            raise FeatureError(f"video list {list_path} does not exist; pass the video list whose rows match {path}")
        ids, lab = read_video_list(list_path)
        return _Raw(feats, np.asarray(lab, dtype=object), np.asarray(ids, dtype=object), str(list_path), {})
    raise FeatureError(
        f"{path} holds features only; pass --labels <text file with one label per line, in row order> "
        "or --video-list <metas.jsonl / videos.txt in row order>, or save it as .npz with its labels"
    )


def _load_npz(path: Path, labels: LabelsArg) -> _Raw:
    """``features (N, D)``, ``labels (N,)``, optional ``videos (N,)`` and ``meta`` (JSON string)."""
    try:
        with np.load(path, allow_pickle=False) as z:
            keys = set(z.files)
            if "features" not in keys:
                raise FeatureError(f"{path} has arrays {sorted(keys)} but no 'features'; save the (N, D) matrix as "
                                   "'features'")
            feats = z["features"]
            stored = z["labels"] if "labels" in keys else None
            videos = z["videos"] if "videos" in keys else None
            meta = _parse_meta(str(z["meta"][()]), path) if "meta" in keys else {}
    except FeatureError:
        raise
    except ValueError as exc:
        if "allow_pickle" in str(exc):
            raise FeatureError(
                f"{path} holds Python-object arrays, which are not loaded for safety; re-save labels and "
                "videos as string arrays (np.asarray(x, dtype=str)) or use save_features"
            ) from None
        raise FeatureError(f"{path}: cannot read this .npz file ({exc})") from None
    except (OSError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
        raise FeatureError(f"{path} is truncated or corrupt, cannot read it ({exc or type(exc).__name__}); "
                           "save or copy it again") from None
    if labels is not None:
        lab, where = read_labels_arg(labels)
        if stored is not None:
            logger.info("%s: using the labels argument instead of the stored labels", path)
        return _Raw(feats, lab, videos, where, meta)
    if stored is None:
        raise FeatureError(f"{path} has no 'labels' array; pass --labels <file with one label per row> or re-save "
                           "with labels")
    return _Raw(feats, stored, videos, str(path), meta)


def _save_inputs(dest: Path, features: FeatureSet | np.ndarray, labels: Any, videos: Any,
                 meta: dict[str, Any] | None) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
    """Validated ``features (N, D) float32``, ``labels (N,)``, ``videos (N,) str`` and meta."""
    base_meta: dict[str, Any] = {}
    if isinstance(features, FeatureSet):
        labels = features.labels if labels is None else labels
        videos = features.videos if videos is None else videos
        base_meta = dict(features.meta)
        feats = features.features
    else:
        feats = np.asarray(features)
    _check_numeric(feats, str(dest))
    if feats.ndim != 2:
        raise FeatureError(f"{dest}: features must be (N, D), got shape {feats.shape}")
    n, d = feats.shape
    if labels is None:
        raise FeatureError(f"{dest}: save_features needs labels (one per row)")
    labs = np.asarray(labels)
    if labs.dtype.kind not in "iu":
        labs = labs.astype(str)
    vids = np.asarray([str(i) for i in range(n)]) if videos is None else np.asarray(videos).astype(str)
    if labs.shape != (n,) or vids.shape != (n,):
        raise FeatureError(
            f"{dest}: {n} feature rows but labels of shape {labs.shape} and videos of shape {vids.shape}; "
            "give one label and one video id per row"
        )
    merged = {**base_meta, **(meta or {})}
    if "dim" in merged and _safe_int(merged["dim"]) != d:
        raise FeatureError(f"{dest}: meta says dim={merged['dim']!r} but the features have D={d}")
    merged["dim"] = d
    return np.ascontiguousarray(feats, dtype=np.float32), labs, vids, merged


def _save_npz(dest: Path, feats: np.ndarray, labels: np.ndarray, videos: np.ndarray, meta: dict[str, Any]) -> None:
    meta_json = json.dumps(meta, ensure_ascii=False, default=json_default)
    with atomic_path(dest) as tmp:
        np.savez(tmp, features=feats, labels=labels, videos=videos, meta=np.asarray(meta_json))


# --------------------------------------------------------------------------- layout (c): Parquet


_F_COLUMN = re.compile(r"^f(\d+)$")


def _load_parquet(path: Path, labels: LabelsArg) -> _Raw:
    """Columns ``video``, ``label`` and ``feature`` (list) or ``f0..f{D-1}``."""
    import pyarrow.parquet as pq

    try:
        schema = pq.read_schema(path)
    except Exception as exc:  # pyarrow raises several types (ArrowInvalid, OSError)
        raise FeatureError(f"{path}: cannot read this Parquet file ({exc}); re-save it") from None
    names = list(schema.names)
    fcols = _f_columns(names, path)
    if "feature" in names:
        if fcols:
            logger.warning("%s has a 'feature' column and f0.. columns; using 'feature'", path)
        fcols = []
    elif not fcols:
        raise FeatureError(
            f"{path} has columns {names[:12]} but no 'feature' list column and no f0..f(D-1) columns; "
            "store the features in one of those forms"
        )
    if labels is None and "label" not in names:
        raise FeatureError(f"{path} has no 'label' column (columns: {names[:12]}); add one or pass --labels")
    wanted = [c for c in ("video", "label") if c in names and not (c == "label" and labels is not None)]
    table = pq.read_table(path, columns=wanted + (fcols or ["feature"]))
    videos = _string_column(table, "video", path) if "video" in names else None
    feats = (_list_column_matrix(table.column("feature"), path, videos) if not fcols
             else _f_columns_matrix(table, fcols, path))
    meta_raw = (schema.metadata or {}).get(PARQUET_META_KEY)
    meta = _parse_meta(meta_raw.decode("utf-8"), path) if meta_raw else {}
    if labels is not None:
        lab, where = read_labels_arg(labels)
        return _Raw(feats, lab, videos, where, meta)
    return _Raw(feats, _label_column(table, path), videos, str(path), meta)


def _f_columns(names: list[str], path: Path) -> list[str]:
    """``f0 .. f{D-1}`` column names in index order ([] when there are none)."""
    idx = sorted(int(m.group(1)) for m in map(_F_COLUMN.match, names) if m)
    if not idx:
        return []
    if idx != list(range(len(idx))):
        gaps = sorted(set(range(idx[-1] + 1)) - set(idx))[:_MAX_LISTED]
        raise FeatureError(
            f"{path}: feature columns must be f0..f{idx[-1]} without gaps or duplicates; "
            f"missing {['f%d' % g for g in gaps] or 'none (duplicates)'}"
        )
    return [f"f{i}" for i in idx]


def _column_nulls(col: Any, name: str, path: Path) -> None:
    if col.null_count:
        raise FeatureError(f"{path}: column {name!r} has {col.null_count} null values; fill or drop those rows")


def _string_column(table: Any, name: str, path: Path) -> np.ndarray:
    col = table.column(name)
    _column_nulls(col, name, path)
    return np.asarray(col.to_numpy(zero_copy_only=False)).astype(str).astype(object)


def _label_column(table: Any, path: Path) -> np.ndarray:
    import pyarrow as pa

    col = table.column("label")
    _column_nulls(col, "label", path)
    if pa.types.is_dictionary(col.type):
        col = col.cast(col.type.value_type)
    return np.asarray(col.to_numpy(zero_copy_only=False))


def _is_numeric_type(t: Any) -> bool:
    import pyarrow as pa

    return pa.types.is_floating(t) or pa.types.is_integer(t)


def _list_column_matrix(col: Any, path: Path, videos: np.ndarray | None) -> np.ndarray:
    """A list/fixed_size_list column of N rows as ``(N, D)`` float32, chunk by chunk (no row loop)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    t = col.type
    if not (pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t)):
        raise FeatureError(f"{path}: column 'feature' has type {t}; it must be a list of floats (one vector per row)")
    if not _is_numeric_type(t.value_type):
        raise FeatureError(f"{path}: column 'feature' holds {t.value_type}; it must hold numbers")
    _column_nulls(col, "feature", path)
    n = len(col)
    if n == 0:
        return np.empty((0, 0), dtype=np.float32)
    lengths = np.asarray(pc.list_value_length(col).to_numpy(zero_copy_only=False))
    d = int(lengths[0])
    odd = np.flatnonzero(lengths != d)
    if odd.size:
        r = int(odd[0])
        who = f"video {videos[r]!r}" if videos is not None else f"row {r}"
        first = f"video {videos[0]!r}" if videos is not None else "row 0"
        raise FeatureError(
            f"{path}: {who} has a feature of shape ({int(lengths[r])},) but {first} has shape ({d},) "
            f"({odd.size} rows differ); every row must have the same feature dimension"
        )
    chunks = col.chunks
    for chunk in chunks:
        if chunk.flatten().null_count:
            raise FeatureError(f"{path}: column 'feature' has null numbers inside its lists; fill them")
    if len(chunks) == 1 and pa.types.is_float32(t.value_type):
        # Zero-copy read-only view of the Arrow buffer: no second (N, D) copy in memory.
        return chunks[0].flatten().to_numpy(zero_copy_only=False).reshape(n, d)
    out = np.empty((n, d), dtype=np.float32)
    row = 0
    for chunk in chunks:
        values = chunk.flatten()
        m = len(chunk)
        with np.errstate(over="ignore", invalid="ignore"):
            out[row:row + m] = values.to_numpy(zero_copy_only=False).reshape(m, d)
        row += m
    return out


def _f_columns_matrix(table: Any, fcols: list[str], path: Path) -> np.ndarray:
    """Numeric columns ``f0..f{D-1}`` as ``(N, D)`` float32 (one vectorised copy per column)."""
    out = np.empty((table.num_rows, len(fcols)), dtype=np.float32)
    for j, name in enumerate(fcols):
        col = table.column(name)
        if not _is_numeric_type(col.type):
            raise FeatureError(f"{path}: column {name!r} has type {col.type}; feature columns must be numeric")
        _column_nulls(col, name, path)
        with np.errstate(over="ignore", invalid="ignore"):
            out[:, j] = col.to_numpy()
    return out


def _save_parquet(dest: Path, feats: np.ndarray, labels: np.ndarray, videos: np.ndarray, meta: dict[str, Any]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    n, d = feats.shape
    feature = pa.FixedSizeListArray.from_arrays(pa.array(feats.reshape(-1)), d)
    label = pa.array(labels.astype(np.int64)) if labels.dtype.kind in "iu" else pa.array(labels.tolist(), pa.string())
    table = pa.table({"video": pa.array(videos.tolist(), pa.string()), "label": label, "feature": feature})
    meta_json = json.dumps(meta, ensure_ascii=False, default=json_default)
    table = table.replace_schema_metadata({PARQUET_META_KEY: meta_json.encode("utf-8")})
    with atomic_path(dest) as tmp:
        pq.write_table(table, tmp)
