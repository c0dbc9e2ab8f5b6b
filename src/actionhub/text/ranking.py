"""``actionhub rank``: the top-k descriptions of every action, by one of three rankers, with sibling
queries kept apart and a relevance cut-off.

Rankers (``--ranker``): ``minilm-agent`` (default: ``rel + 2 agent``, :mod:`actionhub.text.relevance`),
``minilm`` (``rel`` alone) and ``glove`` (the paper's, Sec. 4.3, :mod:`actionhub.dataset.rank`). The MiniLM
rankers re-rank the ``candidates`` best GloVe scores of every action, keep sibling queries apart
(:mod:`actionhub.dataset.siblings`) and cut at :func:`auto_threshold` after :func:`object_only`; the report
(:class:`actionhub.dataset.rank.RankReport`) counts per action what was left out, and why.

Docs: docs/text.md#1-relevance-ranking-actionhub-rank
"""
from __future__ import annotations

import contextlib
import json
import logging
import time
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from actionhub.text.adjacency import adjacent_claims
from actionhub.utils.errors import UserError
from actionhub.utils.lock import locks_output

__all__ = ["RANKERS", "DEFAULT_RANKER", "DEFAULT_CANDIDATES", "SIBLING_MODES", "rank_descriptions", "auto_threshold",
           "sibling_rows", "parse_min_relevance"]

log = logging.getLogger(__name__)

RANKERS = ("minilm-agent", "minilm", "glove")
DEFAULT_RANKER = "minilm-agent"
DEFAULT_CANDIDATES = 64
SIBLING_MODES = ("auto", "exclude", "last", "keep")
_LAST = 1e3  # subtracted from the sort key of a description put last
COMPETE_MARGIN = 0.0  # another action claims a description scoring this much higher for it
AGENT_WEIGHT = 2.0  # minilm-agent's score: rel + AGENT_WEIGHT * (rel - obj)
RELAXED_AGENT = 0.05  # a relaxed match (--match most) is kept only with rel - obj at least this
AGENT_SHARE = 0.25  # object-only: an agent signal at most this share of the action's clearest
DUPLICATE = 0.95  # two descriptions of one action this close (MiniLM cosine) say the same thing
PARAPHRASE = 0.85  # two actions whose mean prompts are this close are one action said two ways
AUTO_WINDOW = {"minilm-agent": 0.2, "minilm": 0.1}  # auto cut-off: this far below the action's best


def parse_min_relevance(value: Any) -> float | str | None:
    """``"auto"``, ``"none"``/None or a number (``--min-relevance``)."""
    if value is None or (isinstance(value, str) and value.lower() == "none"):
        return None
    if isinstance(value, str) and value.lower() == "auto":
        return "auto"
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise UserError(f"--min-relevance must be auto, none or a number, got {value!r}") from None
    if not np.isfinite(v):
        raise UserError(f"--min-relevance must be a finite number, got {value!r}")
    return v


def auto_threshold(scores: np.ndarray, window: float) -> float:
    """The automatic cut-off of one action from its candidates' scores ``(n,)``: ``window`` below the
    best of them (a class keeps the descriptions close to its clearest ones, not a long weak tail)."""
    s = np.asarray(scores, np.float64)
    s = s[np.isfinite(s)]
    return float(s.max() - window) if s.size else float("inf")


def _key_codes(keys: list[Any]) -> np.ndarray:
    """(N,) int64 code per row of the (provider, video id) keys of all batches (equal keys, equal codes)."""
    import pyarrow as pa  # noqa: PLC0415
    import pyarrow.compute as pc  # noqa: PLC0415

    if not keys:
        return np.zeros(0, np.int64)
    enc = pc.dictionary_encode(pa.chunked_array(keys))
    return np.concatenate([np.asarray(c.indices.to_numpy(zero_copy_only=False), np.int64) for c in enc.chunks]) \
        if enc.num_chunks else np.zeros(0, np.int64)


def _provenance(actions: Sequence[str]) -> dict[str, set[str]]:
    """``{action: datasets that name it as a class}`` through the shipped vocabulary."""
    from actionhub.dataset.vocab import build_vocabulary  # noqa: PLC0415

    try:
        vocab = build_vocabulary()
    except Exception:  # noqa: BLE001 - without lemminflect every overlap is treated as between datasets
        return {}
    out = {}
    for a in actions:
        q = vocab.lookup(a)
        if q is not None and q.query.replace(" ", "") == a.replace(" ", ""):
            out[a] = set(q.datasets)
    return out


