"""Export a description store as a Hugging Face dataset folder (Parquet shards and a dataset card).

``DIR/README.md`` (dataset card), ``DIR/actionhub.json`` (provenance for ``actionhub import``) and
three configs of ``train-i-of-n.parquet`` shards: ``descriptions`` (one row per description, the
text stored once), ``hits`` (one row per (action, video) with its rank; joins on
``(provider, video_id)``) and ``queries`` (also those that found nothing). The store is read in
batches under its writer lock (the text never all in memory), shards are cut at about
``max_shard_mb`` / ``max_shard_rows``, and the folder is built under a hidden name and renamed into
place. :func:`actionhub.dataset.importer.import_export` reads it back.
Docs: docs/dataset.md#7-sharing-the-dataset-actionhub-export-hugging-face-datasets
"""
from __future__ import annotations

import contextlib
import json
import logging
import math
import os
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

import pyarrow as pa
import pyarrow.compute as pc

from actionhub.dataset.curation import filter_hits
from actionhub.dataset.store import DESCRIPTION_SCHEMA, HIT_SCHEMA, Store, StoreError, key_column, utc_now
from actionhub.utils import jsontext
from actionhub.utils.io import atomic_write_json, atomic_write_text
from actionhub.utils.lock import OutputNotWritableError
from actionhub.utils.outputs import check_no_overlap, staged_folder

__all__ = [
    "EXPORT_FORMAT_VERSION",
    "META_FILE",
    "QUERY_SCHEMA",
    "CONFIG_SCHEMAS",
    "DEFAULT_SHARD_MB",
    "ExportError",
    "export_store",
    "config_files",
]

log = logging.getLogger(__name__)

EXPORT_FORMAT_VERSION = 1
META_FILE = "actionhub.json"
DEFAULT_SHARD_MB = 500
SPLIT = "train"
ROW_GROUP_ROWS = 100_000
QUERY_SCHEMA = pa.schema([("action", pa.string()), ("num_descriptions", pa.int64())])
#: the three configs of an export, in the order of the card; "descriptions" is the default
CONFIG_SCHEMAS = {"descriptions": DESCRIPTION_SCHEMA, "hits": HIT_SCHEMA, "queries": QUERY_SCHEMA}
#: what an export puts in its folder (the rest of a folder is someone else's and is kept)
EXPORT_ENTRIES = ("README.md", META_FILE, *CONFIG_SCHEMAS)

_COLUMN_HELP = {
    ("descriptions", "provider"): "where the description comes from (`shutterstock`, `local`, `released`, ...)",
    ("descriptions", "video_id"): "the provider's id of the video (imports without ids: a hash of action and text)",
    ("descriptions", "description"): "the text",
    ("descriptions", "num_sentences"): "sentences in the text (runs of . ! ? before a space or the end)",
    ("descriptions", "collected_at"): "when it was collected, ISO-8601 UTC",
    ("hits", "action"): "the action (its query) the video was returned for",
    ("hits", "provider"): "with `video_id`: the description it lists",
    ("hits", "video_id"): "with `provider`: the description it lists",
    ("hits", "rank"): "the provider's 0-based rank of the video for that query (imports: order in the file)",
    ("queries", "action"): "a query (action name) of the vocabulary",
    ("queries", "num_descriptions"): "its hits over every provider (0: the query found nothing)",
}


class ExportError(StoreError):
    """The export's destination or input is unusable; the message says how to fix it."""


def config_files(folder: str | os.PathLike[str], config: str) -> list[Path]:
    """The Parquet shards of ``config`` in an export folder, in order."""
    return sorted((Path(folder) / config).glob("*.parquet"))


