"""Descriptions on the fly: from typed action names to their ranked top-k descriptions, in one call.

What ``vocab``, ``collect`` and ``rank`` do for a store, for a few new names (``predict --corpus`` /
``--store``): each name gets its query as ``vocab build --add`` would (:func:`action_queries`); the
query is searched in a caption corpus with the ``local`` provider (its BM25 index and cache files,
shared with ``collect``) or read from a store; the hits are ranked by
:func:`actionhub.dataset.rank.rank_table` and the top ``k`` kept. The result is a table in ``rank``'s
format (:data:`~actionhub.dataset.rank.TOPK_COLUMNS`) with the typed name as ``action``; names the
corpus has nothing for are in :attr:`Described.without`.
Docs: docs/video.md#prediction
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from actionhub.utils.errors import UserError

__all__ = ["DescribeError", "Described", "action_queries", "describe_actions", "DEFAULT_PER_QUERY"]

log = logging.getLogger(__name__)

#: captions kept per query before ranking (``collect --per-query``; the paper has about 3,000 per action)
DEFAULT_PER_QUERY = 3000


class DescribeError(UserError):
    """Bad input for building descriptions on the fly (names, corpus, store); the message says the fix."""


@dataclass
class Described:
    """What :func:`describe_actions` found: ``table`` (``rank``'s columns, ``action`` = the typed name),
    ``queries`` (name -> query searched), ``hits`` (name -> descriptions found before ranking),
    ``source`` (the corpus or store), ``index_from_cache`` (corpus only) and ``seconds`` per step."""

    table: Any
    queries: dict[str, str]
    hits: dict[str, int]
    source: str
    k: int
    index_from_cache: bool | None = None
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def without(self) -> list[str]:
        """The names for which nothing was found (their class text is their name alone)."""
        return [n for n, h in self.hits.items() if h == 0]


def action_queries(names: Sequence[str]) -> dict[str, str]:
    """The search query of each name, as ``actionhub vocab build --add NAME`` gives it (module doc).

    A name without any word (``"???"``) is refused: it cannot be searched, encoded or shown.
    """
    from actionhub.dataset.vocab import build_vocabulary, normalize_action  # noqa: PLC0415

    empty = [n for n in names if not normalize_action(n)]
    if empty:
        raise DescribeError(f"action name(s) without any word: {', '.join(repr(n) for n in empty[:5])}; "
                            "give each action as words, e.g. \"riding a horse\"")
    vocab = build_vocabulary(extra_names=names)
    return {n: vocab.query_for(n) for n in names}


def describe_actions(names: Sequence[str], *, corpus: str | Path | None = None, store: str | Path | None = None,
                     k: int = 100, per_query: int = DEFAULT_PER_QUERY, match: str = "all",
                     id_column: str = "videoid", caption_column: str = "name", corpus_format: str | None = None,
                     index_cache: str | Path | None = None, word_vectors: Any = None) -> Described:
    """The top ``k`` descriptions of each of ``names`` from a caption ``corpus`` or a description ``store``.

    corpus: a caption file (CSV/JSONL/Parquet; ``id_column``/``caption_column``/``corpus_format``,
    ``match``, ``index_cache`` as for ``collect --provider local``); store: a store directory of
    ``collect``/``import``. Exactly one of the two. ``word_vectors``: passed to ``rank_table``
    (None: its default).
    """
    names = list(dict.fromkeys(names))
    if (corpus is None) == (store is None):
        raise DescribeError("describe actions from a caption corpus (--corpus) or a description store (--store), "
                            "one of the two")
    if k < 1 or per_query < 1:
        raise DescribeError(f"k and per_query must be at least 1, got k={k}, per_query={per_query}")
    t0 = time.perf_counter()
    queries = action_queries(names)
    seconds = {"queries": time.perf_counter() - t0}
    t0 = time.perf_counter()
    from_cache: bool | None = None
    if corpus is not None:
        hits, from_cache = _search_corpus(sorted(set(queries.values())), Path(corpus), per_query, match,
                                          id_column, caption_column, corpus_format, index_cache)
        source = str(corpus)
    else:
        hits = _read_store(queries, Path(store))
        source = str(store)
    seconds["search"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    table = _rank(hits, queries, k, word_vectors)
    seconds["rank"] = time.perf_counter() - t0
    per_query_hits = dict(zip(*np.unique(np.asarray(hits.column("action").to_pylist(), dtype=object),
                                         return_counts=True), strict=True)) if hits.num_rows else {}
    counts = {n: int(per_query_hits.get(q, 0)) for n, q in queries.items()}
    log.info("descriptions of %d action(s) from %s: %s", len(names), source,
             ", ".join(f"{n} ({queries[n]!r}: {c})" for n, c in counts.items()))
    return Described(table, queries, counts, source, k, from_cache, seconds)


def _search_corpus(queries: list[str], corpus: Path, per_query: int, match: str, id_column: str,
                   caption_column: str, fmt: str | None, index_cache: str | Path | None) -> tuple[Any, bool]:
    """``(action = query, provider, video_id, description)`` rows: each query's best ``per_query`` captions,
    through the ``local`` provider (and its cached index)."""
    import pyarrow as pa  # noqa: PLC0415

    from actionhub.dataset.collect.local import LocalProvider  # noqa: PLC0415

    provider = LocalProvider(corpus, id_column=id_column, caption_column=caption_column, fmt=fmt,
                             cache_dir=index_cache, match=match, page_size=per_query)
    parts = []
    try:
        for q in queries:
            page = provider.search(q, None, per_query, lambda: None).as_table()
            parts.append(pa.table({"action": pa.array([q] * page.num_rows, pa.string()),
                                   "provider": pa.array([provider.name] * page.num_rows, pa.string()),
                                   "video_id": page.column("video_id"), "description": page.column("description")}))
    finally:
        provider.close()
    return pa.concat_tables(parts).combine_chunks(), bool(provider.index_from_cache)


def _read_store(queries: dict[str, str], store: Path) -> Any:
    """The store's per-action view for the actions that match a query (same query, ignoring spaces)."""
    import pyarrow as pa  # noqa: PLC0415
    import pyarrow.compute as pc  # noqa: PLC0415

    from actionhub.dataset.store import Store, StoreError  # noqa: PLC0415
    from actionhub.dataset.vocab import action_key  # noqa: PLC0415

    try:
        st = Store(store)
        actions = [a for a in pc.unique(st.read_hits(["action"]).column("action")).to_pylist() if a]
    except StoreError as e:
        raise DescribeError(str(e)) from None
    if not actions:
        raise DescribeError(f"the description store {store} holds no descriptions; collect or import some first")
    by_key = {q.replace(" ", ""): q for q in queries.values()}
    by_query = {a: by_key[action_key(a)] for a in actions if action_key(a) in by_key}   # store action -> query
    if not by_query:
        return pa.table({c: pa.array([], pa.string()) for c in ("action", "provider", "video_id", "description")})
    t = st.read(["action", "provider", "video_id", "description"], filter=pc.field("action").isin(list(by_query)))
    query = np.asarray([by_query[a] for a in t.column("action").to_pylist()], dtype=object)
    # two store actions of one query (e.g. "push up", "pushup") may list the same video: keep it once
    keys = np.asarray([f"{q}\0{p}\0{v}" for q, p, v in zip(query, t.column("provider").to_pylist(),
                                                             t.column("video_id").to_pylist(), strict=True)],
                                                             dtype=object)
    first = np.sort(np.unique(keys, return_index=True)[1])
    t = t.take(pa.array(first, pa.int64()))
    return t.set_column(0, "action", pa.array(query[first].tolist(), pa.string()))


def _rank(hits: Any, queries: dict[str, str], k: int, word_vectors: Any) -> Any:
    """Rank every query's hits with ``rank``'s own function, then list them under each typed name."""
    import pyarrow as pa  # noqa: PLC0415

    from actionhub.dataset.rank import TOPK_COLUMNS, rank_table  # noqa: PLC0415

    if hits.num_rows == 0:
        return pa.table({c: pa.array([], pa.int32() if c == "rank" else pa.float32() if c == "score" else pa.string())
                         for c in TOPK_COLUMNS})
    ranked = rank_table(hits, k=k, word_vectors=word_vectors) if word_vectors is not None else rank_table(hits, k=k)
    meta = ranked.schema.metadata
    rows_of: dict[str, np.ndarray] = {}
    acts = np.asarray(ranked.column("action").to_pylist(), dtype=object)
    for q in set(queries.values()):
        rows_of[q] = np.flatnonzero(acts == q)
    take = np.concatenate([rows_of[q] for q in queries.values()]) if queries else np.zeros(0, np.int64)
    out = ranked.take(pa.array(take, pa.int64()))
    names = [n for n, q in queries.items() for _ in range(len(rows_of[q]))]
    return out.set_column(0, "action", pa.array(names, pa.string())).replace_schema_metadata(meta)
