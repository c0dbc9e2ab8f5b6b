"""The ActionHub description store: every description once, and every action's own list of videos.

A video found by the queries of several actions (a "ride camel" clip that also matches "ride
horse") is one *description* and several *hits*: each action keeps every video its query
returned, with the rank the provider gave it, so what an action gets never depends on the order
in which the queries ran.

Layout of a store directory ``STORE/`` (schema version 2)::

    descriptions/part-<UTC time>-<random>.parquet  one row per description (:data:`DESCRIPTION_SCHEMA`),
                                                   unique by (provider, video_id)
    hits/part-<UTC time>-<random>.parquet          one row per (action, video) (:data:`HIT_SCHEMA`),
                                                   unique by (action, provider, video_id)
    _state/store.json                  {"schema_version": 2, "created_at", "note", "collections"}
    _state/collect-<provider>.json     resume state of `actionhub collect` (actionhub.dataset.collect.runner)
    _state/budget-<provider>.json      request ledger of a provider (actionhub.dataset.collect.base.Budget)
    _state/compact.json                journal of an unfinished compaction (see :meth:`Store.compact`)
    _state/migrate.json                journal of an unfinished migration from schema version 1
    _index/                            caches (e.g. BM25 indexes), never read as data

One writer at a time holds the store's lock (``.STORE.lock`` beside it, :mod:`actionhub.utils.lock`).
Each part file is written atomically; a batch writes its descriptions part before its hits
part, so a crash in between leaves at most descriptions that no action lists yet (invisible to
every reader; the rerun adds their hits). ``pyarrow.dataset.dataset(STORE / "hits")`` and
``(STORE / "descriptions")`` read the tables directly (names starting with ``_`` or ``.``,
such as unfinished atomic writes, are ignored). :meth:`Store.read` gives the per-action view:
hits joined with their descriptions (:data:`SCHEMA`).

Columns: ``action`` (the query the video was returned for), ``rank`` (int32, the provider's
0-based rank of the video for that query; for imports the order in the file), ``provider``,
``video_id``, ``description``, ``num_sentences`` (int32, :func:`count_sentences`) and
``collected_at`` (ISO-8601 UTC, e.g. ``2024-05-01T12:00:00Z``).

Stores of schema version 1 (one ``part-*.parquet`` table in ``STORE/`` whose rows belonged to
the first query that found a video) are migrated in place when opened: every row becomes one
description and one hit, crash-safely (a journal names the old and the new files; a crash at
any point leaves either the old layout or the new one, and the next opening finishes the job).
Their collection cursors are set aside (``collect-<provider>.json.v1``), so collecting again
starts every query over and gives each action the videos an earlier query took from it.

Sentences are counted by a simple vectorised rule (:func:`count_sentences`): every run of
``.``, ``!`` or ``?`` (optionally followed by closing quotes/brackets) that is followed by
white space or the end of the text ends a sentence, and trailing text without a terminator is
one more sentence. Decimal points ("3.5") do not count; abbreviations followed by a space
("e.g. ", "Mr. ") do.
"""
from __future__ import annotations

import contextlib
import datetime as _dt
import hashlib
import logging
import os
import uuid
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from actionhub.utils import jsontext
from actionhub.utils.errors import UserError
from actionhub.utils.io import atomic_path, atomic_write_json

__all__ = [
    "SCHEMA",
    "COLUMNS",
    "DESCRIPTION_SCHEMA",
    "HIT_SCHEMA",
    "STORE_SCHEMA_VERSION",
    "StoreError",
    "Store",
    "read_store",
    "append",
    "count_sentences",
    "utc_now",
    "synthetic_video_id",
    "key_column",
]

log = logging.getLogger(__name__)

_TYPES = {"action": pa.string(), "rank": pa.int32(), "provider": pa.string(), "video_id": pa.string(),
          "description": pa.string(), "num_sentences": pa.int32(), "collected_at": pa.string()}


def _schema(*names: str) -> pa.Schema:
    return pa.schema([(n, _TYPES[n]) for n in names])


