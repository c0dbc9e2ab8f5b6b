"""The ActionHub description store: a directory of Parquet part files.

Layout of a store directory ``STORE/``::

    part-<UTC time>-<random>.parquet   rows (schema :data:`SCHEMA`), each file written atomically
    _state/store.json                  {"schema_version", "created_at", "note"}
    _state/lock                        held (flock) by a writer: one collector/importer at a time
    _state/collect-<provider>.json     resume state of `actionhub collect` (actionhub.dataset.collect.runner)
    _state/budget-<provider>.json      request ledger of a provider (actionhub.dataset.collect.base.Budget)
    _state/compact.json                journal of an unfinished compaction (see :meth:`Store.compact`)
    _index/                            caches (e.g. BM25 indexes), never read as data

``pyarrow.dataset.dataset(STORE)`` reads the rows directly (it ignores names starting with ``_``
or ``.``, so state, caches and temp files are invisible to it). Rows are unique by
``(provider, video_id)``: :meth:`Store.append` drops rows whose key is already stored, so a
rerun of an interrupted collection or import never duplicates a record.

Columns: ``action`` (the query the description was collected for), ``provider``, ``video_id``,
``description``, ``num_sentences`` (int32, :func:`count_sentences`) and ``collected_at``
(ISO-8601 UTC, e.g. ``2024-05-01T12:00:00Z``).

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
import json
import logging
import os
import uuid
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from actionhub.utils.errors import UserError
from actionhub.utils.io import atomic_path, atomic_write_json

__all__ = [
    "SCHEMA",
    "COLUMNS",
    "StoreError",
    "Store",
    "read_store",
    "append",
    "count_sentences",
    "utc_now",
    "synthetic_video_id",
]

log = logging.getLogger(__name__)

SCHEMA = pa.schema([
    ("action", pa.string()),
    ("provider", pa.string()),
    ("video_id", pa.string()),
    ("description", pa.string()),
    ("num_sentences", pa.int32()),
    ("collected_at", pa.string()),
])
COLUMNS = tuple(SCHEMA.names)
STORE_SCHEMA_VERSION = 1

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


def _safe_name(name: str) -> str:
    return "".join(ch if (ch.isalnum() or ch in "-_.") else "_" for ch in name) or "_"


class Store:
    """A description store directory (see the module docstring for its layout).

    ``Store(path)`` opens an existing store (a directory with part files or ``_state/``);
    ``Store(path, create=True)`` creates it when missing. Opening finishes a compaction that a
    crash interrupted (when no other process holds the store).
    """

    def __init__(self, path: str | os.PathLike[str], create: bool = False, note: str | None = None):
        self.path = Path(path)
        if self.path.exists() and not self.path.is_dir():
            raise StoreError(f"{self.path} is a file, not a store directory; give a directory for the store")
        if not self.path.exists():
            if not create:
                raise StoreError(f"store not found: {self.path} (create one with `actionhub collect ... --out "
                                 f"{self.path}` or `actionhub import FILE --out {self.path}`)")
            self.path.mkdir(parents=True)
        elif not create and not (self.state_dir.is_dir() or self.parts()):
            raise StoreError(f"{self.path} is not an ActionHub store (no part-*.parquet files, no _state/)")
        if create or note:
            self.state_dir.mkdir(exist_ok=True)
            meta = self.meta()
            if not meta:
                meta = {"schema_version": STORE_SCHEMA_VERSION, "created_at": utc_now(), "note": note or ""}
                atomic_write_json(self.state_dir / "store.json", meta)
            elif note and meta.get("note") != note:
                meta["note"] = note
                atomic_write_json(self.state_dir / "store.json", meta)
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

    def parts(self) -> list[Path]:
        """The part files, oldest first (their names start with the UTC write time)."""
        return sorted(self.path.glob("part-*.parquet"))

    def meta(self) -> dict:
        """``_state/store.json`` (empty dict when missing or unreadable)."""
        try:
            return json.loads((self.state_dir / "store.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}

    @property
    def note(self) -> str:
        """The store's note (e.g. "SYNTHETIC: fake server"), shown by `actionhub stats`."""
        return str(self.meta().get("note") or "")

    @contextlib.contextmanager
    def lock(self, blocking: bool = True) -> Iterator[bool]:
        """Hold the store's writer lock (``flock`` on ``_state/lock``; released by the OS on a crash).

        Yields True when held. ``blocking=False`` yields False at once if another process holds it;
        ``blocking=True`` raises :class:`StoreError` instead of waiting forever.
        """
        try:
            import fcntl  # noqa: PLC0415
        except ImportError:  # pragma: no cover - not POSIX: no inter-process lock
            yield True
            return
        self.state_dir.mkdir(exist_ok=True)
        fh = open(self.state_dir / "lock", "a+")
        try:
            try:
                fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if blocking:
                    raise StoreError(f"another process is writing to the store {self.path} (it holds "
                                     f"{self.state_dir / 'lock'}); wait for it to finish or stop it") from None
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
        finally:
            fh.close()

    # -- reading ----------------------------------------------------------------------------
    def read(self, columns: Sequence[str] | None = None, filter: Any = None) -> pa.Table:
        """All rows (or ``columns``) as one table; an empty table with :data:`SCHEMA` when empty.

        ``filter``: an optional ``pyarrow.compute`` expression (e.g. ``pc.field("provider") == "local"``).
        """
        import pyarrow.dataset as ds  # noqa: PLC0415

        cols = list(columns) if columns is not None else list(COLUMNS)
        unknown = [c for c in cols if c not in COLUMNS]
        if unknown:
            raise StoreError(f"unknown store column(s) {unknown}; columns: {', '.join(COLUMNS)}")
        parts = self.parts()
        if not parts:
            return SCHEMA.empty_table().select(cols)
        try:
            return ds.dataset([str(p) for p in parts], schema=SCHEMA, format="parquet").to_table(
                columns=cols, filter=filter)
        except (pa.ArrowInvalid, OSError) as e:
            raise StoreError(f"could not read the store {self.path}: {e}") from None

    def __len__(self) -> int:
        return sum(_num_rows(p) for p in self.parts())

    def keys(self, provider: str) -> set[str]:
        """The video ids stored for ``provider``."""
        t = self.read(["video_id"], filter=pc.field("provider") == provider)
        return set(t.column("video_id").to_pylist())

    def counts(self, provider: str | None = None) -> dict[str, int]:
        """Descriptions per action (of ``provider``, or of every provider)."""
        flt = None if provider is None else pc.field("provider") == provider
        t = self.read(["action"], filter=flt)
        if t.num_rows == 0:
            return {}
        g = t.group_by("action").aggregate([("action", "count")])
        return dict(zip(g.column("action").to_pylist(), g.column("action_count").to_pylist()))

    # -- writing ----------------------------------------------------------------------------
    def append(self, rows: pa.Table | Mapping[str, Sequence] | Sequence[Mapping[str, Any]],
               known: Mapping[str, set[str]] | None = None) -> int:
        """Add rows as one new part file (atomic); returns the number of rows written.

        ``rows`` need ``action``, ``provider``, ``video_id``, ``description``; ``num_sentences`` is
        computed when absent and ``collected_at`` defaults to now. Rows with an empty description
        or id, rows whose ``(provider, video_id)`` is already stored, and repeats within ``rows``
        are dropped. ``known``: ``{provider: set of stored ids}`` kept by the caller (a collector
        appending many times) instead of reading the store's keys on every call; it is updated.
        The caller should hold :meth:`lock` when other writers may run.
        """
        t = _as_table(rows)
        if t.num_rows == 0:
            return 0
        desc = pc.utf8_trim_whitespace(t.column("description"))
        ok = pc.and_(pc.greater(pc.utf8_length(desc), 0), pc.greater(pc.utf8_length(t.column("video_id")), 0))
        t = t.filter(pc.fill_null(ok, False))
        if t.num_rows == 0:
            return 0
        providers = t.column("provider").to_pylist()
        ids = t.column("video_id").to_pylist()
        if known is None:
            known = {p: self.keys(p) for p in set(providers)}
        keep = np.zeros(t.num_rows, dtype=bool)
        for i, (p, v) in enumerate(zip(providers, ids)):
            seen = known.setdefault(p, set())
            if v not in seen:
                seen.add(v)
                keep[i] = True
        t = t.filter(pa.array(keep))
        if t.num_rows == 0:
            return 0
        self._write_part(t)
        return t.num_rows

    def _write_part(self, t: pa.Table) -> Path:
        import pyarrow.parquet as pq  # noqa: PLC0415

        stamp = _dt.datetime.now(_dt.timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
        dest = self.path / f"part-{stamp}-{uuid.uuid4().hex[:8]}.parquet"
        with atomic_path(dest) as tmp:
            pq.write_table(t.select(list(COLUMNS)).cast(SCHEMA), tmp, compression="zstd")
        return dest

    def compact(self, min_parts: int = 2) -> int:
        """Rewrite all part files as one (crash-safe); returns the number of files merged.

        A journal (``_state/compact.json``) names the new file and the old ones before anything
        changes; a crash at any point leaves either the old files or the new one, and the next
        :class:`Store` opening finishes the deletion. Holds the writer lock.
        """
        import pyarrow.parquet as pq  # noqa: PLC0415

        with self.lock():
            self._recover_compaction()
            parts = self.parts()
            if len(parts) < max(2, min_parts):
                return 0
            table = self.read()
            stamp = _dt.datetime.now(_dt.timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
            new = self.path / f"part-{stamp}-{uuid.uuid4().hex[:8]}.parquet"
            journal = self.state_dir / "compact.json"
            atomic_write_json(journal, {"new": new.name, "old": [p.name for p in parts]})
            with atomic_path(new) as tmp:
                pq.write_table(table, tmp, compression="zstd")
            self._recover_compaction()
            log.info("compacted %d part files of %s into %s", len(parts), self.path, new.name)
            return len(parts)

    def _recover_compaction(self) -> None:
        journal = self.state_dir / "compact.json"
        if not journal.exists():
            return
        try:
            j = json.loads(journal.read_text(encoding="utf-8"))
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
    n = t.num_rows
    cols = {c: pc.cast(t.column(c), pa.string()) for c in ("action", "provider", "video_id", "description")}
    cols["num_sentences"] = (pc.cast(t.column("num_sentences"), pa.int32()) if "num_sentences" in t.column_names
                             else count_sentences(cols["description"]))
    cols["collected_at"] = (pc.cast(t.column("collected_at"), pa.string()) if "collected_at" in t.column_names
                            else pa.array([utc_now()] * n, type=pa.string()))
    return pa.table(cols, schema=SCHEMA)


def read_store(path: str | os.PathLike[str], columns: Sequence[str] | None = None) -> pa.Table:
    """All rows of the store at ``path`` (or just ``columns``) as a pyarrow Table."""
    return Store(path).read(columns)


def append(path: str | os.PathLike[str], rows: pa.Table | Mapping[str, Sequence] | Sequence[Mapping[str, Any]],
           note: str | None = None) -> int:
    """Append rows to the store at ``path`` (created when missing) as one atomic part file,
    de-duplicated by ``(provider, video_id)``; returns the number of rows written."""
    st = Store(path, create=True, note=note)
    with st.lock():
        return st.append(rows)
