"""The ``local`` provider: BM25 ranked search over a caption corpus the user already has.

A corpus is a CSV, JSONL or Parquet file with a video id column and a caption column; the
defaults fit a WebVid-style CSV (``videoid``, ``name``). Captions are tokenised like
:func:`actionhub.dataset.wordvec.arrow_tokenize` (vectorised), stop words are dropped and every distinct
word is lemmatised once (:func:`actionhub.dataset.vocab.lemmatize_word`), so the query "ride horse"
matches "a man riding horses". Scores are Okapi BM25 (Robertson & Zaragoza, 2009):

    score(d, q) = sum over query terms t of  idf(t) * tf(t, d) * (k1 + 1) / (tf(t, d) + k1 * (1 - b + b * |d| / avgdl))
    idf(t) = ln(1 + (N - df(t) + 0.5) / (df(t) + 0.5)),  k1 = 1.2, b = 0.75

The weights are precomputed into a sparse term-by-document matrix (``scipy.sparse`` CSR), so a
query is the sum of a few matrix rows and a partial sort: well under a second over a million
captions. The index is cached as ``.<corpus name>.bm25-<key>.npz`` next to the corpus (or in
``cache_dir``), keyed by the corpus file's path, size and modification time, the columns and
the tokeniser version; a changed corpus is re-indexed.
"""
from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path
from typing import Any, Optional

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from actionhub.dataset.collect.base import Charge, Hit, Page, Provider, ProviderConfigError

__all__ = ["BM25Index", "LocalProvider", "read_corpus"]

log = logging.getLogger(__name__)

INDEX_VERSION = 1
FORMATS = ("csv", "jsonl", "parquet")


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
                fmt: Optional[str] = None) -> tuple[pa.Array, pa.Array]:
    """``(ids, captions)`` of a corpus file as string arrays, rows with a null id or caption dropped."""
    p = Path(path)
    if not p.is_file():
        raise ProviderConfigError(f"caption corpus not found: {p}")
    fmt = _format_of(p, fmt)
    cols = [id_column, caption_column]
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

            t = pjson.read_json(p)
            _check_columns(p, t.column_names, cols)
        else:
            import pyarrow.parquet as pq  # noqa: PLC0415

            _check_columns(p, pq.read_schema(p).names, cols)
            t = pq.read_table(p, columns=cols)
    except (pa.ArrowInvalid, OSError) as e:
        raise ProviderConfigError(f"could not read the caption corpus {p} as {fmt}: {e}") from None
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


def _check_columns(p: Path, have: list[str], need: list[str]) -> None:
    missing = [c for c in need if c not in have]
    if missing:
        raise ProviderConfigError(f"the caption corpus {p} has no column(s) {missing} (columns: {', '.join(have)}); "
                                  "name the id and caption columns with --id-column / --caption-column")


def _query_terms(text: str) -> list[str]:
    from actionhub.dataset.vocab import lemmatize_word, stop_words  # noqa: PLC0415
    from actionhub.dataset.wordvec import tokenize  # noqa: PLC0415

    stops = stop_words()
    return list(dict.fromkeys(lemmatize_word(t, first=True) for t in tokenize(text) if t and t not in stops))


