"""Per benchmark class: which actions describe it, how many descriptions it keeps, what was cut.

``text-features`` writes this table (:data:`COLUMNS`) for every class (``--class-report``, by default beside
``--out``: ``ucf101_text.classes.tsv``); ``stats --benchmark`` prints it.

Docs: docs/text.md#the-class-report
"""
from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

__all__ = ["COLUMNS", "class_coverage", "ranked_report", "write_class_report", "format_class_table"]

COLUMNS = ("class", "status", "descriptions", "actions", "stored", "cut", "object_only", "siblings", "claimed", "noise",
           "warnings", "sample")


def ranked_report(table: Any) -> dict[str, Any]:
    """The ``actionhub`` report a ranked table carries in its schema metadata (``{}`` if none)."""
    meta = getattr(table, "schema", None) and table.schema.metadata or {}
    try:
        return json.loads(meta.get(b"actionhub", b"{}"))
    except ValueError:
        return {}


def class_coverage(classes: Sequence[str], matches: Mapping[str, Sequence[str]], rows: Sequence[np.ndarray],
                   table: Any, minimum: int) -> list[dict[str, Any]]:
    """One row (:data:`COLUMNS`) per class: ``matches`` class -> actions (``match_classes``),
    ``rows`` per class the kept row indices of the ranked ``table``; status ``few`` below ``minimum``."""
    from actionhub.dataset.quality import action_quality  # noqa: PLC0415

    report = ranked_report(table) if table is not None else {}
    per = report.get("per_action") or {}
    quality = {q["action"]: q for q in action_quality(report)} if per else {}
    texts = table.column("description") if table is not None else None
    out = []
    for c, r in zip(classes, rows, strict=True):
        acts = list(matches.get(c, []))
        recs = [per[a] for a in acts if a in per]
        n = int(len(r))
        row: dict[str, Any] = {"class": c, "status": "none" if n == 0 else ("few" if n < minimum else "ok"),
                               "descriptions": n, "actions": ";".join(acts)}
        if recs:
            row["stored"] = sum(int(x.get("rows", 0)) for x in recs)
            for key in ("cut", "object_only", "siblings", "claimed"):
                row[key] = sum(int(x.get(key, 0)) for x in recs)
            qs = [quality[a] for a in acts if a in quality]
            row["noise"] = max((q["noise"] for q in qs), default=None)
            row["warnings"] = "; ".join(dict.fromkeys(w for q in qs for w in q["warnings"]))
        row["sample"] = str(texts[int(r[0])]) if n and texts is not None else ""
        out.append(row)
    return out


def write_class_report(path: str | Path, rows: Sequence[Mapping[str, Any]]) -> Path:
    """Write ``rows`` as a tab-separated file (:data:`COLUMNS`; empty cells where unknown), atomically."""
    from actionhub.utils.io import atomic_write_text  # noqa: PLC0415

    buf = io.StringIO()
    w = csv.writer(buf, delimiter="\t", lineterminator="\n")
    w.writerow(COLUMNS)
    for r in rows:
        w.writerow(["" if r.get(c) is None else r.get(c, "") for c in COLUMNS])
    path = Path(path)
    atomic_write_text(path, buf.getvalue())
    return path


def format_class_table(rows: Sequence[Mapping[str, Any]], samples: bool = True) -> list[str]:
    """Text lines: one per class (``stats --benchmark``)."""
    lines = [f"  {'class':26s} {'status':6s} {'kept':>5s} {'stored':>7s} {'cut':>5s} {'sibl.':>5s}  actions"
             + ("  | first kept description" if samples else "")]
    for r in rows:
        stored = r.get("stored")
        lines.append(f"  {r['class'][:26]:26s} {r['status']:6s} {r['descriptions']:5d} "
                     f"{'' if stored is None else stored:>7} {'' if r.get('cut') is None else r['cut']:>5} "
                     f"{'' if r.get('siblings') is None else r['siblings']:>5}  {r['actions'] or '-'}"
                     + (f"  | {r['sample'][:60]}" if samples and r.get("sample") else ""))
    return lines