def _light_verbs(names: Sequence[str]) -> frozenset[str]:
    """Light verbs of the store's actions together with the shipped vocabulary's queries (a small store
    alone does not show that "play" starts many queries)."""
    from actionhub.dataset.siblings import light_verbs  # noqa: PLC0415
    from actionhub.dataset.vocab import build_vocabulary  # noqa: PLC0415

    try:
        shipped = [q.query for q in build_vocabulary()]
    except Exception:  # noqa: BLE001 - without lemminflect: the store's own queries
        shipped = []
    return light_verbs(list(dict.fromkeys([*names, *shipped])))


def sibling_rows(names: Sequence[str], aids: np.ndarray, codes: np.ndarray, mode: str,
                 own: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, list]:
    """Rows a more specific query also lists: ``(exclude (N,) bool, last (N,) bool, overlaps)``.

    ``names``: the actions; ``aids`` ``(N,)``: each row's action (index into ``names``); ``codes``
    ``(N,)``: each row's description key; ``own`` ``(N,)`` bool: rows their query matched itself (not
    relaxed; default all). ``mode``: ``exclude`` / ``last`` for every overlap, ``auto``: exclude where
    one dataset names both queries as classes, last otherwise; ``keep``: nothing.
    """
    from actionhub.dataset.siblings import overlaps  # noqa: PLC0415

    n = len(aids)
    exclude, last = np.zeros(n, bool), np.zeros(n, bool)
    if mode == "keep" or not len(names):
        return exclude, last, []
    pairs = overlaps(list(names), light=_light_verbs(names))
    if not pairs:
        return exclude, last, []
    index = {a: i for i, a in enumerate(names)}
    order = np.argsort(aids, kind="stable")
    bounds = np.searchsorted(aids[order], np.arange(len(names) + 1))
    rows_of = lambda a: order[bounds[index[a]]:bounds[index[a] + 1]]  # noqa: E731
    prov = _provenance(names) if mode == "auto" else {}
    for p in pairs:
        g_rows, s_rows = rows_of(p.general), rows_of(p.specific)
        if own is not None:
            s_rows = s_rows[own[s_rows]]
        if not g_rows.size or not s_rows.size:
            continue
        hit = g_rows[np.isin(codes[g_rows], codes[s_rows])]
        same = bool(prov.get(p.general, set()) & prov.get(p.specific, set()))
        (exclude if mode == "exclude" or (mode == "auto" and same) else last)[hit] = True
    last &= ~exclude
    return exclude, last, pairs


def _collections(store: Any) -> list[Mapping[str, Any]]:
    meta = store.store.meta() if hasattr(store, "store") else {}
    return [rec for rec in (meta.get("collections") or {}).values() if isinstance(rec, Mapping)]


def _store_aliases(store: Any) -> dict[str, list[str]]:
    """Aliases recorded by the collections of a store directory (``store.json``)."""
    out: dict[str, list[str]] = {}
    for rec in _collections(store):
        for q, vals in (rec.get("aliases") or {}).items():
            out.setdefault(q, []).extend(v for v in vals if v not in out.get(q, []))
    return out


def _store_phrases(store: Any) -> list[str]:
    """The fixed phrases a ``collect`` found in the words of longer queries ("shot on", "close up":
    :func:`actionhub.dataset.collect.generic.phrase_words`), from the store's collection records."""
    out: list[str] = []
    for rec in _collections(store):
        for pw in (rec.get("generic") or {}).get("phrase_words") or []:
            if isinstance(pw, Mapping) and isinstance(pw.get("phrase"), str) and pw["phrase"] not in out:
                out.append(pw["phrase"])
    return out


def _without_phrases(texts: list[str], phrases: Sequence[str]) -> list[str]:
    """``texts`` with the corpus's fixed ``phrases`` taken out (case-insensitive, whole words; the
    first word also with an "s"), as the encoder reads them: a caption's camera words ("Cricket insect
    on a leaf, shot on RED") do not make it look like the action ("cricket shot") or like someone doing
    something. A text that is nothing but such phrases stays as it is."""
    import pyarrow as pa  # noqa: PLC0415
    import pyarrow.compute as pc  # noqa: PLC0415

    from actionhub.dataset.collect.generic import phrase_pattern  # noqa: PLC0415

    if not phrases or not texts:
        return texts
    arr = pa.array(texts, pa.string())
    for p in phrases:  # the phrase goes, the characters around it stay (group 1 and the last group)
        first, *rest = p.split()
        arr = pc.replace_substring_regex(arr, phrase_pattern([first, first + "s"], *[[w] for w in rest]),
                                         rf"\1 \{len(rest) + 3}")
    return [" ".join(t.split()) or orig for t, orig in zip(arr.to_pylist(), texts, strict=True)]


def _relaxed_from(store: Any) -> dict[str, int]:
    """``{action: the rank its relaxed matches start at}`` recorded by a ``--match most`` collection."""
    out: dict[str, int] = {}
    for rec in _collections(store):
        for q, n in (rec.get("relaxed") or {}).items():
            out[q] = min(int(n), out.get(q, int(n)))
    return out


