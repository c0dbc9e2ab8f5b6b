"""Class text features: the file the CoCo trainer reads (paper Eq. 2, 5, 6).

``.npz``: ``classes (C,)`` str, ``ad (C, D)`` float32 (one AD feature per class), ``desc (M, D)``
float32 (description features grouped by class, most relevant first), ``desc_offsets (C+1,)`` int64
(class j owns ``desc[desc_offsets[j]:desc_offsets[j+1]]``), ``meta`` (JSON); or Parquet, one row
per text: ``class``, ``kind`` ("ad" | "desc"), ``rank``, ``feature``, meta under ``actionhub``.
The projection is linear, so projecting the mean of the raw top-k description features equals
the mean of the projected ones (Eq. 5-6): the loader returns ``vc(k)``, (C, D) raw means, any k.

Docs: docs/text.md#4-class-text-features-actionhub-text-features
"""
from __future__ import annotations

import json
import logging
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from actionhub.utils import jsontext
from actionhub.utils.errors import UserError
from actionhub.utils.io import atomic_path
from actionhub.utils.names import normalize_name

log = logging.getLogger(__name__)


class ClassTextError(UserError):
    """A problem with a class text features file; the message says how to fix it."""


@dataclass
class ClassText:
    """AD and description features per class.

    classes: (C,), ad: (C, D), desc: (M, D), desc_offsets: (C+1,).
    """

    classes: list[str]
    ad: np.ndarray
    desc: np.ndarray
    desc_offsets: np.ndarray
    meta: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.ad = np.asarray(self.ad, dtype=np.float32)
        self.desc = np.asarray(self.desc, dtype=np.float32).reshape(-1, self.ad.shape[1] if self.ad.ndim == 2 else 0)
        self.desc_offsets = np.asarray(self.desc_offsets, dtype=np.int64)
        self._check()

    # ------------------------------------------------------------------ checks
    def _check(self) -> None:
        C = len(self.classes)
        if self.ad.ndim != 2 or self.ad.shape[0] != C:
            raise ClassTextError(f"ad must have shape (C={C}, D), got {self.ad.shape}")
        if self.desc_offsets.shape != (C + 1,):
            raise ClassTextError(f"desc_offsets must have shape ({C + 1},), got {self.desc_offsets.shape}")
        offs = self.desc_offsets
        if offs[0] != 0 or offs[-1] != len(self.desc) or np.any(np.diff(offs) < 0):
            raise ClassTextError("desc_offsets must start at 0, never decrease and end at len(desc)")
        if len(set(self.classes)) != C:
            seen: dict[str, int] = {}
            for c in self.classes:
                seen[c] = seen.get(c, 0) + 1
            dup = sorted(c for c, n in seen.items() if n > 1)
            raise ClassTextError(f"duplicate class names in class text features: {dup[:10]}")
        for name, arr in (("ad", self.ad), ("desc", self.desc)):
            bad = ~np.isfinite(arr).all(axis=1)
            if bad.any():
                raise ClassTextError(f"{bad.sum()} {name} feature row(s) contain NaN or inf")

    @property
    def dim(self) -> int:
        return int(self.ad.shape[1])

    def num_descriptions(self) -> np.ndarray:
        """(C,) number of stored description features per class."""
        return np.diff(self.desc_offsets)

    # ---------------------------------------------------------------- features
    def vc(self, k: int) -> tuple[np.ndarray, list[str]]:
        """Eq. 6 before projection: (C, D) mean of each class's first ``k`` description
        features. Classes without descriptions fall back to their AD feature; their
        names are returned so the caller can warn."""
        counts = np.minimum(self.num_descriptions(), k)
        out = self.ad.copy()
        has = counts > 0
        if has.any():
            # Vectorised segment mean: cumulative sums over the desc rows.
            csum = np.concatenate([np.zeros((1, self.dim), np.float64), np.cumsum(self.desc, axis=0, dtype=np.float64)])
            start = self.desc_offsets[:-1]
            sums = csum[start + counts] - csum[start]
            out[has] = (sums[has] / counts[has, None]).astype(np.float32)
        missing = [c for c, h in zip(self.classes, has, strict=True) if not h]
        return out, missing

    def select(self, classes: Sequence[str], k: int) -> tuple[np.ndarray, np.ndarray, list[str]]:
        """AD (C', D) and VC (C', D) features for ``classes`` in that order, plus the
        names that fell back to AD-only. Names match exactly, then ignoring case and
        punctuation ("ApplyEyeMakeup" == "apply eye makeup")."""
        idx = self.indices(classes)
        vc, missing = self.vc(k)
        missing_set = set(missing)
        fallback = [c for c, i in zip(classes, idx, strict=True) if self.classes[i] in missing_set]
        return self.ad[idx], vc[idx], fallback

    def indices(self, classes: Sequence[str]) -> np.ndarray:
        exact = {c: i for i, c in enumerate(self.classes)}
        loose = {normalize_name(c): i for i, c in enumerate(self.classes)}
        idx, unknown = [], []
        for c in classes:
            i = exact.get(c, loose.get(normalize_name(c)))
            if i is None:
                unknown.append(c)
            else:
                idx.append(i)
        if unknown:
            src = self.meta.get("path", "the class text features")
            raise ClassTextError(
                f"{len(unknown)} class(es) have no text features in {src}: {unknown[:10]}"
                f"{' ...' if len(unknown) > 10 else ''}. Rebuild the file for this benchmark "
                "(actionhub text-features --benchmark NAME) or pass one that covers these classes."
            )
        return np.asarray(idx, dtype=np.int64)

    # --------------------------------------------------------------------- I/O
    def save(self, path: str | Path) -> None:
        """Write ``.npz`` or ``.parquet`` (by suffix) atomically."""
        path = Path(path)
        meta = {k: v for k, v in self.meta.items() if k != "path"}
        if path.suffix == ".parquet":
            _save_parquet(self, path, meta)
            return
        with atomic_path(path) as tmp:
            with open(tmp, "wb") as f:
                np.savez(
                    f,
                    classes=np.asarray(self.classes, dtype=str),
                    ad=self.ad,
                    desc=self.desc,
                    desc_offsets=self.desc_offsets,
                    meta=np.asarray(json.dumps(meta)),
                )


