"""The ``local`` provider: BM25 ranked search over a caption corpus the user already has.

A corpus is a CSV, JSONL or Parquet file with a video id column and a caption column; the
defaults fit a WebVid-style CSV (``videoid``, ``name``). Captions are tokenised like
:func:`actionhub.dataset.wordvec.arrow_tokenize` (vectorised), stop words are dropped and every
distinct word is lemmatised once (:func:`actionhub.dataset.vocab.lemmatize_word`), so the query
"ride horse" matches "a man riding horses".

Which captions match a query (``match``, recorded in the store):

* ``"all"`` (default): the caption holds every content word of the query (its words minus stop
  words, lemmatised), as a stock-footage site's search does -- "baby waking up" does not return
  push-ups through the word "up", "shot put" does not return "Shot on RED";
* ``"any"``: the caption holds at least one of them (plain BM25 retrieval).

Matches are ranked by Okapi BM25 (Robertson & Zaragoza, 2009):

    score(d, q) = sum over query terms t of  idf(t) * tf(t, d) * (k1 + 1) / (tf(t, d) + k1 * (1 - b + b * |d| / avgdl))
    idf(t) = ln(1 + (N - df(t) + 0.5) / (df(t) + 0.5)),  k1 = 1.2, b = 0.75

ties broken by corpus order. The weights are precomputed into a sparse term-by-document matrix
whose rows are the posting lists (``scipy.sparse`` CSR, float32), built chunk by chunk so a
WebVid-10M corpus fits in memory: a query touches only the postings of its own terms (an
intersection of sorted lists for ``"all"``, a merge for ``"any"``) and a partial sort picks its
best results; a query is scored once and its ranked candidates are kept for its next pages. The
index is cached as ``.<corpus name>.bm25-<key>.npz`` next to the corpus (or in ``cache_dir``),
keyed by the corpus file's path, size and modification time, the columns and the index version;
a changed corpus is re-indexed, and a cache file that is truncated or damaged (its structure is
checked on loading, with the CRC-32s of its arrays) is rebuilt with a warning. The posting lists are memory-mapped from the cache,
not copied. Beside it, ``.<corpus name>.columns-<key>.arrow`` keeps the corpus's id and caption
columns (Arrow IPC, memory-mapped when read), so a later search of a cached corpus does not parse
the whole file again.
"""
from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from actionhub.dataset.collect.base import Charge, Page, Provider, ProviderConfigError
from actionhub.dataset.collect.generic import GENERIC_MODES

if TYPE_CHECKING:  # pragma: no cover
    from actionhub.dataset.collect.variants import QueryPlan

__all__ = ["BM25Index", "LocalProvider", "read_corpus", "corpus_column_names", "MAX_CAPTION_CHARS"]

log = logging.getLogger(__name__)

INDEX_VERSION = 2
MATCH_MODES = ("all", "any")
PROVIDER_MATCH_MODES = ("most", "all", "any")  # "most": "all", relaxed for a query with few matches
RELAX_BELOW = 10  # with "most", a query with fewer matches also gets the captions holding all but one of its words
RELAX_MAX = 1000  # at most this many of those, best by BM25
INDEX_CHUNK_ROWS = 1 << 20  # captions tokenised at once while indexing
FORMATS = ("csv", "jsonl", "parquet")
MAX_CAPTION_CHARS = 5000  # a longer caption in a CSV corpus means broken quoting (WebVid's longest: ~300)


def _format_of(path: Path, fmt: Optional[str]) -> str:
    if fmt:
        if fmt not in FORMATS:
            raise ProviderConfigError(f"unknown corpus format {fmt!r}; choose one of {', '.join(FORMATS)}")
        return fmt
    s = "".join(path.suffixes[-2:]).lower()
    if s.endswith((".csv", ".csv.gz", ".tsv")):
        return "csv"
    if s.endswith((".jsonl", ".json", ".jsonl.gz", ".ndjson")):
        return "jsonl"
    if s.endswith((".parquet", ".pq")):
        return "parquet"
    raise ProviderConfigError(f"cannot tell the format of the corpus {path} from its name; pass the format "
                              f"(--corpus-format {'|'.join(FORMATS)})")