@locks_output("out", folder=False, what="output file")
def rank_descriptions(
    store: str | Path,
    out: str | Path,
    k: int = 100,
    ranker: str = DEFAULT_RANKER,
    *,
    word_vectors: Any = None,
    candidates: int = DEFAULT_CANDIDATES,
    min_relevance: Any = "default",
    siblings: str | None = None,
    encoder: str = "minilm",
    cache: Any = True,
    batch_size: int | None = None,
    encode_batch_size: int = 64,
    threads: int | str | None = "auto",
    progress: bool = True,
    curation: bool = True,
    overwrite: bool = False,
):
    """Rank every description of the store at ``store`` with ``ranker`` and write the top ``k`` per
    action to ``out`` (Parquet, atomically; an existing ``out`` only with ``overwrite``, never the store
    itself); returns the :class:`~actionhub.dataset.rank.RankReport`. ``curation``: leave out what the
    store's curation marks throw out (``STORE/curation.jsonl``).

    ``min_relevance``: ``"auto"``, None (keep all) or a number; default ``"auto"`` for the MiniLM
    rankers, None for ``glove``. ``siblings``: one of :data:`SIBLING_MODES`; default ``"auto"`` for
    the MiniLM rankers, ``"keep"`` for ``glove``. ``candidates``: descriptions per action the MiniLM
    rankers encode. ``threads``: torch threads while encoding, ``N`` or ``"auto"``
    (:mod:`actionhub.utils.threads`; None: as torch has them).
    """
    from actionhub.dataset import rank as glove_rank  # noqa: PLC0415
    from actionhub.utils.outputs import check_new_file, check_no_overlap  # noqa: PLC0415

    check_no_overlap({"--out": out}, {"STORE": store, "--word-vectors": glove_rank._path_or_none(word_vectors)})
    check_new_file(out, overwrite)   # under the output's lock (the decorator), before any work
    if ranker not in RANKERS:
        raise UserError(f"unknown ranker {ranker!r}; choose one of {', '.join(RANKERS)}")
    if k < 1:
        raise UserError(f"--k must be at least 1, got {k}")
    if candidates < 1:
        raise UserError(f"--candidates must be at least 1, got {candidates}")
    semantic = ranker != "glove"
    if isinstance(min_relevance, str) and min_relevance == "default":
        min_relevance = "auto" if semantic else None
    min_relevance = parse_min_relevance(min_relevance)
    siblings = siblings or ("auto" if semantic else "keep")
    if siblings not in SIBLING_MODES:
        raise UserError(f"unknown --siblings {siblings!r}; choose one of {', '.join(SIBLING_MODES)}")
    if min_relevance == "auto" and not semantic:
        raise UserError("--min-relevance auto needs a MiniLM ranker (it compares the action and object prompts); "
                        "give glove a number, e.g. --min-relevance 0.6, or none")
    batch_size = batch_size or glove_rank.DEFAULT_BATCH_SIZE
    if not semantic and siblings == "keep" and min_relevance is None:  # the paper's ranking, unchanged
        rep = glove_rank.rank_store.__wrapped__(store, out, k=k, word_vectors=word_vectors, batch_size=batch_size,
                                                progress=progress, curation=curation, overwrite=True)
        rep.ranker = "glove"
        return rep
    return _rank(store, Path(out), k, ranker, word_vectors, candidates, min_relevance, siblings, encoder, cache,
                 batch_size, encode_batch_size, threads, progress, curation)


