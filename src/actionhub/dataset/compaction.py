"""Compaction of a description store: each table's part files rewritten as one, crash-safely.

A journal (``_state/compact.json``) names the new file and the old ones before anything changes; a
crash at any point leaves either the old files or the new one, and the next opening of the store
finishes the deletion (:func:`recover`). Docs: docs/dataset.md#3-the-store
"""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from actionhub.dataset.store_schema import KINDS
from actionhub.utils import jsontext
from actionhub.utils.io import atomic_path, atomic_write_json

if TYPE_CHECKING:  # pragma: no cover
    from actionhub.dataset.store import Store

__all__ = ["compact", "recover"]

log = logging.getLogger(__name__)


def compact(store: "Store", min_parts: int = 2) -> int:
    """Merge the part files of each table of ``store`` that has at least ``max(2, min_parts)`` of them;
    returns the number of files merged. Holds the store's writer lock."""
    import pyarrow.parquet as pq  # noqa: PLC0415

    readers = {"descriptions": store.read_descriptions, "hits": store.read_hits}
    merged = 0
    with store.lock():
        recover(store)
        for kind in KINDS:
            parts = store.parts(kind)
            if len(parts) < max(2, min_parts):
                continue
            table = readers[kind]()
            new = store.new_part_path(kind)
            journal = store.state_dir / "compact.json"
            atomic_write_json(journal, {"new": f"{kind}/{new.name}", "old": [f"{kind}/{p.name}" for p in parts]})
            with atomic_path(new) as tmp:
                pq.write_table(table, tmp, compression="zstd")
            recover(store)
            log.info("compacted %d %s part files of %s into %s", len(parts), kind, store.path, new.name)
            merged += len(parts)
    return merged


def recover(store: "Store") -> None:
    """Finish (or forget) the compaction a crash interrupted: once the merged file is complete, the
    old files go; an unreadable journal is dropped with a warning."""
    journal = store.state_dir / "compact.json"
    if not journal.exists():
        return
    try:
        j = jsontext.loads(journal.read_text(encoding="utf-8"))
        new, old = j["new"], list(j["old"])
    except (OSError, ValueError, KeyError, TypeError):
        log.warning("ignoring an unreadable compaction journal %s", journal)
        journal.unlink(missing_ok=True)
        return
    if (store.path / new).exists():  # the merged file is complete: the old ones go
        for name in old:
            if name != new:
                (store.path / name).unlink(missing_ok=True)
    journal.unlink(missing_ok=True)
