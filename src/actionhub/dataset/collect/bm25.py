"""Okapi BM25 as array operations, shared by the local provider's indexes so that they score alike.

:class:`actionhub.dataset.collect.local.BM25Index` and :class:`actionhub.dataset.collect.diskindex.DiskBM25Index`
compute every weight and score here, on the same float32 values in the same order, so their scores are bit-identical
(Robertson & Zaragoza, 2009); ``avgdl`` is an integer total over N, the same however the lengths are summed:

    w(t, d) = idf(t) * tf(t, d) * (k1 + 1) / (tf(t, d) + k1 * (1 - b + b * |d| / avgdl))
    idf(t) = ln(1 + (N - df(t) + 0.5) / (df(t) + 0.5))

Docs: docs/dataset.md#ranking-okapi-bm25
"""
from __future__ import annotations

from typing import Callable, Optional, Sequence

import numpy as np

from actionhub.dataset.collect.base import ProviderConfigError

__all__ = ["MATCH_MODES", "check_match", "Posting", "term_frequencies", "mean_length", "idf", "length_norm", "weights",
           "combine", "top_order"]


MATCH_MODES = ("all", "any")


def check_match(match: str) -> None:
    if match not in MATCH_MODES:
        raise ProviderConfigError(f"unknown match mode {match!r}; choose one of {', '.join(MATCH_MODES)}")


def term_frequencies(doc: np.ndarray, term: np.ndarray, rows: int, num_terms: int
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Count the ``(doc, term)`` pairs of ``rows`` captions (``doc`` non-decreasing).

    Returns ``(indptr (rows + 1,), terms (nnz,) int32, tf (nnz,) float32, lengths (rows,) float32)``:
    each caption's distinct terms (ascending) with their counts, as CSR rows, and its length in
    content words (the pairs it holds).
    """
    import scipy.sparse as sp  # noqa: PLC0415

    per_doc = np.bincount(doc, minlength=rows)
    indptr = np.zeros(rows + 1, np.int64)
    np.cumsum(per_doc, out=indptr[1:])
    m = sp.csr_matrix((np.ones(term.size, np.float32), term.astype(np.int32), indptr), shape=(rows, max(1, num_terms)))
    m.sum_duplicates()  # sorts each row's terms and adds up repeats
    return m.indptr.astype(np.int64), m.indices.astype(np.int32), m.data, per_doc.astype(np.float32)


def mean_length(total: float, n: int) -> float:
    """``avgdl``: ``total`` content words over ``n`` captions (1.0 for an empty corpus)."""
    return float(total) / n if n and total > 0 else 1.0


def idf(df: np.ndarray, n: int) -> np.ndarray:
    """BM25 idf of terms with document frequencies ``df`` (float64 array) among ``n`` captions (float32)."""
    return np.log1p((n - df + 0.5) / (df + 0.5)).astype(np.float32)


def length_norm(dl: np.ndarray, k1: float, b: float, avgdl: float) -> np.ndarray:
    """``k1 * (1 - b + b * |d| / avgdl)`` of captions of lengths ``dl`` (float32)."""
    return (k1 * (1 - b + b * dl / avgdl)).astype(np.float32)


def weights(tf: np.ndarray, norm: np.ndarray, term_idf: np.ndarray | np.float32, k1: float) -> np.ndarray:
    """BM25 weights from term frequencies ``tf`` (float32, overwritten: the result is ``tf``), the
    length norms of their captions and the idf of their terms."""
    denom = tf + norm
    tf *= np.float32(k1 + 1)
    tf /= denom
    del denom
    tf *= term_idf
    return tf


class Posting:
    """One term's posting list as a query sees it: sorted caption ids and their weights, the weights
    computed on demand (``weight(None)``: all of them; ``weight(positions)``: those positions only)."""

    __slots__ = ("docs", "weight")

    def __init__(self, docs: np.ndarray, weight: Callable[[Optional[np.ndarray]], np.ndarray]):
        self.docs = docs
        self.weight = weight


def combine(postings: Sequence[Posting], match: str) -> tuple[np.ndarray, np.ndarray]:
    """Captions matching a query and their scores, from its terms' postings in the order given
    (rarest first: the intersection starts from the shortest list, and scores add up in this order).

    ``match="all"``: captions in every list (an intersection of sorted lists); ``"any"``: in at
    least one (a merge). Returns ``(sorted caption ids (int64), scores (float32))``.
    """
    if not postings:
        return np.zeros(0, np.int64), np.zeros(0, np.float32)
    if len(postings) == 1:
        return postings[0].docs.astype(np.int64), postings[0].weight(None).astype(np.float32)
    if match == "all":
        docs = postings[0].docs
        sc = postings[0].weight(None).astype(np.float32)
        for p in postings[1:]:
            if not docs.size:
                break
            pos = np.searchsorted(p.docs, docs)
            ok = pos < p.docs.size
            ok[ok] = p.docs[pos[ok]] == docs[ok]
            docs, sc = docs[ok], sc[ok] + p.weight(pos[ok])
        return docs.astype(np.int64), sc
    all_docs = np.concatenate([p.docs for p in postings])
    all_w = np.concatenate([p.weight(None) for p in postings])
    docs, inv = np.unique(all_docs, return_inverse=True)
    return docs.astype(np.int64), np.bincount(inv, weights=all_w, minlength=docs.size).astype(np.float32)


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