def _rank(store, out, k, ranker, word_vectors, candidates, min_relevance, siblings, encoder, cache, batch_size,
          encode_batch_size, threads, progress, curation):
    import pyarrow.parquet as pq  # noqa: PLC0415

    from actionhub.dataset import rank as glove_rank  # noqa: PLC0415
    from actionhub.dataset.curation import curated_view  # noqa: PLC0415
    from actionhub.dataset.store import key_column  # noqa: PLC0415
    from actionhub.dataset.wordvec import WordVectors  # noqa: PLC0415
    from actionhub.utils.io import atomic_path  # noqa: PLC0415
    from actionhub.utils.progress import progress_bar  # noqa: PLC0415

    semantic = ranker != "glove"
    dataset = curated_view(glove_rank.open_store(store), curation)
    wv = word_vectors if isinstance(word_vectors, WordVectors) else glove_rank.load_word_vectors(word_vectors)
    total = dataset.count_rows()
    if total == 0:
        raise glove_rank.RankError(f"description store {store} has no rows; collect or import descriptions first")
    start = time.perf_counter()
    scorer = glove_rank._Scorer(wv)
    keys: list[Any] = []
    rank_col = None
    with progress_bar(enabled=progress, total=total, desc="ranking: GloVe pass", unit="desc", unit_scale=True) as bar:
        if isinstance(dataset, glove_rank._StoreView):  # every description scored once; its row is its key
            glove_rank.scan(dataset, scorer, batch_size, bar)
            hits, codes = dataset.joined()
            rank_col = np.asarray(hits.column("rank").to_numpy(), np.int64)
        else:
            for batch in glove_rank._iter_batches(dataset, ["action", "provider", "video_id", "description"],
                                                  batch_size):
                scorer.add(batch.column("action"), batch.column("description"))
                keys.append(key_column(batch.column("provider"), batch.column("video_id")))
                bar.update(batch.num_rows)
            codes = _key_codes(keys)
    aids, glove = scorer.result()
    aids = aids.astype(np.int64)
    names = list(scorer.names)
    del keys
    # relaxed matches (--match most): after the action's own, and not when another action lists them as its own
    relaxed = np.zeros(len(aids), bool)
    starts = _relaxed_from(dataset)
    if starts and rank_col is not None:
        start_of = np.array([starts.get(a, np.iinfo(np.int64).max) for a in names] + [0], np.int64)
        relaxed = rank_col >= start_of[aids]
    # relaxed rows a query of fewer of their words lists: its own for glove; the MiniLM rankers ask the encoder
    claimed = np.zeros(len(aids), bool) if semantic else _subset_listers(names, aids, codes, relaxed) >= 0
    excluded, last, pairs = sibling_rows(names, aids, codes, siblings, own=~relaxed)
    excluded |= claimed
    groups = np.where(excluded, -1, aids)
    per_action: dict[str, dict[str, Any]] = {a: {"rows": 0, "relaxed": 0, "siblings": 0, "candidates": 0, "cut": 0,
                                                 "object_only": 0, "kept": 0} for a in names}
    valid = aids >= 0
    masks = (("rows", valid), ("relaxed", valid & relaxed), ("siblings", valid & (excluded | last) & ~claimed))
    for field_name, mask in masks:
        for i, n in enumerate(np.bincount(aids[mask], minlength=len(names))):
            per_action[names[i]][field_name] = int(n)
    tier = np.maximum(relaxed.astype(np.float64), 2.0 * last)  # own, relaxed, a sibling's: in this order

    pre = np.where(np.isnan(glove), -np.inf, glove) - _LAST * tier
    if semantic:
        rows, group, _ = glove_rank.topk_per_group(groups, pre, candidates)
        fetched = glove_rank.fetch_rows(dataset, rows, batch_size, total, store)
        texts = [str(t) for t in fetched.column("description").to_pylist()]
        listed = _listed_by(rows, aids, codes, ~relaxed)
        sub = _subset_listers(names, aids, codes, relaxed, rows)
        rel, agent, other, other_action, unit, may_claim, sub_rel = _semantic_scores(
            texts, group, names, dataset, encoder, cache, encode_batch_size, threads, progress, listed, sub)
        score = rel if ranker == "minilm" else rel + AGENT_WEIGHT * agent
        claimed_by = np.where(other > rel + COMPETE_MARGIN, other_action, -1)
        claimed_by = adjacent_claims(texts, group, names, listed, claimed_by, may_claim)
        # a relaxed match ("man doing push ups" for "wall pushup") goes to the query of fewer of its words
        # that lists it ("push up") when it fits that one's prompt better ("rock climbing" stays with
        # "rock climb indoor" where it fits as well)
        claimed_by = np.where((claimed_by < 0) & (sub >= 0) & (sub_rel > rel + COMPETE_MARGIN), sub, claimed_by)
        # an action keeps its own descriptions of someone doing it when every one of them would go elsewhere
        # (its things at rest, "Fruit punch in a glass", would be all it kept)
        claimed_by = unclaim_last(claimed_by, group, ~relaxed[rows], agent)
        is_object = object_only(agent, group, claimed=claimed_by >= 0)
    else:
        rows = np.flatnonzero(groups >= 0)
        group = groups[rows].astype(np.int32)
        score = glove[rows].astype(np.float32)
        is_object = np.zeros(len(rows), bool)
        claimed_by = np.full(len(rows), -1, np.int64)
        fetched = None
    # the cut-off, per action
    keep = np.isfinite(score) & (claimed_by < 0)
    thresholds: dict[str, float] = {}
    if min_relevance is not None:
        order = np.argsort(group, kind="stable")
        bounds = np.searchsorted(group[order], np.arange(len(names) + 1))
        for g in range(len(names)):
            idx = order[bounds[g]:bounds[g + 1]]
            if not idx.size:
                continue
            own = ~relaxed[rows[idx]]
            if min_relevance == "auto":
                if ranker == "minilm-agent":  # not object-only; a relaxed match must show the action clearly
                    keep[idx] &= ~is_object[idx] & (own | (agent[idx] >= RELAXED_AGENT))
                if (keep[idx] & own).any():  # relaxed matches only stand in for a query whose own keep nothing
                    keep[idx[~own]] = False
                ok = idx[keep[idx]]
                t = auto_threshold(score[ok], AUTO_WINDOW[ranker]) if ok.size else np.inf
                keep[idx] &= score[idx] >= t
            else:
                t = float(min_relevance)
                keep[idx] &= score[idx] >= t
                if (keep[idx] & own).any():
                    keep[idx[~own]] = False
            thresholds[names[g]] = round(float(t), 4) if np.isfinite(t) else None
    sort_key = np.where(keep, score - _LAST * tier[rows], np.nan)
    duplicate = near_duplicates(group, sort_key, unit) if semantic else np.zeros(len(rows), bool)
    keep &= ~duplicate
    sort_key[duplicate] = np.nan
    order = np.argsort(np.asarray(names, dtype=object), kind="stable")
    sel, sel_group, sel_rank = glove_rank.topk_per_group(np.where(keep, group, -1), sort_key, k, group_order=order)
    for i, g in enumerate(group):
        rec = per_action[names[g]]
        rec["candidates"] += 1
        rec["cut"] += int(not keep[i] and claimed_by[i] < 0 and not duplicate[i])
        rec["duplicates"] = rec.get("duplicates", 0) + int(duplicate[i])
        rec["object_only"] += int(is_object[i])
        if claimed_by[i] >= 0:
            rec["claimed"] = rec.get("claimed", 0) + 1
            by = rec.setdefault("claimed_by", {})
            by[names[claimed_by[i]]] = by.get(names[claimed_by[i]], 0) + 1
    kept_scores: dict[int, list[float]] = {}
    for g, sc, rx in zip(sel_group, score[sel], relaxed[rows[sel]], strict=True):
        kept_scores.setdefault(int(g), []).append(float(sc))
        if rx:
            per_action[names[g]]["kept_relaxed"] = per_action[names[g]].get("kept_relaxed", 0) + 1
    for g, vals in kept_scores.items():
        per_action[names[g]].update(kept=len(vals), mean=round(float(np.mean(vals)), 4))
    for a, t in thresholds.items():
        per_action[a]["threshold"] = t
    if fetched is None:
        fetched = glove_rank.fetch_rows(dataset, rows[sel], batch_size, total, store)
    else:
        fetched = fetched.take(sel)
    report = glove_rank.RankReport(
        k=k, word_vectors=wv.name, num_descriptions=total - scorer.null_actions, num_actions=len(names),
        num_selected=len(sel), no_vector_actions=glove_rank._warn_no_vector(scorer, wv),
        unscored_descriptions=scorer.unscored, skipped_null_action=scorer.null_actions, store=str(store), out=str(out),
        ranker=ranker, encoder=encoder if semantic else None, candidates=candidates if semantic else None,
        min_relevance=min_relevance, siblings=siblings, overlaps=[p.to_json() for p in pairs], per_action=per_action,
        curation=getattr(dataset, "curated", None))
    report.seconds = time.perf_counter() - start
    table = glove_rank._output_table(names, sel_group, sel_rank, score[sel], fetched, report.to_json())
    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(out) as tmp:
        pq.write_table(table, tmp)
    log.info("ranked %d descriptions of %d actions with %s in %.1f s; wrote %d rows to %s", total, len(names), ranker,
             report.seconds, len(sel), out)
    return report