def read_corpus(path: str | os.PathLike[str], id_column: str = "videoid", caption_column: str = "name",
                fmt: Optional[str] = None, max_caption_chars: int = MAX_CAPTION_CHARS) -> tuple[pa.Array, pa.Array]:
    """``(ids, captions)`` of a corpus file as string arrays, rows with a null id or caption dropped.

    A corpus that lies is refused, naming the file and what is wrong: a caption column of another type
    than text (lists, bytes, objects), a JSONL line nested too deeply to parse, and a CSV whose quoting
    is broken (a caption longer than ``max_caption_chars``, or far fewer rows than lines: a stray quote
    merged lines into one field), with the line the offending field starts on."""
    from actionhub.utils.columns import ID, TEXT, check_columns  # noqa: PLC0415

    p = Path(path)
    if not p.is_file():
        raise ProviderConfigError(f"caption corpus not found: {p}")
    fmt = _format_of(p, fmt)
    cols = [id_column, caption_column]
    parse = None
    try:
        if fmt == "csv":
            import pyarrow.csv as pcsv  # noqa: PLC0415

            parse = pcsv.ParseOptions(delimiter="\t" if p.suffix.lower() == ".tsv" else ",", newlines_in_values=True)
            header = pcsv.open_csv(p, parse_options=parse).schema.names
            _check_columns(p, header, cols)
            t = pcsv.read_csv(p, parse_options=parse, convert_options=pcsv.ConvertOptions(
                include_columns=cols, column_types={c: pa.string() for c in cols}))
        elif fmt == "jsonl":
            import pyarrow.json as pjson  # noqa: PLC0415

            from actionhub.utils.jsontext import MAX_DEPTH, deep_lines  # noqa: PLC0415

            deep = deep_lines(p)   # pyarrow's reader would crash the process on them
            if deep:
                raise ProviderConfigError(f"the caption corpus {p}: line {deep[0]} nests JSON deeper than {MAX_DEPTH} "
                                          f"levels ({len(deep)} such line(s)); a corpus line is one flat object "
                                          f"with the {id_column!r} and {caption_column!r} fields")
            t = pjson.read_json(p)
            _check_columns(p, t.column_names, cols)
        else:
            import pyarrow.parquet as pq  # noqa: PLC0415

            _check_columns(p, pq.read_schema(p).names, cols)
            t = pq.read_table(p, columns=cols)
    except (pa.ArrowInvalid, OSError) as e:
        raise ProviderConfigError(f"could not read the caption corpus {p} as {fmt}: {e}") from None
    check_columns(t.schema, {caption_column: TEXT, id_column: ID}, f"the caption corpus {p}", ProviderConfigError)
    if parse is not None:
        _check_csv_rows(p, t, caption_column, parse, max_caption_chars)
    ids = pc.cast(t.column(id_column), pa.string()).combine_chunks()
    caps = pc.cast(t.column(caption_column), pa.string()).combine_chunks()
    ok = pc.and_(pc.is_valid(ids), pc.is_valid(caps))
    dropped = len(ids) - pc.sum(ok).as_py() if len(ids) else 0
    if dropped:
        log.warning("%s: %d row(s) without %s or %s ignored", p, dropped, id_column, caption_column)
        ids, caps = ids.filter(ok), caps.filter(ok)
    if len(ids) == 0:
        raise ProviderConfigError(f"the caption corpus {p} has no rows with both {id_column!r} and {caption_column!r}")
    return ids, caps


def corpus_column_names(path: str | os.PathLike[str], fmt: Optional[str] = None) -> list[str]:
    """The column names of a corpus file (its header, schema, or first JSON line)."""
    p = Path(path)
    if not p.is_file():
        raise ProviderConfigError(f"caption corpus not found: {p}")
    fmt = _format_of(p, fmt)
    try:
        if fmt == "csv":
            import pyarrow.csv as pcsv  # noqa: PLC0415

            parse = pcsv.ParseOptions(delimiter="\t" if p.suffix.lower() == ".tsv" else ",", newlines_in_values=True)
            return list(pcsv.open_csv(p, parse_options=parse).schema.names)
        if fmt == "parquet":
            import pyarrow.parquet as pq  # noqa: PLC0415

            return list(pq.read_schema(p).names)
        import pyarrow.json as pjson  # noqa: PLC0415

        return list(pjson.read_json(p).column_names)
    except (pa.ArrowInvalid, OSError) as e:
        raise ProviderConfigError(f"could not read the caption corpus {p} as {fmt}: {e}") from None


def _count_lines(p: Path) -> int:
    """Lines of a (possibly compressed) text file, counted in chunks."""
    n, last = 0, b"\n"
    with pa.input_stream(str(p), compression="detect") as f:
        while True:
            chunk = f.read(1 << 24)
            if not chunk:
                break
            n += chunk.count(b"\n")
            last = chunk[-1:]
    return n + (last != b"\n")


