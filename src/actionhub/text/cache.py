"""The on-disk cache of encoded texts.

Encoded texts are keyed by (encoder id, SHA-1 of the UTF-8 text), one directory per encoder id
under ``~/.cache/actionhub/text`` (or ``$ACTIONHUB_CACHE/text``, or ``$XDG_CACHE_HOME/actionhub/text``,
or ``--cache DIR``). Each append writes a new shard atomically -- ``shard-*.npy`` (n, D) float32
vectors, then ``shard-*.parquet`` with the column ``sha1`` (fixed-size binary 20) in the same row
order; a shard counts only once its Parquet index exists, so a killed run loses at most the shard
being written. The index's metadata holds the CRC-32 of the vectors: a shard that is truncated or
corrupt (wrong size, unreadable, checksum mismatch) is reported with a warning, removed, and its
texts count as not cached, so they are encoded again and the run (and every later one) recovers.
"""
from __future__ import annotations

import hashlib
import logging
import os
import re
import time
import uuid
import zlib
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from actionhub.text.base import TextEncoderError
from actionhub.utils import jsontext
from actionhub.utils.io import atomic_path, atomic_write_json

__all__ = ["TextCache", "text_hashes", "default_cache_dir", "cache_root", "open_cache"]

log = logging.getLogger(__name__)

_CRC_KEY = b"actionhub.crc32"  # Parquet schema metadata of a shard index: CRC-32 of the vectors' bytes


def text_hashes(texts: Sequence[str]) -> np.ndarray:
    """``(n,)`` ``S20`` SHA-1 digests of the UTF-8 texts (the cache key besides the encoder id)."""
    return np.array([hashlib.sha1(t.encode("utf-8")).digest() for t in texts], dtype="S20").reshape(-1)


def default_cache_dir() -> Path:
    """``$ACTIONHUB_CACHE/text``, else ``$XDG_CACHE_HOME/actionhub/text``, else ``~/.cache/actionhub/text``."""
    if os.environ.get("ACTIONHUB_CACHE"):
        return Path(os.environ["ACTIONHUB_CACHE"]).expanduser() / "text"
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base).expanduser() / "actionhub" / "text"


def _hashes_to_arrow(hashes: np.ndarray) -> Any:
    import pyarrow as pa  # noqa: PLC0415

    data = np.ascontiguousarray(hashes, dtype="S20").tobytes()
    return pa.FixedSizeBinaryArray.from_buffers(pa.binary(20), len(hashes), [None, pa.py_buffer(data)])


def _hashes_from_arrow(col: Any) -> np.ndarray:
    import pyarrow as pa  # noqa: PLC0415

    if isinstance(col, pa.ChunkedArray):
        col = col.combine_chunks()
    buf = col.buffers()[1]
    return np.frombuffer(buf, dtype="S20", count=len(col), offset=col.offset * 20).copy()


