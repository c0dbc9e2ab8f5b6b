"""Curation of a description store: descriptions marked bad, actions marked unusable.

Marks never rewrite the store: they are JSON lines appended to ``STORE/curation.jsonl``
(``op`` ``mark`` of a ``description`` for one action or, with ``action`` null, for all, or of an
``action``; ``op`` ``undo`` naming a mark's ``id``; each with ``by`` and ``at``). A mark is active
until undone; nothing is deleted. Appends take an ``flock`` and write one line in one ``write``;
an unreadable line is refused with its line number, never ignored. ``rank``, ``stats``, ``export``
and ``text-features`` honour the active marks through :func:`filter_hits`, :func:`curated_view`
or :func:`filter_ranked` (``--ignore-curation`` keeps all); marks match (action, provider, video_id).
Docs: docs/app.md#curation
"""
from __future__ import annotations

import contextlib
import getpass
import json
import logging
import os
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from actionhub.dataset.store import Store, StoreError, key_column, utc_now

__all__ = [
    "CURATION_FILE",
    "CurationError",
    "Curation",
    "curation_path",
    "read_records",
    "load_curation",
    "mark_descriptions",
    "mark_action",
    "undo",
    "filter_hits",
    "curated_view",
    "filter_ranked",
    "current_user",
]

log = logging.getLogger(__name__)

CURATION_FILE = "curation.jsonl"
_NULL = "\x00"  # stands for "every action" in a hit key


class CurationError(StoreError):
    """The curation file is malformed, or a mark names nothing; the message says how to fix it."""


def curation_path(store: str | os.PathLike[str] | Store) -> Path:
    """``STORE/curation.jsonl`` (it may not exist yet)."""
    return (store.path if isinstance(store, Store) else Path(store)) / CURATION_FILE


def current_user() -> str:
    """Who makes a mark by default: the login name (``$USER``), else ``unknown``."""
    with contextlib.suppress(Exception):
        return getpass.getuser()
    return "unknown"


def _check(rec: Any, where: str) -> dict:
    """``rec`` if it is a well-formed record, else a :class:`CurationError` naming ``where``."""
    def bad(why: str) -> CurationError:
        return CurationError(f"{where}: {why}; fix or remove that line (each line is one JSON object written by "
                             "`actionhub curate` or `actionhub serve`)")

    if not isinstance(rec, dict):
        raise bad(f"expected a JSON object, got {type(rec).__name__}")
    for name in ("id", "op", "by", "at"):
        if not isinstance(rec.get(name), str) or not rec[name]:
            raise bad(f"no {name!r} string")
    op = rec["op"]
    if op == "undo":
        if not isinstance(rec.get("mark"), str) or not rec["mark"]:
            raise bad("an undo without the id of the mark it undoes ('mark')")
        return rec
    if op != "mark":
        raise bad(f"unknown op {op!r} (mark or undo)")
    target = rec.get("target")
    if target == "action":
        if not isinstance(rec.get("action"), str) or not rec["action"]:
            raise bad("an action mark without its 'action'")
    elif target == "description":
        if rec.get("action") is not None and not isinstance(rec.get("action"), str):
            raise bad("'action' must be a string, or null for every action")
        if not isinstance(rec.get("provider"), str) or not isinstance(rec.get("video_id"), str) or not rec["video_id"]:
            raise bad("a description mark without 'provider' and 'video_id' strings")
    else:
        raise bad(f"unknown target {target!r} (description or action)")
    return rec


def read_records(store: str | os.PathLike[str] | Store) -> list[dict]:
    """Every line of the curation file, checked (an empty list when there is none)."""
    path = curation_path(store)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return []
    except OSError as e:
        raise CurationError(f"cannot read the curation file {path}: {e.strerror or e}") from None
    out = []
    for lineno, line in enumerate(raw.split(b"\n"), 1):
        if not line.strip():
            continue
        where = f"{path}:{lineno}"
        try:
            rec = json.loads(line.decode("utf-8"))
        except UnicodeDecodeError:
            raise CurationError(f"{where}: not UTF-8; fix or remove that line") from None
        except ValueError as e:
            raise CurationError(f"{where}: not a JSON object ({e}); fix or remove that line (each line is one JSON "
                                "object written by `actionhub curate` or `actionhub serve`)") from None
        out.append(_check(rec, where))
    return out