def _check_csv_rows(p: Path, t: pa.Table, caption_column: str, parse: Any, max_chars: int) -> None:
    """Refuse a CSV corpus whose quoting is broken (see :func:`read_corpus`), naming the line where the
    field that swallowed the following lines starts."""
    caps = t.column(caption_column)
    longest = pc.max(pc.utf8_length(caps)).as_py() if t.num_rows else 0
    data_lines = _count_lines(p) - 1
    too_long = bool(longest and longest > max_chars)
    too_few = data_lines - t.num_rows >= 10 and t.num_rows < data_lines / 2
    if not (too_long or too_few):
        return
    import pyarrow.csv as pcsv  # noqa: PLC0415

    # every column as text, to find the line each row starts on (a field may span lines)
    full = pcsv.read_csv(p, parse_options=parse, convert_options=pcsv.ConvertOptions(
        column_types={c: pa.string() for c in pcsv.open_csv(p, parse_options=parse).schema.names}))
    spans = np.zeros(full.num_rows, np.int64)
    for col in full.columns:
        spans += pc.fill_null(pc.count_substring(col, "\n"), 0).to_numpy(zero_copy_only=False)
    lengths = pc.fill_null(pc.utf8_length(full.column(caption_column)), 0).to_numpy(zero_copy_only=False)
    row = int(np.argmax(lengths)) if too_long else int(np.argmax(spans))
    line = 2 + row + int(spans[:row].sum())
    what = (f"a {caption_column!r} of {longest:,} characters (more than --max-caption-chars {max_chars:,})"
            if too_long else f"{t.num_rows:,} rows in {data_lines:,} lines")
    if not spans[row]:
        raise ProviderConfigError(f"the caption corpus {p} holds {what} on line {line}; raise --max-caption-chars if "
                                  "captions really are that long")
    raise ProviderConfigError(
        f"the caption corpus {p} reads as {what}: the field that starts on line {line} opens a quote (\") that the "
        f"CSV reader closes only {int(spans[row]):,} line(s) later, swallowing them. Fix the quoting there (double a "
        "quote inside a quoted field, or remove the stray one), or raise --max-caption-chars if captions really are "
        "that long")


def _check_columns(p: Path, have: list[str], need: list[str]) -> None:
    missing = [c for c in need if c not in have]
    if missing:
        raise ProviderConfigError(f"the caption corpus {p} has no column(s) {missing} (columns: {', '.join(have)}); "
                                  "name the id and caption columns with --id-column / --caption-column")


def _query_terms(text: str) -> list[str]:
    """The content words of a query, lemmatised like the captions (stop words dropped)."""
    from actionhub.dataset.vocab import lemmatize_word, stop_words  # noqa: PLC0415
    from actionhub.dataset.wordvec import tokenize  # noqa: PLC0415

    stops = stop_words()
    return list(dict.fromkeys(lemmatize_word(t, first=True) for t in tokenize(text) if t and t not in stops))


class _Lemmas:
    """Word -> term id of the index (-1 for stop words), lemmatising each distinct word once."""

    def __init__(self) -> None:
        from actionhub.dataset.vocab import stop_words  # noqa: PLC0415

        self.stops = stop_words()
        self.term_of_word: dict[str, int] = {}
        self.term_id: dict[str, int] = {}
        self.vocab: list[str] = []

    def ids(self, words: list[str]) -> np.ndarray:
        from actionhub.dataset.vocab import lemmatize_word  # noqa: PLC0415

        out = np.empty(len(words), np.int64)
        for i, w in enumerate(words):  # distinct words of a chunk, not rows
            t = self.term_of_word.get(w)
            if t is None:
                lemma = None if (not w or w in self.stops) else lemmatize_word(w, first=True)
                if not lemma:
                    t = -1
                else:
                    t = self.term_id.get(lemma)
                    if t is None:
                        t = self.term_id[lemma] = len(self.vocab)
                        self.vocab.append(lemma)
                self.term_of_word[w] = t
            out[i] = t
        return out


