"""The ``local`` provider: BM25 ranked search over a caption corpus the user already has.

A corpus is a CSV, JSONL or Parquet file, or a folder or glob of them (:mod:`actionhub.dataset.collect.corpus`).
Captions become terms through :func:`caption_terms`, queries through :func:`query_words` then
:func:`actionhub.dataset.collect.variants.plan_query`. ``match`` picks the captions (``"all"``: every content word;
``"any"``: one; ``"most"``, the default: ``"all"``, relaxed below :data:`RELAX_BELOW` matches), ranked by Okapi BM25
(:mod:`actionhub.dataset.collect.bm25`), ties in corpus order. Two indexes give the same results, caption for caption:
:class:`BM25Index` in memory (a scipy CSR whose rows are the posting lists; saved to a verified ``.npz``) and the
out-of-core :class:`actionhub.dataset.collect.diskindex.DiskBM25Index` that :class:`LocalProvider` searches.
Docs: docs/dataset.md#provider-local
"""
from __future__ import annotations

import dataclasses
import functools
import logging
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Optional, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from actionhub.dataset.collect import bm25
from actionhub.dataset.collect.base import Charge, Page, Provider, ProviderConfigError
from actionhub.dataset.collect.bm25 import top_order
from actionhub.dataset.collect.corpus import CorpusText
from actionhub.dataset.collect.generic import GENERIC_MODES
from actionhub.dataset.collect.variants import VariantMatching

__all__ = ["BM25Index", "LocalProvider", "read_corpus", "corpus_column_names", "caption_terms",
           "query_words", "top_order", "TEXT", "MAX_CAPTION_CHARS"]

log = logging.getLogger(__name__)

INDEX_VERSION = 2  # of a BM25Index saved as .npz
PROVIDER_MATCH_MODES = ("most", "all", "any")  # "most": "all", relaxed for a query with few matches
RELAX_BELOW = 10  # with "most", a query with fewer matches also gets the captions holding all but one of its words
RELAX_MAX = 1000  # at most this many of those, best by BM25
PREPARED_BYTES = 256 << 20  # matches found while preparing a "most" run, kept for the run (not searched twice)
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


def query_words(text: str) -> list[str]:
    """The content words of a query, lemmatised like the captions (stop words dropped)."""
    from actionhub.dataset.vocab import lemmatize_word, stop_words  # noqa: PLC0415
    from actionhub.dataset.wordvec import tokenize  # noqa: PLC0415

    stops = stop_words()
    return list(dict.fromkeys(lemmatize_word(t, first=True) for t in tokenize(text) if t and t not in stops))


def caption_terms(captions: pa.Array, lemmas: "_Lemmas") -> tuple[np.ndarray, np.ndarray]:
    """The content words of a chunk of captions as ``(doc, term)`` pairs (int64 arrays, ``doc``
    the row in the chunk, non-decreasing; ``term`` an id of ``lemmas``, which grows its vocabulary):
    tokenised (Arrow), stop words dropped, every distinct word lemmatised once."""
    from actionhub.dataset.wordvec import arrow_tokenize  # noqa: PLC0415

    toks = arrow_tokenize(captions)
    flat = pc.list_flatten(toks)
    doc = np.asarray(pc.list_parent_indices(toks).to_numpy(zero_copy_only=False), dtype=np.int64)
    enc = pc.dictionary_encode(flat)
    if isinstance(enc, pa.ChunkedArray):
        enc = enc.combine_chunks()
    term_of = lemmas.ids(enc.dictionary.to_pylist())
    codes = np.asarray(enc.indices.to_numpy(zero_copy_only=False), dtype=np.int64)
    term = term_of[codes] if codes.size else np.zeros(0, np.int64)
    keep = term >= 0
    return doc[keep], term[keep]