DESCRIPTION_SCHEMA = _schema("provider", "video_id", "description", "num_sentences", "collected_at")
HIT_SCHEMA = _schema("action", "provider", "video_id", "rank")
#: the per-action view of :meth:`Store.read`: one row per (action, description)
SCHEMA = _schema("action", "rank", "provider", "video_id", "description", "num_sentences", "collected_at")
COLUMNS = tuple(SCHEMA.names)
STORE_SCHEMA_VERSION = 2
_V1_SCHEMA = _schema("action", "provider", "video_id", "description", "num_sentences", "collected_at")
_KINDS = ("descriptions", "hits")
_SCHEMAS = {"descriptions": DESCRIPTION_SCHEMA, "hits": HIT_SCHEMA}
_SEP = "\x1f"  # joins key parts; never in a provider name, an action or a video id worth keeping

_SENTENCE_END = r"[.!?]+['\")\]]*(\s|$)"
_ENDS_WITH_TERMINATOR = r"[.!?]['\")\]]*$"


class StoreError(UserError):
    """A store directory or an input file for it is missing or malformed."""


def utc_now() -> str:
    """The current time as ISO-8601 UTC with a ``Z`` suffix, to the second."""
    return _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def count_sentences(texts: Any) -> pa.Array:
    """Sentences per text (int32), vectorised; see the module docstring for the rule.

    ``texts``: a pyarrow string array or chunked array, or a sequence of str (None counts 0).
    ``"A man runs. He jumps"`` -> 2, ``"Slow motion."`` -> 1, ``"3.5 km run"`` -> 1, ``""`` -> 0.
    """
    if isinstance(texts, pa.ChunkedArray):
        texts = texts.combine_chunks()
    if not isinstance(texts, pa.Array):
        texts = pa.array(list(texts), type=pa.string())
    t = pc.utf8_trim_whitespace(pc.fill_null(texts, ""))
    ends = pc.count_substring_regex(t, _SENTENCE_END)
    nonempty = pc.greater(pc.utf8_length(t), 0)
    trailing = pc.and_(nonempty, pc.invert(pc.match_substring_regex(t, _ENDS_WITH_TERMINATOR)))
    return pc.cast(pc.add(ends, pc.cast(trailing, pa.int32())), pa.int32())


def synthetic_video_id(action: str, description: str) -> str:
    """A stable id for a description without one: sha1 of ``action + "\\x1f" + description``, 20 hex digits."""
    return hashlib.sha1(f"{action}\x1f{description}".encode("utf-8")).hexdigest()[:20]


def key_column(*columns: Any) -> pa.Array:
    """One string key per row from several string columns (``provider``, ``video_id``, ...)."""
    cols = [c.combine_chunks() if isinstance(c, pa.ChunkedArray) else c for c in columns]
    if len(cols) == 1:
        return pc.cast(cols[0], pa.string())
    return pc.binary_join_element_wise(*[pc.cast(c, pa.string()) for c in cols], _SEP)


def _first_new(keys: pa.Array, known: pa.Array | None) -> np.ndarray:
    """(n,) bool: the first occurrence of each key within ``keys`` that is not in ``known``."""
    n = len(keys)
    if n == 0:
        return np.zeros(0, bool)
    codes = pc.dictionary_encode(keys).indices.to_numpy(zero_copy_only=False)
    _, first = np.unique(codes, return_index=True)
    keep = np.zeros(n, bool)
    keep[first] = True
    if known is not None and len(known):
        keep &= ~pc.is_in(keys, value_set=known).to_numpy(zero_copy_only=False)
    return keep


def _safe_name(name: str) -> str:
    return "".join(ch if (ch.isalnum() or ch in "-_.") else "_" for ch in name) or "_"