class BM25Index:
    """Okapi BM25 weights of a caption corpus as a sparse ``(T, N)`` term-by-document matrix:
    row ``t`` is the posting list of term ``t`` (sorted document ids and their weights)."""

    def __init__(self, vocab: list[str], weights: Any, k1: float = 1.2, b: float = 0.75):
        self.vocab = list(vocab)
        self.term_id = {t: i for i, t in enumerate(self.vocab)}
        self.weights = weights  # scipy.sparse.csr_matrix (T, N) float32, sorted indices
        self.k1, self.b = k1, b
        self._derived: dict[str, list[str]] | None = None

    @property
    def num_docs(self) -> int:
        return int(self.weights.shape[1])

    @classmethod
    def build(cls, captions: pa.Array | pa.ChunkedArray | list[str], k1: float = 1.2, b: float = 0.75,
              chunk_rows: int = INDEX_CHUNK_ROWS) -> "BM25Index":
        """Index ``captions`` (N texts) chunk by chunk: tokenise (Arrow), lemmatise each distinct
        word once, count term frequencies per chunk, then weight everything by BM25."""
        import scipy.sparse as sp  # noqa: PLC0415

        from actionhub.dataset.wordvec import arrow_tokenize  # noqa: PLC0415

        caps = captions if isinstance(captions, (pa.Array, pa.ChunkedArray)) else pa.array(list(captions), pa.string())
        n = len(caps)
        lemmas = _Lemmas()
        chunks: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []  # per chunk: CSR indptr, term ids, tf
        lengths: list[np.ndarray] = []  # per chunk: content words per caption
        for lo in range(0, max(n, 1), chunk_rows):
            part = caps.slice(lo, min(chunk_rows, n - lo))
            if isinstance(part, pa.ChunkedArray):
                part = part.combine_chunks()
            rows = len(part)
            toks = arrow_tokenize(part)
            flat = pc.list_flatten(toks)
            doc = np.asarray(pc.list_parent_indices(toks).to_numpy(zero_copy_only=False), dtype=np.int64)
            enc = pc.dictionary_encode(flat)
            if isinstance(enc, pa.ChunkedArray):
                enc = enc.combine_chunks()
            term_of = lemmas.ids(enc.dictionary.to_pylist())
            codes = np.asarray(enc.indices.to_numpy(zero_copy_only=False), dtype=np.int64)
            term = term_of[codes] if codes.size else np.zeros(0, np.int64)
            keep = term >= 0
            doc, term = doc[keep], term[keep]
            # term frequencies of each (doc, term): sort by (doc, term), count runs
            key = doc * (len(lemmas.vocab) + 1) + term
            key.sort()
            starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]]) if key.size else np.zeros(0, np.int64)
            tf = np.diff(np.r_[starts, key.size]).astype(np.float32)
            ukey = key[starts]
            d = ukey // (len(lemmas.vocab) + 1)
            t = (ukey % (len(lemmas.vocab) + 1)).astype(np.int32)
            indptr = np.searchsorted(d, np.arange(rows + 1)).astype(np.int64)
            chunks.append((indptr, t, tf))
            lengths.append(np.bincount(d, weights=tf, minlength=rows).astype(np.float32))
            del toks, flat, doc, term, key, enc
        num_terms = max(1, len(lemmas.vocab))
        indptr = np.zeros(n + 1, np.int64)
        at = 0
        for (ip, _, _), lo in zip(chunks, range(0, max(n, 1), chunk_rows)):
            rows = len(ip) - 1
            indptr[lo + 1:lo + rows + 1] = ip[1:] + at
            at += int(ip[-1])
        indices = np.concatenate([c[1] for c in chunks]) if chunks else np.zeros(0, np.int32)
        f = np.concatenate([c[2] for c in chunks]) if chunks else np.zeros(0, np.float32)
        del chunks
        dl = np.concatenate(lengths) if lengths else np.zeros(0, np.float32)
        avgdl = float(dl.mean()) if n and dl.mean() > 0 else 1.0
        df = np.bincount(indices, minlength=num_terms).astype(np.float64)
        idf = np.log1p((n - df + 0.5) / (df + 0.5)).astype(np.float32)
        norm = (k1 * (1 - b + b * dl / avgdl)).astype(np.float32)
        # w = idf[t] * tf * (k1 + 1) / (tf + k1 * (1 - b + b * dl / avgdl)), in place to bound memory
        denom = f + np.repeat(norm, np.diff(indptr))
        f *= np.float32(k1 + 1)
        f /= denom
        del denom
        f *= idf[indices]
        doc_major = sp.csr_matrix((f, indices, indptr), shape=(n, num_terms))
        del f, indices, indptr
        weights = doc_major.T.tocsr()  # (T, N): posting lists, document ids sorted within each row
        del doc_major
        weights.sort_indices()
        return cls(lemmas.vocab, weights, k1, b)

    @property
    def derived(self) -> dict[str, list[str]]:
        """``{word: [agent/derived nouns of it in this corpus]}`` (:func:`variants.derived_forms`), built once."""
        if self._derived is None:
            from actionhub.dataset.collect.variants import derived_forms  # noqa: PLC0415

            self._derived = derived_forms(self.vocab)
        return self._derived

    def plan(self, query: str) -> "QueryPlan":
        """How ``query`` matches in this corpus: its content words with their compounds and derived
        forms (:mod:`actionhub.dataset.collect.variants`)."""
        from actionhub.dataset.collect.variants import plan_query  # noqa: PLC0415

        return plan_query(_query_terms(query), self.term_id, self.derived)

    def query_terms(self, query: str) -> tuple[list[int], bool]:
        """Term ids of the query's content words found in the corpus as they are, and whether the
        query can match as a whole (every word found, itself or through a variant)."""
        plan = self.plan(query)
        return [self.term_id[t] for t in plan.words if t in self.term_id], plan.complete

    def _posting(self, t: int) -> tuple[np.ndarray, np.ndarray]:
        w = self.weights
        lo, hi = w.indptr[t], w.indptr[t + 1]
        return w.indices[lo:hi], w.data[lo:hi]

    def candidates(self, query: str, match: str = "all") -> tuple[np.ndarray, np.ndarray]:
        """Documents matching ``query`` (sorted ids, int64) and their BM25 scores (float32).

        A word matches its lemma and the variants the corpus holds (compounds both ways, agent
        nouns: :mod:`actionhub.dataset.collect.variants`). Touches only the posting lists of the
        query's terms and their variants, never all N documents.
        """
        from actionhub.dataset.collect.variants import run_plan  # noqa: PLC0415

        if match not in MATCH_MODES:
            raise ProviderConfigError(f"unknown match mode {match!r}; choose one of {', '.join(MATCH_MODES)}")
        plan = self.plan(query)
        if not plan.segmentations or (match == "all" and not plan.complete):
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        return run_plan(plan, self._posting, match)

    def relaxed(self, query: str) -> tuple[np.ndarray, np.ndarray]:
        """Documents holding all but one of the content words of ``query`` (a query of two words or
        more; its full matches included), with their BM25 scores: ``candidates`` of each query made of
        all but one of its words, united."""
        from actionhub.dataset.collect.variants import _sum_union  # noqa: PLC0415

        words = self.plan(query).words
        if len(words) < 2:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        return _sum_union([self.candidates(" ".join(words[:i] + words[i + 1:]), "all") for i in range(len(words))])

    def scores(self, query: str, match: str = "any") -> np.ndarray:
        """BM25 score of every document for ``query``: ``(N,)`` float32, 0 where it does not match
        (a dense view for inspection and tests; searches use :meth:`candidates`)."""
        out = np.zeros(self.num_docs, np.float32)
        docs, sc = self.candidates(query, match)
        out[docs] = sc
        return out

    def search(self, query: str, k: int, offset: int = 0, match: str = "any") -> tuple[np.ndarray, np.ndarray]:
        """Documents ranked ``offset .. offset+k-1`` for ``query`` (matching documents only), best first.

        Returns ``(doc indices (m,), scores (m,))``, m <= k; ties are broken by document order.
        """
        docs, sc = self.candidates(query, match)
        order = top_order(sc, offset + k)
        sel = order[offset:offset + k]
        return docs[sel], sc[sel]

    def save(self, path: str | os.PathLike[str], key: str = "") -> None:
        """Write the index atomically as .npz (``key`` identifies the corpus it was built from)."""
        from actionhub.utils.io import atomic_path  # noqa: PLC0415

        w = self.weights
        with atomic_path(path) as tmp:
            with open(tmp, "wb") as fh:
                np.savez(fh, indptr=w.indptr, indices=w.indices, data=w.data, shape=np.asarray(w.shape),
                         vocab=np.asarray(self.vocab, dtype=np.str_), params=np.asarray([self.k1, self.b]),
                         key=np.asarray(key), version=np.asarray(INDEX_VERSION))

    @classmethod
    def load(cls, path: str | os.PathLike[str], key: str = "") -> Optional["BM25Index"]:
        """The index at ``path`` if it exists and matches ``key`` and this version; else None.

        The file verifies itself: every array is read whole, so the CRC-32 the .npz (zip) format keeps of
        each one is checked, and the arrays must form a valid index (shapes, offsets, term ids, finite
        weights). A truncated or damaged file is reported in one warning and None is returned, so the
        caller rebuilds it."""
        import scipy.sparse as sp  # noqa: PLC0415

        if not os.path.exists(path):
            return None
        try:
            with np.load(path, allow_pickle=False) as z:
                if int(z["version"]) != INDEX_VERSION or str(z["key"]) != key:
                    return None
                arrays = {n: z[n] for n in ("indptr", "shape", "vocab", "params")}
                for n in ("data", "indices"):   # memory-mapped in place where stored uncompressed
                    member = _npz_member(path, n)
                    arrays[n] = z[n] if member is None else member
            shape = tuple(int(v) for v in arrays["shape"])
            problem = _index_problem(arrays, shape)
            if problem:
                raise ValueError(problem)
            w = sp.csr_matrix((arrays["data"], arrays["indices"], arrays["indptr"]), shape=shape)
            k1, b = (float(v) for v in arrays["params"])
            return cls([str(v) for v in arrays["vocab"]], w, k1, b)
        except Exception as e:  # noqa: BLE001 - zipfile, zlib and numpy raise many kinds for a damaged file
            log.warning("the BM25 index cache %s is damaged (%s: %s); rebuilding it", path, type(e).__name__, e)
            return None