def outside_phrases(index: Any, query: str, phrases: Sequence[Any], docs: np.ndarray) -> np.ndarray:
    """``(len(docs),)`` bool: do the captions ``docs`` of ``index`` match ``query`` as a whole with the
    occurrences of its fixed ``phrases`` (:class:`~actionhub.dataset.collect.generic.PhraseWord`) set
    aside? ("Cricket insect on a leaf, shot on RED" does not match "cricket shot".)"""
    from actionhub.dataset.collect.variants import plan_holds  # noqa: PLC0415

    keep = np.ones(len(docs), bool)
    if not len(docs):
        return keep
    texts = index.documents(np.asarray(docs, np.int64))[1]
    hit = np.zeros(len(docs), bool)
    for pw in phrases:
        hit |= np.asarray(pc.fill_null(pc.match_substring_regex(texts, pw.pattern()), False)
                          .to_numpy(zero_copy_only=False), bool)
        texts = pc.replace_substring_regex(texts, pw.pattern(), " ")
    idx = np.flatnonzero(hit)
    if not idx.size:
        return keep
    row, term = caption_terms(texts.take(pa.array(idx)), _Lemmas(index.term_id))
    plan = index.plan(query)
    terms: list[set[int]] = [set() for _ in idx]
    for r, t in zip(row.tolist(), term.tolist(), strict=True):
        terms[r].add(t)
    keep[idx] = [plan_holds(plan, ts) for ts in terms]
    return keep


class _Lemmas:
    """Word -> term id of the index (-1 for stop words), lemmatising each distinct word once. Given
    an index's ``term_id``, only looks up (-1 for a lemma the index lacks); else grows its own."""

    def __init__(self, term_id: Optional[dict[str, int]] = None) -> None:
        from actionhub.dataset.vocab import stop_words  # noqa: PLC0415

        self.stops = stop_words()
        self.fixed = term_id is not None
        self.term_of_word: dict[str, int] = {}
        self.term_id: dict[str, int] = term_id if term_id is not None else {}
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
                    t = self.term_id.get(lemma, -1 if self.fixed else None)
                    if t is None:
                        t = self.term_id[lemma] = len(self.vocab)
                        self.vocab.append(lemma)
                self.term_of_word[w] = t
            out[i] = t
        return out


class BM25Index(VariantMatching):
    """Okapi BM25 weights of a caption corpus as a sparse ``(T, N)`` term-by-document matrix:
    row ``t`` is the posting list of term ``t`` (sorted document ids and their weights)."""

    def __init__(self, vocab: list[str], weights: Any, k1: float = 1.2, b: float = 0.75):
        self.vocab = list(vocab)
        self.term_id = {t: i for i, t in enumerate(self.vocab)}
        self.weights = weights  # scipy.sparse.csr_matrix (T, N) float32, sorted indices
        self.k1, self.b = k1, b

    @property
    def num_docs(self) -> int:
        return int(self.weights.shape[1])

    @classmethod
    def build(cls, captions: pa.Array | pa.ChunkedArray | list[str], k1: float = 1.2, b: float = 0.75,
              chunk_rows: int = INDEX_CHUNK_ROWS) -> "BM25Index":
        """Index ``captions`` (N texts) chunk by chunk: tokenise (Arrow), lemmatise each distinct
        word once, count term frequencies per chunk, then weight everything by BM25."""
        import scipy.sparse as sp  # noqa: PLC0415

        caps = captions if isinstance(captions, (pa.Array, pa.ChunkedArray)) else pa.array(list(captions), pa.string())
        n = len(caps)
        lemmas = _Lemmas()
        chunks: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []  # per chunk: CSR indptr, term ids, tf
        lengths: list[np.ndarray] = []  # per chunk: content words per caption
        for lo in range(0, max(n, 1), chunk_rows):
            part = caps.slice(lo, min(chunk_rows, n - lo))
            if isinstance(part, pa.ChunkedArray):
                part = part.combine_chunks()
            doc, term = caption_terms(part, lemmas)
            indptr, t, tf, dl = bm25.term_frequencies(doc, term, len(part), len(lemmas.vocab))
            chunks.append((indptr, t, tf))
            lengths.append(dl)
            del doc, term
        num_terms = max(1, len(lemmas.vocab))
        indptr = np.zeros(n + 1, np.int64)
        at = 0
        for (ip, _, _), lo in zip(chunks, range(0, max(n, 1), chunk_rows), strict=False):
            rows = len(ip) - 1
            indptr[lo + 1:lo + rows + 1] = ip[1:] + at
            at += int(ip[-1])
        indices = np.concatenate([c[1] for c in chunks]) if chunks else np.zeros(0, np.int32)
        f = np.concatenate([c[2] for c in chunks]) if chunks else np.zeros(0, np.float32)
        del chunks
        dl = np.concatenate(lengths) if lengths else np.zeros(0, np.float32)
        avgdl = bm25.mean_length(dl.sum(dtype=np.float64), n)
        df = np.bincount(indices, minlength=num_terms).astype(np.float64)
        # weights in place (bounded memory), as every index of the local provider computes them
        bm25.weights(f, np.repeat(bm25.length_norm(dl, k1, b, avgdl), np.diff(indptr)), bm25.idf(df, n)[indices], k1)
        doc_major = sp.csr_matrix((f, indices, indptr), shape=(n, num_terms))
        del f, indices, indptr
        weights = doc_major.T.tocsr()  # (T, N): posting lists, document ids sorted within each row
        del doc_major
        weights.sort_indices()
        return cls(lemmas.vocab, weights, k1, b)

    def query_words(self, query: str) -> list[str]:
        return query_words(query)

    def _posting(self, t: int) -> bm25.Posting:
        w = self.weights
        lo, hi = w.indptr[t], w.indptr[t + 1]
        data = w.data[lo:hi]
        return bm25.Posting(w.indices[lo:hi], lambda at: data if at is None else data[at])

    def candidates(self, query: str, match: str = "all") -> tuple[np.ndarray, np.ndarray]:
        """Documents matching ``query`` (sorted ids, int64) and their BM25 scores (float32).

        A word matches its lemma and the variants the corpus holds (compounds both ways, agent
        nouns: :mod:`actionhub.dataset.collect.variants`). Touches only the posting lists of the
        query's terms and their variants, never all N documents.
        """
        from actionhub.dataset.collect.variants import run_plan  # noqa: PLC0415

        plan = self.query_plan(query, match)
        if plan is None:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        return run_plan(plan, self._posting, match, np.diff(self.weights.indptr))

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
        """Write the index atomically as .npz (``key`` identifies what it was built from)."""
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