def load_class_text(path: str | Path) -> ClassText:
    """Read a class text features file (``.npz`` or ``.parquet``)."""
    path = Path(path)
    if not path.exists():
        raise ClassTextError(
            f"class text features file not found: {path}. Build one with "
            "`actionhub text-features` or pass the path of an existing .npz/.parquet."
        )
    if path.suffix == ".parquet":
        ct = _load_parquet(path)
    else:
        try:
            with np.load(path, allow_pickle=False) as z:
                missing = {"classes", "ad"} - set(z.files)
                if missing:
                    raise ClassTextError(f"{path} lacks array(s) {sorted(missing)}; found {z.files}")
                ad = z["ad"]
                desc = z["desc"] if "desc" in z.files else np.zeros((0, ad.shape[1]), np.float32)
                offsets = z["desc_offsets"] if "desc_offsets" in z.files else np.zeros(len(ad) + 1, np.int64)
                meta = _meta(path, str(z["meta"])) if "meta" in z.files else {}
                ct = ClassText([str(c) for c in z["classes"]], ad, desc, offsets, meta)
        except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as e:
            if isinstance(e, ClassTextError):
                raise ClassTextError(str(e) if str(e).startswith(str(path)) else f"{path}: {e}") from None
            if isinstance(e, (EOFError, zipfile.BadZipFile, zlib.error)):
                raise ClassTextError(f"{path} is truncated or corrupt ({e or type(e).__name__}); build it again "
                                     "with `actionhub text-features`") from None
            raise ClassTextError(f"cannot read class text features {path}: {e}") from e
    ct.meta["path"] = str(path)
    return ct