def _index_problem(a: dict[str, np.ndarray], shape: tuple[int, ...]) -> str:
    """What is wrong with the arrays of a cached index ('' when they form a valid CSR term-by-document matrix)."""
    indptr, indices, data = a["indptr"], a["indices"], a["data"]
    if len(shape) != 2 or min(shape) < 0 or len(a["vocab"]) != shape[0] or a["params"].shape != (2,):
        return f"shape {shape} does not fit its vocabulary of {len(a['vocab'])} terms"
    if indptr.ndim != 1 or len(indptr) != shape[0] + 1 or indptr[0] != 0 or indptr[-1] != len(indices) \
            or len(indices) != len(data) or np.any(np.diff(indptr) < 0):
        return "its posting-list offsets do not fit its postings"
    if len(indices) and (indices.min() < 0 or indices.max() >= shape[1]):
        return "a posting names a document outside the corpus"
    if not np.isfinite(data).all():
        return "a weight is not a finite number"
    return ""


def _npz_member(path: str | os.PathLike[str], name: str) -> Optional[np.ndarray]:
    """Array ``name`` of an ``.npz`` memory-mapped in place (the posting lists of a 10M-caption index are
    not copied into memory, only the pages a query reads are), or None when it is stored compressed."""
    import struct  # noqa: PLC0415
    import zipfile  # noqa: PLC0415
    import zlib  # noqa: PLC0415

    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo(f"{name}.npy")
    if info.compress_type != zipfile.ZIP_STORED:
        return None
    with open(path, "rb") as fh:
        fh.seek(info.header_offset)
        local = fh.read(30)
        if local[:4] != b"PK\x03\x04":
            raise ValueError(f"{path}: bad zip member header for {name}")
        start = info.header_offset + 30 + sum(struct.unpack("<HH", local[26:30]))
        fh.seek(start)
        version = np.lib.format.read_magic(fh)
        read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        shape, fortran, dtype = read(fh)
        offset = fh.tell()
    if dtype.hasobject or not shape:
        return None
    if info.file_size and zlib.crc32(np.memmap(path, dtype=np.uint8, mode="r", offset=start,
                                               shape=(info.file_size,))) != info.CRC:
        raise ValueError(f"{name}.npy fails its CRC-32 check")
    return np.memmap(path, dtype=dtype, mode="r", offset=offset, shape=shape, order="F" if fortran else "C")


