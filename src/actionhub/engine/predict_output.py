"""The rows ``predict`` writes, and how a long run keeps them: in part files, resumable after a kill.

One row per video (:func:`row_schema`)::

    video        string   the video (the path as given, or as ``extract`` recorded it for --features)
    label        string   its label from a ``path label`` list (only when the input has labels)
    label_rank   int32    1-based rank of that label among the actions (null: not one of them, or unreadable)
    predictions  list<struct<action string, score double,
                             [from_ad double, from_vc double,]                       # --explain, CoCo checkpoint
                             [descriptions list<struct<description string, similarity double>>]>>   # --explain
    imagenet_top list<struct<label string, p double>>    (--zero-shot conse only)
    error        string   why the video could not be scored (null when it was)

As dicts (:func:`row_dicts`, the Python API, ``--json``, JSON Lines) null fields are left out.

With an output file, rows are written as they come into part files in a hidden folder beside it,
``.NAME.parts/`` (``part-NNNNNN.parquet``, each atomic, plus ``settings.json``), while the caller
holds the output's lock (:func:`actionhub.utils.lock.output_lock`). A killed run leaves its parts; the
same command finds them (same settings), skips the videos they hold and goes on; the finished file
is assembled from the parts in input order and moved into place in one atomic rename
(:func:`actionhub.utils.outputs.staged_file`), then the parts are removed. Parts of a run with
other settings are refused (``overwrite`` starts over).
"""
from __future__ import annotations

import json
import logging
import shutil
import time
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from actionhub.utils.errors import UserError
from actionhub.utils.io import atomic_path, atomic_write_json

__all__ = ["PredictOutputError", "OUT_SUFFIXES", "row_schema", "row_dicts", "RowSink", "parts_folder",
           "FLUSH_ROWS", "FLUSH_SECONDS"]

log = logging.getLogger(__name__)

OUT_SUFFIXES = (".parquet", ".jsonl")
KEY = "_key"            # the resume key of a row, kept in the parts only
FLUSH_ROWS = 4096       # rows buffered before a part file is written ...
FLUSH_SECONDS = 5.0     # ... or after this long (what a kill can cost at most, besides the batch in hand)


class PredictOutputError(UserError):
    """An output of ``predict`` that cannot be written as asked; the message says what to do."""


def row_schema(*, labels: bool, explain: bool, parts: bool, imagenet: bool) -> Any:
    """The Arrow schema of the rows of one run (module docstring)."""
    import pyarrow as pa  # noqa: PLC0415

    pred = [pa.field("action", pa.string()), pa.field("score", pa.float64())]
    if explain and parts:
        pred += [pa.field("from_ad", pa.float64()), pa.field("from_vc", pa.float64())]
    if explain:
        pred.append(pa.field("descriptions", pa.list_(pa.struct([pa.field("description", pa.string()),
                                                                   pa.field("similarity", pa.float64())]))))
    fields = [pa.field("video", pa.string())]
    if labels:
        fields += [pa.field("label", pa.string()), pa.field("label_rank", pa.int32())]
    fields.append(pa.field("predictions", pa.list_(pa.struct(pred))))
    if imagenet:
        fields.append(pa.field("imagenet_top", pa.list_(pa.struct([pa.field("label", pa.string()),
                                                                     pa.field("p", pa.float64())]))))
    fields.append(pa.field("error", pa.string()))
    return pa.schema(fields)


def row_dicts(table: Any) -> list[dict[str, Any]]:
    """The rows of ``table`` as dicts, null fields left out (``predictions`` always there)."""
    return [{k: v for k, v in r.items() if v is not None or k == "predictions"} for r in table.to_pylist()]


def parts_folder(out: str | Path) -> Path:
    """Where the parts of ``out`` are kept while it is written: ``.NAME.parts`` beside it."""
    out = Path(out)
    return out.parent / f".{out.name}.parts"