#: how the local provider reads corpus shards and turns captions and queries into terms, for its
#: out-of-core index (which does not import this module)
TEXT = CorpusText(read=read_corpus, format_of=_format_of, caption_terms=caption_terms, vocabulary=_Lemmas,
                  query_words=query_words)


class LocalProvider(Provider):
    """BM25 search over a local caption corpus (see the module docstring).

    Cursor: the rank offset of the next page. A page holds what the caller still wants (capped
    by ``page_size``). Sends no network requests, so the request budget does not apply.

    The index is :class:`actionhub.dataset.collect.diskindex.DiskBM25Index`, cached in
    ``cache_dir`` (default: next to the corpus) and built within ``memory_gb`` (default: a quarter
    of the machine's memory). With ``backend="dask"`` (and ``scheduler``) its segments are built on
    the cluster's workers and queries are answered there, a batch at a time (:meth:`plan` tells
    which queries come next); the results are the same as in this process.
    """

    name = "local"
    uses_requests = False
    flush_rows = 500_000  # results buffered before the runner writes a part file (resume granularity)
    batch_queries = 256  # queries sent to a cluster's workers together

    def __init__(self, corpus: str | os.PathLike[str] | None = None, id_column: str = "videoid",
                 caption_column: str = "name", fmt: Optional[str] = None, cache_dir: str | os.PathLike[str]
                 | None = None,
                 page_size: int = 100_000, k1: float = 1.2, b: float = 0.75, name: Optional[str] = None,
                 use_cache: bool = True, match: Optional[str] = "most", aliases: Optional[dict[str, list[str]]] = None,
                 generic: Optional[str] = "fix", relax_below: int = RELAX_BELOW, memory_gb: Optional[float] = None,
                 backend: Any = "inprocess", scheduler: Any = None, progress: bool = False,
                 max_caption_chars: int = MAX_CAPTION_CHARS):
        from actionhub.dataset.collect.diskindex import DiskBM25Index  # noqa: PLC0415
        from actionhub.utils.parallel import get_backend  # noqa: PLC0415

        match = match or "most"
        generic = generic or "fix"
        if corpus is None:
            raise ProviderConfigError("the local provider needs a caption corpus: --corpus FILE, FOLDER or GLOB "
                                      "(CSV/JSONL/Parquet with a video id and a caption column)")
        if match not in PROVIDER_MATCH_MODES:
            raise ProviderConfigError(f"unknown --match {match!r}; choose one of {', '.join(PROVIDER_MATCH_MODES)}")
        if generic not in GENERIC_MODES:
            raise ProviderConfigError(f"unknown --generic {generic!r}; choose one of {', '.join(GENERIC_MODES)}")
        if relax_below < 0:
            raise ProviderConfigError(f"relax_below must be >= 0, got {relax_below}")
        if memory_gb is not None and not memory_gb > 0:
            raise ProviderConfigError(f"--memory-gb must be above 0, got {memory_gb}")
        self.corpus = Path(corpus)
        self.id_column, self.caption_column, self.fmt = id_column, caption_column, fmt
        self.match = match
        self.aliases_given = {str(k): [str(a) for a in v] for k, v in (aliases or {}).items()}
        self.aliases: dict[str, list[str]] = {}  # query -> aliases, resolved by prepare()
        self.generic_mode = generic
        self.generic: dict[str, Any] = {}  # query -> GenericQuery, found by prepare()
        self.phrases: dict[str, list[Any]] = {}  # query -> [PhraseWord], found by prepare()
        self.relax_below = int(relax_below)
        self.matched: dict[str, dict[str, int]] = {}  # query -> {"strict", "relaxed"} captions
        self.max_caption_chars = max_caption_chars
        self.page_size = int(page_size)
        if self.page_size < 1:
            raise ProviderConfigError(f"page_size must be >= 1, got {page_size}")
        if name:
            self.name = name
        self._tmp = None if use_cache else tempfile.mkdtemp(prefix=".actionhub-bm25-", dir=cache_dir)
        self._own_backend = False
        try:
            self._backend = get_backend(backend, scheduler) if isinstance(backend, str) else backend
            self._own_backend = isinstance(backend, str)
            # every shard is read by read_corpus with its checks (the checks of a CSV within max_caption_chars)
            text = dataclasses.replace(TEXT, read=functools.partial(read_corpus, max_caption_chars=max_caption_chars))
            self.index = DiskBM25Index.open(corpus, text, self._tmp or cache_dir, id_column, caption_column, fmt, k1, b,
                                            None if memory_gb is None else int(memory_gb * (1 << 30)),
                                            self._backend, progress)
        except BaseException:
            self.close()
            raise
        self.index_from_cache = self.index.from_cache
        self.cache_path = self.index.path
        self.on_cluster = self._backend.name != "inprocess"
        self._last: tuple[str, np.ndarray, np.ndarray, np.ndarray] | None = None  # query, docs, scores, order
        self._prepared: dict[str, tuple[np.ndarray, np.ndarray]] = {}  # query -> matches found by prepare()
        self._plan: dict[str, tuple[int, int]] = {}  # query -> (position in the plan, results its first page needs)
        self._answers: dict[str, dict[str, Any]] = {}  # a cluster's answers for the current batch of queries
        self._here: set[str] = set()  # queries answered in this process even on a cluster (see prepare)

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
        """Resolve the aliases to ``queries``, find the queries too generic for this corpus and, with
        ``match="most"``, the queries that are relaxed. On a cluster, those queries are answered in
        this process (from the shared index folder) and every other one on the workers."""
        from actionhub.dataset.aliases import resolve_aliases  # noqa: PLC0415
        from actionhub.dataset.collect.generic import generic_queries, phrase_words  # noqa: PLC0415

        self.aliases = resolve_aliases(self.aliases_given, queries) if self.aliases_given else {}
        self.generic = {} if self.generic_mode == "keep" else {
            g.query: g for g in generic_queries(queries, self.index)}
        for g in self.generic.values():
            log.warning("query %s", g.describe() if self.generic_mode == "fix" else
                        g.describe().rsplit(";", 1)[0] + "; left out (--generic drop)")
        self.phrases = {} if self.generic_mode == "keep" or self.match == "any" else phrase_words(
            [q for q in queries if q not in self.generic], self.index)
        for pws in self.phrases.values():
            for pw in pws:
                log.warning("query %s", pw.describe())
        self._here = {q for q in queries if q in self.generic or q in self.phrases or self.aliases.get(q)}
        if self.match != "most":
            return
        counts = {}
        if self.on_cluster:  # the strict counts from the workers; only the few relaxed queries run here
            plain = [q for q in queries if q not in self._here]
            counts = {q: r["count"] for q, r in self.index.search_many([(q, 1) for q in plain], "all",
                                                                       self._backend).items()}
        kept = 0
        for q in queries:
            if q in counts and not self._relaxes(q, counts[q]):
                self.matched[q] = {"strict": counts[q], "relaxed": 0}
            else:
                docs, key = self._matches(q)
                if self.matched[q]["relaxed"]:
                    self._here.add(q)
                if kept + docs.nbytes + key.nbytes <= PREPARED_BYTES:  # the run's search starts from these
                    self._prepared[q] = (docs, key)
                    kept += docs.nbytes + key.nbytes

    def _relaxes(self, query: str, strict: int) -> bool:
        """Does ``match="most"`` add the captions holding all but one word of ``query`` (``strict``
        captions of its own)?"""
        return (self.match == "most" and strict < self.relax_below and query not in self.generic
                and len(self.index.plan(query).words) >= 2)

    def notes(self) -> dict:
        """How queries matched, for the store's record: variants, aliases, generic queries."""
        return {"variants": "compounds, agent and derived nouns from the corpus (actionhub.dataset.collect.variants)",
                "aliases": self.aliases, "relax_below": self.relax_below,
                "generic": {"mode": self.generic_mode, "queries": [g.to_json() for g in self.generic.values()],
                            "phrase_words": [pw.to_json() for pws in self.phrases.values() for pw in pws]},
                # query -> its own captions (ranks 0 .. n-1); the later ranks hold all but one of its words
                "relaxed": {q: m["strict"] for q, m in self.matched.items() if m["relaxed"]}}

    def _matches(self, query: str) -> tuple[np.ndarray, np.ndarray]:
        """Every caption of ``query`` and its sort key: the query's own matches and its aliases' by BM25,
        then (when they are fewer than ``relax_below``) the captions holding all but one of its words."""
        from actionhub.dataset.collect.variants import union_best  # noqa: PLC0415

        mode = "any" if self.match == "any" else "all"
        g = self.generic.get(query)
        if g is not None and (self.generic_mode == "drop" or not g.fix.startswith("verb forms")):
            docs, sc = np.zeros(0, np.int64), np.zeros(0, np.float32)
        else:
            docs, sc = self.index.candidates(query, mode)
            if g is not None:  # keep the captions where the word is a verb form ("closing", not "close-up")
                from actionhub.dataset.collect.generic import verb_form_pattern  # noqa: PLC0415

                forms = g.fix.split(":", 1)[1].strip().split("|")
                ok = pc.match_substring_regex(self.index.documents(docs)[1], verb_form_pattern(forms))
                keep = np.asarray(pc.fill_null(ok, False).to_numpy(zero_copy_only=False), bool)
                docs, sc = docs[keep], sc[keep]
            if mode == "all" and query in self.phrases:  # "shot" of "cricket shot" only in "shot on RED"
                keep = outside_phrases(self.index, query, self.phrases[query], docs)
                docs, sc = docs[keep], sc[keep]
        parts = [(docs, sc)] + [self.index.candidates(a, mode) for a in self.aliases.get(query, [])]
        docs, sc = union_best(parts)
        strict = int(docs.size)
        relaxed = (np.zeros(0, np.int64), np.zeros(0, np.float32))
        if self._relaxes(query, strict):
            rd, rs = self._relaxed(query)
            new = ~np.isin(rd, docs)
            rd, rs = rd[new], rs[new]
            best = top_order(rs, RELAX_MAX)
            relaxed = (rd[best], rs[best])
        self.matched[query] = {"strict": strict, "relaxed": int(relaxed[0].size)}
        # one sort key: strict matches first (by BM25), then the relaxed ones
        key = np.concatenate([sc.astype(np.float64), relaxed[1].astype(np.float64) - 1e9])
        return np.concatenate([docs, relaxed[0]]).astype(np.int64), key

    def _relaxed(self, query: str) -> tuple[np.ndarray, np.ndarray]:
        """The captions holding all but one word of ``query``, a word of a fixed phrase counted only
        outside it (:meth:`~actionhub.dataset.collect.variants.VariantMatching.relaxed`)."""
        from actionhub.dataset.collect.variants import relaxed  # noqa: PLC0415

        phrases = self.phrases.get(query)
        if not phrases:
            return self.index.relaxed(query)

        def outside(sub: str, part: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
            mine = [pw for pw in phrases if pw.word in sub.split()]
            if not mine:
                return part
            best = np.sort(top_order(part[1], 10 * RELAX_MAX))  # the best only: "up" alone may be in millions
            docs, sc = part[0][best], part[1][best]
            keep = outside_phrases(self.index, sub, mine, docs)
            return docs[keep], sc[keep]

        return relaxed(self.index, query, outside)

    def plan(self, wants: Any) -> None:
        for i, (q, cursor, want) in enumerate(wants):
            offset = _offset(cursor)
            self._plan[q] = (i, offset + (min(self.page_size, want) if want else self.page_size))

    def ranked(self, query: str, need: int) -> tuple[np.ndarray, np.ndarray, int]:
        """``(docs, scores)`` of the best ``need`` matches of ``query`` (best first) and how many match.

        The query is scored once; its candidates are kept, so the next page only extends the sort.
        """
        if self._last is None or self._last[0] != query:
            docs, sc = self._prepared.pop(query, None) or self._matches(query)
            self._last = (query, docs, sc, np.zeros(0, np.int64))
        _, docs, sc, order = self._last
        if order.size < min(need, docs.size):
            order = top_order(sc, max(need, 2 * order.size))
            self._last = (query, docs, sc, order)
        sel = order[:need]
        return docs[sel], sc[sel], int(docs.size)

    def _answer(self, query: str, need: int) -> dict[str, Any]:
        """The best ``need`` (or more) results of ``query`` from the cluster, with the next planned
        queries in the same batch."""
        r = self._answers.get(query)
        if r is not None and (r["docs"].size >= need or r["docs"].size >= r["count"]):
            return r
        at = self._plan.get(query, (-1, 0))[0]
        batch = [(query, max(need, 2 * r["docs"].size if r is not None else 0))]
        for q, (i, n) in sorted(self._plan.items(), key=lambda kv: kv[1][0]):
            if i > at and q not in self._answers and len(batch) < self.batch_queries:
                batch.append((q, n))
        self._answers = {q: v for q, v in self._answers.items() if self._plan.get(q, (-1, 0))[0] > at}
        self._answers.update(self.index.search_many(batch, "any" if self.match == "any" else "all", self._backend))
        return self._answers[query]

    def search(self, query: str, cursor: Any, want: Optional[int], charge: Charge) -> Page:
        offset = _offset(cursor)
        k = min(self.page_size, want) if want else self.page_size
        r = self._answer(query, offset + k) if self.on_cluster and query not in self._here else None
        if r is not None and not (query not in self.matched and self._relaxes(query, r["count"])):
            docs, total = r["docs"][offset:offset + k], r["count"]
        else:  # here: in-process, or a query with aliases, a generic fix or relaxed matching
            docs, _, total = self.ranked(query, offset + k)
            docs = docs[offset:offset + k]
        ids, caps = self.index.documents(docs)
        end = offset + len(docs)
        return Page(table=pa.table({"video_id": ids, "description": caps}), next_cursor=end if end < total else None)

    def close(self) -> None:
        self._last = None
        self._prepared = {}
        self._answers = {}
        index = getattr(self, "index", None)
        if index is not None:
            index.close()
        if self._own_backend:
            self._backend.close()
            self._own_backend = False
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None


def _offset(cursor: Any) -> int:
    return int(cursor) if isinstance(cursor, (int, float)) and not isinstance(cursor, bool) else 0