def _save_columns(path: Path, key: str, ids: pa.Array, captions: pa.Array) -> None:
    """Write the corpus's id and caption columns as an Arrow IPC file (atomic; ``key`` in its metadata)."""
    import pyarrow.ipc as ipc  # noqa: PLC0415

    from actionhub.utils.io import atomic_path  # noqa: PLC0415

    table = pa.table({"id": ids, "caption": captions}).replace_schema_metadata({"actionhub.key": key})
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        with ipc.new_file(str(tmp), table.schema) as writer:
            writer.write_table(table)   # one record batch: a take on it reads only the rows it needs


def _load_columns(path: Path, key: str) -> Optional[tuple[Any, Any]]:
    """``(ids, captions)`` memory-mapped from a file :func:`_save_columns` wrote for ``key``; else None."""
    import pyarrow.ipc as ipc  # noqa: PLC0415

    try:
        reader = ipc.open_file(pa.memory_map(str(path), "r"))
        if (reader.schema.metadata or {}).get(b"actionhub.key") != key.encode():
            return None
        table = reader.read_all()
    except FileNotFoundError:
        return None
    except (OSError, pa.ArrowInvalid) as e:
        log.warning("the corpus column cache %s is damaged (%s); reading the corpus again", path, e)
        return None
    ids, caps = table.column("id"), table.column("caption")
    if ids.num_chunks == 1:
        ids, caps = ids.chunk(0), caps.chunk(0)
    return ids, caps


def top_order(scores: np.ndarray, need: int) -> np.ndarray:
    """Positions of the ``need`` best ``scores`` (highest first, ties by position), without sorting
    all of them: a partition finds the threshold, only the rows above it are sorted."""
    n = scores.size
    if n == 0 or need <= 0:
        return np.zeros(0, np.int64)
    key = -scores.astype(np.float64)
    if n > need:
        kth = np.partition(key, need - 1)[need - 1]
        above = np.flatnonzero(key < kth)
        tied = np.flatnonzero(key == kth)[: need - above.size]
        pick = np.concatenate([above, tied])
    else:
        pick = np.arange(n)
    return pick[np.lexsort((pick, key[pick]))]


