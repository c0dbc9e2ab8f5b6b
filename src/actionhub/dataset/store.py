"""The ActionHub description store: every description once, and every action's own list of videos.

``STORE/descriptions/`` holds one row per description (:data:`DESCRIPTION_SCHEMA`, unique by provider
+ video id), ``STORE/hits/`` one row per (action, video) with the provider's rank (:data:`HIT_SCHEMA`):
what an action gets never depends on the order in which the queries ran. Part files are written
atomically, descriptions before hits; one writer at a time holds the lock (:mod:`actionhub.utils.lock`).
:meth:`Store.read` gives the per-action view (:data:`SCHEMA`). Sentence counts: :mod:`.sentences`;
row keys and the dedupe check: :mod:`.store_keys`.
Docs: docs/dataset.md#3-the-store
"""
from __future__ import annotations

import contextlib
import datetime as _dt
import logging
import os
import uuid
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from actionhub.dataset.sentences import count_sentences
from actionhub.dataset.store_keys import StoredKeys, first_new, group_ranks, key_column, synthetic_video_id
from actionhub.dataset.store_schema import (
    COLUMNS,
    DESCRIPTION_SCHEMA,
    HIT_SCHEMA,
    KINDS,
    SCHEMA,
    SCHEMAS,
    STORE_SCHEMA_VERSION,
    StoreError,
    as_table,
)
from actionhub.utils import jsontext
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

def utc_now() -> str:
    """The current time as ISO-8601 UTC with a ``Z`` suffix, to the second."""
    return _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _safe_name(name: str) -> str:
    return "".join(ch if (ch.isalnum() or ch in "-_.") else "_" for ch in name) or "_"


def _stamp() -> str:
    return _dt.datetime.now(_dt.timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")


class Store:
    """A description store directory (see the module docstring for its layout).

    ``Store(path)`` opens an existing store (a directory with part files or ``_state/``);
    ``Store(path, create=True)`` creates it when missing. Opening finishes a compaction that a crash
    interrupted (when no other process holds the lock).
    """

    def __init__(self, path: str | os.PathLike[str], create: bool = False, note: str | None = None):
        self.path = Path(path)
        self._keys: StoredKeys | None = None
        if self.path.exists() and not self.path.is_dir():
            raise StoreError(f"{self.path} is a file, not a store directory; give a directory for the store")
        if not self.path.exists():
            if not create:
                raise StoreError(f"store not found: {self.path} (create one with `actionhub collect ... --out "
                                 f"{self.path}` or `actionhub import FILE --out {self.path}`)")
            self.path.mkdir(parents=True, exist_ok=True)
        old = sorted(self.path.glob("part-*.parquet"))
        if old:  # the layout before the per-action store, which no release wrote
            raise StoreError(f"{self.path} holds part files of a pre-release layout ({old[0].name}, ...) that this "
                             "version does not read; collect or import into a new store, or move those files away")
        if not create and not (self.state_dir.is_dir() or self.parts()):
            raise StoreError(f"{self.path} is not an ActionHub store (no part files, no _state/)")
        if create or note:
            self.state_dir.mkdir(exist_ok=True)
            meta = self.meta()
            if not meta:
                meta = {"schema_version": STORE_SCHEMA_VERSION, "created_at": utc_now(), "note": note or ""}
                atomic_write_json(self.state_dir / "store.json", meta)
            elif note and meta.get("note") != note:
                self.update_meta(note=note)
        if (self.state_dir / "compact.json").exists():
            from actionhub.dataset.compaction import recover  # noqa: PLC0415

            with self.lock(blocking=False) as got:
                if got:
                    recover(self)

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
        kinds = KINDS if kind is None else (kind,)
        return [p for k in kinds for p in sorted((self.path / k).glob("part-*.parquet"))]

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

        schema = SCHEMAS[kind]
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
        """The store action ``name`` means (:func:`.store_names.resolve_action`)."""
        from actionhub.dataset.store_names import resolve_action  # noqa: PLC0415

        return resolve_action(name, self.read_hits(["action"]).column("action").unique().to_pylist(), self.path)

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
        return dict(zip(g.column("action").to_pylist(), g.column("action_count").to_pylist(), strict=True))

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
        return {a: ids.slice(int(s), int(e - s)) for a, s, e in zip(names, starts, ends, strict=True)}

    # -- writing ----------------------------------------------------------------------------
    def _known(self) -> StoredKeys:
        if self._keys is None:
            self._keys = StoredKeys(self._stored_keys)
        return self._keys

    def _stored_keys(self, kind: str) -> pa.Array:
        if kind == "descriptions":
            t = self.read_descriptions(["provider", "video_id"])
            return key_column(t.column("provider"), t.column("video_id"))
        t = self.read_hits(["action", "provider", "video_id"])
        return key_column(t.column("action"), t.column("provider"), t.column("video_id"))

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
        t = as_table(rows)
        if t.num_rows == 0:
            return 0, 0
        desc = pc.utf8_trim_whitespace(t.column("description"))
        ok = pc.and_(pc.greater(pc.utf8_length(desc), 0), pc.greater(pc.utf8_length(t.column("video_id")), 0))
        t = t.filter(pc.fill_null(ok, False))
        if t.num_rows == 0:
            return 0, 0
        known = self._known()
        dkeys = key_column(t.column("provider"), t.column("video_id"))
        new_d = first_new(dkeys, known.get("descriptions"))
        if check_hits:
            hkeys = key_column(t.column("action"), t.column("provider"), t.column("video_id"))
            new_h = first_new(hkeys, known.get("hits"))
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
                known.forget("hits")  # unchecked rows: reload the stored hits when next needed
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
        order, within = group_ranks(codes, np.flatnonzero(new))
        ranks[order] = base[codes[order]] + within
        return ranks

    def _stored_counts(self) -> dict[str, int]:
        h = self.read_hits(["action", "provider"])
        if h.num_rows == 0:
            return {}
        g = pa.table({"g": key_column(h.column("action"), h.column("provider"))}).group_by("g").aggregate(
            [("g", "count")])
        return dict(zip(g.column("g").to_pylist(), g.column("g_count").to_pylist(), strict=True))

    def _write_part(self, kind: str, t: pa.Table) -> Path:
        import pyarrow.parquet as pq  # noqa: PLC0415

        schema = SCHEMAS[kind]
        dest = self.new_part_path(kind)
        with atomic_path(dest) as tmp:
            pq.write_table(t.select(list(schema.names)).cast(schema), tmp, compression="zstd")
        return dest

    def new_part_path(self, kind: str) -> Path:
        """Where the next part file of ``kind`` goes (``STORE/<kind>/part-<UTC time>-<random>.parquet``)."""
        folder = self.path / kind
        folder.mkdir(exist_ok=True)
        return folder / f"part-{_stamp()}-{uuid.uuid4().hex[:8]}.parquet"

    def compact(self, min_parts: int = 2) -> int:
        """Rewrite the part files of each table as one, crash-safely (:func:`.compaction.compact`);
        returns the number of files merged."""
        from actionhub.dataset.compaction import compact  # noqa: PLC0415

        return compact(self, min_parts)


def _num_rows(p: Path) -> int:
    import pyarrow.parquet as pq  # noqa: PLC0415

    return pq.ParquetFile(p).metadata.num_rows


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
