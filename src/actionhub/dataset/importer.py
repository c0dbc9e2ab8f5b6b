"""Importing a released ActionHub file (JSON ``{action: [description, ...]}`` or JSONL rows)
into a description store, resumably and with malformed entries skipped and counted; and reading
a folder written by `actionhub export` (:mod:`actionhub.dataset.export`) back into a store."""
from __future__ import annotations

import functools
import logging
import os
from pathlib import Path
from typing import Any, Iterator, Mapping

import pyarrow as pa

from actionhub.dataset.store import Store, StoreError, synthetic_video_id, utc_now
from actionhub.utils import jsontext
from actionhub.utils.errors import disk_full_as
from actionhub.utils.textfile import NotUtf8Error, open_text_file

__all__ = ["import_released", "import_export", "is_export_folder"]

log = logging.getLogger(__name__)


def _iter_released(path: Path) -> Iterator[tuple[int, Any]]:
    """``(line number, JSON object)`` of a released file: one object for .json, one per line otherwise."""
    if path.suffix.lower() == ".json":
        try:
            with open_text_file(path, "file to import") as fh:
                yield 1, jsontext.load(fh)
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
                obj = jsontext.loads(line)   # a line nested too deeply is malformed: skipped and counted
            except ValueError:
                obj = _BAD_LINE
            yield i, obj


_BAD_LINE = object()


def _import_guard(fn: Any) -> Any:
    """The store's lock is taken before anything is created (so an import refused because another
    process writes the store touches nothing of it); a full disk during an import is a
    :class:`DiskFullError` (one line, exit 2), not a traceback: the batches written before stay in the
    store and a rerun skips them. A store folder that this import created and that received no rows
    (the input was refused) is removed again, under the lock."""

    @functools.wraps(fn)
    def wrapper(src: Any, store: Any, *args: Any, **kwargs: Any) -> dict:
        from actionhub.utils.lock import output_lock  # noqa: PLC0415
        from actionhub.utils.outputs import check_no_overlap  # noqa: PLC0415

        where = Path(getattr(store, "path", store))
        check_no_overlap({"--out": where}, {"FILE": src})
        with output_lock(where, what="store"):
            created = not where.exists()
            try:
                with disk_full_as(lambda e: f"the disk is full while importing {src} into the store {store}; the "
                                  "batches written before are kept: free some space and rerun the same command (rows "
                                  "already in the store are skipped)"):
                    return fn(src, store, *args, **kwargs)
            except BaseException:   # a store this import created and left empty is removed
                _remove_if_empty(where, created)
                raise

    return wrapper


def _remove_if_empty(path: Path, created: bool) -> None:
    if created and path.is_dir() and not any(path.glob("*/part-*.parquet")) and not any(path.glob("part-*")):
        import shutil  # noqa: PLC0415

        shutil.rmtree(path, ignore_errors=True)


@_import_guard
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




def is_export_folder(path: str | os.PathLike[str]) -> bool:
    """True when ``path`` is a folder with the ``descriptions/`` and ``hits/`` Parquet shards of an export."""
    from actionhub.dataset.export import config_files  # noqa: PLC0415

    p = Path(path)
    return p.is_dir() and bool(config_files(p, "descriptions")) and bool(config_files(p, "hits"))


def _check_shard(p: Path, schema: pa.Schema) -> None:
    """Refuse a shard of an export folder whose columns are missing, of another type (a rank as text) or
    hold integers the store's int32 columns cannot (checked before anything is written)."""
    import pyarrow.parquet as pq  # noqa: PLC0415

    from actionhub.utils.columns import INTEGER, TEXT, check_columns, check_int_range  # noqa: PLC0415

    try:
        have = pq.read_schema(p)
    except (pa.ArrowInvalid, OSError) as e:
        raise StoreError(f"{p} is not a readable Parquet file: {e}") from None
    missing = [c for c in schema.names if c not in have.names]
    if missing:
        raise StoreError(f"{p} lacks the column(s) {', '.join(missing)}; an exported {p.parent.name} shard "
                         f"has {', '.join(schema.names)}")
    kinds = {f.name: INTEGER if pa.types.is_integer(f.type) else TEXT for f in schema}
    check_columns(have, kinds, p, StoreError)
    for f in schema:
        if pa.types.is_int32(f.type) and not pa.types.is_int32(have.field(f.name).type):
            try:
                column = pq.read_table(p, columns=[f.name]).column(f.name)
            except (pa.ArrowInvalid, OSError) as e:
                raise StoreError(f"{p} is not a readable Parquet file: {e}") from None
            check_int_range(column, 32, f.name, p, StoreError)


def _read_shards(files: list[Path], schema: pa.Schema, columns: list[str]) -> pa.Table:
    import pyarrow.parquet as pq  # noqa: PLC0415

    tables = []
    for p in files:
        try:
            t = pq.read_table(p, columns=columns).cast(pa.schema([schema.field(c) for c in columns]))
        except (pa.ArrowInvalid, OSError, KeyError) as e:
            raise StoreError(f"{p} is not a readable shard with the columns {', '.join(columns)}: {e}") from None
        tables.append(t)
    return pa.concat_tables(tables)