# -- Parquet shards ------------------------------------------------------------------------------
class _Shards:
    """Writes one config's rows into ``train-NNNNN.parquet`` files of about ``max_bytes`` and at most
    ``max_rows``; :meth:`close` names them ``train-i-of-n``. Rows are written one row group (at most
    ``ROW_GROUP_ROWS``, buffered so that a store of many small part files still gives well-formed files) at
    a time; a file ends when the next group would pass ``max_bytes`` at the bytes per row written so far."""

    def __init__(self, folder: Path, schema: pa.Schema, max_bytes: int, max_rows: int | None, on_rows=None):
        self.folder, self.schema = folder, schema
        self.max_bytes, self.max_rows = max_bytes, max_rows
        self.on_rows = on_rows
        self.files: list[Path] = []
        self.rows = 0
        self.num_bytes = 0  # Arrow (in-memory) size, what the card's dataset_info calls num_bytes
        self._buf: list[pa.Table] = []
        self._buffered = 0
        self._sink = self._writer = None
        self._in_file = 0
        self._bytes_per_row = 0.0
        folder.mkdir(parents=True, exist_ok=True)

    def add(self, t: pa.Table) -> None:
        if t.num_rows == 0:
            return
        self._buf.append(t.select(self.schema.names).cast(self.schema))
        self._buffered += t.num_rows
        if self._buffered >= ROW_GROUP_ROWS:
            self._flush()

    def _flush(self) -> None:
        if not self._buf:
            return
        t = pa.concat_tables(self._buf).combine_chunks()
        self._buf, self._buffered = [], 0
        while t.num_rows:
            if self._writer is None:
                self._open()
            take = min(t.num_rows, ROW_GROUP_ROWS)  # one row group at a time, the file's size checked after each
            if self.max_rows is not None:
                take = min(take, self.max_rows - self._in_file)
            if self._in_file and self._bytes_per_row:  # the rows that still fit, at the Parquet bytes per row so far
                room = int((self.max_bytes - self._sink.tell()) / self._bytes_per_row)
                if room < 1:
                    self._close_file()
                    continue
                take = min(take, room)
            piece, t = t.slice(0, take), t.slice(take)
            self._writer.write_table(piece, row_group_size=ROW_GROUP_ROWS)
            self._in_file += take
            self.rows += take
            self.num_bytes += piece.nbytes
            self._bytes_per_row = self._sink.tell() / self._in_file
            if self.on_rows:
                self.on_rows(take)
            if (self.max_rows is not None and self._in_file >= self.max_rows) or self._sink.tell() >= self.max_bytes:
                self._close_file()

    def _open(self) -> None:
        import pyarrow.parquet as pq  # noqa: PLC0415

        path = self.folder / f"{SPLIT}-{len(self.files):05d}.parquet"
        self._sink = pa.OSFile(str(path), "wb")
        self._writer = pq.ParquetWriter(self._sink, self.schema, compression="zstd")
        self.files.append(path)
        self._in_file = 0

    def _close_file(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._sink.close()
            self._writer = self._sink = None

    def close(self) -> list[Path]:
        """Finish the last file and give every file its final ``train-i-of-n`` name (one empty file when no rows)."""
        self._flush()
        if not self.files:
            self._open()
        self._close_file()
        n = len(self.files)
        final = [p.with_name(f"{SPLIT}-{i:05d}-of-{n:05d}.parquet") for i, p in enumerate(self.files)]
        for old, new in zip(self.files, final, strict=True):
            old.rename(new)
        self.files = final
        return final


# -- reading the store ---------------------------------------------------------------------------
def _read_files(files: Sequence[Path], schema: pa.Schema, columns: Sequence[str]) -> pa.Table:
    """``columns`` of the part files, in file order (one table)."""
    import pyarrow.parquet as pq  # noqa: PLC0415

    if not files:
        return schema.empty_table().select(list(columns))
    try:
        return pa.concat_tables([pq.read_table(p, columns=list(columns)).cast(
            pa.schema([schema.field(c) for c in columns])) for p in files])
    except FileNotFoundError as e:
        raise ExportError(f"a part file of the store disappeared during the export ({e.filename}); "
                          "rerun the export when no other process works on the store") from None
    except (pa.ArrowInvalid, OSError) as e:
        raise ExportError(f"could not read the store: {e}") from None


def _iter_batches(files: Sequence[Path], schema: pa.Schema, batch_rows: int) -> Iterator[pa.Table]:
    import pyarrow.parquet as pq  # noqa: PLC0415

    for p in files:
        try:
            for b in pq.ParquetFile(p).iter_batches(batch_size=batch_rows, columns=schema.names):
                yield pa.Table.from_batches([b]).cast(schema)
        except FileNotFoundError:
            raise ExportError(f"a part file of the store disappeared during the export ({p}); rerun the export "
                              "when no other process works on the store") from None


def _vocabulary(st: Store, queries: Iterable[str] | None, hit_actions: Iterable[str]) -> tuple[list[str], list[str]]:
    """Every query of the store: ``queries`` (a user's file), those of each provider's collection state,
    those kept by an import (``store.json`` "queries") and every action with a hit; and where they came from."""
    found: dict[str, None] = {}
    sources = []
    if queries is not None:
        found.update(dict.fromkeys(q.strip() for q in queries if q and q.strip()))
        sources.append("the --queries file of the export")
    for state in sorted(st.state_dir.glob("collect-*.json")):
        try:
            qs = jsontext.loads(state.read_text(encoding="utf-8")).get("queries") or {}
        except (OSError, ValueError, AttributeError):
            continue
        if qs:
            found.update(dict.fromkeys(str(q) for q in qs))
            sources.append(f"collection state of {state.stem.removeprefix('collect-')}")
    kept = st.meta().get("queries")
    if isinstance(kept, list) and kept:
        found.update(dict.fromkeys(str(q) for q in kept))
        sources.append("an earlier export (imported)")
    found.update(dict.fromkeys(hit_actions))
    sources.append("actions of the hits")
    return sorted(found), sources


def _public(value: Any) -> Any:
    """A provider setting for a card that may be published: absolute paths shortened to their file name."""
    if isinstance(value, dict):
        return {k: _public(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_public(v) for v in value]
    if isinstance(value, str) and os.path.isabs(value):
        return os.path.basename(value.rstrip("/\\")) or value
    return value


# -- the card --------------------------------------------------------------------------------------
def _scalar(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    return json.dumps(str(v), ensure_ascii=False)  # a JSON string is a YAML double-quoted scalar


def _yaml_lines(obj: Any, indent: int = 0) -> Iterator[str]:
    """Block YAML of dicts, lists and scalars (enough for the card header; strings always quoted)."""
    pad = "  " * indent
    if isinstance(obj, dict):
        for k, v in obj.items():
            if isinstance(v, (dict, list)) and v:
                yield f"{pad}{k}:"
                yield from _yaml_lines(v, indent + 1)
            else:
                yield f"{pad}{k}: " + ("[]" if v == [] else "{}" if v == {} else _scalar(v))
    else:
        for item in obj:
            if isinstance(item, (dict, list)) and item:
                sub = list(_yaml_lines(item, indent + 1))
                yield f"{pad}- {sub[0].lstrip()}"
                yield from sub[1:]
            else:
                yield f"{pad}- {_scalar(item)}"


def _size_category(n: int) -> str:
    for limit, name in ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M"),
                        (10_000_000, "1M<n<10M"), (100_000_000, "10M<n<100M"), (1_000_000_000, "100M<n<1B")):
        if n < limit:
            return name
    return "n>1T" if n >= 10 ** 12 else "1B<n<10B"


def _dtype(t: pa.DataType) -> str:
    return "string" if pa.types.is_string(t) else str(t)


def _card(meta: dict, license_id: str, name: str) -> str:
    cfgs = meta["configs"]
    header = {
        "pretty_name": name,
        "license": license_id,
        **({"license_name": "provider-terms"} if license_id == "other" else {}),
        "task_categories": ["zero-shot-classification", "video-classification"],
        "tags": ["actionhub", "zero-shot-action-recognition", "video-descriptions", "video-text"],
        "size_categories": [_size_category(max(c["rows"] for c in cfgs.values()))],
        "configs": [{"config_name": k, **({"default": True} if k == "descriptions" else {}),
                     "data_files": [{"split": SPLIT, "path": f"{k}/{SPLIT}-*.parquet"}]} for k in cfgs],
        "dataset_info": [{"config_name": k,
                          "features": [{"name": f.name, "dtype": _dtype(f.type)} for f in CONFIG_SCHEMAS[k]],
                          "splits": [{"name": SPLIT, "num_bytes": c["num_bytes"], "num_examples": c["rows"]}],
                          "download_size": c["download_size"], "dataset_size": c["num_bytes"]}
                         for k, c in cfgs.items()],
    }
    s, store = meta["stats"], meta["store"]
    note = store.get("note") or ""
    L = ["---", *_yaml_lines(header), "---", "", f"# {name}", ""]
    if note:
        L += [f"> **Store note: {note}**", ""]
    L += [f"Action video descriptions from an [ActionHub](https://pypi.org/project/actionhub/) description store "
          f"(`{store['name']}`), exported by `actionhub export` (actionhub {meta['actionhub_version']}) on "
          f"{meta['exported_at']}. Zero-shot action recognition uses them as class text: each action (a query of "
          "the vocabulary) lists the videos the provider returned for it, each video with its description.", "",
          "## Configurations", "",
          "| config | one row per | rows | shards |", "|---|---|---|---|"]
    what = {"descriptions": "description (unique by `provider`, `video_id`); the default config",
            "hits": "(action, video): every video a query returned for its action, with its rank",
            "queries": "query of the vocabulary, with its number of descriptions (0: found nothing)"}
    L += [f"| `{k}` | {what[k]} | {c['rows']:,} | {len(c['files'])} |" for k, c in cfgs.items()]
    L += ["", "A video found by the queries of several actions is one description and one hit per action: "
          "join `hits` to `descriptions` on (`provider`, `video_id`).", "",
          "| config | column | type | meaning |", "|---|---|---|---|"]
    L += [f"| `{k}` | `{f.name}` | {_dtype(f.type)} | {_COLUMN_HELP[(k, f.name)]} |"
          for k in cfgs for f in CONFIG_SCHEMAS[k]]
    L += ["", "## Loading", "", "```python", "from datasets import load_dataset", "",
          'descriptions = load_dataset("PATH")["train"]          # the default config',
          'hits = load_dataset("PATH", "hits")["train"]',
          'queries = load_dataset("PATH", "queries")["train"]', "",
          "# every action with its descriptions, best-ranked first (pandas)",
          'per_action = hits.to_pandas().merge(descriptions.to_pandas(), on=["provider", "video_id"])',
          'per_action = per_action.sort_values(["action", "provider", "rank"])', "```", "",
          "`PATH` is this folder (or its Hub repository id). Back into an ActionHub store: "
          "`actionhub import PATH --out store/` (same descriptions, hits, ranks and providers).", "",
          "## Counts", "", "From `actionhub stats` of the store at export time:", "",
          f"- actions with descriptions: {s['num_actions']:,}",
          f"- queries: {s.get('num_queries', s['num_actions']):,} "
          f"({s.get('actions_without_descriptions', 0):,} without descriptions)",
          f"- descriptions: {s['num_descriptions']:,} ({s['shared_descriptions']:,} listed by two or more actions; "
          f"{s['num_action_descriptions']:,} per-action listings, the `hits`)",
          f"- sentences: {s['num_sentences']:,} ({s['sentences_per_description']:.2f} per description)",
          "- descriptions per provider: "
          + (", ".join(f"{p} {n:,}" for p, n in sorted(s["providers"].items())) or "none"),
          f"- per action: median {s['per_action']['median_descriptions']:g} descriptions "
          f"(mean {s['per_action']['mean_descriptions']:g}), median {s['per_action']['median_sentences']:g} sentences"]
    if s.get("top"):
        L.append("- most descriptions: " + ", ".join(f"{a} ({n:,})" for a, n, _ in s["top"][:10]))
    if meta.get("left_out"):
        lo = meta["left_out"]
        L.append(f"- left out: {lo['descriptions_without_hits']:,} stored descriptions that no action lists, "
                 f"{lo['hits_without_description']:,} hits whose description is missing")
    L += ["", "## Provenance", "",
          f"Store created {store.get('created_at') or 'at an unknown time'}"
          + (f"; note: {note}" if note else "") + ".", "",
          "| provider | descriptions | hits | actions | first collected | last collected | settings |",
          "|---|---|---|---|---|---|---|"]
    for p, v in meta["providers"].items():
        settings = json.dumps(v.get("settings") or {}, ensure_ascii=False)
        L.append(f"| `{p}` | {v['descriptions']:,} | {v['hits']:,} | {v['actions']:,} | {v['first_collected'] or '-'} "
                 f"| {v['last_collected'] or '-'} | `{settings}` |")
    L += ["", f"Query vocabulary: {len(meta['queries']):,} queries (the `queries` config), gathered from "
          + ", ".join(meta["queries_from"]) + ". In the paper the vocabulary is built from the class names of "
          "seven action datasets (`actionhub vocab build`).", "",
          "## Licence", "",
          "The descriptions are text written by others: by the contributors of the provider they were collected "
          "from (for `shutterstock`: the public descriptions of stock-footage clips, under Shutterstock's terms of "
          "service) or by whoever made the corpus of a `local` or `released` import. Their licence is the "
          "provider's or the corpus's, not ActionHub's: the MIT licence of ActionHub covers its code, not this "
          "data. Check those terms before redistributing the text; the card's `license: "
          f"{license_id}` says so for the Hub.", "",
          "Video ids refer to the provider's videos; no video is included.", ""]
    return "\n".join(L)


# -- the export ------------------------------------------------------------------------------------
def export_store(store: str | os.PathLike[str] | Store, out: str | os.PathLike[str], *,
                 queries: Iterable[str] | None = None, max_shard_mb: float = DEFAULT_SHARD_MB,
                 max_shard_rows: int | None = None, overwrite: bool = False, license: str = "other",
                 name: str | None = None, batch_rows: int = 1 << 17, progress: bool = True,
                 curation: bool = True) -> dict:
    """Write the store as a Hugging Face dataset folder ``out`` (see the module docstring); returns a summary.

    ``queries``: the queries collected (e.g. ``read_queries("queries.csv")``), so that those that
    found nothing are in the ``queries`` config and the counts too (queries of the store's
    collection state are included anyway). ``max_shard_mb`` / ``max_shard_rows``: where a shard is
    cut (about; checked after each row group of 100,000 rows). ``overwrite``: replace an earlier
    export at ``out`` (only what an export wrote there; other files are kept, and files of others
    in the way of the export's names are refused: :func:`actionhub.utils.outputs.staged_folder`).
    ``license``: the card's licence id (default ``other``: the provider's terms). Returns
    ``{"out", "configs": {name: {"rows", "files", "num_bytes", "download_size"}}, "stats", ...}``
    (the content of ``actionhub.json``). ``curation``: leave out what the store's curation marks throw out
    (``STORE/curation.jsonl``; ``"curation"`` in the result says what).
    """
    from actionhub import __version__  # noqa: PLC0415
    from actionhub.dataset.stats import compute_stats  # noqa: PLC0415
    from actionhub.utils.progress import progress_bar  # noqa: PLC0415

    if not math.isfinite(max_shard_mb) or max_shard_mb <= 0 or (max_shard_rows is not None and max_shard_rows < 1):
        raise ExportError("--max-shard-mb must be > 0 and --max-shard-rows >= 1")
    st = store if isinstance(store, Store) else Store(store)
    out = Path(out)
    check_no_overlap({"--out": out}, {"STORE": st.path})
    if not st.parts("hits"):
        raise ExportError(f"the store {st.path} holds no descriptions yet; fill it with `actionhub collect` or "
                          "`actionhub import` first")
    lock = contextlib.ExitStack()
    try:
        lock.enter_context(st.lock())
    except OutputNotWritableError:  # a read-only store: nobody writes to it through us either
        log.info("store %s is read-only; exporting without its writer lock", st.path)
    with lock, staged_folder(out, kind="export", overwrite=overwrite, what="dataset folder", names=EXPORT_ENTRIES,
                             legacy=lambda p: (p / META_FILE).is_file()) as staging:
        hit_files, desc_files = st.parts("hits"), st.parts("descriptions")  # hits first: their descriptions exist
        hits, curated = filter_hits(st, _read_files(hit_files, HIT_SCHEMA, HIT_SCHEMA.names), curation)
        dkeys = key_column(*_read_files(desc_files, DESCRIPTION_SCHEMA, ["provider", "video_id"]).columns)
        hkeys = key_column(hits.column("provider"), hits.column("video_id"))
        has_desc = pc.is_in(hkeys, value_set=dkeys)
        n_orphan_hits = int(pc.sum(pc.invert(has_desc)).as_py() or 0)
        if n_orphan_hits:
            log.warning("%d hits of %s list a description the store does not hold; left out", n_orphan_hits, st.path)
            hits, hkeys = hits.filter(has_desc), hkeys.filter(has_desc)
        listed = pc.is_in(dkeys, value_set=pc.unique(hkeys)).to_numpy(zero_copy_only=False)
        del dkeys, hkeys
        hits = hits.sort_by([("action", "ascending"), ("provider", "ascending"), ("rank", "ascending")])
        vocab, sources = _vocabulary(st, queries, pc.unique(hits.column("action")).to_pylist())
        stats = compute_stats(st, queries=vocab, top=10, bottom=10, curation=curation)
        per_action = stats["descriptions_per_action"]
        qtable = pa.table({"action": pa.array(vocab, pa.string()),
                           "num_descriptions": pa.array([per_action.get(q, 0) for q in vocab], pa.int64())})
        max_bytes = int(max_shard_mb * 1e6)
        bar = progress_bar(enabled=progress, total=hits.num_rows + int(listed.sum()) + qtable.num_rows,
                           desc=f"export {out.name}", unit=" rows")
        try:
            shards = {k: _Shards(staging / k, CONFIG_SCHEMAS[k], max_bytes, max_shard_rows, bar.update)
                      for k in CONFIG_SCHEMAS}
            # descriptions, streamed from the part files; collection dates and counts per provider on the way
            dates: list[pa.Table] = []
            offset = 0
            for t in _iter_batches(desc_files, DESCRIPTION_SCHEMA, batch_rows):
                keep = listed[offset:offset + t.num_rows]
                offset += t.num_rows
                if not keep.all():
                    t = t.filter(pa.array(keep))
                if t.num_rows:
                    shards["descriptions"].add(t)
                    dates.append(t.select(["provider", "collected_at"]).group_by("provider").aggregate(
                        [("collected_at", "min"), ("collected_at", "max"), ("provider", "count")]))
            for i in range(0, hits.num_rows, batch_rows):
                shards["hits"].add(hits.slice(i, batch_rows))
            shards["queries"].add(qtable)
            files = {k: s.close() for k, s in shards.items()}
            bar.close()
            providers = _providers(st, hits, dates)
            sm = st.meta()
            meta = {
                "format": "actionhub-export", "format_version": EXPORT_FORMAT_VERSION,
                "actionhub_version": __version__, "exported_at": utc_now(),
                "store": {"name": st.path.name, "note": str(sm.get("note") or ""), "created_at": sm.get("created_at"),
                          "schema_version": sm.get("schema_version"),
                          "collections": _public(sm.get("collections") or {})},
                "configs": {k: {"rows": shards[k].rows, "files": [f"{k}/{p.name}" for p in files[k]],
                                "num_bytes": shards[k].num_bytes,
                                "download_size": sum(p.stat().st_size for p in files[k])} for k in CONFIG_SCHEMAS},
                "providers": providers,
                "queries": vocab,
                "queries_from": sources,
                "stats": {k: v for k, v in stats.items() if k not in ("descriptions_per_action", "store", "collections",
                                                                       "hist_descriptions", "hist_sentences")},
                "left_out": {"descriptions_without_hits": int((~listed).sum()),
                             "hits_without_description": n_orphan_hits},
            }
            if not any(meta["left_out"].values()):
                meta.pop("left_out")
            if curated:
                meta["curation"] = curated
            atomic_write_json(staging / META_FILE, meta)
            card = _card(meta, license, name or f"ActionHub descriptions: {st.path.name}")
            atomic_write_text(staging / "README.md", card)
        finally:
            bar.close()
    meta["out"] = str(out)
    return meta


def _providers(st: Store, hits: pa.Table, dates: list[pa.Table]) -> dict:
    """Per provider: descriptions, hits, actions, first/last ``collected_at`` and the collection settings."""
    out: dict[str, dict] = {}
    if dates:
        d = pa.concat_tables(dates).group_by("provider").aggregate(
            [("collected_at_min", "min"), ("collected_at_max", "max"), ("provider_count", "sum")])
        for p, lo, hi, n in zip(*(d.column(c).to_pylist() for c in ("provider", "collected_at_min_min",
                                                                     "collected_at_max_max", "provider_count_sum")),
                                                                     strict=True):
            out[p] = {"descriptions": int(n), "first_collected": lo, "last_collected": hi}
    h = hits.select(["provider", "action"]).group_by("provider").aggregate(
        [("action", "count"), ("action", "count_distinct")])
    cols = ("provider", "action_count", "action_count_distinct")
    for p, n, a in zip(*(h.column(c).to_pylist() for c in cols), strict=True):
        out.setdefault(p, {"descriptions": 0, "first_collected": None, "last_collected": None})
        out[p].update(hits=int(n), actions=int(a))
    collections = st.meta().get("collections") or {}
    for p, v in out.items():
        v.setdefault("hits", 0)
        v.setdefault("actions", 0)
        v["settings"] = _public(collections.get(p) or {})
        state = st.state_file("collect", p)
        if state.exists():
            with contextlib.suppress(OSError, ValueError, AttributeError):
                v["queries_collected"] = len(jsontext.loads(state.read_text(encoding="utf-8")).get("queries") or {})
    return dict(sorted(out.items()))