def _stamp() -> str:
    return _dt.datetime.now(_dt.timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")


class _Keys:
    """The keys already stored, loaded on first use while a writer holds the lock (Arrow arrays, so
    a batch is checked with one vectorised ``is_in``)."""

    def __init__(self, store: "Store"):
        self.store = store
        self.chunks: dict[str, list[pa.Array]] = {}

    def get(self, kind: str) -> pa.Array:
        if kind not in self.chunks:
            if kind == "descriptions":
                t = self.store.read_descriptions(["provider", "video_id"])
                self.chunks[kind] = [key_column(t.column("provider"), t.column("video_id"))]
            else:
                t = self.store.read_hits(["action", "provider", "video_id"])
                self.chunks[kind] = [key_column(t.column("action"), t.column("provider"), t.column("video_id"))]
        parts = self.chunks[kind]
        if len(parts) > 1:
            parts[:] = [pa.concat_arrays(parts)]
        return parts[0]

    def add(self, kind: str, keys: pa.Array) -> None:
        if kind in self.chunks and len(keys):
            self.chunks[kind].append(keys)


class Store:
    """A description store directory (see the module docstring for its layout).

    ``Store(path)`` opens an existing store (a directory with part files or ``_state/``);
    ``Store(path, create=True)`` creates it when missing. Opening migrates a schema-1 store and
    finishes a compaction or migration that a crash interrupted (when no other process holds it).
    """

    def __init__(self, path: str | os.PathLike[str], create: bool = False, note: str | None = None):
        self.path = Path(path)
        self._keys: _Keys | None = None
        if self.path.exists() and not self.path.is_dir():
            raise StoreError(f"{self.path} is a file, not a store directory; give a directory for the store")
        if not self.path.exists():
            if not create:
                raise StoreError(f"store not found: {self.path} (create one with `actionhub collect ... --out "
                                 f"{self.path}` or `actionhub import FILE --out {self.path}`)")
            self.path.mkdir(parents=True, exist_ok=True)
        old_layout = bool(self._v1_parts())
        if not create and not (self.state_dir.is_dir() or self.parts() or old_layout):
            raise StoreError(f"{self.path} is not an ActionHub store (no part files, no _state/)")
        if old_layout or (self.state_dir / "migrate.json").exists():
            self._migrate_v1()
        if create or note:
            self.state_dir.mkdir(exist_ok=True)
            meta = self.meta()
            if not meta:
                meta = {"schema_version": STORE_SCHEMA_VERSION, "created_at": utc_now(), "note": note or ""}
                atomic_write_json(self.state_dir / "store.json", meta)
            elif note and meta.get("note") != note:
                self.update_meta(note=note)
        if (self.state_dir / "compact.json").exists():
            with self.lock(blocking=False) as got:
                if got:
                    self._recover_compaction()

    # -- layout ---------------------------------------------------------------------------
    @property
    def state_dir(self) -> Path:
        return self.path / "_state"

    @property
    def cache_dir(self) -> Path:
        """``STORE/_index``: caches (BM25 indexes); created on first use."""
        d = self.path / "_index"
        d.mkdir(exist_ok=True)
        return d

    def state_file(self, kind: str, provider: str) -> Path:
        """``_state/<kind>-<provider>.json`` (provider name made filename-safe)."""
        return self.state_dir / f"{kind}-{_safe_name(provider)}.json"

    def parts(self, kind: str | None = None) -> list[Path]:
        """The part files of ``kind`` ("descriptions" or "hits"; None: both), oldest first."""
        kinds = _KINDS if kind is None else (kind,)
        return [p for k in kinds for p in sorted((self.path / k).glob("part-*.parquet"))]

    def _v1_parts(self) -> list[Path]:
        return sorted(self.path.glob("part-*.parquet"))

    def meta(self) -> dict:
        """``_state/store.json`` (empty dict when missing, unreadable or not an object)."""
        try:
            meta = jsontext.loads((self.state_dir / "store.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return meta if isinstance(meta, dict) else {}

    def update_meta(self, **fields: Any) -> dict:
        """Merge ``fields`` into ``_state/store.json`` (atomic); returns the new record."""
        self.state_dir.mkdir(exist_ok=True)
        meta = self.meta() or {"schema_version": STORE_SCHEMA_VERSION, "created_at": utc_now(), "note": ""}
        meta.update(fields)
        atomic_write_json(self.state_dir / "store.json", meta)
        return meta

    @property
    def note(self) -> str:
        """The store's note (e.g. "SYNTHETIC: fake server"), shown by `actionhub stats`."""
        return str(self.meta().get("note") or "")

    @contextlib.contextmanager
    def lock(self, blocking: bool = True) -> Iterator[bool]:
        """Hold the store's writer lock (:func:`actionhub.utils.lock.output_lock`: ``.STORE.lock`` beside
        the store; released by the OS on a crash; re-entrant within a process).

        Yields True when held. ``blocking=False`` yields False at once if another process holds it;
        ``blocking=True`` raises :class:`~actionhub.utils.lock.LockedError` (a :class:`UserError`) naming
        the holder instead of waiting forever.
        """
        from actionhub.utils.lock import LockedError, OutputNotWritableError, output_lock  # noqa: PLC0415

        held = contextlib.ExitStack()
        try:
            held.enter_context(output_lock(self.path, what="store"))
        except (LockedError, OutputNotWritableError):   # held by another, or a read-only store
            if blocking:
                raise
            yield False
            return
        with held:
            self._keys = None  # another process may have written since we last held the lock
            self.state_dir.mkdir(exist_ok=True)   # where a writer keeps its journals and state
            try:
                yield True
            finally:
                self._keys = None

    # -- reading ----------------------------------------------------------------------------
    def _read(self, kind: str, columns: Sequence[str] | None = None, filter: Any = None) -> pa.Table:
        import pyarrow.dataset as ds  # noqa: PLC0415

        schema = _SCHEMAS[kind]
        cols = list(columns) if columns is not None else list(schema.names)
        parts = self.parts(kind)
        if not parts:
            return schema.empty_table().select(cols)
        try:
            return ds.dataset([str(p) for p in parts], schema=schema, format="parquet").to_table(
                columns=cols, filter=filter)
        except (pa.ArrowInvalid, OSError) as e:
            raise StoreError(f"could not read the store {self.path}: {e}") from None

    def read_descriptions(self, columns: Sequence[str] | None = None, filter: Any = None) -> pa.Table:
        """The descriptions table (:data:`DESCRIPTION_SCHEMA`), one row per stored description."""
        return self._read("descriptions", columns, filter)

    def read_hits(self, columns: Sequence[str] | None = None, filter: Any = None) -> pa.Table:
        """The hits table (:data:`HIT_SCHEMA`): per action every video its query returned, with its rank."""
        return self._read("hits", columns, filter)

    def read(self, columns: Sequence[str] | None = None, filter: Any = None) -> pa.Table:
        """The per-action view (:data:`SCHEMA`, or ``columns`` of it): every hit with its description,
        sorted by action, provider and rank. A description listed by two actions appears in both.

        ``filter``: an optional ``pyarrow.compute`` expression on the hits columns
        (``action``, ``provider``, ``video_id``, ``rank``).
        """
        cols = list(columns) if columns is not None else list(COLUMNS)
        unknown = [c for c in cols if c not in COLUMNS]
        if unknown:
            raise StoreError(f"unknown store column(s) {unknown}; columns: {', '.join(COLUMNS)}")
        hits = self.read_hits(filter=filter)
        if hits.num_rows:
            hits = hits.sort_by([("action", "ascending"), ("provider", "ascending"), ("rank", "ascending")])
        return self._join(hits, cols)

    def iter_batches(self, columns: Sequence[str], batch_size: int = 1 << 17) -> Iterator[pa.Table]:
        """The per-action view in batches of hits, in the order the hits were stored (memory: the
        descriptions' needed columns plus one batch)."""
        import pyarrow.dataset as ds  # noqa: PLC0415

        cols = list(columns)
        unknown = [c for c in cols if c not in COLUMNS]
        if unknown:
            raise StoreError(f"unknown store column(s) {unknown}; columns: {', '.join(COLUMNS)}")
        parts = self.parts("hits")
        if not parts:
            return
        desc_cols = [c for c in cols if c in DESCRIPTION_SCHEMA.names and c not in ("provider", "video_id")]
        desc = self.read_descriptions(["provider", "video_id", *desc_cols]) if desc_cols else None
        desc_keys = key_column(desc.column("provider"), desc.column("video_id")) if desc is not None else None
        dataset = ds.dataset([str(p) for p in parts], schema=HIT_SCHEMA, format="parquet")
        for batch in dataset.to_batches(batch_size=batch_size):
            yield self._join(pa.Table.from_batches([batch]), cols, desc, desc_keys)

    def _join(self, hits: pa.Table, cols: list[str], desc: pa.Table | None = None,
              desc_keys: pa.Array | None = None) -> pa.Table:
        """``cols`` of the per-action view for ``hits`` (rows whose description is missing are dropped)."""
        need = [c for c in cols if c in DESCRIPTION_SCHEMA.names and c not in ("provider", "video_id")]
        out: dict[str, Any] = {}
        if need:
            if desc is None:
                desc = self.read_descriptions(["provider", "video_id", *need])
                desc_keys = key_column(desc.column("provider"), desc.column("video_id"))
            where = pc.index_in(key_column(hits.column("provider"), hits.column("video_id")), value_set=desc_keys)
            found = pc.is_valid(where)
            if not pc.all(found).as_py():
                hits, where = hits.filter(found), where.filter(found)
            for c in need:
                out[c] = desc.column(c).take(where)
        fields = [SCHEMA.field(c) for c in cols]
        arrays = [out[c] if c in out else hits.column(c) for c in cols]
        return pa.Table.from_arrays([a.combine_chunks() if isinstance(a, pa.ChunkedArray) else a for a in arrays],
                                    schema=pa.schema(fields))

    def __len__(self) -> int:
        """Stored (action, description) pairs: the number of hits."""
        return sum(_num_rows(p) for p in self.parts("hits"))

    def num_descriptions(self) -> int:
        """Stored descriptions (each counted once, however many actions list it)."""
        return sum(_num_rows(p) for p in self.parts("descriptions"))

    def resolve_action(self, name: str) -> str:
        """The store action ``name`` means: itself, the same words in another spelling, or -- for a
        class name of any benchmark or label list (``"PlayingGuitar"``, ``"playing guitar"``) -- its
        vocabulary query (:meth:`actionhub.dataset.vocab.Vocabulary.query_for`). A name that
        matches no action is a :class:`StoreError` naming the closest actions."""
        actions = self.read_hits(["action"]).column("action").unique().to_pylist()
        if name in actions:
            return name
        from actionhub.dataset.vocab import action_key, build_vocabulary  # noqa: PLC0415

        def key(a: str) -> str:
            return "".join(ch for ch in a.lower() if ch.isalnum())

        by_key = {key(a): a for a in actions}
        for cand in (name, build_vocabulary().query_for(name)):
            hit = by_key.get(key(cand))
            if hit is not None:
                return hit
        by_action_key = {action_key(a): a for a in actions}
        hit = by_action_key.get(action_key(name))
        if hit is not None:
            return hit
        import difflib  # noqa: PLC0415

        close = difflib.get_close_matches(name.lower(), actions, n=5, cutoff=0.5)
        hint = f"; the closest: {', '.join(close)}" if close else ""
        raise StoreError(f"no action {name!r} in the store {self.path} ({len(actions)} actions{hint}); "
                         "`actionhub stats STORE --json` lists them")

    def descriptions(self, name: str, columns: Sequence[str] | None = None) -> pa.Table:
        """One action's descriptions (the per-action view, :data:`SCHEMA`, by provider and rank).

        ``name`` is an action of the store or any name that resolves to one (:meth:`resolve_action`):
        ``open_store("store/").descriptions("PlayingGuitar")`` reads the action "play guitar"."""
        action = self.resolve_action(name)
        return self.read(columns, filter=pc.field("action") == action)

    def counts(self, provider: str | None = None) -> dict[str, int]:
        """Descriptions per action (hits of ``provider``, or of every provider)."""
        flt = None if provider is None else pc.field("provider") == provider
        t = self.read_hits(["action"], filter=flt)
        if t.num_rows == 0:
            return {}
        g = t.group_by("action").aggregate([("action", "count")])
        return dict(zip(g.column("action").to_pylist(), g.column("action_count").to_pylist()))

    def action_videos(self, provider: str) -> dict[str, pa.Array]:
        """``{action: video ids}`` of the hits of ``provider`` (vectorised: one sort, no row loop)."""
        t = self.read_hits(["action", "video_id"], filter=pc.field("provider") == provider)
        if t.num_rows == 0:
            return {}
        t = t.sort_by("action")
        actions = t.column("action").combine_chunks()
        ids = t.column("video_id").combine_chunks()
        runs = pc.run_end_encode(actions)
        ends = runs.run_ends.to_numpy()
        starts = np.concatenate([[0], ends[:-1]])
        names = runs.values.to_pylist()
        return {a: ids.slice(int(s), int(e - s)) for a, s, e in zip(names, starts, ends)}

    # -- writing ----------------------------------------------------------------------------
    def _known(self) -> _Keys:
        if self._keys is None:
            self._keys = _Keys(self)
        return self._keys

    def add(self, rows: pa.Table | Mapping[str, Sequence] | Sequence[Mapping[str, Any]],
            check_hits: bool = True) -> tuple[int, int]:
        """Add rows of the per-action view; returns ``(new descriptions, new hits)``.

        ``rows`` need ``action``, ``provider``, ``video_id``, ``description``; ``rank`` defaults
        to the next ranks of each (action, provider) after those stored, in row order;
        ``num_sentences`` is computed when absent and ``collected_at`` defaults to now. Rows with an
        empty description or id are dropped; a description already stored (same provider and
        video id) is not stored again, and a hit already stored (same action too) is dropped, as
        are repeats within ``rows`` (the first wins). New descriptions are written as one part file,
        then new hits as another (each atomic). Hold :meth:`lock` when other writers may run.
        ``check_hits=False``: the caller guarantees that no row repeats a stored or another hit (the
        collector checks each action's own videos), which spares a look-up in every stored hit.
        """
        t = _as_table(rows)
        if t.num_rows == 0:
            return 0, 0
        desc = pc.utf8_trim_whitespace(t.column("description"))
        ok = pc.and_(pc.greater(pc.utf8_length(desc), 0), pc.greater(pc.utf8_length(t.column("video_id")), 0))
        t = t.filter(pc.fill_null(ok, False))
        if t.num_rows == 0:
            return 0, 0
        known = self._known()
        dkeys = key_column(t.column("provider"), t.column("video_id"))
        new_d = _first_new(dkeys, known.get("descriptions"))
        if check_hits:
            hkeys = key_column(t.column("action"), t.column("provider"), t.column("video_id"))
            new_h = _first_new(hkeys, known.get("hits"))
        else:
            hkeys, new_h = None, np.ones(t.num_rows, bool)
        if "rank" not in t.column_names:
            t = t.append_column("rank", pa.array(self._next_ranks(t, new_h), pa.int32()))
        n_d, n_h = int(new_d.sum()), int(new_h.sum())
        if n_d:
            d = t.filter(pa.array(new_d))
            if "num_sentences" not in d.column_names:
                d = d.append_column("num_sentences", count_sentences(d.column("description")))
            if "collected_at" not in d.column_names:
                d = d.append_column("collected_at", pa.repeat(pa.scalar(utc_now(), pa.string()), d.num_rows))
            self._write_part("descriptions", d)
            known.add("descriptions", dkeys.filter(pa.array(new_d)))
        if n_h:
            self._write_part("hits", t.filter(pa.array(new_h)))
            if hkeys is not None:
                known.add("hits", hkeys.filter(pa.array(new_h)))
            else:
                known.chunks.pop("hits", None)  # unchecked rows: reload the stored hits when next needed
        return n_d, n_h

    def append(self, rows: pa.Table | Mapping[str, Sequence] | Sequence[Mapping[str, Any]]) -> int:
        """:meth:`add`, returning the number of new hits (stored (action, description) pairs)."""
        return self.add(rows)[1]

    def _next_ranks(self, t: pa.Table, new: np.ndarray) -> np.ndarray:
        """Ranks for rows without one: per (action, provider), after the stored hits, in row order."""
        group = key_column(t.column("action"), t.column("provider"))
        codes = pc.dictionary_encode(group).indices.to_numpy(zero_copy_only=False)
        names = pc.dictionary_encode(group).dictionary.to_pylist()
        stored = self._stored_counts()
        base = np.array([stored.get(g, 0) for g in names], dtype=np.int64)
        ranks = np.zeros(len(codes), np.int64)
        idx = np.flatnonzero(new)
        order = idx[np.argsort(codes[idx], kind="stable")]
        c = codes[order]
        starts = np.flatnonzero(np.r_[True, c[1:] != c[:-1]]) if len(c) else np.zeros(0, np.int64)
        within = np.arange(len(order)) - np.repeat(starts, np.diff(np.r_[starts, len(order)]))
        ranks[order] = base[c] + within
        return ranks

    def _stored_counts(self) -> dict[str, int]:
        h = self.read_hits(["action", "provider"])
        if h.num_rows == 0:
            return {}
        g = pa.table({"g": key_column(h.column("action"), h.column("provider"))}).group_by("g").aggregate(
            [("g", "count")])
        return dict(zip(g.column("g").to_pylist(), g.column("g_count").to_pylist()))

    def _write_part(self, kind: str, t: pa.Table) -> Path:
        import pyarrow.parquet as pq  # noqa: PLC0415

        schema = _SCHEMAS[kind]
        folder = self.path / kind
        folder.mkdir(exist_ok=True)
        dest = folder / f"part-{_stamp()}-{uuid.uuid4().hex[:8]}.parquet"
        with atomic_path(dest) as tmp:
            pq.write_table(t.select(list(schema.names)).cast(schema), tmp, compression="zstd")
        return dest

    def compact(self, min_parts: int = 2) -> int:
        """Rewrite the part files of each table as one (crash-safe); returns the number of files merged.

        A journal (``_state/compact.json``) names the new file and the old ones before anything
        changes; a crash at any point leaves either the old files or the new one, and the next
        :class:`Store` opening finishes the deletion. Holds the writer lock.
        """
        import pyarrow.parquet as pq  # noqa: PLC0415

        merged = 0
        with self.lock():
            self._recover_compaction()
            for kind in _KINDS:
                parts = self.parts(kind)
                if len(parts) < max(2, min_parts):
                    continue
                table = self._read(kind)
                new = self.path / kind / f"part-{_stamp()}-{uuid.uuid4().hex[:8]}.parquet"
                journal = self.state_dir / "compact.json"
                atomic_write_json(journal, {"new": f"{kind}/{new.name}", "old": [f"{kind}/{p.name}" for p in parts]})
                with atomic_path(new) as tmp:
                    pq.write_table(table, tmp, compression="zstd")
                self._recover_compaction()
                log.info("compacted %d %s part files of %s into %s", len(parts), kind, self.path, new.name)
                merged += len(parts)
        return merged

    def _recover_compaction(self) -> None:
        journal = self.state_dir / "compact.json"
        if not journal.exists():
            return
        try:
            j = jsontext.loads(journal.read_text(encoding="utf-8"))
            new, old = j["new"], list(j["old"])
        except (OSError, ValueError, KeyError, TypeError):
            log.warning("ignoring an unreadable compaction journal %s", journal)
            journal.unlink(missing_ok=True)
            return
        if (self.path / new).exists():  # the merged file is complete: the old ones go
            for name in old:
                if name != new:
                    (self.path / name).unlink(missing_ok=True)
        journal.unlink(missing_ok=True)

    # -- migration from schema version 1 -----------------------------------------------------
    def _migrate_v1(self) -> None:
        """Turn a schema-1 store (rows in ``STORE/part-*.parquet``) into descriptions + hits, in place.

        Journal ``_state/migrate.json`` = {"old": [...], "new": [...]} is written before the new
        files; ``store.json`` switches to version 2 once they are complete, then the old files go.
        Reopening after a crash either redoes the migration (still version 1: the new files of the
        attempt are removed first) or finishes the deletion (version 2).
        """
        import pyarrow.dataset as ds  # noqa: PLC0415
        import pyarrow.parquet as pq  # noqa: PLC0415

        with self.lock(blocking=False) as got:
            if not got:
                raise StoreError(f"{self.path} is a store of an older ActionHub version and must be migrated, but "
                                 "another process is writing to it; rerun when it has finished")
            journal = self.state_dir / "migrate.json"
            done = int(self.meta().get("schema_version", 1)) >= 2
            if journal.exists():
                try:
                    j = jsontext.loads(journal.read_text(encoding="utf-8"))
                    old, new = list(j["old"]), list(j["new"])
                except (OSError, ValueError, KeyError, TypeError):
                    old, new = [], []
                if done:
                    for name in old:
                        (self.path / name).unlink(missing_ok=True)
                else:
                    for name in new:
                        (self.path / name).unlink(missing_ok=True)
                journal.unlink(missing_ok=True)
            old_parts = self._v1_parts()
            if not old_parts:
                return
            if done:  # version 2 with stray old parts and no journal: never ours to delete silently
                raise StoreError(f"{self.path} holds both the new layout and old part files "
                                 f"({', '.join(p.name for p in old_parts[:3])}); move those files away")
            try:
                t = ds.dataset([str(p) for p in old_parts], schema=_V1_SCHEMA, format="parquet").to_table()
            except (pa.ArrowInvalid, OSError) as e:
                raise StoreError(f"could not read the old-layout store {self.path} to migrate it: {e}") from None
            # Rank = order of the rows of an (action, provider) in the old files (their collection order).
            group = key_column(t.column("action"), t.column("provider"))
            codes = pc.dictionary_encode(group).indices.to_numpy(zero_copy_only=False)
            order = np.argsort(codes, kind="stable")
            c = codes[order]
            starts = np.flatnonzero(np.r_[True, c[1:] != c[:-1]]) if len(c) else np.zeros(0, np.int64)
            rank = np.zeros(len(codes), np.int32)
            rank[order] = np.arange(len(order)) - np.repeat(starts, np.diff(np.r_[starts, len(order)]))
            t = t.append_column("rank", pa.array(rank, pa.int32()))
            stamp = _stamp()
            new_names = [f"{kind}/part-{stamp}-migrated.parquet" for kind in _KINDS]
            atomic_write_json(journal, {"old": [p.name for p in old_parts], "new": new_names})
            for kind, name in zip(_KINDS, new_names):
                (self.path / kind).mkdir(exist_ok=True)
                schema = _SCHEMAS[kind]
                with atomic_path(self.path / name) as tmp:
                    pq.write_table(t.select(list(schema.names)).cast(schema), tmp, compression="zstd")
            self.update_meta(schema_version=STORE_SCHEMA_VERSION, migrated_from=1, migrated_at=utc_now())
            for p in old_parts:
                p.unlink(missing_ok=True)
            # The old cursors skipped past the videos a query lost to an earlier one: start every query
            # over (what an action already lists is not stored twice), keeping the old state beside.
            for state in self.state_dir.glob("collect-*.json"):
                state.replace(state.with_name(state.name + ".v1"))
            journal.unlink(missing_ok=True)
            log.warning("migrated the store %s to the per-action layout (schema version %d): %d descriptions, "
                        "each now listed by its action", self.path, STORE_SCHEMA_VERSION, t.num_rows)


def _num_rows(p: Path) -> int:
    import pyarrow.parquet as pq  # noqa: PLC0415

    return pq.ParquetFile(p).metadata.num_rows


def _as_table(rows: pa.Table | Mapping[str, Sequence] | Sequence[Mapping[str, Any]]) -> pa.Table:
    if isinstance(rows, pa.Table):
        t = rows
    elif isinstance(rows, Mapping):
        t = pa.table(dict(rows))
    else:
        rows = list(rows)
        t = pa.Table.from_pylist(rows) if rows else SCHEMA.empty_table()
    missing = [c for c in ("action", "provider", "video_id", "description") if c not in t.column_names]
    if missing:
        raise StoreError(f"rows for the store lack column(s) {missing}; needed: action, provider, video_id, description")
    cols = {c: pc.cast(t.column(c), pa.string()) for c in ("action", "provider", "video_id", "description")}
    if "num_sentences" in t.column_names:
        cols["num_sentences"] = pc.cast(t.column("num_sentences"), pa.int32())
    if "collected_at" in t.column_names:
        cols["collected_at"] = pc.cast(t.column("collected_at"), pa.string())
    if "rank" in t.column_names:
        cols["rank"] = pc.cast(t.column("rank"), pa.int32())
    return pa.table(cols)


def read_store(path: str | os.PathLike[str], columns: Sequence[str] | None = None) -> pa.Table:
    """The per-action view of the store at ``path`` (or just ``columns``) as a pyarrow Table."""
    return Store(path).read(columns)


def append(path: str | os.PathLike[str], rows: pa.Table | Mapping[str, Sequence] | Sequence[Mapping[str, Any]],
           note: str | None = None) -> int:
    """Add per-action rows to the store at ``path`` (created when missing) with :meth:`Store.add`;
    returns the number of new hits."""
    st = Store(path, create=True, note=note)
    with st.lock():
        return st.append(rows)