class TextCache:
    """Encoded texts of one encoder, on disk under ``root / <encoder slug>``.

    ``get(hashes)`` -> (found (n,) bool, vectors (found.sum(), D) float32) and
    ``put(hashes, vectors)`` (one new shard, written atomically). Concurrent writers are safe
    (unique shard names); duplicates across shards are harmless.
    """

    def __init__(self, root: str | Path, encoder_id: str) -> None:
        self.root = Path(root).expanduser()
        self.encoder_id = encoder_id
        slug = re.sub(r"[^A-Za-z0-9._-]+", "_", encoder_id.split("#")[0])[:60]
        self.dir = self.root / f"{slug}-{hashlib.sha1(encoder_id.encode()).hexdigest()[:12]}"
        self.dim: int | None = None
        self._keys = np.zeros(0, "S20")  # sorted
        self._shard = np.zeros(0, np.int32)  # shard number per key
        self._row = np.zeros(0, np.int64)  # row inside the shard
        self._shards: list[str] = []
        self._crc: list[int | None] = []  # CRC-32 of each shard's vectors (None: an old shard without one)
        self._checked: set[int] = set()  # shards whose checksum was verified in this process
        self._load()

    def __len__(self) -> int:
        return len(self._keys)

    def __repr__(self) -> str:
        return f"TextCache({self.dir}, entries={len(self)}, dim={self.dim})"

    def _load(self) -> None:
        import pyarrow.parquet as pq  # noqa: PLC0415

        meta_file = self.dir / "encoder.json"
        meta_ok = True
        if meta_file.is_file():
            try:
                meta = jsontext.loads(meta_file.read_text(encoding="utf-8"))
                meta_id, meta_dim = meta.get("id"), int(meta["dim"])
            except (ValueError, KeyError, TypeError, AttributeError) as e:
                log.warning("text cache %s: unreadable encoder.json (%s); rewritten from the shards", self.dir, e)
                meta_ok = False
            else:
                if meta_id != self.encoder_id:
                    raise TextEncoderError(f"text cache {self.dir} belongs to encoder {meta_id!r}, not "
                                           f"{self.encoder_id!r}; delete that directory to rebuild it")
                self.dim = meta_dim
        keys, shard, row = [], [], []
        for index in sorted(self.dir.glob("shard-*.parquet")):
            vec = index.with_suffix(".npy")
            if not vec.is_file():
                log.warning("text cache shard %s has no vectors file; ignored", index)
                continue
            try:
                t = pq.read_table(index, columns=["sha1"])
                k = _hashes_from_arrow(t.column("sha1"))
                crc = (t.schema.metadata or {}).get(_CRC_KEY)
                crc = int(crc) if crc is not None else None   # a damaged checksum is a damaged shard
                shape = _npy_shape(vec)
                if len(shape) != 2 or shape[0] != len(k) or (self.dim is not None and shape[1] != self.dim):
                    raise ValueError(f"its vectors are {shape}, its index lists {len(k)} texts"
                                     + (f" of {self.dim}-d" if self.dim is not None else ""))
            except PermissionError as e:
                log.warning("unreadable text cache shard %s (%s); ignored", index, e)
                continue
            except Exception as e:  # noqa: BLE001 - a truncated or corrupt shard is dropped, never fatal
                self._discard(index, f"truncated or corrupt ({type(e).__name__}: {e})")
                continue
            if self.dim is None:
                self.dim = int(shape[1])
            keys.append(k)
            shard.append(np.full(len(k), len(self._shards), np.int32))
            row.append(np.arange(len(k), dtype=np.int64))
            self._shards.append(vec.name)
            self._crc.append(crc)
        if not meta_ok and self.dim is not None:
            try:
                atomic_write_json(meta_file, {"id": self.encoder_id, "dim": self.dim})
            except OSError:
                pass
        elif not meta_ok:
            meta_file.unlink(missing_ok=True)
        if keys:
            self._set_index(np.concatenate(keys), np.concatenate(shard), np.concatenate(row))

    def _discard(self, index: Path, why: str) -> None:
        """Warn about a broken shard and remove it (its texts are encoded again)."""
        log.warning("text cache shard %s is %s; removed, its texts will be encoded again", index, why)
        try:
            index.unlink(missing_ok=True)  # uncommit first
            index.with_suffix(".npy").unlink(missing_ok=True)
        except OSError as e:
            log.warning("could not remove %s (%s)", index, e)

    def _verified(self, s: int) -> np.ndarray | None:
        """The vectors of shard ``s`` (memory-mapped) if they are intact, else None (after dropping it)."""
        path = self.dir / self._shards[s]
        try:
            vectors = np.load(path, mmap_mode="r")
            if s not in self._checked and self._crc[s] is not None:
                if zlib.crc32(memoryview(np.ascontiguousarray(vectors)).cast("B")) != self._crc[s]:
                    raise ValueError("checksum mismatch")
                self._checked.add(s)
            return vectors
        except Exception as e:  # noqa: BLE001 - numpy raises many kinds for a damaged .npy (header, size, data)
            self._discard(path.with_suffix(".parquet"), f"truncated or corrupt ({type(e).__name__}: {e})")
            keep = self._shard != s
            self._keys, self._shard, self._row = self._keys[keep], self._shard[keep], self._row[keep]
            return None

    def _set_index(self, keys: np.ndarray, shard: np.ndarray, row: np.ndarray) -> None:
        order = np.argsort(keys, kind="stable")
        self._keys, self._shard, self._row = keys[order], shard[order], row[order]

    def get(self, hashes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``found`` (n,) bool and the cached vectors (found.sum(), D) of the found hashes, in order."""
        hashes = np.asarray(hashes, dtype="S20")
        if len(self._keys) == 0 or len(hashes) == 0:
            return np.zeros(len(hashes), bool), np.zeros((0, self.dim or 0), np.float32)
        pos = np.searchsorted(self._keys, hashes)
        pos_c = np.minimum(pos, len(self._keys) - 1)
        found = self._keys[pos_c] == hashes
        where = pos_c[found]
        shards = self._shard[where]
        loaded = {int(s): self._verified(int(s)) for s in np.unique(shards)}
        if any(v is None for v in loaded.values()):  # broken shards were dropped: look up again
            return self.get(hashes)
        out = np.empty((len(where), self.dim or 0), np.float32)
        rows = self._row[where]
        for s, vectors in loaded.items():
            sel = np.flatnonzero(shards == s)
            out[sel] = vectors[rows[sel]]
        return found, out

    def put(self, hashes: np.ndarray, vectors: np.ndarray) -> None:
        """Append one shard: ``hashes`` (n,) S20 and ``vectors`` (n, D) float32 (atomic)."""
        import pyarrow as pa  # noqa: PLC0415
        import pyarrow.parquet as pq  # noqa: PLC0415

        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        hashes = np.asarray(hashes, dtype="S20")
        if len(hashes) == 0:
            return
        if vectors.ndim != 2 or len(vectors) != len(hashes):
            raise ValueError(f"need one vector per hash: {len(hashes)} hashes, vectors {vectors.shape}")
        if self.dim is not None and vectors.shape[1] != self.dim:
            raise TextEncoderError(f"text cache {self.dir} holds {self.dim}-d vectors, got {vectors.shape[1]}-d "
                                   "from the same encoder id; delete that directory to rebuild it")
        self.dir.mkdir(parents=True, exist_ok=True)
        if self.dim is None:
            self.dim = int(vectors.shape[1])
            atomic_write_json(self.dir / "encoder.json", {"id": self.encoder_id, "dim": self.dim})
        name = f"shard-{time.time_ns():020d}-{uuid.uuid4().hex[:8]}"
        with atomic_path(self.dir / f"{name}.npy") as tmp:
            np.save(tmp, vectors)
        crc = zlib.crc32(memoryview(vectors).cast("B"))
        index = pa.table({"sha1": _hashes_to_arrow(hashes)}).replace_schema_metadata({_CRC_KEY: str(crc).encode()})
        with atomic_path(self.dir / f"{name}.parquet") as tmp:  # the index last: it commits the shard
            pq.write_table(index, tmp)
        self._shards.append(f"{name}.npy")
        self._crc.append(crc)
        self._checked.add(len(self._shards) - 1)
        self._set_index(np.concatenate([self._keys, hashes]),
                        np.concatenate([self._shard, np.full(len(hashes), len(self._shards) - 1, np.int32)]),
                        np.concatenate([self._row, np.arange(len(hashes), dtype=np.int64)]))

    def compact(self) -> None:
        """Merge every shard into one (fewer files after many small runs); atomic per step."""
        if len(self._shards) < 2:
            return
        old = list(self._shards)
        keys = np.unique(self._keys)
        found, vectors = self.get(keys)   # a shard found corrupt on reading is dropped: keep what was read
        keys = keys[found]
        self._keys, self._shard, self._row, self._shards = np.zeros(0, "S20"), np.zeros(0, np.int32), \
            np.zeros(0, np.int64), []
        self._crc, self._checked = [], set()
        self.put(keys, vectors)
        for name in old:
            (self.dir / name).with_suffix(".parquet").unlink(missing_ok=True)  # uncommit first
            (self.dir / name).unlink(missing_ok=True)


def _npy_shape(path: Path) -> tuple[int, ...]:
    """The shape of a float32 ``.npy`` file from its header; ValueError when the header is unreadable,
    the dtype is not float32 or the file is shorter or longer than the header says."""
    with open(path, "rb") as fh:
        version = np.lib.format.read_magic(fh)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(fh)
        else:
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(fh)
        start = fh.tell()
    if dtype != np.float32 or fortran:
        raise ValueError(f"vectors of dtype {dtype}{' (Fortran order)' if fortran else ''}, expected float32")
    want = start + int(np.prod(shape, dtype=np.int64)) * 4
    have = path.stat().st_size
    if have != want:
        raise ValueError(f"{path.name} has {have} bytes, its header says {want}")
    return tuple(int(n) for n in shape)


def cache_root(cache: TextCache | str | Path | bool | None) -> Path | None:
    """The root directory ``cache`` stands for: True = the default directory, False/None = no
    cache (None), a path = that directory, a :class:`TextCache` = its root."""
    if cache is False or cache is None:
        return None
    if isinstance(cache, TextCache):
        return cache.root
    return default_cache_dir() if cache is True else Path(cache)


def open_cache(cache: TextCache | str | Path | bool, ident: str) -> TextCache | None:
    """``cache`` as a :class:`TextCache` for encoder ``ident``: True = the default directory,
    False = no cache, a path = that root directory."""
    if cache is False or cache is None:
        return None
    if isinstance(cache, TextCache):
        if cache.encoder_id != ident:
            raise ValueError(f"cache is for encoder {cache.encoder_id!r}, not {ident!r}")
        return cache
    return TextCache(cache_root(cache), ident)