class BM25Index:
    """Okapi BM25 weights of a caption corpus as a sparse ``(T, N)`` term-by-document matrix."""

    def __init__(self, vocab: list[str], weights: Any, k1: float = 1.2, b: float = 0.75):
        self.vocab = list(vocab)
        self.term_id = {t: i for i, t in enumerate(self.vocab)}
        self.weights = weights  # scipy.sparse.csr_matrix (T, N) float32
        self.k1, self.b = k1, b

    @property
    def num_docs(self) -> int:
        return int(self.weights.shape[1])

    @classmethod
    def build(cls, captions: pa.Array | list[str], k1: float = 1.2, b: float = 0.75) -> "BM25Index":
        """Index ``captions`` (N texts): tokenise (Arrow), lemmatise distinct words, weight by BM25."""
        import scipy.sparse as sp  # noqa: PLC0415

        from actionhub.dataset.vocab import lemmatize_word, stop_words  # noqa: PLC0415
        from actionhub.dataset.wordvec import arrow_tokenize  # noqa: PLC0415

        caps = captions if isinstance(captions, pa.Array) else pa.array(list(captions), type=pa.string())
        n = len(caps)
        toks = arrow_tokenize(caps)
        flat = pc.list_flatten(toks)
        doc = np.asarray(pc.list_parent_indices(toks).to_numpy(zero_copy_only=False), dtype=np.int64)
        enc = pc.dictionary_encode(flat).combine_chunks() if isinstance(flat, pa.ChunkedArray) else pc.dictionary_encode(flat)
        words = enc.dictionary.to_pylist()
        codes = np.asarray(enc.indices.to_numpy(zero_copy_only=False), dtype=np.int64)
        stops = stop_words()
        lemma_of = [None if (not w or w in stops) else lemmatize_word(w, first=True) for w in words]
        vocab = sorted({lm for lm in lemma_of if lm})
        tid = {t: i for i, t in enumerate(vocab)}
        word_to_term = np.array([tid[lm] if lm else -1 for lm in lemma_of] or [-1], dtype=np.int64)
        term = word_to_term[codes] if codes.size else np.zeros(0, np.int64)
        keep = term >= 0
        doc, term = doc[keep], term[keep]
        tf = sp.csr_matrix((np.ones(term.size, dtype=np.float32), (doc, term)), shape=(n, max(1, len(vocab))))
        tf.sum_duplicates()
        dl = np.asarray(tf.sum(axis=1)).ravel()
        avgdl = float(dl.mean()) if n and dl.mean() > 0 else 1.0
        df = np.bincount(tf.indices, minlength=tf.shape[1]).astype(np.float64)
        idf = np.log1p((n - df + 0.5) / (df + 0.5))
        rows = np.repeat(np.arange(n), np.diff(tf.indptr))
        f = tf.data.astype(np.float64)
        w = idf[tf.indices] * f * (k1 + 1) / (f + k1 * (1 - b + b * dl[rows] / avgdl))
        weights = sp.csr_matrix((w.astype(np.float32), tf.indices, tf.indptr), shape=tf.shape).T.tocsr()
        return cls(vocab, weights, k1, b)

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every document for ``query``: ``(N,)`` float32 (0 where no term matches)."""
        ids = [self.term_id[t] for t in _query_terms(query) if t in self.term_id]
        if not ids:
            return np.zeros(self.num_docs, dtype=np.float32)
        return np.asarray(self.weights[ids].sum(axis=0), dtype=np.float32).ravel()

    def search(self, query: str, k: int, offset: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """Documents ranked ``offset .. offset+k-1`` for ``query`` (score > 0 only), best first.

        Returns ``(doc indices (m,), scores (m,))``, m <= k; ties are broken by document order.
        """
        s = self.scores(query)
        cand = np.flatnonzero(s > 0)
        end = offset + k
        if cand.size > end:
            part = np.argpartition(-s[cand], end - 1)[:end]
            cand = cand[part]
        order = np.lexsort((cand, -s[cand]))
        sel = cand[order][offset:end]
        return sel, s[sel]

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
        """The index at ``path`` if it exists and matches ``key`` and this version; else None."""
        import scipy.sparse as sp  # noqa: PLC0415

        try:
            with np.load(path, allow_pickle=False) as z:
                if int(z["version"]) != INDEX_VERSION or str(z["key"]) != key:
                    return None
                w = sp.csr_matrix((z["data"], z["indices"], z["indptr"]), shape=tuple(int(v) for v in z["shape"]))
                k1, b = (float(v) for v in z["params"])
                return cls([str(v) for v in z["vocab"]], w, k1, b)
        except (OSError, ValueError, KeyError):
            return None


class LocalProvider(Provider):
    """BM25 search over a local caption corpus (see the module docstring).

    Cursor: the rank offset of the next page. ``page_size`` results per page (fewer when the
    caller wants fewer). Sends no network requests, so the request budget does not apply.
    """

    name = "local"
    uses_requests = False

    def __init__(self, corpus: str | os.PathLike[str] | None = None, id_column: str = "videoid",
                 caption_column: str = "name", fmt: Optional[str] = None, cache_dir: str | os.PathLike[str] | None = None,
                 page_size: int = 1000, k1: float = 1.2, b: float = 0.75, name: Optional[str] = None,
                 use_cache: bool = True):
        if corpus is None:
            raise ProviderConfigError("the local provider needs a caption corpus: --corpus FILE "
                                      "(CSV/JSONL/Parquet with a video id and a caption column)")
        self.corpus = Path(corpus)
        self.id_column, self.caption_column, self.fmt = id_column, caption_column, fmt
        self.page_size = int(page_size)
        if self.page_size < 1:
            raise ProviderConfigError(f"page_size must be >= 1, got {page_size}")
        if name:
            self.name = name
        self.ids, self.captions = read_corpus(self.corpus, id_column, caption_column, fmt)
        self._ids = self.ids.to_numpy(zero_copy_only=False)
        self._caps = self.captions.to_numpy(zero_copy_only=False)
        key = self._cache_key(k1, b)
        cache = Path(cache_dir) if cache_dir else self.corpus.parent
        self.cache_path = cache / f".{self.corpus.name}.bm25-{key[:16]}.npz"
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

    def _cache_key(self, k1: float, b: float) -> str:
        st = self.corpus.stat()
        raw = "|".join(map(str, (self.corpus.resolve(), st.st_size, st.st_mtime_ns, self.id_column,
                                 self.caption_column, self.fmt, k1, b, INDEX_VERSION)))
        return hashlib.sha256(raw.encode()).hexdigest()

    def fingerprint(self) -> dict:
        return {"corpus": str(self.corpus.resolve()), "id_column": self.id_column, "caption_column": self.caption_column}

    def search(self, query: str, cursor: Any, want: Optional[int], charge: Charge) -> Page:
        offset = int(cursor) if isinstance(cursor, (int, float)) and not isinstance(cursor, bool) else 0
        k = min(self.page_size, want) if want else self.page_size
        docs, _ = self.index.search(query, k, offset)
        hits = [Hit(str(self._ids[d]), str(self._caps[d])) for d in docs]
        return Page(hits=hits, next_cursor=offset + len(docs) if len(docs) == k else None)