def _save_parquet(ct: ClassText, path: Path, meta: dict) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    n_desc = ct.num_descriptions()
    classes = np.asarray(ct.classes, dtype=object)
    names = np.concatenate([classes, np.repeat(classes, n_desc)])
    kinds = np.array(["ad"] * len(classes) + ["desc"] * len(ct.desc), dtype=object)
    ranks = (np.concatenate([np.zeros(len(classes), np.int64)] + [np.arange(n) for n in n_desc]) if len(classes)
             else np.zeros(0, np.int64))
    feats = np.concatenate([ct.ad, ct.desc]).astype(np.float32)
    flat = pa.array(feats.reshape(-1))
    table = pa.table(
        {
            "class": pa.array(names, pa.string()),
            "kind": pa.array(kinds, pa.string()),
            "rank": pa.array(ranks, pa.int64()),
            "feature": pa.FixedSizeListArray.from_arrays(flat, ct.dim),
        }
    ).replace_schema_metadata({"actionhub": json.dumps(meta)})
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp)


def _load_parquet(path: Path) -> ClassText:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from actionhub.utils.columns import INTEGER, TEXT, check_columns

    try:
        table = pq.read_table(path)
    except (pa.ArrowInvalid, OSError) as e:
        raise ClassTextError(f"{path} is not a readable Parquet file ({e}); build it again with "
                             "`actionhub text-features`") from None
    need = {"class", "kind", "rank", "feature"}
    if not need <= set(table.column_names):
        raise ClassTextError(f"{path} needs columns {sorted(need)}, has {table.column_names}")
    check_columns(table.schema, {"class": TEXT, "kind": TEXT, "rank": INTEGER}, path, ClassTextError)
    ftype = table.schema.field("feature").type
    if not (pa.types.is_fixed_size_list(ftype) and pa.types.is_floating(ftype.value_type)):
        raise ClassTextError(f"{path}: column 'feature' is {ftype}; it must hold fixed-size lists of floats "
                             "(one vector per row)")
    col = table.column("feature").combine_chunks()
    values = col.flatten().to_numpy(zero_copy_only=False).astype(np.float32)
    feats = values.reshape(len(table), -1)
    cls = np.asarray(table.column("class").to_pylist(), dtype=object)
    kind = np.asarray(table.column("kind").to_pylist(), dtype=object)
    rank = table.column("rank").to_numpy()
    is_ad = kind == "ad"
    classes = list(dict.fromkeys(cls[is_ad]))
    pos = {c: i for i, c in enumerate(classes)}
    ad = np.empty((len(classes), feats.shape[1]), np.float32)
    ad[[pos[c] for c in cls[is_ad]]] = feats[is_ad]
    d_cls = cls[~is_ad]
    unknown = sorted(set(d_cls) - set(pos))
    if unknown:
        raise ClassTextError(f"{path}: descriptions for classes without an 'ad' row: {unknown[:10]}")
    ci = np.array([pos[c] for c in d_cls], dtype=np.int64)
    order = np.lexsort((rank[~is_ad], ci))
    counts = np.bincount(ci, minlength=len(classes))
    offsets = np.concatenate([[0], np.cumsum(counts)])
    meta = _meta(path, (table.schema.metadata or {}).get(b"actionhub", b"{}"))
    return ClassText(classes, ad, feats[~is_ad][order], offsets, meta)


def _meta(path: Path, text: str | bytes) -> dict:
    """The JSON metadata of a class text file: an object (a list, a string or broken JSON is refused)."""
    try:
        meta = jsontext.loads(text)
    except ValueError as e:
        raise ClassTextError(f"{path}: its metadata ('meta') is not valid JSON ({e}); build the file again with "
                             "`actionhub text-features`") from None
    if not isinstance(meta, dict):
        raise ClassTextError(f"{path}: its metadata ('meta') is a JSON {type(meta).__name__}, but must be an object "
                             "{...}; build the file again with `actionhub text-features`")
    return meta