def _semantic_scores(texts: list[str], group: np.ndarray, names: list[str], dataset: Any, encoder: str, cache: Any,
                     batch_size: int, threads: int | str | None, progress: bool, listed_by: list[np.ndarray],
                     sub: np.ndarray) -> tuple[np.ndarray, ...]:
    """``(rel, agent, other, other_action, unit, may_claim, sub_rel)`` of the candidate ``texts`` ``(n,)``: the
    cosine with the action prompt of their own actions ``group``, the agent signal
    (:meth:`~actionhub.text.relevance.ActionPrompts.agent`), the best action-prompt cosine of
    another action that lists the same description as its own (``listed_by[i]``: action indices)
    and may claim it (:func:`competing_actions`), with that action's index (-1: none), the unit
    sentence vectors ``(n, D)``, ``may_claim(a, b)``: may action ``b`` claim from ``a``, and the cosine with the
    action prompt of ``sub`` ``(n,)`` (an action listing the description, -1: none; -inf there)."""
    from actionhub.dataset.vocab import build_vocabulary  # noqa: PLC0415
    from actionhub.text.encode import encode_texts  # noqa: PLC0415
    from actionhub.text.relevance import ActionPrompts, action_names  # noqa: PLC0415
    from actionhub.utils.threads import torch_threads  # noqa: PLC0415

    try:
        vocab = build_vocabulary()
    except ImportError:
        vocab = None
    aliases = _store_aliases(dataset)
    own = sorted(set(int(g) for g in group))
    classmates = _classmates(names, own)
    used = sorted(set(own) | {int(b) for bs in listed_by for b in bs}
                  | {int(b) for bs in classmates.values() for b in bs})
    acts = [names[g] for g in used]
    local = np.full(len(names), -1, np.int64)
    local[used] = np.arange(len(used))
    with torch_threads(threads) if threads is not None else contextlib.nullcontext():
        prompts = ActionPrompts(acts, {a: action_names(a, vocab, aliases.get(a, ())) for a in acts}, encoder,
                                cache=cache, batch_size=batch_size)
        texts = _without_phrases(texts, _store_phrases(dataset))  # "shot on RED" says nothing of "cricket shot"
        uniq = list(dict.fromkeys(texts))
        where = {t: i for i, t in enumerate(uniq)}
        vecs = encode_texts(uniq, encoder, cache=cache, batch_size=batch_size, progress=progress,
                            desc="ranking: encoding candidates")
    vecs = vecs / np.maximum(np.linalg.norm(vecs, axis=1, keepdims=True), 1e-12)
    rows = vecs[[where[t] for t in texts]] if texts else np.zeros((0, prompts.person.shape[1]), np.float32)
    rel, obj, gen = prompts.scores(rows, local[group])
    # who may claim a description: an action listing it too (competing_actions), or a class of the same label
    # list whose query finds it, or all but one of its words (never a paraphrase: BoxingPunchingBag and
    # BoxingSpeedBag are two classes however alike; "spin bowler" for CricketBowling, not Bowling)
    may = np.zeros((len(used), len(used)), bool)
    for g, bs in classmates.items():
        may[local[g], local[bs]] = True
    text_row = np.fromiter((where[t] for t in texts), np.int64, count=len(texts))
    found = lexical_matches(uniq, [acts[j] for j in np.flatnonzero(may.any(axis=0))]) if may.any() else None
    found_cols = np.flatnonzero(may.any(axis=0))
    listed_ok = competing_actions(acts, prompts.person)
    other, other_action = _best_rival(rows, local[group], prompts.person, may, found, found_cols, text_row,
                                      [local[bs] for bs in listed_by], listed_ok)
    other_action = np.where(other_action >= 0, np.asarray(used, np.int64)[np.maximum(other_action, 0)], -1)

    def may_claim(a: int, b: int) -> bool:  # may action b claim a description from action a?
        return bool(local[a] >= 0 and local[b] >= 0 and listed_ok[local[a], local[b]])

    sub_rel = np.full(len(texts), -np.inf, np.float32)
    has = sub >= 0
    sub_rel[has] = np.einsum("ij,ij->i", rows[has], prompts.person[local[sub[has]]])
    return rel, prompts.agent(rel, obj, gen), other, other_action, rows, may_claim, sub_rel