@_import_guard
def import_export(folder: str | os.PathLike[str], store: str | os.PathLike[str], note: str | None = None,
                  batch_rows: int = 1 << 17, progress: bool = True) -> dict:
    """Read a folder written by `actionhub export` (or the same layout from the Hugging Face Hub) into a store.

    Every hit is added with its own rank and provider and its description with its own
    ``num_sentences`` and ``collected_at``, so a fresh store gets identical rows; rows the store
    already holds are skipped (importing twice adds nothing). Descriptions are read shard by
    shard in batches of ``batch_rows`` (only the hits and the descriptions' keys are held whole).
    ``actionhub.json``, when present, gives the store its note (when ``note`` is None and the
    store has none), the providers' collection settings and the query vocabulary (kept in
    ``store.json`` "queries", so a new export lists the queries that found nothing too).
    Returns ``{"folder", "store", "descriptions", "hits", "added", "new_descriptions",
    "duplicates", "hits_without_description", "descriptions_without_hits"}``.
    """
    import numpy as np  # noqa: PLC0415
    import pyarrow.compute as pc  # noqa: PLC0415
    import pyarrow.parquet as pq  # noqa: PLC0415

    from actionhub.dataset.export import CONFIG_SCHEMAS, META_FILE, config_files  # noqa: PLC0415
    from actionhub.dataset.store import key_column  # noqa: PLC0415
    from actionhub.utils.progress import progress_bar  # noqa: PLC0415

    src = Path(folder)
    if not is_export_folder(src):
        raise StoreError(f"{src} is not an exported ActionHub dataset (it needs descriptions/*.parquet and "
                         "hits/*.parquet); write one with `actionhub export STORE --out DIR`")
    meta: dict = {}
    if (src / META_FILE).is_file():
        try:
            meta = jsontext.loads((src / META_FILE).read_text(encoding="utf-8"))
        except ValueError as e:
            raise StoreError(f"{src / META_FILE} is not valid JSON ({e}); restore it or delete it") from None
        if not isinstance(meta, dict) or not isinstance(meta.get("store") or {}, dict):
            raise StoreError(f"{src / META_FILE} must hold a JSON object like the one `actionhub export` writes; "
                             "restore it or delete it")
    dschema, hschema = CONFIG_SCHEMAS["descriptions"], CONFIG_SCHEMAS["hits"]
    dfiles, hfiles = config_files(src, "descriptions"), config_files(src, "hits")
    for files, schema in ((dfiles, dschema), (hfiles, hschema)):
        for p in files:
            _check_shard(p, schema)
    hits = _read_shards(hfiles, hschema, list(hschema.names))
    dkeys = key_column(*_read_shards(dfiles, dschema, ["provider", "video_id"]).columns)
    where = pc.index_in(key_column(hits.column("provider"), hits.column("video_id")), value_set=dkeys)
    found = pc.is_valid(where)
    n_orphans = hits.num_rows - int(pc.sum(found).as_py() or 0)
    if n_orphans:
        log.warning("%s: %d hits list a description the folder does not hold; skipped", src, n_orphans)
    idx = pc.fill_null(where, -1).to_numpy(zero_copy_only=False).astype(np.int64)
    order = np.argsort(idx, kind="stable")
    idx, hits = idx[order], hits.take(pa.array(order))
    listed = np.zeros(len(dkeys), bool)
    listed[idx[idx >= 0]] = True
    summary = {"folder": str(src), "store": "", "descriptions": len(dkeys), "hits": hits.num_rows, "added": 0,
               "new_descriptions": 0, "duplicates": 0, "hits_without_description": n_orphans,
               "descriptions_without_hits": int((~listed).sum())}
    del dkeys
    exported_note = (meta.get("store") or {}).get("note")
    exported_note = exported_note if isinstance(exported_note, str) and exported_note else None
    st = Store(store, create=True, note=note)
    summary["store"] = str(st.path)
    if note is None and exported_note and not st.note:
        st.update_meta(note=exported_note)
    with st.lock():
        bar = progress_bar(enabled=progress, total=summary["descriptions"], desc=f"import {src.name}",
                           unit=" descriptions")
        offset = 0
        for p in dfiles:
            for b in pq.ParquetFile(p).iter_batches(batch_size=batch_rows, columns=list(dschema.names)):
                d = pa.Table.from_batches([b]).cast(dschema)
                lo, hi = np.searchsorted(idx, [offset, offset + d.num_rows])
                h = hits.slice(int(lo), int(hi - lo))
                rows = d.take(pa.array(idx[lo:hi] - offset))
                t = pa.table({"action": h.column("action"), "rank": h.column("rank"), "provider": h.column("provider"),
                              "video_id": h.column("video_id"), "description": rows.column("description"),
                              "num_sentences": rows.column("num_sentences"),
                              "collected_at": rows.column("collected_at")})
                n_desc, n_hits = st.add(t)
                summary["added"] += n_hits
                summary["new_descriptions"] += n_desc
                summary["duplicates"] += t.num_rows - n_hits
                offset += d.num_rows
                bar.update(d.num_rows)
        bar.close()
        updates: dict = {}
        collections = dict(st.meta().get("collections") or {})
        exported = (meta.get("store") or {}).get("collections")
        for name, settings in (exported if isinstance(exported, dict) else {}).items():
            collections.setdefault(name, settings)
        if collections:
            updates["collections"] = collections
        queries = meta.get("queries")
        if isinstance(queries, list) and queries:
            kept = st.meta().get("queries")
            updates["queries"] = sorted(set(map(str, queries)) | set(map(str, kept if isinstance(kept, list) else [])))
        updates["imported"] = [*(st.meta().get("imported") or []),
                               {"from": src.name, "exported_at": meta.get("exported_at"), "imported_at": utc_now(),
                                "hits_added": summary["added"]}]
        st.update_meta(**updates)
    return summary
