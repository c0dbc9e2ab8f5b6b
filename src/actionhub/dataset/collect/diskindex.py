"""The local provider's out-of-core BM25 index: one segment per corpus shard, searched as one index,
on this machine or on the workers of a Dask cluster.

``.<corpus>.bm25-<key>/`` holds ``manifest.json`` and one segment per shard (:mod:`actionhub.dataset.collect.segment`).
:meth:`DiskBM25Index.open` (re)builds, with one line saying why, every segment not built from its shard as it is now
or not whole, and removes those of shards gone; builds run here or as Dask tasks (``backend``). N, the mean caption
length and every df are combined from the segments, so weights are a single index's, bit for bit
(:mod:`actionhub.dataset.collect.bm25`): :meth:`candidates` searches here (memory-mapped, pages read handed back to
the OS), :meth:`search_many` sends query batches to the cluster; either way results equal
:class:`actionhub.dataset.collect.local.BM25Index`'s. Docs: docs/dataset.md#at-corpus-scale-out-of-core
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Optional, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from actionhub.dataset.collect import bm25
from actionhub.dataset.collect.corpus import CorpusText
from actionhub.dataset.collect.segment import SegmentError, build_segment, open_segment, read_footer, shard_identity
from actionhub.dataset.collect.variants import VariantMatching

__all__ = ["DiskBM25Index", "SegmentJob", "ensure_segment", "check_segment", "QueryTask", "answer_queries",
           "INDEX_FORMAT"]

log = logging.getLogger(__name__)

INDEX_FORMAT = 1
MANIFEST = "manifest.json"
TASK_QUERIES = 32  # queries of one task on a cluster (a segment answers a batch in several tasks, for every worker)
RELEASE_BYTES = 256 << 20  # pages read from the segments before they are handed back to the OS (at least;
#                           a quarter of the memory budget)


@dataclass(frozen=True)
class SegmentJob:
    """Make sure the segment of one corpus shard is current (a work item: runs on any worker)."""

    shard: str
    segment: str
    text: CorpusText
    id_column: str
    caption_column: str
    fmt: Optional[str]
    budget: Optional[int]  # bytes; None: the default share of the machine that runs it
    listed: bool  # the manifest lists the shard (so a missing segment was lost, not never built)


def ensure_segment(job: SegmentJob, progress: Any = None, build: bool = True) -> dict[str, Any]:
    """Reuse the job's segment when it is intact (every checksum right) and of the shard as it is
    now, else (re)build it (``progress(fraction)`` as it goes) -- or, with ``build=False``, only say so.

    Returns ``{"shard", "segment", "built", "why" (why a segment there was not usable, or None),
    "usable", "docs", "total_length", "vocab" (Arrow strings), "df" (int64)}`` (the last four only
    when ``usable``).
    """
    from actionhub.utils.memory import default_budget  # noqa: PLC0415

    shard, path = Path(job.shard), Path(job.segment)
    why: Optional[str] = None
    seg: Any = None
    try:
        seg = open_segment(path, verify=True)
        if not _same_source(seg.meta, job):
            why = "the corpus shard changed since it was indexed"
            seg.close()
            seg = None
    except SegmentError as e:
        if job.listed or str(e) != "missing":
            why = f"its index segment is {e}"
    built = seg is None
    out = {"shard": job.shard, "segment": job.segment, "built": built and build, "why": why, "usable": not built
           or build}
    if not out["usable"]:
        return out
    if built:
        build_segment(shard, path, job.text, job.id_column, job.caption_column, job.fmt,
                      job.budget if job.budget is not None else default_budget(), progress)
        seg = open_segment(path)
    try:
        return {**out, "docs": seg.num_docs, "total_length": seg.total_length, "vocab": seg.vocab(),
                "df": np.array(seg.a["df"], np.int64)}
    finally:
        seg.close()


def check_segment(job: SegmentJob) -> dict[str, Any]:
    """:func:`ensure_segment` that builds nothing (a work item: a segment checked without the lock)."""
    return ensure_segment(job, build=False)


def _same_source(meta: dict[str, Any], job: SegmentJob) -> bool:
    """The segment (its footer ``meta``) was built from the job's shard as it is now, same columns."""
    return meta["shard"] == shard_identity(Path(job.shard)) and \
        (meta["id_column"], meta["caption_column"]) == (job.id_column, job.caption_column)