def unclaim_last(claimed_by: np.ndarray, group: np.ndarray, own: np.ndarray,
                 agent: np.ndarray | None = None) -> np.ndarray:
    """``claimed_by`` ``(n,)`` (the action claiming each description, -1: none) with the claims
    undone for every action ``group`` whose own matches ``own`` ``(n,)`` would all be claimed. When
    every description a query found fits other actions better, the action's prompt is the likelier
    culprit ("a person clean and jerk" beside "a person snatch weight lifting"), not its captions.
    With the agent signal ``agent`` ``(n,)``, own matches that are :func:`object_only` do not count:
    an action whose descriptions of someone doing it would all go elsewhere keeps them (Punch, whose
    boxers fit Boxing too, would otherwise keep only "Fruit punch in a glass")."""
    out = claimed_by.copy()
    mine = own & (group >= 0)
    if agent is not None and mine.any():
        mine &= ~object_only(agent, group)
    if not mine.any():
        return out
    size = np.bincount(group[mine], minlength=int(group.max()) + 1)
    taken = np.bincount(group[mine & (claimed_by >= 0)], minlength=size.size)
    lost = (size > 0) & (taken == size)
    out[mine & lost[group]] = -1
    return out


def object_only(agent: np.ndarray, group: np.ndarray, share: float = AGENT_SHARE,
                claimed: np.ndarray | None = None) -> np.ndarray:
    """``(n,)`` bool: descriptions that show their action's things rather than someone doing it -- an
    agent signal ``agent`` ``(n,)`` (:meth:`~actionhub.text.relevance.ActionPrompts.agent`) at or below
    ``share`` of the clearest one of the same action ``group`` ``(n,)`` (not counting those another
    action ``claimed``), and never above zero. The signal's scale differs between actions (a prompt
    such as "a person yo yo" is vaguer than "a person kayaking"), so the bar is set by the action's
    own best: "Yo-yo on a table" (0.03) is object-only beside "kid plays with a yo yo" (0.18)."""
    live = np.ones(len(agent), bool) if claimed is None else ~claimed
    best = np.zeros(int(group.max()) + 1 if len(group) else 0, np.float32)
    np.maximum.at(best, group[live], np.maximum(agent[live], 0))
    return agent <= share * best[group] if len(group) else np.zeros(0, bool)


