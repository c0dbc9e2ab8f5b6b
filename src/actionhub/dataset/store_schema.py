"""The description store's tables: column types, the two stored schemas, the per-action view, and rows
from users cast to them.

Docs: docs/dataset.md#3-the-store
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

import pyarrow as pa
import pyarrow.compute as pc

from actionhub.utils.errors import UserError

__all__ = ["SCHEMA", "COLUMNS", "DESCRIPTION_SCHEMA", "HIT_SCHEMA", "SCHEMAS", "KINDS", "STORE_SCHEMA_VERSION",
           "StoreError", "as_table"]


class StoreError(UserError):
    """A store directory or an input file for it is missing or malformed."""


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
KINDS = ("descriptions", "hits")
SCHEMAS = {"descriptions": DESCRIPTION_SCHEMA, "hits": HIT_SCHEMA}


def as_table(rows: pa.Table | Mapping[str, Sequence] | Sequence[Mapping[str, Any]]) -> pa.Table:
    """Rows of the per-action view in any shape (Arrow table, column mapping, list of dicts) as a table
    of the needed columns, cast to the store's types; a missing column is a :class:`StoreError`."""
    if isinstance(rows, pa.Table):
        t = rows
    elif isinstance(rows, Mapping):
        t = pa.table(dict(rows))
    else:
        rows = list(rows)
        t = pa.Table.from_pylist(rows) if rows else SCHEMA.empty_table()
    missing = [c for c in ("action", "provider", "video_id", "description") if c not in t.column_names]
    if missing:
        raise StoreError(f"rows for the store lack column(s) {missing}; "
                         "needed: action, provider, video_id, description")
    cols = {c: pc.cast(t.column(c), pa.string()) for c in ("action", "provider", "video_id", "description")}
    if "num_sentences" in t.column_names:
        cols["num_sentences"] = pc.cast(t.column("num_sentences"), pa.int32())
    if "collected_at" in t.column_names:
        cols["collected_at"] = pc.cast(t.column("collected_at"), pa.string())
    if "rank" in t.column_names:
        cols["rank"] = pc.cast(t.column("rank"), pa.int32())
    return pa.table(cols)
