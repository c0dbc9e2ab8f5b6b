"""What the descriptions say about an action, next to what its name says (paper Fig. 6).

Per action: the averaged word vector of its name (x), of its first ``per_action`` descriptions by
``rank`` (triangles) and their centre (dot); then each action's ``top`` nearest actions by name
and by description centre, and how often the two agree (:func:`neighbour_summary`). Input: a
store, a ``rank`` top-k table or any Parquet with ``action`` and ``description``
(:func:`actionhub.dataset.rank.open_store`); a description with no in-vocabulary word is left out
and counted. One streaming pass in record batches, one sparse product per batch; ``per_action=0``
uses every description (plotting ``points_per_action`` each); :mod:`~actionhub.dataset.analysis_report` writes it out.
Docs: docs/dataset.md#8-fig-6-names-vs-descriptions-actionhub-analyze-descriptions
"""
from __future__ import annotations

import difflib
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from actionhub.dataset.wordvec import WordVectors, cosine_similarity
from actionhub.utils.errors import UserError
from actionhub.utils.names import listing, normalize_name

__all__ = [
    "AnalysisError",
    "DescriptionVectors",
    "description_vectors",
    "nearest_actions",
    "neighbour_tables",
    "neighbour_summary",
    "resolve_actions",
    "default_actions",
    "project_2d",
]

log = logging.getLogger(__name__)

DEFAULT_PER_ACTION = 100  # the paper's 100 descriptions per action (and the rank step's k)
DEFAULT_TOP = 5
DEFAULT_NUM_ACTIONS = 5


class AnalysisError(UserError):
    """A problem with the input of the description analysis; the message says how to fix it."""


@dataclass
class DescriptionVectors:
    """Averaged word vectors of the actions of a store (shapes: A actions, D dimensions, P points).

    actions: (A,) action names, sorted; name: (A, D) float32 mean word vector of each name (a
    zero row when no word of the name is in the vocabulary); centre: (A, D) float32 mean of the
    action's description vectors (zero row when it has none); used: (A,) int64 descriptions with
    a vector that make the centre; read: (A,) int64 descriptions of the action that were
    considered (those without any in-vocabulary word included); points: (P, D) float32 the
    vectors of each action's first ``points_per_action`` used descriptions, point_action: (P,)
    their action index.
    """

    actions: list[str]
    name: np.ndarray
    centre: np.ndarray
    used: np.ndarray
    read: np.ndarray
    points: np.ndarray
    point_action: np.ndarray
    word_vectors: str
    per_action: int
    points_per_action: int
    rows: int = 0
    seconds: float = 0.0
    store: str | None = None
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def has_name(self) -> np.ndarray:
        """(A,) bool: the name has at least one in-vocabulary word."""
        return np.linalg.norm(self.name, axis=1) > 0

    @property
    def valid(self) -> np.ndarray:
        """(A,) bool: the action has both a name vector and a description centre."""
        return self.has_name & (self.used > 0)

    def index(self, action: str) -> int:
        return self.actions.index(action)