def near_duplicates(group: np.ndarray, key: np.ndarray, unit: np.ndarray, same: float = DUPLICATE) -> np.ndarray:
    """``(n,)`` bool: descriptions that say what a better one of the same action says (the cosine of
    their unit sentence vectors ``unit`` ``(n, D)`` at least ``same``: "Yo-yo on a table." and "Yo-yo
    on a table, 4k"). ``group`` ``(n,)``: each one's action; ``key`` ``(n,)``: the sort key, best
    first, NaN for descriptions already left out (neither kept nor compared)."""
    out = np.zeros(len(group), bool)
    live = np.flatnonzero(np.isfinite(key))
    order = live[np.lexsort((-key[live], group[live]))]
    bounds = np.flatnonzero(np.diff(group[order])) + 1
    for idx in np.split(order, bounds):
        if idx.size < 2:
            continue
        sims = unit[idx] @ unit[idx].T
        np.fill_diagonal(sims, 0)
        dup = np.zeros(idx.size, bool)
        for j in range(1, idx.size):  # a description is a duplicate of a better one that is not itself one
            dup[j] = bool((sims[j, :j][~dup[:j]] >= same).any())
        out[idx] = dup
    return out


def _classmates(names: Sequence[str], actions: Sequence[int]) -> dict[int, np.ndarray]:
    """``{action: the other actions of the store that one label list names as classes with it}``
    (``names`` indices; through the shipped vocabulary's provenance). A label list's classes are
    different actions by design (UCF101's Bowling and CricketBowling, Drumming and PlayingDhol), so a
    description goes to the one it fits clearly better, whether or not that one's query found it."""
    prov = _provenance(names)
    if not prov:
        return {}
    datasets = sorted(set().union(*prov.values()))
    col = {d: j for j, d in enumerate(datasets)}
    inc = np.zeros((len(names), len(datasets)), np.float32)
    for i, a in enumerate(names):
        for d in prov.get(a, ()):
            inc[i, col[d]] = 1
    out = {}
    for g in actions:
        if inc[g].any():
            mates = np.flatnonzero(inc @ inc[g] > 0)
            out[int(g)] = mates[mates != g]
    return out


def lexical_matches(texts: Sequence[str], queries: Sequence[str]) -> Any:
    """``(len(texts), len(queries))`` sparse bool: does a text hold every content word of a query, or
    all but one of a query of two words or more (the local provider's matching: lemmas, compounds,
    agent nouns; :meth:`actionhub.dataset.collect.local.BM25Index.relaxed`)?"""
    from scipy import sparse  # noqa: PLC0415

    from actionhub.dataset.collect.local import BM25Index  # noqa: PLC0415

    index = BM25Index.build(list(texts))
    rows, cols = [], []
    for j, q in enumerate(queries):
        docs = np.union1d(index.candidates(q, "all")[0], index.relaxed(q)[0])
        rows.append(docs)
        cols.append(np.full(docs.size, j, np.int64))
    r = np.concatenate(rows) if rows else np.zeros(0, np.int64)
    c = np.concatenate(cols) if cols else np.zeros(0, np.int64)
    return sparse.csr_matrix((np.ones(r.size, bool), (r, c)), shape=(len(texts), len(queries)))


