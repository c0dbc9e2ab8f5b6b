"""Importing a released ActionHub file (JSON ``{action: [description, ...]}`` or JSONL rows)
into a description store, resumably and with malformed entries skipped and counted."""
from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any, Iterator, Mapping

import pyarrow as pa

from actionhub.dataset.store import Store, StoreError, synthetic_video_id, utc_now
from actionhub.utils.textfile import NotUtf8Error, open_text_file

__all__ = ["import_released"]

log = logging.getLogger(__name__)


def _iter_released(path: Path) -> Iterator[tuple[int, Any]]:
    """``(line number, JSON object)`` of a released file: one object for .json, one per line otherwise."""
    if path.suffix.lower() == ".json":
        try:
            with open_text_file(path, "file to import") as fh:
                yield 1, json.load(fh)
        except NotUtf8Error:
            raise
        except ValueError as e:
            raise StoreError(f"{path} is not valid JSON ({e}); expected {{action: [description, ...]}}") from None
        return
    with open_text_file(path, "file to import") as fh:
        for i, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                yield i, json.loads(line)
            except ValueError:
                yield i, _BAD_LINE


_BAD_LINE = object()


def import_released(file: str | os.PathLike[str], store: str | os.PathLike[str], provider: str = "released",
                    note: str | None = None, batch_rows: int = 200_000, progress: bool = True) -> dict:
    """Import a released ActionHub file into a store; returns a summary dict.

    Each entry is one (action, description) pair: ``added`` counts new pairs, ``new_descriptions``
    the descriptions stored for the first time (a video listed under two actions is stored once
    and listed by both), ``duplicates`` the pairs already in the store.

    Formats: ``.json`` ``{action: [description, ...]}``; ``.jsonl`` (any other suffix) one object
    per line, either ``{"action": ..., "description": ...}`` rows (optional ``video_id``/``id``,
    ``provider``) or ``{action: [description, ...]}`` objects. A description may also be an
    object with ``description`` and optional ``video_id``/``id``. Missing ids are
    :func:`synthetic_video_id` (stable, so reimporting adds nothing). Malformed lines and
    entries are skipped and counted (the first few line numbers are logged). Rows are written
    in batches of ``batch_rows``: a killed import rerun with the same command completes it.
    """
    from actionhub.utils.progress import progress_bar  # noqa: PLC0415

    src = Path(file)
    if not src.is_file():
        raise StoreError(f"file to import not found: {src}")
    st = Store(store, create=True, note=note)
    now = utc_now()
    summary = {"file": str(src), "store": str(st.path), "provider": provider, "entries": 0, "added": 0,
               "new_descriptions": 0, "duplicates": 0, "skipped": 0, "skipped_lines": []}
    cols: dict[str, list] = {c: [] for c in ("action", "provider", "video_id", "description")}

    def skip(line: int, why: str) -> None:
        summary["skipped"] += 1
        if len(summary["skipped_lines"]) < 20:
            summary["skipped_lines"].append(line)
            log.warning("%s line %d: %s; skipped", src, line, why)

    def add(line: int, action: Any, item: Any, prov: Any = None) -> None:
        vid = None
        if isinstance(item, Mapping):
            vid = item.get("video_id", item.get("id"))
            item = item.get("description")
        if not isinstance(action, str) or not action.strip():
            return skip(line, "action is not a non-empty string")
        if not isinstance(item, str) or not item.strip():
            return skip(line, "description is not a non-empty string")
        action = action.strip()
        summary["entries"] += 1
        cols["action"].append(action)
        cols["provider"].append(prov if isinstance(prov, str) and prov else provider)
        cols["video_id"].append(str(vid) if vid not in (None, "") else synthetic_video_id(action, item))
        cols["description"].append(item)

    with st.lock():
        def flush() -> None:
            if not cols["action"]:
                return
            t = pa.table({**cols, "collected_at": pa.repeat(pa.scalar(now, pa.string()), len(cols["action"]))})
            n_desc, n_hits = st.add(t)
            summary["added"] += n_hits
            summary["new_descriptions"] += n_desc
            summary["duplicates"] += t.num_rows - n_hits
            for v in cols.values():
                v.clear()

        bar = progress_bar(enabled=progress, desc=f"import {src.name}", unit=" lines")
        for line, obj in _iter_released(src):
            bar.update(1)
            if obj is _BAD_LINE:
                skip(line, "not valid JSON")
            elif not isinstance(obj, dict):
                skip(line, "not a JSON object")
            elif "action" in obj and "description" in obj:
                add(line, obj["action"], {"description": obj["description"],
                                          "video_id": obj.get("video_id", obj.get("id"))}, obj.get("provider"))
            else:
                for action, items in obj.items():
                    if not isinstance(items, list):
                        skip(line, f"value of {action!r} is not a list of descriptions")
                        continue
                    for item in items:
                        add(line, action, item)
            if len(cols["action"]) >= batch_rows:
                flush()
        flush()
        bar.close()
    return summary


