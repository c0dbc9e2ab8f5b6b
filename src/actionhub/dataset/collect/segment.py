"""One segment of the local provider's out-of-core index: the postings and captions of one corpus shard.

One file, written once (atomically), then only read, memory-mapped: the shard's ids and captions, ``dl`` (N,), its
terms and ``df`` (T,), and P postings (list t is ``post_doc/post_tf[term_ptr[t]:term_ptr[t+1]]``), then a JSON
footer naming the shard and holding every array's CRC-32. :func:`open_segment` refuses a truncated file (and, with
``verify``, a damaged one), so the index rebuilds that segment. Term frequencies, not weights, are stored: weights
need the whole corpus (:mod:`actionhub.dataset.collect.diskindex`). :func:`build_segment` holds a memory budget:
sorted runs of postings, spilled beside the segment when they outgrow their share, merged term range by term range;
the segment's bytes do not depend on the budget.
Docs (the full layout): docs/dataset.md#at-corpus-scale-out-of-core
"""
from __future__ import annotations

import json
import logging
import mmap
import os
import struct
import uuid
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

import numpy as np
import pyarrow as pa

from actionhub.dataset.collect import bm25
from actionhub.dataset.collect.base import ProviderConfigError
from actionhub.dataset.collect.corpus import CorpusText

__all__ = ["SEGMENT_VERSION", "SegmentError", "Segment", "build_segment", "open_segment", "shard_identity",
           "read_bytes_needed", "read_footer", "MIN_CHUNK_ROWS"]

log = logging.getLogger(__name__)

SEGMENT_VERSION = 1
MAGIC = b"AHBM25S1"
TAIL = struct.Struct("<QI")  # footer length, CRC-32 of the footer; then MAGIC
ALIGN = 64
IO_BLOCK = 16 << 20
MIN_CHUNK_ROWS = 16_384  # the smallest chunk of captions worth tokenising at once
CHUNK_BYTES_PER_CAPTION_BYTE = 8  # measured: tokenising a chunk peaks at ~7.4x its caption bytes
CHUNK_BYTES_PER_ROW = 96
CHUNK_SHARE = 0.5  # of the memory left, for the next chunk (the estimate per caption is rough)
RUN_SHARE = 0.25  # of the memory left after reading the shard, for runs of postings kept in memory
MIN_RUN_BUFFER = 1 << 20
MARGIN = 1.1  # on the smallest budget an error names: the estimates are rough


class SegmentError(Exception):
    """A segment file that cannot be used (missing, truncated, damaged, another version)."""


def shard_identity(shard: Path) -> dict[str, Any]:
    """What identifies a corpus shard's content: its resolved path, size and modification time."""
    st = shard.stat()
    return {"path": str(shard.resolve()), "size": int(st.st_size), "mtime_ns": int(st.st_mtime_ns)}