def _best_rival(rows: np.ndarray, mine: np.ndarray, person: np.ndarray, may: np.ndarray, found: Any,
                found_cols: np.ndarray, text_row: np.ndarray, listed: list[np.ndarray], listed_ok: np.ndarray,
                chunk: int = 8192) -> tuple[np.ndarray, np.ndarray]:
    """``(other (n,), other_action (n,))``: for each description ``rows`` ``(n, D)`` of action ``mine``
    ``(n,)`` (indices into ``person`` ``(A, D)``, the mean action prompts), the best action-prompt
    cosine among the actions that may claim it, and that action (-inf, -1: none). They are the
    classes ``may[mine]`` ``(A, A)`` whose query matches its text (``found[text_row]``, sparse, columns
    ``found_cols`` of ``A``) and the actions ``listed[i]`` that list it, where ``listed_ok`` allows."""
    n = len(rows)
    other = np.full(n, -np.inf, np.float32)
    which = np.full(n, -1, np.int64)
    for lo in range(0, n, chunk):
        hi = min(n, lo + chunk)
        mask = np.zeros((hi - lo, len(person)), bool)
        if found is not None:
            mask[:, found_cols] = found[text_row[lo:hi]].toarray()
            mask &= may[mine[lo:hi]]
        for i in range(lo, hi):
            if len(listed[i]):
                mask[i - lo, listed[i][listed_ok[mine[i], listed[i]]]] = True
        if not mask.any():
            continue
        sims = np.where(mask, rows[lo:hi] @ person.T, -np.inf)
        j = np.argmax(sims, axis=1)
        other[lo:hi] = sims[np.arange(hi - lo), j]
        which[lo:hi] = np.where(np.isfinite(other[lo:hi]), j, -1)
    return other, which


def _subset_listers(names: Sequence[str], aids: np.ndarray, codes: np.ndarray, relaxed: np.ndarray,
                    rows: np.ndarray | None = None) -> np.ndarray:
    """``(len(rows),)`` int64 (``rows`` default: all ``N``): for relaxed rows (a description holding all
    but one word of its query), a query made of fewer of the same words that lists it as its own ("push
    up" for a relaxed "wall pushup"), the one of most words; -1 for none."""
    from actionhub.dataset.siblings import query_words  # noqa: PLC0415

    rows = np.arange(len(aids)) if rows is None else np.asarray(rows, np.int64)
    out = np.full(len(rows), -1, np.int64)
    todo = np.flatnonzero(relaxed[rows] & (aids[rows] >= 0))
    if not todo.size:
        return out
    known = {w for a in names for w in a.split()}
    words = [frozenset(query_words(a, known)) for a in names]
    for i, listers in zip(todo, _listed_by(rows[todo], aids, codes, ~relaxed), strict=True):
        mine = words[aids[rows[i]]]
        subs = [int(g) for g in listers if words[g] < mine]
        if subs:
            out[i] = max(subs, key=lambda g: (len(words[g]), -g))
    return out


def _listed_by(rows: np.ndarray, aids: np.ndarray, codes: np.ndarray, own: np.ndarray) -> list[np.ndarray]:
    """For each of ``rows``: the other actions that list its description as their own match."""
    strict = np.flatnonzero(own & (aids >= 0))
    order = strict[np.argsort(codes[strict], kind="stable")]
    sc = codes[order]
    lo = np.searchsorted(sc, codes[rows], "left")
    hi = np.searchsorted(sc, codes[rows], "right")
    out = []
    for r, a, b in zip(rows, lo, hi, strict=True):
        others = aids[order[a:b]]
        out.append(np.unique(others[others != aids[r]]) if b > a else np.zeros(0, np.int64))
    return out


def competing_actions(names: Sequence[str], person: np.ndarray, paraphrase: float = PARAPHRASE) -> np.ndarray:
    """``(A, A)`` bool: may action ``b`` claim a description of action ``a``? Only an action of at least
    as many words ("horse race" from "horse ride", "parallel bar" from "swing"; not "swim" from
    "breast stroke"), not itself, not an action whose words hold or are held by ``a``'s (a sibling or
    a way of saying it: "play drum" and "drum", handled by the sibling rule), and not one whose prompt
    is a paraphrase of ``a``'s (cosine of the mean action prompts ``person`` ``(A, D)`` at least
    ``paraphrase``)."""
    from actionhub.dataset.siblings import query_words  # noqa: PLC0415

    names = list(names)
    known = {w for a in names for w in a.split()}
    words = [set(query_words(a, known)) for a in names]
    vocab = {w: i for i, w in enumerate(sorted(set().union(*words)))} if words else {}
    inc = np.zeros((len(names), len(vocab)), np.float32)
    for i, ws in enumerate(words):
        inc[i, [vocab[w] for w in ws]] = 1
    shared = inc @ inc.T
    size = inc.sum(axis=1)
    nested = (shared >= size[:, None] - 0.5) | (shared >= size[None, :] - 0.5)
    allowed = ~nested & ((person @ person.T) < paraphrase) & (size[None, :] >= size[:, None])
    np.fill_diagonal(allowed, False)
    return allowed


def load_report(path: str | Path) -> dict[str, Any]:
    """The ``actionhub`` report of a ranked file (``{}`` when it has none)."""
    import pyarrow.parquet as pq  # noqa: PLC0415

    meta = pq.read_schema(path).metadata or {}
    try:
        return json.loads(meta.get(b"actionhub", b"{}"))
    except ValueError:
        return {}