@dataclass
class Curation:
    """The active marks of a store (marks without an undo), and the arrays that test rows against them."""

    path: Path
    marks: list[dict] = field(default_factory=list)
    records: int = 0

    @property
    def unusable(self) -> list[str]:
        return sorted({m["action"] for m in self.marks if m["target"] == "action"})

    @property
    def bad(self) -> list[dict]:
        return [m for m in self.marks if m["target"] == "description"]

    def __bool__(self) -> bool:
        return bool(self.marks)

    def summary(self) -> dict[str, Any]:
        bad = self.bad
        return {"file": str(self.path), "marks": len(self.marks), "bad_descriptions": len(bad),
                "bad_everywhere": sum(1 for m in bad if m["action"] is None), "unusable_actions": self.unusable}

    def keep_mask(self, action: Any, provider: Any, video_id: Any) -> np.ndarray:
        """(n,) bool: the rows (hits) that no active mark throws out; arrays or chunked arrays of strings."""
        n = len(action)
        keep = np.ones(n, bool)
        if not self.marks or n == 0:
            return keep
        if self.unusable:
            keep &= ~_isin(action, self.unusable)
        bad = self.bad
        here = [f"{m['action']}\x1f{m['provider']}\x1f{m['video_id']}" for m in bad if m["action"] is not None]
        everywhere = [f"{m['provider']}\x1f{m['video_id']}" for m in bad if m["action"] is None]
        if here:
            keep &= ~_isin(key_column(action, provider, video_id), here)
        if everywhere:
            keep &= ~_isin(key_column(provider, video_id), everywhere)
        return keep

    def filter(self, table: pa.Table) -> tuple[pa.Table, int]:
        """``table`` (columns ``action``, ``provider``, ``video_id``) without the rows thrown out; and how many."""
        keep = self.keep_mask(table.column("action"), table.column("provider"), table.column("video_id"))
        dropped = int((~keep).sum())
        return (table.filter(pa.array(keep)) if dropped else table), dropped


def _isin(values: Any, wanted: Sequence[str]) -> np.ndarray:
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    got = pc.is_in(pc.cast(values, pa.string()), value_set=pa.array(list(wanted), pa.string()))
    return pc.fill_null(got, False).to_numpy(zero_copy_only=False)


def load_curation(store: str | os.PathLike[str] | Store) -> Curation:
    """The active marks of ``store`` (an empty :class:`Curation` when it has no curation file)."""
    recs = read_records(store)
    undone = {r["mark"] for r in recs if r["op"] == "undo"}
    marks = [r for r in recs if r["op"] == "mark" and r["id"] not in undone]
    return Curation(curation_path(store), marks, len(recs))


@contextlib.contextmanager
def _appending(path: Path) -> Iterator[Any]:
    try:
        import fcntl  # noqa: PLC0415
    except ImportError:  # pragma: no cover - not POSIX
        fcntl = None
    with open(path, "ab") as fh:
        if fcntl is not None:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX)  # appends are short: wait for another writer
        try:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        finally:
            if fcntl is not None:
                fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def _append(store: str | os.PathLike[str] | Store, records: list[dict]) -> list[dict]:
    st = store if isinstance(store, Store) else Store(store)
    path = curation_path(st)
    read_records(st)  # never append to a file that cannot be read back
    data = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records).encode("utf-8")
    try:
        with _appending(path) as fh:
            if fh.tell() and not path.read_bytes().endswith(b"\n"):
                data = b"\n" + data   # a line cut short by a crash stays a line of its own
            fh.write(data)
    except OSError as e:
        raise CurationError(f"cannot write the curation file {path}: {e.strerror or e}") from None
    return records


def _new(prefix: str, by: str | None, **fields: Any) -> dict:
    return {"id": f"{prefix}-{uuid.uuid4().hex[:12]}", **fields, "by": (by or current_user()).strip() or "unknown",
            "at": utc_now()}


def _known_actions(st: Store, actions: Iterable[str]) -> None:
    wanted = sorted({a for a in actions if a is not None})
    if not wanted:
        return
    have = st.read_hits(["action"], filter=pc.field("action").isin(wanted)).column("action")
    missing = sorted(set(wanted) - set(pc.unique(have).to_pylist()))
    if missing:
        raise CurationError(f"the store {st.path} has no action {', '.join(repr(a) for a in missing)}; "
                            "names are the store's actions exactly (see `actionhub stats`)")


def mark_descriptions(store: str | os.PathLike[str] | Store, action: str | None,
                      keys: Sequence[tuple[str, str]], *, reason: str = "", by: str | None = None) -> list[dict]:
    """Mark the descriptions ``keys`` ((provider, video_id) pairs) bad for ``action`` (None: for every
    action that lists them); returns the new records. Keys the action does not list are refused."""
    st = store if isinstance(store, Store) else Store(store)
    keys = [(str(p), str(v)) for p, v in keys]
    if not keys:
        raise CurationError("no description to mark: give PROVIDER:VIDEO_ID of at least one")
    _known_actions(st, [action])
    flt = pc.field("video_id").isin(sorted({v for _, v in keys}))
    if action is not None:
        flt = flt & (pc.field("action") == action)
    hits = st.read_hits(["provider", "video_id"], filter=flt)
    have = set(zip(hits.column("provider").to_pylist(), hits.column("video_id").to_pylist(), strict=True))
    missing = [f"{p}:{v}" for p, v in keys if (p, v) not in have]
    if missing:
        raise CurationError(f"{', '.join(missing[:5])}: not a description "
                            f"{'of ' + repr(action) + ' in' if action else 'in'}"
                            f" the store {st.path}; give PROVIDER:VIDEO_ID as the store lists them")
    return _append(st, [_new("m", by, op="mark", target="description", action=action, provider=p, video_id=v,
                             reason=reason) for p, v in dict.fromkeys(keys)])