class LocalProvider(Provider):
    """BM25 search over a local caption corpus (see the module docstring).

    Cursor: the rank offset of the next page. A page holds what the caller still wants (capped
    by ``page_size``). Sends no network requests, so the request budget does not apply.
    """

    name = "local"
    uses_requests = False
    flush_rows = 500_000  # results buffered before the runner writes a part file (resume granularity)

    def __init__(self, corpus: str | os.PathLike[str] | None = None, id_column: str = "videoid",
                 caption_column: str = "name", fmt: Optional[str] = None, cache_dir: str | os.PathLike[str] | None = None,
                 page_size: int = 100_000, k1: float = 1.2, b: float = 0.75, name: Optional[str] = None,
                 use_cache: bool = True, match: str = "most", aliases: Optional[dict[str, list[str]]] = None,
                 generic: str = "fix", relax_below: int = RELAX_BELOW, max_caption_chars: int = MAX_CAPTION_CHARS):
        if corpus is None:
            raise ProviderConfigError("the local provider needs a caption corpus: --corpus FILE "
                                      "(CSV/JSONL/Parquet with a video id and a caption column)")
        if match not in PROVIDER_MATCH_MODES:
            raise ProviderConfigError(f"unknown --match {match!r}; choose one of {', '.join(PROVIDER_MATCH_MODES)}")
        if generic not in GENERIC_MODES:
            raise ProviderConfigError(f"unknown --generic {generic!r}; choose one of {', '.join(GENERIC_MODES)}")
        if relax_below < 0:
            raise ProviderConfigError(f"relax_below must be >= 0, got {relax_below}")
        self.corpus = Path(corpus)
        self.id_column, self.caption_column, self.fmt = id_column, caption_column, fmt
        self.match = match
        self.aliases_given = {str(k): [str(a) for a in v] for k, v in (aliases or {}).items()}
        self.aliases: dict[str, list[str]] = {}  # query -> aliases, resolved by prepare()
        self.generic_mode = generic
        self.generic: dict[str, Any] = {}  # query -> GenericQuery, found by prepare()
        self.relax_below = int(relax_below)
        self.matched: dict[str, dict[str, int]] = {}  # query -> {"strict", "relaxed"} captions
        self.max_caption_chars = max_caption_chars
        self.page_size = int(page_size)
        if self.page_size < 1:
            raise ProviderConfigError(f"page_size must be >= 1, got {page_size}")
        if name:
            self.name = name
        if not self.corpus.is_file():
            raise ProviderConfigError(f"caption corpus not found: {self.corpus}")
        key = self._cache_key(k1, b)
        cache = Path(cache_dir) if cache_dir else self.corpus.parent
        self.cache_path = cache / f".{self.corpus.name}.bm25-{key[:16]}.npz"
        self.columns_path = cache / f".{self.corpus.name}.columns-{key[:16]}.arrow"
        self.ids, self.captions = self._read_columns(key, use_cache)
        self.index: Optional[BM25Index] = BM25Index.load(self.cache_path, key) if use_cache else None
        self.index_from_cache = self.index is not None
        if self.index is None or self.index.num_docs != len(self.ids):
            log.info("indexing %d captions of %s", len(self.ids), self.corpus)
            self.index = BM25Index.build(self.captions, k1, b)
            self.index_from_cache = False
            if use_cache:
                try:
                    cache.mkdir(parents=True, exist_ok=True)
                    self.index.save(self.cache_path, key)
                except OSError as e:
                    log.warning("could not cache the BM25 index at %s (%s); it will be rebuilt next time",
                                self.cache_path, e)
        self._last: tuple[str, np.ndarray, np.ndarray, np.ndarray] | None = None  # query, docs, scores, order

    def _read_columns(self, key: str, use_cache: bool) -> tuple[Any, Any]:
        """The corpus's ids and captions: from the cached Arrow copy beside the index (memory-mapped, so a
        10M-caption corpus opens in a moment and a search reads only the rows it returns) when it is there
        and of the same key, else parsed from the corpus file and then cached."""
        if use_cache:
            cols = _load_columns(self.columns_path, key)
            if cols is not None:
                return cols
        ids, caps = read_corpus(self.corpus, self.id_column, self.caption_column, self.fmt, self.max_caption_chars)
        if use_cache:
            try:
                _save_columns(self.columns_path, key, ids, caps)
            except OSError as e:
                log.warning("could not cache the corpus columns at %s (%s); the corpus is read again next time",
                            self.columns_path, e)
        return ids, caps

    def _cache_key(self, k1: float, b: float) -> str:
        st = self.corpus.stat()
        raw = "|".join(map(str, (self.corpus.resolve(), st.st_size, st.st_mtime_ns, self.id_column,
                                 self.caption_column, self.fmt, k1, b, INDEX_VERSION)))
        return hashlib.sha256(raw.encode()).hexdigest()

    def fingerprint(self) -> dict:
        fp = {"corpus": str(self.corpus.resolve()), "id_column": self.id_column, "caption_column": self.caption_column,
              "match": self.match}
        if self.aliases_given:
            fp["aliases"] = self.aliases_given
        if self.generic_mode != "fix":
            fp["generic"] = self.generic_mode
        if self.relax_below != RELAX_BELOW:
            fp["relax_below"] = self.relax_below
        return fp

    def prepare(self, queries: list[str]) -> None:
        """Resolve the aliases to ``queries`` and find the queries too generic for this corpus."""
        from actionhub.dataset.aliases import resolve_aliases  # noqa: PLC0415
        from actionhub.dataset.collect.generic import generic_queries  # noqa: PLC0415

        self.aliases = resolve_aliases(self.aliases_given, queries) if self.aliases_given else {}
        self.generic = {} if self.generic_mode == "keep" else {
            g.query: g for g in generic_queries(queries, self.index, self.captions)}
        for g in self.generic.values():
            log.warning("query %s", g.describe() if self.generic_mode == "fix" else
                        g.describe().rsplit(";", 1)[0] + "; left out (--generic drop)")
        if self.match == "most":  # which queries are relaxed, and after how many of their own captions
            for q in queries:
                self._matches(q)

    def notes(self) -> dict:
        """How queries matched, for the store's record: variants, aliases, generic queries."""
        return {"variants": "compounds, agent and derived nouns from the corpus (actionhub.dataset.collect.variants)",
                "aliases": self.aliases, "relax_below": self.relax_below,
                "generic": {"mode": self.generic_mode, "queries": [g.to_json() for g in self.generic.values()]},
                # query -> its own captions (ranks 0 .. n-1); the later ranks hold all but one of its words
                "relaxed": {q: m["strict"] for q, m in self.matched.items() if m["relaxed"]}}

    def _matches(self, query: str) -> tuple[np.ndarray, np.ndarray]:
        """Every caption of ``query`` and its sort key: the query's own matches and its aliases' by BM25,
        then (when they are fewer than ``relax_below``) the captions holding all but one of its words."""
        from actionhub.dataset.collect.variants import _union  # noqa: PLC0415

        mode = "any" if self.match == "any" else "all"
        g = self.generic.get(query)
        if g is not None and (self.generic_mode == "drop" or not g.fix.startswith("verb forms")):
            docs, sc = np.zeros(0, np.int64), np.zeros(0, np.float32)
        else:
            docs, sc = self.index.candidates(query, mode)
            if g is not None:  # keep the captions where the word is a verb form ("closing", not "close-up")
                from actionhub.dataset.collect.generic import verb_form_pattern  # noqa: PLC0415

                forms = g.fix.split(":", 1)[1].strip().split("|")
                ok = pc.match_substring_regex(self.captions.take(pa.array(docs, pa.int64())), verb_form_pattern(forms))
                keep = np.asarray(pc.fill_null(ok, False).to_numpy(zero_copy_only=False), bool)
                docs, sc = docs[keep], sc[keep]
        parts = [(docs, sc)] + [self.index.candidates(a, mode) for a in self.aliases.get(query, [])]
        docs, sc = _union(parts)
        strict = int(docs.size)
        words = self.index.plan(query).words
        relaxed = (np.zeros(0, np.int64), np.zeros(0, np.float32))
        if self.match == "most" and strict < self.relax_below and len(words) >= 2 and g is None:
            rd, rs = self.index.relaxed(query)
            new = ~np.isin(rd, docs)
            rd, rs = rd[new], rs[new]
            best = top_order(rs, RELAX_MAX)
            relaxed = (rd[best], rs[best])
        self.matched[query] = {"strict": strict, "relaxed": int(relaxed[0].size)}
        # one sort key: strict matches first (by BM25), then the relaxed ones
        key = np.concatenate([sc.astype(np.float64), relaxed[1].astype(np.float64) - 1e9])
        return np.concatenate([docs, relaxed[0]]).astype(np.int64), key

    def ranked(self, query: str, need: int) -> tuple[np.ndarray, np.ndarray, int]:
        """``(docs, scores)`` of the best ``need`` matches of ``query`` (best first) and how many match.

        The query is scored once; its candidates are kept, so the next page only extends the sort.
        """
        if self._last is None or self._last[0] != query:
            docs, sc = self._matches(query)
            self._last = (query, docs, sc, np.zeros(0, np.int64))
        _, docs, sc, order = self._last
        if order.size < min(need, docs.size):
            order = top_order(sc, max(need, 2 * order.size))
            self._last = (query, docs, sc, order)
        sel = order[:need]
        return docs[sel], sc[sel], int(docs.size)

    def search(self, query: str, cursor: Any, want: Optional[int], charge: Charge) -> Page:
        offset = int(cursor) if isinstance(cursor, (int, float)) and not isinstance(cursor, bool) else 0
        k = min(self.page_size, want) if want else self.page_size
        docs, _, total = self.ranked(query, offset + k)
        docs = docs[offset:offset + k]
        idx = pa.array(docs, pa.int64())
        table = pa.table({"video_id": self.ids.take(idx), "description": self.captions.take(idx)})
        end = offset + len(docs)
        return Page(table=table, next_cursor=end if end < total else None)

    def close(self) -> None:
        self._last = None