# --------------------------------------------------------------------------------------------- writing
class _Writer:
    """Appends aligned arrays to an open file, with a CRC-32 of each, then the footer."""

    def __init__(self, fh: Any):
        self.fh, self.pos, self.arrays = fh, 0, {}
        self._cur: Optional[dict[str, Any]] = None

    def begin(self, name: str, dtype: Any) -> None:
        pad = -self.pos % ALIGN
        if pad:
            self.fh.write(b"\0" * pad)
            self.pos += pad
        self._cur = {"name": name, "dtype": np.dtype(dtype).str, "offset": self.pos, "length": 0, "crc32": 0}

    def append(self, arr: np.ndarray) -> None:
        cur = self._cur
        a = np.ascontiguousarray(arr, dtype=np.dtype(cur["dtype"]))
        view = memoryview(a).cast("B")
        self.fh.write(view)
        cur["crc32"] = zlib.crc32(view, cur["crc32"])
        cur["length"] += int(a.size)
        self.pos += view.nbytes

    def end(self) -> None:
        cur, self._cur = self._cur, None
        self.arrays[cur.pop("name")] = cur

    def array(self, name: str, arr: np.ndarray) -> None:
        self.begin(name, arr.dtype)
        self.append(arr)
        self.end()

    def strings(self, name: str, arr: pa.Array | pa.ChunkedArray) -> None:
        """A string column as ``NAME_off`` (int64 offsets from 0) and ``NAME_data`` (UTF-8 bytes)."""
        chunks = arr.chunks if isinstance(arr, pa.ChunkedArray) else [arr]
        spans = [_string_span(c) for c in chunks]
        self.begin(f"{name}_off", np.int64)
        self.append(np.zeros(1, np.int64))
        base = 0
        for offs, _ in spans:
            self.append(offs[1:].astype(np.int64) - offs[0] + base)
            base += int(offs[-1] - offs[0])
        self.end()
        self.begin(f"{name}_data", np.uint8)
        for offs, data in spans:
            self.append(np.frombuffer(data, np.uint8, count=int(offs[-1] - offs[0]), offset=int(offs[0]))
                        if data is not None and offs[-1] > offs[0] else np.zeros(0, np.uint8))
        self.end()

    def finish(self, meta: dict[str, Any]) -> None:
        footer = json.dumps({**meta, "arrays": self.arrays}, sort_keys=True).encode()
        self.fh.write(footer)
        self.fh.write(TAIL.pack(len(footer), zlib.crc32(footer)))
        self.fh.write(MAGIC)


def _string_span(a: pa.Array) -> tuple[np.ndarray, Any]:
    """The offsets (``len + 1``, of the slice) and data buffer of a string array."""
    if pa.types.is_dictionary(a.type):
        a = a.dictionary_decode()
    wide = pa.types.is_large_string(a.type)
    if not (wide or pa.types.is_string(a.type)):
        a = a.cast(pa.string())
    bufs = a.buffers()
    offs = np.frombuffer(bufs[1], np.int64 if wide else np.int32, count=len(a) + 1,
                         offset=a.offset * (8 if wide else 4)) \
        if bufs[1] is not None else np.zeros(len(a) + 1, np.int64)
    return offs, bufs[2]