@dataclass(frozen=True)
class QueryTask:
    """A batch of queries for one segment (a work item). ``queries``: per query its key, its terms
    with their corpus-wide idf and document frequency, its :class:`~.variants.QueryPlan` in
    positions of those terms, and how many of its best results to return."""

    segment: str
    offset: int  # corpus position of the segment's first caption
    match: str
    k1: float
    b: float
    avgdl: float
    queries: tuple[tuple[str, tuple[str, ...], tuple[float, ...], tuple[float, ...], Any, int], ...]


_OPEN: dict[str, Any] = {}  # segments opened by answer_queries in this process (a worker's cache)


def answer_queries(task: QueryTask) -> list[dict[str, Any]]:
    """The best results of each query of ``task`` in its segment: per query ``{"key", "docs" (corpus
    positions), "scores", "count" (matches in the segment)}``."""
    seg = _OPEN.get(task.segment)
    if seg is None or seg.meta["shard"] != _footer_shard(task.segment):  # first use, or rebuilt since
        seg = _OPEN[task.segment] = open_segment(task.segment)
    terms = pa.array([t for _, ts, *_ in task.queries for t in ts], pa.string())
    local = pc.fill_null(pc.index_in(terms, value_set=seg.vocab()), -1).to_numpy(zero_copy_only=False)
    out, at = [], 0
    try:
        for key, ts, idfs, dfs, plan, need in task.queries:
            ids = local[at:at + len(ts)]
            at += len(ts)
            docs, sc = _segment_candidates(seg, plan, ids, idfs, np.asarray(dfs), task.match, task.k1, task.b,
                                           task.avgdl)
            order = bm25.top_order(sc, need)
            out.append({"key": key, "docs": docs[order] + task.offset, "scores": sc[order], "count": int(docs.size)})
    finally:
        seg.release()
    return out


def _footer_shard(path: str) -> Any:
    try:
        return read_footer(Path(path))[0]["shard"]
    except SegmentError:
        return None


def _segment_candidates(seg: Any, plan: Any, local: Any, idfs: Any, dfs: np.ndarray, match: str, k1: float,
                        b: float, avgdl: float) -> tuple[np.ndarray, np.ndarray]:
    """Candidates of one query in one segment. ``plan``: its :class:`~.variants.QueryPlan` in some
    numbering of terms; ``local``, ``idfs``, ``dfs``: per term of that numbering, its id in the
    segment (negative where the segment lacks it), corpus-wide idf and document frequency."""
    from actionhub.dataset.collect.variants import run_plan  # noqa: PLC0415

    def posting(t: int) -> bm25.Posting:
        lt = int(local[t])
        if lt < 0:
            return bm25.Posting(np.zeros(0, np.int64), lambda at: np.zeros(0 if at is None else len(at), np.float32))
        return seg.postings([lt], [idfs[t]], k1, b, avgdl)[0]

    return run_plan(plan, posting, match, dfs)