# ------------------------------------------------------------------------------ vectors
def _positions(groups: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """(n,) 0-based position of each row within its group, counting on from ``offsets[group]``."""
    n = len(groups)
    if n == 0:
        return np.zeros(0, np.int64)
    order = np.argsort(groups, kind="stable")
    sorted_g = groups[order]
    starts = np.flatnonzero(np.r_[True, sorted_g[1:] != sorted_g[:-1]])
    run = np.repeat(starts, np.diff(np.r_[starts, n]))
    pos = np.empty(n, np.int64)
    pos[order] = np.arange(n) - run + offsets[sorted_g]
    return pos


class _Names:
    """Growing action-name index over record batches."""

    def __init__(self) -> None:
        self.names: list[str] = []
        self.index: dict[str, int] = {}

    def ids(self, actions: Any) -> np.ndarray:
        """(n,) int64 id per row; -1 for a null action."""
        import pyarrow as pa  # noqa: PLC0415
        import pyarrow.compute as pc  # noqa: PLC0415

        if isinstance(actions, pa.ChunkedArray):
            actions = actions.combine_chunks()
        enc = actions if pa.types.is_dictionary(actions.type) else actions.dictionary_encode()
        names = [str(x) for x in enc.dictionary.to_pylist()]
        for n in names:
            if n not in self.index:
                self.index[n] = len(self.names)
                self.names.append(n)
        table = np.array([self.index[n] for n in names] + [-1], dtype=np.int64)
        return table[pc.fill_null(enc.indices, -1).to_numpy(zero_copy_only=False).astype(np.int64)]


def _grow(a: np.ndarray, n: int) -> np.ndarray:
    if len(a) >= n:
        return a
    out = np.zeros((n, *a.shape[1:]), a.dtype)
    out[: len(a)] = a
    return out


def description_vectors(
    store: Any,
    word_vectors: WordVectors | str | Path | None = None,
    per_action: int = DEFAULT_PER_ACTION,
    points_per_action: int = DEFAULT_PER_ACTION,
    batch_size: int = 1 << 17,
    progress: bool = True,
    note: str | None = None,
) -> DescriptionVectors:
    """Name vectors, description centres and plotted description vectors of every action.

    store: a store directory or Parquet file (path), or an object with ``count_rows()`` and
    ``to_batches(columns, batch_size)`` (:func:`actionhub.dataset.rank.open_store`); per_action:
    the first N descriptions of each action (by its rank column) make the centre, 0 = all;
    points_per_action: how many of them are kept as points for the picture (at most
    ``per_action`` when that is set); word_vectors: a :class:`WordVectors`, a file, or None for
    GloVe 6B-50d. ``note`` defaults to the store's note (e.g. "SYNTHETIC: ...").
    """
    import pyarrow as pa  # noqa: PLC0415
    import pyarrow.compute as pc  # noqa: PLC0415
    from scipy import sparse  # noqa: PLC0415

    from actionhub.dataset.rank import load_word_vectors, open_store  # noqa: PLC0415
    from actionhub.utils.progress import progress_bar  # noqa: PLC0415

    if per_action < 0:
        raise AnalysisError(f"--per-action must be >= 0 (0: every description), got {per_action}")
    if points_per_action < 0:
        raise AnalysisError(f"points_per_action must be >= 0, got {points_per_action}")
    if per_action:
        points_per_action = min(points_per_action, per_action)
    start = time.perf_counter()
    path = store if isinstance(store, (str, Path)) else None
    dataset = open_store(store) if path is not None else store
    if note is None:
        inner = getattr(dataset, "store", None)
        note = getattr(inner, "note", "") or ""
    wv = word_vectors if isinstance(word_vectors, WordVectors) else load_word_vectors(word_vectors)
    names_of = getattr(dataset, "names", None) or list(dataset.schema.names)
    if "action" not in names_of or "description" not in names_of:
        raise AnalysisError(f"{store} lacks the columns action and description; pass a description store "
                            "or the top-k table of `actionhub rank`")
    has_rank = "rank" in names_of or hasattr(dataset, "store")  # a store view always has the hits' rank
    columns = ["action", "description"] + (["rank"] if has_rank else [])
    total = dataset.count_rows()
    if total == 0:
        raise AnalysisError(f"the description store {store} has no rows; collect or import descriptions first")

    dim = wv.dim
    index = _Names()
    seen = np.zeros(0, np.int64)          # (A,) rows of each action so far (file-order positions)
    read = np.zeros(0, np.int64)          # (A,) descriptions considered
    sums = np.zeros((0, dim), np.float64)  # (A, D) for per_action == 0
    used = np.zeros(0, np.int64)
    cand: list[tuple[np.ndarray, ...]] = []  # per batch: action id, rank key, stream position, vector, has vector
    keep_key = per_action if per_action else points_per_action
    seq0 = 0
    with progress_bar(enabled=progress, total=total, desc="description vectors", unit="desc",
                      unit_scale=True) as bar:
        for batch in dataset.to_batches(columns=columns, batch_size=batch_size):
            n = batch.num_rows
            aid = index.ids(batch.column("action"))
            a_count = len(index.names)
            seen, read, used = _grow(seen, a_count), _grow(read, a_count), _grow(used, a_count)
            sums = _grow(sums, a_count)
            ok = aid >= 0
            pos = np.full(n, np.iinfo(np.int64).max, np.int64)
            pos[ok] = _positions(aid[ok], seen)
            seen += np.bincount(aid[ok], minlength=a_count)
            if has_rank:
                rank = pc.fill_null(batch.column("rank"), np.iinfo(np.int32).max).to_numpy(
                    zero_copy_only=False).astype(np.int64)
                key = np.where(ok, rank, np.iinfo(np.int64).max)
            else:
                key = pos
            need = ok if per_action == 0 else ok & (key < per_action)  # the first N by rank are among these
            rows = np.flatnonzero(need)
            if len(rows):
                texts = batch.column("description")
                texts = texts.take(pa.array(rows)) if len(rows) < n else texts
                s, counts = wv.sum_tokens(texts)
                vec = s / np.maximum(counts, 1)[:, None].astype(np.float32)
                has = counts > 0
                r_aid = aid[rows]
                if per_action == 0:
                    read += np.bincount(r_aid, minlength=a_count)
                    good = np.flatnonzero(has)
                    group = sparse.csr_matrix((np.ones(len(good)), (r_aid[good], np.arange(len(good)))),
                                              shape=(a_count, len(good)))
                    sums += group @ vec[good].astype(np.float64)
                    used += np.bincount(r_aid[good], minlength=a_count)
                pick = key[rows] < keep_key if keep_key else np.zeros(len(rows), bool)
                cand.append((r_aid[pick], key[rows][pick], seq0 + rows[pick], vec[pick], has[pick]))
            seq0 += n
            bar.update(n)

    names = index.names
    if not names:
        raise AnalysisError(f"the description store {store} has no rows with an action")
    # actions sorted by name
    order = np.argsort(np.asarray(names, dtype=object), kind="stable")
    remap = np.empty(len(names), np.int64)
    remap[order] = np.arange(len(names))
    actions = [names[i] for i in order]
    if cand:
        c_aid = remap[np.concatenate([c[0] for c in cand])]
        c_key = np.concatenate([c[1] for c in cand])
        c_seq = np.concatenate([c[2] for c in cand])
        c_vec = np.concatenate([c[3] for c in cand])
        c_has = np.concatenate([c[4] for c in cand])
    else:
        c_aid = c_key = c_seq = np.zeros(0, np.int64)
        c_vec, c_has = np.zeros((0, dim), np.float32), np.zeros(0, bool)
    srt = np.lexsort((c_seq, c_key, c_aid))  # by action, then rank, then stream order
    c_aid, c_key, c_vec, c_has = c_aid[srt], c_key[srt], c_vec[srt], c_has[srt]
    within = _positions(c_aid, np.zeros(len(actions), np.int64))  # already sorted: position = rank order
    num = len(actions)
    if per_action:
        first = within < per_action
        read = np.bincount(c_aid[first], minlength=num).astype(np.int64)
        good = first & c_has
        used = np.bincount(c_aid[good], minlength=num).astype(np.int64)
        sums = np.zeros((num, dim), np.float64)
        np.add.at(sums, c_aid[good], c_vec[good].astype(np.float64))
    else:
        read, used, sums = read[order], used[order], sums[order]
    centre = (sums / np.maximum(used, 1)[:, None]).astype(np.float32)
    # points: the first points_per_action descriptions with a vector of each action
    vec_rows = np.flatnonzero(c_has)
    p_within = _positions(c_aid[vec_rows], np.zeros(num, np.int64))
    p_rows = vec_rows[p_within < points_per_action] if points_per_action else vec_rows[:0]
    name = wv.embed(actions).astype(np.float32)
    result = DescriptionVectors(
        actions=actions, name=name, centre=centre, used=used, read=read, points=c_vec[p_rows],
        point_action=c_aid[p_rows], word_vectors=wv.name, per_action=per_action,
        points_per_action=points_per_action, rows=total, seconds=time.perf_counter() - start,
        store=str(path) if path is not None else None, note=note,
    )
    log.info("description vectors of %d actions from %d rows in %.1f s", num, total, result.seconds)
    return result


# --------------------------------------------------------------------------- neighbours
def nearest_actions(vectors: np.ndarray, valid: np.ndarray, top: int,
                    chunk: int = 2048) -> tuple[np.ndarray, np.ndarray]:
    """The ``top`` most cosine-similar other valid rows of every row.

    vectors: (A, D); valid: (A,) bool (invalid rows are never neighbours; their own rows are -1).
    Returns ``idx`` (A, top) int64 (-1 where fewer exist) and ``sim`` (A, top) float64 (NaN
    there), most similar first; ties go to the lower index (actions are sorted by name).
    Memory: ``chunk x A`` similarities at a time.
    """
    vectors = np.asarray(vectors)
    valid = np.asarray(valid, bool)
    num = len(vectors)
    top_n = max(0, min(top, int(valid.sum()) - 1))
    idx = np.full((num, top), -1, np.int64)
    sim = np.full((num, top), np.nan)
    cols = np.flatnonzero(valid)   # every compared action is both a row and a candidate neighbour
    for lo in range(0, len(cols), chunk):
        rows = cols[lo:lo + chunk]
        s = cosine_similarity(vectors[rows], vectors[cols])
        s[np.arange(len(rows)), np.searchsorted(cols, rows)] = -np.inf  # not its own neighbour
        best = np.argsort(-s, axis=1, kind="stable")[:, :top_n]
        idx[rows, :top_n] = cols[best]
        sim[rows, :top_n] = np.take_along_axis(s, best, axis=1)
    return idx, sim


def neighbour_tables(vectors: DescriptionVectors, top: int = DEFAULT_TOP) -> dict[str, np.ndarray]:
    """Neighbours of every action by name vector and by description centre.

    Returns ``name_idx``/``name_sim`` and ``desc_idx``/``desc_sim`` ((A, top), see
    :func:`nearest_actions`), over the actions that have both vectors (:attr:`DescriptionVectors.valid`).
    """
    if top < 1:
        raise AnalysisError(f"--top must be at least 1, got {top}")
    valid = vectors.valid
    if valid.sum() < 2:
        raise AnalysisError(f"need at least two actions with a name vector and descriptions to compare, "
                            f"found {int(valid.sum())}; analyse a store with more actions")
    name_idx, name_sim = nearest_actions(vectors.name, valid, top)
    desc_idx, desc_sim = nearest_actions(vectors.centre, valid, top)
    return {"name_idx": name_idx, "name_sim": name_sim, "desc_idx": desc_idx, "desc_sim": desc_sim}


def neighbour_summary(vectors: DescriptionVectors, tables: dict[str, np.ndarray]) -> dict[str, Any]:
    """Store-wide figures: how often the nearest action by name is also the nearest by
    descriptions, the mean overlap of the two top-N lists, how close each name is to its own
    description centre, and how often a name's nearest centre is its own action's."""
    valid = vectors.valid
    rows = np.flatnonzero(valid)
    name_idx, desc_idx = tables["name_idx"][rows], tables["desc_idx"][rows]
    top = int((name_idx[0] >= 0).sum()) if len(rows) else 0
    agree = name_idx[:, 0] == desc_idx[:, 0]
    overlap = np.array([len(set(a[a >= 0]) & set(b[b >= 0])) for a, b in zip(name_idx, desc_idx, strict=True)],
                       np.float64)
    own = np.einsum("ij,ij->i", _unit(vectors.name[rows]), _unit(vectors.centre[rows]))
    to_centres = cosine_similarity(vectors.name[rows], vectors.centre[rows])
    own_first = np.argmax(to_centres, axis=1) == np.arange(len(rows))
    return {
        "actions": len(vectors.actions),
        "actions_compared": int(valid.sum()),
        "actions_without_name_vector": [a for a, h in zip(vectors.actions, vectors.has_name, strict=True) if not h],
        "actions_without_descriptions": [a for a, u in zip(vectors.actions, vectors.used, strict=True) if u == 0],
        "descriptions_used": int(vectors.used.sum()),
        "descriptions_without_vector": int((vectors.read - vectors.used).sum()),
        "top": top,
        "nearest_agree": float(agree.mean()) if len(rows) else float("nan"),
        "nearest_agree_count": int(agree.sum()),
        "mean_overlap": float(overlap.mean() / top) if top else float("nan"),
        "chance_overlap": float(top / (len(rows) - 1)) if len(rows) > 1 else float("nan"),
        "mean_name_centre_cosine": float(own.mean()) if len(rows) else float("nan"),
        "name_nearest_centre_is_own": float(own_first.mean()) if len(rows) else float("nan"),
    }


def _unit(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, np.float64)
    n = np.linalg.norm(x, axis=1, keepdims=True)
    return np.divide(x, n, out=np.zeros_like(x), where=n > 0)


# ------------------------------------------------------------------------------ actions
def resolve_actions(vectors: DescriptionVectors, wanted: Sequence[str]) -> list[str]:
    """The store's spelling of each wanted action (exact, else the same letters and digits:
    "YoYo" finds "yo yo"); errors say which is unknown or cannot be shown, and why."""
    by_key: dict[str, str] = {}
    for a in vectors.actions:
        by_key.setdefault(normalize_name(a), a)
    out: list[str] = []
    for w in wanted:
        a = w if w in vectors.actions else by_key.get(normalize_name(w))
        if a is None:
            close = difflib.get_close_matches(w, vectors.actions, n=3)
            raise AnalysisError(f"unknown action {w!r} in --actions: the store has no descriptions for it"
                                + (f" (close: {', '.join(close)})" if close else "")
                                + f"; it has {len(vectors.actions):,} actions "
                                  f"({listing(vectors.actions[:5], len(vectors.actions))})")
        i = vectors.index(a)
        if vectors.used[i] == 0:
            raise AnalysisError(f"action {a!r} has no description with a word in the {vectors.word_vectors} "
                                f"vocabulary ({int(vectors.read[i])} description(s) read); choose another "
                                "action in --actions")
        if not vectors.has_name[i]:
            raise AnalysisError(f"no word of the action name {a!r} is in the {vectors.word_vectors} vocabulary, "
                                "so it has no name vector; choose another action in --actions or other "
                                "--word-vectors")
        if a not in out:
            out.append(a)
    return out


def default_actions(vectors: DescriptionVectors, n: int = DEFAULT_NUM_ACTIONS) -> list[str]:
    """``n`` well-populated actions, chosen deterministically: among the comparable actions
    with the most descriptions used (the full ``per_action`` when that is set, else at least the
    75th percentile), ``n`` evenly spaced in name order (so they are not all alike)."""
    valid = np.flatnonzero(vectors.valid)
    if len(valid) == 0:
        return []
    used = vectors.used[valid]
    bar = min(vectors.per_action, int(used.max())) if vectors.per_action else int(np.percentile(used, 75))
    rich = valid[used >= bar]
    if len(rich) < n:
        rich = valid[np.argsort(-used, kind="stable")[:n]]
        rich = np.sort(rich)
    pick = np.unique(np.linspace(0, len(rich) - 1, num=min(n, len(rich))).round().astype(int))
    return [vectors.actions[i] for i in rich[pick]]


# ----------------------------------------------------------------------------- picture
def project_2d(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """PCA of the rows of ``x`` (N, D) to 2-D: returns the (N, 2) coordinates and the (2,)
    fraction of the variance each component explains. Linear, so a centre is still the mean of
    its descriptions in the picture."""
    x = np.asarray(x, np.float64)
    centred = x - x.mean(axis=0)
    if len(x) < 2:
        return np.zeros((len(x), 2)), np.zeros(2)
    _, s, vt = np.linalg.svd(centred, full_matrices=False)
    comps = vt[:2]
    if comps.shape[0] < 2:
        comps = np.vstack([comps, np.zeros((2 - comps.shape[0], x.shape[1]))])
    # a deterministic sign: the largest loading of each component is positive
    signs = np.sign(comps[np.arange(2), np.argmax(np.abs(comps), axis=1)])
    comps = comps * np.where(signs == 0, 1, signs)[:, None]
    var = s ** 2
    explained = var[:2] / var.sum() if var.sum() > 0 else np.zeros(2)
    return centred @ comps.T, np.pad(explained, (0, 2 - len(explained)))