class _Runs:
    """Sorted runs of postings, one per chunk of captions: in memory while they fit ``budget``
    bytes, else spilled to a temporary file beside the segment (removed by :meth:`close`)."""

    def __init__(self, spill_path: Path, budget: int):
        self.spill_path, self.budget = spill_path, budget
        self.runs: list[dict[str, Any]] = []  # counts (T_c,), and docs/tf arrays or their file offsets
        self.held = 0
        self._fh: Any = None
        self.tf_dtype = np.dtype(np.uint16)

    def add(self, counts: np.ndarray, docs: np.ndarray, tf: np.ndarray) -> None:
        """One chunk's postings grouped by term: ``counts`` per term id (so far), caption ids, tf."""
        wide = bool(tf.size) and tf.max() > np.iinfo(np.uint16).max
        if wide:
            self.tf_dtype = np.dtype(np.uint32)
        run = {"counts": counts, "ptr": np.concatenate([[0], np.cumsum(counts)]).astype(np.int64),
               "docs": docs.astype(np.uint32), "tf": tf.astype(np.uint32 if wide else np.uint16)}
        self.runs.append(run)
        self.held += run["docs"].nbytes + run["tf"].nbytes
        if self.held > self.budget:
            self._spill()

    def _spill(self) -> None:
        if self._fh is None:
            self._fh = open(self.spill_path, "w+b")  # noqa: SIM115 - closed by close()
        for run in self.runs:
            for key in ("docs", "tf"):
                if isinstance(run[key], np.ndarray):
                    arr = run[key]
                    self._fh.seek(0, os.SEEK_END)
                    run[key] = (self._fh.tell(), arr.dtype, arr.size)
                    self._fh.write(memoryview(arr).cast("B") if arr.size else b"")
        self._fh.flush()
        self.held = 0

    def read(self, run: dict[str, Any], key: str, lo: int, hi: int) -> np.ndarray:
        v = run[key]
        if isinstance(v, np.ndarray):
            return v[lo:hi]
        offset, dtype, _ = v
        return _pread(self._fh, offset + lo * dtype.itemsize, hi - lo, dtype)

    def merge(self, w: _Writer, num_terms: int, budget: int) -> tuple[np.ndarray, np.ndarray]:
        """Write ``post_doc`` and ``post_tf`` in term order; returns ``(df, term_ptr)``."""
        df = np.zeros(num_terms, np.int64)
        for run in self.runs:
            df[:run["counts"].size] += run["counts"]
        ptr = np.zeros(num_terms + 1, np.int64)
        np.cumsum(df, out=ptr[1:])
        step = max(1, budget // 8)  # postings per merge range (docs or tf, and their positions)
        bounds = [0]
        while bounds[-1] < num_terms:  # term ranges of about ``step`` postings (at least one term)
            t = int(np.searchsorted(ptr, ptr[bounds[-1]] + step, side="right")) - 1
            bounds.append(min(num_terms, max(t, bounds[-1] + 1)))
        for key, dtype in (("docs", np.dtype(np.uint32)), ("tf", self.tf_dtype)):
            w.begin("post_doc" if key == "docs" else "post_tf", dtype)
            for t0, t1 in zip(bounds[:-1], bounds[1:], strict=False):
                out = np.empty(int(ptr[t1] - ptr[t0]), dtype)
                fill = ptr[t0:t1] - ptr[t0]  # where the next run's postings of each term go
                for run in self.runs:
                    tc = min(t1, run["counts"].size)
                    if t0 >= tc:
                        continue
                    cnt = run["counts"][t0:tc]
                    lo, hi = int(run["ptr"][t0]), int(run["ptr"][tc])
                    if hi > lo:
                        dest = np.repeat(fill[:tc - t0] - (run["ptr"][t0:tc] - lo), cnt) + np.arange(hi - lo)
                        out[dest] = self.read(run, key, lo, hi)
                    fill[:tc - t0] += cnt
                w.append(out)
            w.end()
        return df, ptr

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None
            try:
                self.spill_path.unlink()
            except OSError:
                pass


def _pread(fh: Any, offset: int, count: int, dtype: np.dtype) -> np.ndarray:
    out = np.empty(count, dtype)
    view = memoryview(out).cast("B")
    fh.seek(offset)
    got = 0
    while got < view.nbytes:
        n = fh.readinto(view[got:])
        if not n:
            raise OSError(f"the spill file {fh.name} ended early")
        got += n
    return out


def read_bytes_needed(shard: Path, fmt: str) -> int:
    """About how much memory reading the shard whole takes (measured on WebVid-style files)."""
    size = shard.stat().st_size
    if fmt == "parquet":
        try:
            import pyarrow.parquet as pq  # noqa: PLC0415

            md = pq.ParquetFile(shard).metadata
            size = sum(md.row_group(i).total_byte_size for i in range(md.num_row_groups))
        except Exception:  # noqa: BLE001 - a bad file is reported by read_corpus
            size *= 4
        return int(2.5 * size)
    if "".join(shard.suffixes[-2:]).lower().endswith(".gz"):
        return int(12 * size)
    return int((3.0 if fmt == "jsonl" else 2.7) * size)


def build_segment(shard: Path, out: Path, text: CorpusText, id_column: str, caption_column: str, fmt: Optional[str],
                  budget: int, progress: Callable[[float], None] | None = None) -> dict[str, Any]:
    """Index the corpus shard ``shard`` into the segment file ``out`` (atomic: a killed or failed
    build leaves no file), holding at most about ``budget`` bytes in this process. Returns the
    segment's footer. ``progress(fraction)`` is called as chunks of captions are indexed."""
    from actionhub.utils.io import atomic_path  # noqa: PLC0415
    from actionhub.utils.memory import gb, resident_bytes  # noqa: PLC0415

    fmt = text.format_of(shard, fmt)
    ident = shard_identity(shard)
    pool = pa.default_memory_pool()
    pool.release_unused()
    base = resident_bytes()
    need_read = read_bytes_needed(shard, fmt)
    if base + need_read > budget:
        raise ProviderConfigError(
            f"a memory budget of {gb(budget)} is too small to index the corpus shard {shard} "
            f"({shard.stat().st_size / 1e6:,.0f} MB; reading it takes about {gb(need_read)}): the smallest that "
            f"works is about {gb(MARGIN * (base + need_read + MIN_CHUNK_ROWS * 1024))} (--memory-gb), or split the "
            "shard "
            "into smaller files")
    ids, caps = text.read(shard, id_column, caption_column, fmt)
    n = len(ids)
    out.parent.mkdir(parents=True, exist_ok=True)
    runs = _Runs(out.with_name(f".{out.name}.runs-{uuid.uuid4().hex[:12]}.tmp"), budget)
    try:
        with atomic_path(out) as tmp, open(tmp, "wb") as fh, ThreadPoolExecutor(1) as writer:
            w = _Writer(fh)
            # the ids and captions go to disk in a thread (file writes and CRCs let the tokenising
            # go on); nothing else is written before it is done
            docs_written = writer.submit(_write_docs, w, ids, caps)
            del ids
            pool.release_unused()
            per_row = CHUNK_BYTES_PER_CAPTION_BYTE * caps.nbytes / max(n, 1) + CHUNK_BYTES_PER_ROW
            held = resident_bytes() or base + need_read  # (no /proc: assume the read's estimate is held)
            smallest = MIN_CHUNK_ROWS * per_row
            if held + smallest > budget:
                raise ProviderConfigError(
                    f"a memory budget of {gb(budget)} is too small to index the corpus shard {shard}: after reading "
                    f"it ({n:,} captions) this process holds {gb(held)}, and one chunk of {MIN_CHUNK_ROWS:,} captions "
                    f"needs about {gb(smallest)} more; the smallest that works is about "
                    f"{gb(MARGIN * (held + smallest))} "
                    "(--memory-gb), or split the shard into smaller files")
            runs.budget = max(MIN_RUN_BUFFER, int(RUN_SHARE * (budget - held)))
            lemmas = text.vocabulary()
            dl = np.zeros(n, np.float32)
            total = lo = 0
            while lo < n:
                # each chunk as large as the memory left allows, measured anew (allocators keep some)
                room = budget - (resident_bytes() or held + runs.held)
                rows = min(n - lo, max(MIN_CHUNK_ROWS, int(CHUNK_SHARE * room / per_row)))
                part = caps.slice(lo, rows)
                if isinstance(part, pa.ChunkedArray):
                    part = part.combine_chunks()
                doc, term = text.caption_terms(part, lemmas)
                indptr, terms, tf, lengths = bm25.term_frequencies(doc, term, rows, len(lemmas.vocab))
                del doc, term
                dl[lo:lo + rows] = lengths
                total += int(lengths.sum(dtype=np.float64))
                counts, docs, tf = _by_term(indptr, terms, tf, rows, len(lemmas.vocab))
                runs.add(counts, docs + np.uint32(lo), tf)
                del indptr, terms, part, docs, tf
                pool.release_unused()
                lo += rows
                if progress is not None:
                    progress(rows / n)
            del caps
            docs_written.result()
            w.array("dl", dl)
            del dl
            num_terms = len(lemmas.vocab)
            df, ptr = runs.merge(w, num_terms, max(MIN_RUN_BUFFER, int(CHUNK_SHARE * (budget - held))))
            w.array("df", df)
            w.array("term_ptr", ptr)
            w.strings("vocab", pa.array(lemmas.vocab, pa.string()))
            meta = {"format": "actionhub-bm25-segment", "version": SEGMENT_VERSION, "shard": ident,
                    "id_column": id_column, "caption_column": caption_column, "corpus_format": fmt, "docs": n,
                    "terms": num_terms, "postings": int(ptr[-1]), "total_length": total,
                    "tf_dtype": runs.tf_dtype.str}
            w.finish(meta)
            fh.flush()
            meta["arrays"] = w.arrays
    finally:
        runs.close()
    return meta


def _write_docs(w: _Writer, ids: pa.Array, caps: pa.Array) -> None:
    w.strings("ids", ids)
    w.strings("caps", caps)


def _by_term(indptr: np.ndarray, terms: np.ndarray, tf: np.ndarray, rows: int, num_terms: int
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A chunk's caption-major term counts regrouped by term: ``(postings per term, caption ids, tf)``."""
    import scipy.sparse as sp  # noqa: PLC0415

    csc = sp.csr_matrix((tf, terms, indptr), shape=(rows, max(1, num_terms))).tocsc()
    return np.diff(csc.indptr)[:num_terms].astype(np.int64), csc.indices, csc.data


# --------------------------------------------------------------------------------------------- reading
def read_footer(path: Path) -> tuple[dict[str, Any], int]:
    """The footer of the segment at ``path`` (its metadata: the shard it was built from, columns, array
    checksums) and where its data ends; :class:`SegmentError` when it is missing, truncated or not a segment."""
    try:
        size = path.stat().st_size
        with open(path, "rb") as fh:
            if size < TAIL.size + len(MAGIC):
                raise SegmentError(f"truncated ({size} bytes)")
            fh.seek(size - TAIL.size - len(MAGIC))
            tail = fh.read(TAIL.size + len(MAGIC))
            if tail[TAIL.size:] != MAGIC:
                raise SegmentError("truncated, or not a segment file (no end marker)")
            length, crc = TAIL.unpack(tail[:TAIL.size])
            if length > size - TAIL.size - len(MAGIC):
                raise SegmentError("damaged (its footer)")
            fh.seek(size - TAIL.size - len(MAGIC) - length)
            footer = fh.read(length)
    except FileNotFoundError:
        raise SegmentError("missing") from None
    except OSError as e:
        raise SegmentError(f"unreadable ({e})") from None
    if zlib.crc32(footer) != crc:
        raise SegmentError("damaged (its footer fails its checksum)")
    try:
        meta = json.loads(footer)
    except ValueError:
        raise SegmentError("damaged (its footer)") from None
    if meta.get("format") != "actionhub-bm25-segment" or meta.get("version") != SEGMENT_VERSION:
        raise SegmentError(f"of another format or version ({meta.get('format')} {meta.get('version')})")
    return meta, size - TAIL.size - len(MAGIC) - length


def _check_layout(meta: dict[str, Any], data_end: int) -> None:
    n, t, p = meta["docs"], meta["terms"], meta["postings"]
    want = {"ids_off": n + 1, "caps_off": n + 1, "dl": n, "vocab_off": t + 1, "df": t, "term_ptr": t + 1,
            "post_doc": p, "post_tf": p}
    arrays = meta["arrays"]
    for name in (*want, "ids_data", "caps_data", "vocab_data"):
        a = arrays.get(name)
        if a is None:
            raise SegmentError(f"damaged (no array {name})")
        if name in want and a["length"] != want[name]:
            raise SegmentError(f"damaged (array {name} holds {a['length']} values, not {want[name]})")
        if a["offset"] + a["length"] * np.dtype(a["dtype"]).itemsize > data_end:
            raise SegmentError(f"truncated (array {name} runs past the end of the data)")


def _verify(path: Path, arrays: dict[str, Any]) -> None:
    buf = bytearray(IO_BLOCK)
    view = memoryview(buf)
    with open(path, "rb", buffering=0) as fh:
        for name, a in arrays.items():
            fh.seek(a["offset"])
            left, crc = a["length"] * np.dtype(a["dtype"]).itemsize, 0
            while left:
                got = fh.readinto(view[:min(left, IO_BLOCK)])
                if not got:
                    raise SegmentError(f"truncated (array {name})")
                crc = zlib.crc32(view[:got], crc)
                left -= got
            if crc != a["crc32"]:
                raise SegmentError(f"damaged (array {name} fails its checksum)")


def open_segment(path: str | os.PathLike[str], verify: bool = False) -> "Segment":
    """The segment at ``path`` (memory-mapped), its layout checked and, with ``verify``, every
    array's checksum too; raises :class:`SegmentError` saying what is wrong."""
    p = Path(path)
    meta, data_end = read_footer(p)
    try:
        _check_layout(meta, data_end)
    except (KeyError, TypeError) as e:
        raise SegmentError(f"damaged (its footer: {e})") from None
    if verify:
        _verify(p, meta["arrays"])
    return Segment(p, meta)


class Segment:
    """An open segment: its arrays are views of one read-only memory map (see the module docstring)."""

    def __init__(self, path: Path, meta: dict[str, Any]):
        self.path, self.meta = path, meta
        self.num_docs = int(meta["docs"])
        self.total_length = int(meta["total_length"])
        with open(path, "rb") as fh:
            self._mm = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
        self.a = {name: np.frombuffer(self._mm, np.dtype(s["dtype"]), count=s["length"], offset=s["offset"])
                  for name, s in meta["arrays"].items()}
        self.touched = 0  # bytes read since the last release (an estimate)

    def strings(self, name: str) -> pa.Array:
        """The string column ``name`` (ids, caps, vocab) as a zero-copy Arrow array over the map."""
        off = self.a[f"{name}_off"]
        return pa.LargeStringArray.from_buffers(off.size - 1, pa.py_buffer(off), pa.py_buffer(self.a[f"{name}_data"]))

    def vocab(self) -> pa.Array:
        return self.strings("vocab").cast(pa.string())

    def postings(self, terms: Sequence[int], term_idf: Sequence[Any], k1: float, b: float, avgdl: float
                 ) -> list[bm25.Posting]:
        """The postings of terms ``terms`` (ids in this segment) with their BM25 weights computed
        on demand from the corpus-wide ``term_idf`` and ``avgdl``."""
        ptr, docs_all, tf_all, dl = self.a["term_ptr"], self.a["post_doc"], self.a["post_tf"], self.a["dl"]
        out = []
        for t, w_idf in zip(terms, term_idf, strict=True):
            lo, hi = int(ptr[t]), int(ptr[t + 1])
            docs, tf = docs_all[lo:hi], tf_all[lo:hi]
            self.touched += (hi - lo) * (4 + tf.itemsize)

            def weight(at: Optional[np.ndarray], docs: np.ndarray = docs, tf: np.ndarray = tf,
                       w_idf: Any = w_idf) -> np.ndarray:
                d, f = (docs, tf) if at is None else (docs[at], tf[at])
                self.touched += d.size * 8
                return bm25.weights(f.astype(np.float32), bm25.length_norm(dl[d], k1, b, avgdl), np.float32(w_idf), k1)

            out.append(bm25.Posting(docs, weight))
        return out

    def documents(self, docs: np.ndarray) -> tuple[pa.Array, pa.Array]:
        """``(video ids, captions)`` of captions ``docs`` (ids in this segment), as string arrays."""
        idx = pa.array(np.asarray(docs, np.int64))
        self.touched += len(idx) * 8192
        return (self.strings("ids").take(idx).cast(pa.string()), self.strings("caps").take(idx).cast(pa.string()))

    def release(self) -> None:
        """Give the pages read so far back to the OS (they stay in the page cache): keeps the
        resident memory of a long search bounded however much of the index it reads."""
        if self.touched and hasattr(self._mm, "madvise") and hasattr(mmap, "MADV_DONTNEED"):
            self._mm.madvise(mmap.MADV_DONTNEED)
        self.touched = 0

    def close(self) -> None:
        self.a = {}
        try:
            self._mm.close()
        except BufferError:  # arrays handed out still point into the map: it closes with them
            pass