class DiskBM25Index(VariantMatching):
    """BM25 over a corpus of one or many shards, out of core (see the module docstring); the same
    search interface as :class:`actionhub.dataset.collect.local.BM25Index`."""

    def __init__(self, path: Path, infos: list[dict[str, Any]], text: CorpusText, k1: float, b: float,
                 release_bytes: int = RELEASE_BYTES):
        self.path, self.text, self.k1, self.b = path, text, k1, b
        self.release_bytes = release_bytes
        self.segment_paths = [r["segment"] for r in infos]
        sizes = np.array([r["docs"] for r in infos], np.int64)
        self.offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        self.n = int(self.offsets[-1])
        self.avgdl = bm25.mean_length(sum(int(r["total_length"]) for r in infos), self.n)
        vocabs = [r["vocab"] for r in infos]
        enc = pc.dictionary_encode(pa.chunked_array(vocabs, pa.string()).combine_chunks()) if vocabs else None
        self.vocab: list[str] = enc.dictionary.to_pylist() if enc is not None else []
        self.term_id = {t: i for i, t in enumerate(self.vocab)}
        gids = enc.indices.to_numpy(zero_copy_only=False).astype(np.int64) if enc is not None else np.zeros(0, np.int64)
        dfs = np.concatenate([r["df"] for r in infos]) if infos else np.zeros(0, np.int64)
        self.df = np.bincount(gids, weights=dfs, minlength=len(self.vocab)).astype(np.float64)
        self.idf = bm25.idf(self.df, self.n)
        self._gids, at = [], 0
        for v in vocabs:
            self._gids.append(gids[at:at + len(v)])
            at += len(v)
        self._segments: list[Any] = [None] * len(infos)
        self._local: list[Optional[np.ndarray]] = [None] * len(infos)
        self.from_cache = bool(infos) and not any(r["built"] for r in infos)

    # ------------------------------------------------------------------------------------- opening
    @classmethod
    def open(cls, corpus: str | os.PathLike[str], text: CorpusText, cache_dir: str | os.PathLike[str] | None = None,
             id_column: str = "videoid", caption_column: str = "name", fmt: Optional[str] = None,
             k1: float = 1.2, b: float = 0.75, budget: Optional[int] = None, backend: Any = None,
             progress: bool = False) -> "DiskBM25Index":
        """The index of ``corpus`` (a file, folder or glob; :mod:`actionhub.dataset.collect.corpus`),
        built or brought up to date first; ``text`` reads its shards and makes terms (the local
        provider's :data:`actionhub.dataset.collect.local.TEXT`). ``budget``: bytes a segment build may hold (default: a
        share of the machine, :func:`actionhub.utils.memory.default_budget`). ``backend``: where
        segments are built (an :mod:`actionhub.utils.parallel` backend; default in this process)."""
        from actionhub.dataset.collect.corpus import corpus_shards, index_dir  # noqa: PLC0415
        from actionhub.utils.errors import disk_full_as, disk_full_message  # noqa: PLC0415
        from actionhub.utils.io import atomic_write_json  # noqa: PLC0415
        from actionhub.utils.lock import output_lock  # noqa: PLC0415
        from actionhub.utils.memory import default_budget  # noqa: PLC0415
        from actionhub.utils.parallel import InProcessBackend  # noqa: PLC0415

        shards = corpus_shards(corpus, text, fmt)
        path = index_dir(corpus, cache_dir, (id_column, caption_column, fmt, INDEX_FORMAT))
        listed = _read_manifest(path)
        jobs = [SegmentJob(str(s), str(path / _segment_name(s)), text, id_column, caption_column, fmt, budget,
                           str(s) in listed) for s in shards]
        be = backend if backend is not None else InProcessBackend()
        # every segment that looks current is verified first, without the lock (reading needs none);
        # what is stale, broken or gone is then rebuilt or removed under the lock
        looks = [_looks_current(j) for j in jobs]
        checked = _ensure_all(be, [j for j, ok in zip(jobs, looks, strict=True) if ok], build=False)
        found = {r["shard"]: r for r in checked if r["usable"]}
        todo = [j for j in jobs if j.shard not in found]
        gone = sorted(set(listed) - {j.shard for j in jobs})
        if todo or set(listed) != {j.shard for j in jobs}:  # something to build, or shards new or gone
            kept = "the segments finished so far are kept: free some space and rerun the same command to go on"
            with disk_full_as(lambda e: disk_full_message(path, e, kept)), \
                    output_lock(path, what="BM25 index", folder=True):  # the folder: made here, removed if left empty
                for shard in gone:
                    log.warning("the corpus shard %s is gone since the index was built: its captions are no longer "
                                "searched", shard)
                    Path(listed[shard]).unlink(missing_ok=True)
                if todo and not listed:
                    log.info("indexing %d corpus shard(s) of %s into %s", len(todo), corpus, path)
                _remove_leftovers(path)
                try:
                    built = _ensure_all(be, todo, build=True, progress=progress, had_index=bool(listed))
                    found.update((r["shard"], r) for r in built)
                finally:
                    _remove_leftovers(path)  # of builds that died (a worker lost mid-segment)
                atomic_write_json(path / MANIFEST, {
                    "format": "actionhub-bm25-index", "version": INDEX_FORMAT, "corpus": str(corpus),
                    "id_column": id_column, "caption_column": caption_column, "corpus_format": fmt,
                    "shards": [{"shard": j.shard, "segment": Path(j.segment).name, "docs": found[j.shard]["docs"]}
                               for j in jobs]})
        return cls(path, [found[j.shard] for j in jobs], text, k1, b,
                   max(RELEASE_BYTES, (budget or default_budget()) // 4))

    # ------------------------------------------------------------------------------------- searching
    @property
    def num_docs(self) -> int:
        return self.n

    def query_words(self, query: str) -> list[str]:
        return self.text.query_words(query)

    def _segment(self, i: int) -> Any:
        if self._segments[i] is None:
            self._segments[i] = open_segment(self.segment_paths[i])
            local = np.full(len(self.vocab), -1, np.int64)
            local[self._gids[i]] = np.arange(self._gids[i].size)
            self._local[i] = local
        return self._segments[i]

    def candidates(self, query: str, match: str = "all") -> tuple[np.ndarray, np.ndarray]:
        """Captions matching ``query`` (sorted corpus positions, int64) and their BM25 scores (float32)."""
        plan = self.query_plan(query, match)
        if plan is None:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        docs, scores = [], []
        for i in range(len(self.segment_paths)):
            seg = self._segment(i)
            d, s = _segment_candidates(seg, plan, self._local[i], self.idf, self.df, match, self.k1, self.b,
                                       self.avgdl)
            docs.append(d + self.offsets[i])
            scores.append(s)
        self._release()
        return np.concatenate(docs), np.concatenate(scores)

    def term_docs(self, t: int) -> np.ndarray:
        """Corpus positions of the captions holding term ``t`` (sorted)."""
        out = []
        for i in range(len(self.segment_paths)):
            seg = self._segment(i)
            lt = int(self._local[i][t])
            if lt >= 0:
                out.append(np.asarray(seg.postings([lt], [0.0], self.k1, self.b, self.avgdl)[0].docs, np.int64)
                           + self.offsets[i])
        self._release()
        return np.concatenate(out) if out else np.zeros(0, np.int64)

    def scores(self, query: str, match: str = "any") -> np.ndarray:
        """BM25 score of every caption for ``query``: ``(N,)`` float32, 0 where it does not match."""
        out = np.zeros(self.n, np.float32)
        docs, sc = self.candidates(query, match)
        out[docs] = sc
        return out

    def search(self, query: str, k: int, offset: int = 0, match: str = "any") -> tuple[np.ndarray, np.ndarray]:
        """Captions ranked ``offset .. offset+k-1`` for ``query``, best first (ties in corpus order)."""
        docs, sc = self.candidates(query, match)
        sel = bm25.top_order(sc, offset + k)[offset:offset + k]
        return docs[sel], sc[sel]

    def documents(self, docs: np.ndarray) -> tuple[pa.Array, pa.Array]:
        """``(video ids, captions)`` of the captions at corpus positions ``docs`` (in that order)."""
        docs = np.asarray(docs, np.int64)
        seg_of = np.searchsorted(self.offsets, docs, side="right") - 1
        order = np.argsort(seg_of, kind="stable")
        ids, caps = [], []
        for i in np.unique(seg_of):
            sel = order[seg_of[order] == i]
            a, c = self._segment(int(i)).documents(docs[sel] - self.offsets[i])
            ids.append(a)
            caps.append(c)
        self._release()
        back = pa.array(np.argsort(order, kind="stable")) if docs.size else pa.array([], pa.int64())
        if not ids:
            return pa.array([], pa.string()), pa.array([], pa.string())
        return (pa.concat_arrays(ids).take(back), pa.concat_arrays(caps).take(back))

    def _release(self) -> None:
        """Hand the segments' pages back once this process holds more than ``release_bytes`` of
        them: measured (the mapped pages resident, /proc), or else estimated from what was read (an
        estimate misses the scattered pages that lookups of caption lengths and intersections touch:
        8.3 GB resident at 50M captions with a 1.5 GB threshold)."""
        from actionhub.utils.memory import mapped_resident_bytes  # noqa: PLC0415

        held = mapped_resident_bytes()
        if held < 0:
            held = sum(s.touched for s in self._segments if s is not None)
        if held > self.release_bytes:
            for s in self._segments:
                if s is not None:
                    s.release()

    def search_many(self, items: Sequence[tuple[str, int]], match: str, backend: Any) -> dict[str, dict[str, Any]]:
        """The best ``need`` results of each ``(query, need)`` on ``backend``'s workers: a task per
        segment and group of :data:`TASK_QUERIES` queries, merged here. Per query ``{"docs",
        "scores", "count"}``: corpus positions and scores, best first, ties in corpus order (what
        :meth:`search` returns), and how many captions match; :meth:`documents` reads their texts."""
        wanted: dict[str, int] = {}
        for q, need in items:  # a query asked twice: once, for the larger need
            wanted[q] = max(need, wanted.get(q, 0))
        out: dict[str, dict[str, Any]] = {}
        live = []
        for q, need in wanted.items():
            plan = self.query_plan(q, match)
            out[q] = _empty()
            if plan is not None and need > 0:
                from actionhub.dataset.collect.variants import plan_terms, remap_plan  # noqa: PLC0415

                ids = plan_terms(plan)
                pos = {t: i for i, t in enumerate(ids)}
                live.append((q, tuple(self.vocab[t] for t in ids), tuple(float(v) for v in self.idf[ids]),
                             tuple(float(v) for v in self.df[ids]), remap_plan(plan, pos.__getitem__), int(need)))
        if not live:
            return out
        need_of = {q: item[-1] for q, *item in live}
        tasks = [QueryTask(p, int(self.offsets[i]), match, self.k1, self.b, self.avgdl, tuple(live[g:g + TASK_QUERIES]))
                 for g in range(0, len(live), TASK_QUERIES) for i, p in enumerate(self.segment_paths)]
        for _, answers in backend.map(answer_queries, tasks):
            for a in answers:
                out[a["key"]] = _merge(out[a["key"]], a, need_of[a["key"]])
        return out

    def close(self) -> None:
        for s in self._segments:
            if s is not None:
                s.close()
        self._segments = [None] * len(self._segments)


def _empty() -> dict[str, Any]:
    return {"docs": np.zeros(0, np.int64), "scores": np.zeros(0, np.float32), "count": 0}


def _merge(a: dict[str, Any], b: dict[str, Any], need: int) -> dict[str, Any]:
    """The best ``need`` of two partial results (score, then corpus position)."""
    docs = np.concatenate([a["docs"], b["docs"]])
    scores = np.concatenate([a["scores"], b["scores"]])
    order = np.lexsort((docs, -scores.astype(np.float64)))[:need]
    return {"docs": docs[order], "scores": scores[order], "count": a["count"] + b["count"]}


def _segment_name(shard: Path) -> str:
    return f"seg-{hashlib.sha256(str(shard).encode()).hexdigest()[:16]}.bin"


def _read_manifest(path: Path) -> dict[str, str]:
    """Shard -> segment path of the shards the index was built from (empty: none, or unreadable)."""
    try:
        m = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
        return {s["shard"]: str(path / s["segment"]) for s in m["shards"]}
    except (OSError, ValueError, KeyError, TypeError):
        return {}


def _remove_leftovers(path: Optional[Path]) -> None:
    """Remove the temporary files (hidden names) of builds that were killed, while holding the lock."""
    if path is not None:
        for f in path.glob(".*"):
            f.unlink(missing_ok=True)


def _looks_current(job: SegmentJob) -> bool:
    """The segment's footer says it was built from the shard as it is now (no checksums: cheap)."""
    try:
        return _same_source(read_footer(Path(job.segment))[0], job)
    except (SegmentError, OSError, KeyError, TypeError):
        return False


def _ensure_all(be: Any, jobs: list[SegmentJob], build: bool, progress: bool = False, had_index: bool = False
                ) -> list[dict[str, Any]]:
    """:func:`ensure_segment` (``build``) or :func:`check_segment` for every job on ``be``, results in
    job order; building, one line for each segment rebuilt because it was not usable, and for each
    new shard of an index built before (``had_index``)."""
    from actionhub.utils.parallel import InProcessBackend  # noqa: PLC0415
    from actionhub.utils.progress import progress_bar  # noqa: PLC0415

    size = {j.shard: Path(j.shard).stat().st_size for j in jobs} if build else {}
    bar = progress_bar(enabled=progress and bool(size), total=sum(size.values()), desc="index corpus", unit="B",
                       unit_scale=True)
    here = isinstance(be, InProcessBackend)
    shown: dict[str, int] = {}

    def show(shard: str, upto: float) -> None:  # the bar at ``upto`` bytes of ``shard``
        n = int(min(upto, size.get(shard, 0))) - shown.get(shard, 0)
        if n > 0:
            bar.update(n)
            shown[shard] = shown.get(shard, 0) + n

    def step(shard: str) -> Any:
        done = [0.0]

        def advance(fraction: float) -> None:
            done[0] += fraction
            show(shard, done[0] * size.get(shard, 0))
        return advance

    infos: list[Any] = [None] * len(jobs)
    try:
        if not build:
            results: Iterable[tuple[int, dict[str, Any]]] = be.map(check_segment, jobs)
        elif here:
            results = ((i, ensure_segment(j, step(j.shard))) for i, j in enumerate(jobs))
        else:
            results = be.map(ensure_segment, jobs)
        for i, r in results:
            if r["built"] and r["why"]:
                log.warning("re-indexed the corpus shard %s: %s", r["shard"], r["why"])
            elif r["built"] and not jobs[i].listed and had_index:
                log.warning("indexed the new corpus shard %s", r["shard"])
            if r["built"]:
                show(r["shard"], size.get(r["shard"], 0))
            infos[i] = r
    finally:
        bar.close()
    return infos
