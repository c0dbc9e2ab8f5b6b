"""What the web app reads a store through: derived Parquet files built once, so a page never loads the store.

The cache folder ``STORE/_index/serve-<fingerprint>/`` (under the user cache folder for a read-only
store) is built once as a staged folder (:func:`actionhub.utils.outputs.staged_folder`) and reused
until a part file of the store changes: ``ranked.parquet`` (every (action, description) with its
relevance, sorted by action then relevance, in row groups of :data:`ROW_GROUP` rows read by filter
pushdown), ``shared.parquet`` (hits by video id), ``docs.parquet`` + ``bm25.npz`` (full-text search
with the local provider's :class:`~actionhub.dataset.collect.local.BM25Index`) and ``meta.json``.
Statistics honour the curation marks and are cached per state of the curation file.
Docs: docs/app.md#large-stores-the-app-index
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import threading
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from actionhub.dataset.store import Store, StoreError, key_column
from actionhub.utils.io import atomic_write_json

__all__ = ["INDEX_VERSION", "ROW_GROUP", "StoreIndex", "open_index"]

log = logging.getLogger(__name__)

INDEX_VERSION = 1
ROW_GROUP = 4096
LOW_RELEVANCE_TOP = 100  # the paper's k: quality is judged on each action's 100 most relevant descriptions


def _fingerprint(st: Store) -> str:
    parts = []
    for p in st.parts():
        s = p.stat()
        parts.append(f"{p.parent.name}/{p.name}:{s.st_size}:{s.st_mtime_ns}")
    raw = "|".join([f"v{INDEX_VERSION}", *parts])
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


def _writable(folder: Path) -> bool:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return False
    return os.access(folder, os.W_OK)


def _cache_root(st: Store) -> Path:
    """``STORE/_index`` when it can be written, else ``$ACTIONHUB_CACHE/serve`` (or the XDG/home cache)."""
    own = st.path / "_index"
    if _writable(own):
        return own
    base = os.environ.get("ACTIONHUB_CACHE") or (Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
                                                 / "actionhub")
    return Path(base).expanduser() / "serve" / hashlib.sha256(str(st.path.resolve()).encode()).hexdigest()[:12]


def _write(table: pa.Table, path: Path, row_group: int = ROW_GROUP) -> None:
    import pyarrow.parquet as pq  # noqa: PLC0415

    pq.write_table(table, path, row_group_size=row_group, compression="zstd")


def _build(st: Store, folder: Path, say: Callable[[str], None], progress: bool) -> dict:
    """Write the derived files of ``st`` into ``folder`` (the staging folder)."""
    import tempfile  # noqa: PLC0415

    import pyarrow.parquet as pq  # noqa: PLC0415

    from actionhub.dataset.collect.local import BM25Index  # noqa: PLC0415
    from actionhub.dataset.rank import rank_store  # noqa: PLC0415

    hits = st.read_hits(["action", "provider", "video_id"])
    if hits.num_rows == 0:
        raise StoreError(f"the store {st.path} holds no descriptions yet; fill it with `actionhub collect` or "
                         "`actionhub import` first")
    say(f"indexing {st.path} for the app ({hits.num_rows:,} hits; once, then cached): relevance of every description")
    # every row, marked ones too: the app shows marks as marks (and lets them be undone); ranked into a
    # temporary folder, since rank never writes inside the store it reads
    with tempfile.TemporaryDirectory(prefix="actionhub-serve-") as tmpdir:
        tmp = Path(tmpdir) / "rank.parquet"
        rank_store(st.path, tmp, k=2 ** 31 - 1, progress=progress, curation=False)
        ranked = pq.read_table(tmp)
    # how many actions list each description
    hkey = key_column(hits.column("provider"), hits.column("video_id"))
    per = pa.table({"k": hkey}).group_by("k").aggregate([("k", "count")])
    rkey = key_column(ranked.column("provider"), ranked.column("video_id"))
    n_actions = pc.fill_null(per.column("k_count").take(pc.index_in(rkey, value_set=per.column("k"))), 1)
    ranked = ranked.append_column("n_actions", pc.cast(n_actions, pa.int32())).replace_schema_metadata(None)
    _write(ranked, folder / "ranked.parquet")
    say("  the actions sharing each description")
    order = pc.sort_indices(hits, [("video_id", "ascending"), ("provider", "ascending"), ("action", "ascending")])
    _write(hits.take(order).select(["video_id", "provider", "action"]), folder / "shared.parquet", 8 * ROW_GROUP)
    say("  the full-text (BM25) index of the descriptions")
    docs = ranked.select(["provider", "video_id", "description"])
    dkey = key_column(docs.column("provider"), docs.column("video_id"))
    uniq = pc.unique(dkey)
    docs = docs.take(pc.index_in(uniq, value_set=dkey))
    del dkey, uniq, ranked
    _write(docs, folder / "docs.parquet")
    BM25Index.build(docs.column("description")).save(folder / "bm25.npz")
    meta = {"version": INDEX_VERSION, "store": str(st.path), "hits": hits.num_rows, "descriptions": docs.num_rows,
            "note": st.note}
    atomic_write_json(folder / "meta.json", meta)
    return meta


class StoreIndex:
    """One store as the app reads it (see the module docstring); thread-safe for readers."""

    def __init__(self, store: Store, folder: Path, meta: dict):
        self.store, self.folder, self.meta = store, folder, meta
        self._lock = threading.Lock()
        self._bm25 = None
        self._stats: dict[str, Any] = {}
        self._fig6: dict[str, Any] | None = None
        import pyarrow.dataset as ds  # noqa: PLC0415

        self._ranked = ds.dataset(str(folder / "ranked.parquet"), format="parquet")
        self._shared = ds.dataset(str(folder / "shared.parquet"), format="parquet")

    @property
    def path(self) -> Path:
        return self.store.path

    @property
    def name(self) -> str:
        return self.store.path.name

    @property
    def note(self) -> str:
        return self.meta.get("note") or ""

    # -- curation ------------------------------------------------------------------------------
    def curation(self) -> Any:
        from actionhub.dataset.curation import load_curation  # noqa: PLC0415

        return load_curation(self.store)

    def _curation_key(self) -> str:
        from actionhub.dataset.curation import curation_path  # noqa: PLC0415

        try:
            s = curation_path(self.store).stat()
        except FileNotFoundError:
            return "none"
        return f"{s.st_size}-{s.st_mtime_ns}"

    # -- overview ------------------------------------------------------------------------------
    def overview(self) -> dict:
        """Statistics, Fig. 4/5 and description quality of the store as curated (cached per curation state)."""
        key = self._curation_key()
        with self._lock:
            if key in self._stats:
                return self._stats[key]
        out = self._compute_overview(key)
        with self._lock:
            self._stats = {key: out}
        return out

    def _compute_overview(self, key: str) -> dict:
        from actionhub.dataset.stats import compute_stats  # noqa: PLC0415
        from actionhub.dataset.stats_plots import write_plots  # noqa: PLC0415

        stats = compute_stats(self.store, top=40, bottom=20, curation=True)
        figs = self.folder.parent / f".{self.folder.name}.stats-{hashlib.sha1(key.encode()).hexdigest()[:10]}"
        plots = []
        for old in figs.parent.glob(f".{self.folder.name}.stats-*"):   # figures of an earlier curation state
            if old != figs:
                shutil.rmtree(old, ignore_errors=True)
        if stats["num_descriptions"]:
            try:
                if not (figs / "fig5_top_bottom.png").is_file():
                    write_plots(stats, figs)
                plots = ["fig4_histograms.png", "fig5_top_bottom.png"]
            except (ImportError, OSError) as e:
                log.warning("no Fig. 4/5 plots for %s: %s", self.path, e)
        return {"stats": stats, "figures_dir": str(figs), "figures": plots, "quality": self._quality(stats)}

    def _quality(self, stats: dict) -> dict:
        """Actions with no / few / low-relevance descriptions (:func:`actionhub.text.build.description_quality`
        over each action's 100 most relevant descriptions, marks left out)."""
        from actionhub.text.build import description_quality  # noqa: PLC0415

        t = self._ranked.to_table(columns=["action", "provider", "video_id", "score"],
                                  filter=pc.field("rank") < LOW_RELEVANCE_TOP)
        cur = self.curation()
        if cur:
            t, _ = cur.filter(t)
        per = stats["descriptions_per_action"]
        actions = sorted(per)
        codes = pc.index_in(t.column("action"), value_set=pa.array(actions, pa.string())).to_numpy(
            zero_copy_only=False)
        order = np.argsort(codes, kind="stable")
        bounds = np.searchsorted(codes[order], np.arange(len(actions) + 1))
        rows = [order[bounds[i]:bounds[i + 1]] for i in range(len(actions))]
        q = description_quality(actions, rows, t, minimum=LOW_RELEVANCE_TOP, show=20)
        q["without"] = {"count": sum(1 for a in actions if per[a] == 0),
                        "examples": [a for a in actions if per[a] == 0][:20]}
        return q

    def figure(self, name: str) -> Path | None:
        """The PNG ``name`` of the overview (Fig. 4/5) when it exists; None for any other name."""
        ov = self.overview()
        if name not in ov["figures"]:
            return None
        p = Path(ov["figures_dir"]) / name
        return p if p.is_file() else None

    def actions(self) -> list[str]:
        return sorted(self.overview()["stats"]["descriptions_per_action"])

    def find_actions(self, text: str, limit: int = 50) -> list[tuple[str, int]]:
        """Actions whose name holds ``text`` (case-insensitive), exact match first, with their counts."""
        per = self.overview()["stats"]["descriptions_per_action"]
        t = " ".join(text.lower().split())
        hits = [a for a in per if t in a.lower()]
        hits.sort(key=lambda a: (a.lower() != t, not a.lower().startswith(t), a))
        return [(a, per[a]) for a in hits[:limit]]

    # -- one action ----------------------------------------------------------------------------
    def count(self, action: str) -> int:
        """Rows of ``action`` in the ranked view (all its descriptions, marked ones included)."""
        return self._ranked.count_rows(filter=pc.field("action") == action)

    def action_rows(self, action: str, offset: int, limit: int) -> list[dict]:
        """Rows ``offset .. offset+limit-1`` of ``action`` by relevance, each with the other actions that
        list the same description (``shared``) and whether a curation mark throws it out (``mark``)."""
        flt = (pc.field("action") == action) & (pc.field("rank") >= offset) & (pc.field("rank") < offset + limit)
        t = self._ranked.to_table(filter=flt).sort_by("rank")
        rows = t.to_pylist()
        shared = self.sharing([(r["provider"], r["video_id"]) for r in rows if r["n_actions"] > 1])
        cur = self.curation()
        marks = _marks_by_key(cur, action)
        for r in rows:
            key = (r["provider"], r["video_id"])
            r["shared"] = [a for a in shared.get(key, []) if a != action]
            r["mark"] = marks.get(key)
            if r["score"] is not None and r["score"] != r["score"]:
                r["score"] = None
        return rows

    def top(self, action: str, k: int) -> pa.Table:
        """The ``k`` most relevant descriptions of ``action`` that no curation mark throws out, in
        ``actionhub rank``'s columns (ranks renumbered from 0)."""
        cols = ["action", "rank", "score", "provider", "video_id", "description"]
        cur = self.curation()
        t = self._ranked.to_table(columns=cols, filter=(pc.field("action") == action)
                                  & (pc.field("rank") < k + len(cur.marks)))
        if cur:
            t, _ = cur.filter(t)
        t = t.sort_by("rank").slice(0, k)
        return t.set_column(1, "rank", pa.array(np.arange(t.num_rows, dtype=np.int32)))

    def sharing(self, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], list[str]]:
        """``{(provider, video_id): [actions]}`` for ``keys``, from the video-sorted hits."""
        if not keys:
            return {}
        ids = sorted({v for _, v in keys})
        t = self._shared.to_table(filter=pc.field("video_id").isin(ids))
        want = set(keys)
        out: dict[tuple[str, str], list[str]] = {}
        for v, p, a in zip(t.column("video_id").to_pylist(), t.column("provider").to_pylist(),
                           t.column("action").to_pylist(), strict=True):
            if (p, v) in want:
                out.setdefault((p, v), []).append(a)
        return out

    def providers(self, action: str) -> dict[str, int]:
        t = self._ranked.to_table(columns=["provider"], filter=pc.field("action") == action)
        if t.num_rows == 0:
            return {}
        g = t.group_by("provider").aggregate([("provider", "count")])
        return dict(zip(g.column("provider").to_pylist(), g.column("provider_count").to_pylist(), strict=True))

    # -- full-text search ----------------------------------------------------------------------
    def search(self, query: str, match: str = "all", limit: int = 200) -> dict:
        """The ``limit`` best BM25 matches of ``query`` over every description, grouped by the actions that
        list them (actions ordered by their best match)."""
        from actionhub.dataset.collect.local import BM25Index, top_order  # noqa: PLC0415

        with self._lock:
            if self._bm25 is None:
                self._bm25 = BM25Index.load(self.folder / "bm25.npz")
            index = self._bm25
        if index is None:
            raise StoreError(f"the search index of {self.path} is unreadable; delete {self.folder} and restart")
        docs, scores = index.candidates(query, match)
        order = top_order(scores, limit)
        rows = self._docs(docs[order])
        for r, s in zip(rows, scores[order], strict=True):
            r["score"] = round(float(s), 3)
        shared = self.sharing([(r["provider"], r["video_id"]) for r in rows])
        groups: dict[str, list[dict]] = {}
        for r in rows:
            for a in shared.get((r["provider"], r["video_id"]), []):
                groups.setdefault(a, []).append(r)
        ordered = sorted(groups.items(), key=lambda kv: (-kv[1][0]["score"], kv[0]))
        return {"query": query, "match": match, "matches": int(len(docs)), "shown": len(rows),
                "groups": [{"action": a, "rows": rs} for a, rs in ordered]}

    def _docs(self, idx: np.ndarray) -> list[dict]:
        """Rows ``idx`` of docs.parquet (provider, video_id, description), in that order, reading only their
        row groups."""
        import pyarrow.parquet as pq  # noqa: PLC0415

        if len(idx) == 0:
            return []
        pf = pq.ParquetFile(self.folder / "docs.parquet")
        starts = np.cumsum([0] + [pf.metadata.row_group(i).num_rows for i in range(pf.metadata.num_row_groups)])
        groups = np.searchsorted(starts, idx, side="right") - 1
        wanted = sorted(set(groups.tolist()))
        t = pf.read_row_groups(wanted)
        base = {g: int(sum(pf.metadata.row_group(w).num_rows for w in wanted[:i])) for i, g in enumerate(wanted)}
        local = np.array([base[g] + int(i - starts[g]) for g, i in zip(groups, idx, strict=True)], dtype=np.int64)
        return t.take(pa.array(local)).to_pylist()

    # -- Fig. 6 ----------------------------------------------------------------------------------
    def neighbours(self, action: str, top: int = 5) -> dict | None:
        """Fig. 6 for ``action``: its nearest actions by name and by description centre (the first 100
        descriptions by relevance); None when the action is not compared. Computed once per store."""
        with self._lock:
            fig6 = self._fig6
        if fig6 is None:
            fig6 = self._compute_fig6(top)
            with self._lock:
                self._fig6 = fig6
        return fig6.get(action)

    def _compute_fig6(self, top: int) -> dict:
        from actionhub.dataset.analysis import description_vectors, neighbour_tables  # noqa: PLC0415

        path = self.folder.parent / f".{self.folder.name}.fig6.json"
        if path.is_file():
            try:
                return json.loads(path.read_text(encoding="utf-8"))
            except ValueError:
                pass
        from actionhub.dataset.analysis import AnalysisError  # noqa: PLC0415

        v = description_vectors(str(self.folder / "ranked.parquet"), per_action=100, progress=False, note=self.note)
        out: dict[str, Any] = {}
        try:
            tables = neighbour_tables(v, top)
        except AnalysisError as e:   # fewer than two actions to compare
            log.info("no Fig. 6 neighbours for %s: %s", self.path, e)
            tables = None
        for i, a in enumerate(v.actions if tables else []):
            if v.valid[i]:
                out[a] = {by: [[v.actions[j], round(float(c), 3)] for j, c in
                               zip(tables[f"{key}_idx"][i], tables[f"{key}_sim"][i], strict=True) if j >= 0]
                          for by, key in (("name", "name"), ("descriptions", "desc"))}
        try:
            atomic_write_json(path, out)
        except OSError:
            pass
        return out


def _marks_by_key(cur: Any, action: str) -> dict[tuple[str, str], dict]:
    out = {}
    for m in cur.bad:
        if m["action"] in (action, None):
            out[(m["provider"], m["video_id"])] = m
    return out


def open_index(store: str | os.PathLike[str] | Store, say: Callable[[str], None] = log.info,
               progress: bool = False) -> StoreIndex:
    """The :class:`StoreIndex` of ``store``, built first when the store changed since the last build."""
    from actionhub.utils.lock import output_lock  # noqa: PLC0415
    from actionhub.utils.outputs import staged_folder  # noqa: PLC0415

    st = store if isinstance(store, Store) else Store(store)
    root = _cache_root(st)
    folder = root / f"serve-{_fingerprint(st)}"
    with output_lock(folder, what="app index"):   # one builder: a second server starting meanwhile is refused
        if not (folder / "meta.json").is_file():
            with staged_folder(folder, kind="serve-index", overwrite=True, what="app index") as staging:
                _build(st, staging, say, progress)
        for old in root.glob("serve-*"):   # earlier states of the store: caches nobody reads any more
            if old != folder and old.is_dir():
                shutil.rmtree(old, ignore_errors=True)
    meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    return StoreIndex(st, folder, meta)