def mark_action(store: str | os.PathLike[str] | Store, action: str, *, reason: str = "",
                by: str | None = None) -> dict:
    """Mark ``action`` unusable (none of its descriptions is used); returns the new record."""
    st = store if isinstance(store, Store) else Store(store)
    _known_actions(st, [action])
    return _append(st, [_new("m", by, op="mark", target="action", action=action, reason=reason)])[0]


def undo(store: str | os.PathLike[str] | Store, mark_ids: Sequence[str], *, by: str | None = None) -> list[dict]:
    """Undo the active marks ``mark_ids`` (an undo line for each); an id that is not an active mark is refused."""
    st = store if isinstance(store, Store) else Store(store)
    active = {m["id"] for m in load_curation(st).marks}
    unknown = [i for i in mark_ids if i not in active]
    if unknown:
        raise CurationError(f"no active mark {', '.join(unknown[:5])} in {curation_path(st)}; "
                            "`actionhub curate list STORE` shows them")
    return _append(st, [_new("u", by, op="undo", mark=i) for i in dict.fromkeys(mark_ids)])


# ------------------------------------------------------------------ what the verbs call (one line each)
def filter_hits(store: Store, hits: pa.Table, apply: bool = True) -> tuple[pa.Table, dict | None]:
    """``hits`` of ``store`` without what its active marks throw out (``apply=False``: unchanged), and a
    summary of what was dropped (None when nothing was applied)."""
    if not apply:
        return hits, None
    cur = load_curation(store)
    if not cur:
        return hits, None
    kept, dropped = cur.filter(hits)
    if dropped:
        log.info("curation (%s): %d hit(s) left out", cur.path, dropped)
    return kept, {**cur.summary(), "dropped_hits": dropped}


class _CuratedView:
    """A store view (``count_rows``, ``to_batches``; :func:`actionhub.dataset.rank.open_store`) without the
    rows the store's active marks throw out; two passes give the same rows in the same order."""

    def __init__(self, view: Any, curation: Curation) -> None:
        self.view, self.curation = view, curation
        self.store = view.store
        self.names = view.names
        self.dropped = 0

    @property
    def curated(self) -> dict:
        """What was honoured: the marks' summary and the hits left out (known after :meth:`count_rows`)."""
        return {**self.curation.summary(), "dropped_hits": self.dropped}

    def count_rows(self) -> int:
        h = self.store.read_hits(["action", "provider", "video_id"])
        keep = self.curation.keep_mask(h.column("action"), h.column("provider"), h.column("video_id"))
        self.dropped = int((~keep).sum())
        return int(keep.sum())

    def to_batches(self, columns: list[str], batch_size: int, use_threads: bool = True) -> Iterator[Any]:
        need = list(dict.fromkeys([*columns, "action", "provider", "video_id"]))
        for batch in self.view.to_batches(need, batch_size, use_threads):
            keep = self.curation.keep_mask(batch.column("action"), batch.column("provider"), batch.column("video_id"))
            b = batch.filter(pa.array(keep)) if not keep.all() else batch
            yield b.select(columns)


def curated_view(view: Any, apply: bool = True) -> Any:
    """``view`` (a store's view from :func:`actionhub.dataset.rank.open_store`) honouring the store's marks;
    anything else (a Parquet file: no store, no marks) and ``apply=False`` come back unchanged."""
    store = getattr(view, "store", None)
    if not apply or not isinstance(store, Store):
        return view
    cur = load_curation(store)
    return _CuratedView(view, cur) if cur else view


def filter_ranked(table: pa.Table, apply: bool = True) -> tuple[pa.Table, dict | None]:
    """A ranked table (``actionhub rank`` output) without the rows that the marks of the store it was ranked
    from throw out -- marks made after ranking; the store is the one its metadata names, when it still
    exists. Each action's rows keep their order."""
    if not apply:
        return table, None
    meta = (table.schema.metadata or {}).get(b"actionhub")
    try:
        store = json.loads(meta).get("store") if meta else None
    except ValueError:
        store = None
    if not store or not curation_path(store).is_file():
        return table, None
    cur = load_curation(store)
    if not cur:
        return table, None
    kept, dropped = cur.filter(table)
    return kept, {**cur.summary(), "dropped_hits": dropped}