class RowSink:
    """Collects a run's rows: in memory (``out`` None), or in part files beside ``out`` (module docstring).

    The caller holds ``out``'s lock for the sink's whole life. ``settings``: what makes the rows what
    they are (compared with the parts of an earlier run); ``done``: the keys the parts already hold.
    """

    def __init__(self, out: str | Path | None, settings: Mapping[str, Any], schema: Any, *, overwrite: bool = False):
        import pyarrow as pa  # noqa: PLC0415

        self.out = Path(out) if out is not None else None
        self.settings = json.loads(json.dumps(settings, default=str))
        self.schema = schema.append(pa.field(KEY, pa.string()))
        self.tables: list[Any] = []        # finished rows held in memory (no out), or read back from parts
        self.buffer: list[dict[str, Any]] = []
        self.last_flush = time.monotonic()
        self.resumed = 0
        self.done: set[str] = set()
        if self.out is not None:
            self.parts = parts_folder(self.out)
            self._open(overwrite)

    def _open(self, overwrite: bool) -> None:
        import pyarrow.parquet as pq  # noqa: PLC0415

        if self.out.exists() and not overwrite:
            raise PredictOutputError(f"--out {self.out} already exists (a finished prediction); pass --overwrite "
                                     "to replace it, or give a new file name")
        if self.parts.is_dir():
            old = _read_json(self.parts / "settings.json")
            finished = sorted(self.parts.glob("part-*.parquet"))
            if overwrite or not finished:   # starting over, or nothing finished to keep
                shutil.rmtree(self.parts)
            elif old != self.settings:
                diff = sorted(k for k in set(old) | set(self.settings) if old.get(k) != self.settings.get(k))
                raise PredictOutputError(
                    f"{self.parts} holds the unfinished rows of a run with other settings ({', '.join(diff) or '?'} "
                    "differ); rerun that command to finish it, or pass --overwrite to start over")
        for p in sorted(self.parts.glob("part-*.parquet")) if self.parts.is_dir() else []:
            try:
                t = pq.read_table(p)
            except Exception as e:  # noqa: BLE001 - parts are atomic; an unreadable one is redone
                log.warning("part %s is unreadable (%s); its videos are scored again", p, e)
                continue
            if t.schema != self.schema:
                log.warning("part %s has another layout; its videos are scored again", p)
                continue
            self.tables.append(t)
        self.done = {k for t in self.tables for k in t.column(KEY).to_pylist()}
        self.resumed = len(self.done)

    def add(self, rows: Iterable[dict[str, Any]]) -> None:
        """Take finished rows (dicts with ``_key``); with an output, written once enough are due."""
        self.buffer.extend(rows)
        if self.out is not None and (len(self.buffer) >= FLUSH_ROWS
                                     or time.monotonic() - self.last_flush >= FLUSH_SECONDS):
            self.flush()

    def flush(self) -> None:
        import pyarrow as pa  # noqa: PLC0415
        import pyarrow.parquet as pq  # noqa: PLC0415

        self.last_flush = time.monotonic()
        if not self.buffer:
            return
        t = pa.Table.from_pylist(self.buffer, schema=self.schema)
        self.buffer = []
        if self.out is not None:
            if not self.parts.is_dir():   # made with the first rows: a run refused before any leaves nothing
                self.parts.mkdir(parents=True)
                atomic_write_json(self.parts / "settings.json", self.settings)
            n = len(list(self.parts.glob("part-*.parquet")))
            with atomic_path(self.parts / f"part-{n:06d}.parquet") as tmp:
                pq.write_table(t, tmp)
        self.tables.append(t)

    def finish(self, keys: Sequence[str], meta: Mapping[str, Any] | None = None, overwrite: bool = False) -> Any:
        """The rows of ``keys`` in that order (a table without the key); with an output, the finished file
        is written (atomically) and the parts removed."""
        import pyarrow as pa  # noqa: PLC0415

        self.flush()
        t = pa.concat_tables(self.tables) if self.tables else self.schema.empty_table()
        where = {k: i for i, k in enumerate(t.column(KEY).to_pylist())}   # a key twice: the last part wins
        missing = [k for k in keys if k not in where]
        if missing:
            raise RuntimeError(f"{len(missing)} video(s) have no row, e.g. {missing[0]!r}")   # a bug, not input
        t = t.take(pa.array([where[k] for k in keys], pa.int64())).drop_columns([KEY])
        if meta:
            t = t.replace_schema_metadata({"actionhub": json.dumps(meta, ensure_ascii=False, default=str)})
        if self.out is not None:
            from actionhub.utils.outputs import staged_file  # noqa: PLC0415

            with staged_file(self.out, overwrite=overwrite, what="predictions file") as tmp:
                _write(t, tmp, self.out.suffix.lower())
            shutil.rmtree(self.parts, ignore_errors=True)
        return t


def _write(t: Any, path: Path, suffix: str) -> None:
    if suffix == ".jsonl":
        with open(path, "w", encoding="utf-8") as fh:
            for r in row_dicts(t):
                fh.write(json.dumps(r, ensure_ascii=False) + "\n")
        return
    import pyarrow.parquet as pq  # noqa: PLC0415

    pq.write_table(t, path)


def _read_json(path: Path) -> dict[str, Any]:
    try:
        rec = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return rec if isinstance(rec, dict) else {}
