"""How much to trust each action's ranked descriptions: the quality report of ``stats --ranked``.

From the ``per_action`` record of ``actionhub rank``'s report (:mod:`actionhub.text.ranking`), per action:
the shares ``cut``, ``object_only``, ``siblings`` and ``claimed``, whether only relaxed matches are kept,
and a likely-noise score in 0..1 that orders the warning list.

Docs: docs/text.md#the-quality-report
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

__all__ = ["action_quality", "warnings_of", "format_quality_table", "FEW"]

FEW = 3  # an action keeping fewer descriptions is flagged


def _share(part: float, whole: float) -> float:
    return round(float(part) / whole, 3) if whole else 0.0


def action_quality(report: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One row per action of a ranked file's report (``rank``'s metadata), most likely noisy first:
    ``{action, rows, candidates, kept, cut, object_only, siblings, claimed, relaxed_only, mean,
    noise, warnings}`` (shares in 0..1; ``warnings``: short reasons)."""
    per = report.get("per_action") or {}
    means = sorted(float(r["mean"]) for r in per.values() if r.get("mean") is not None)
    median = means[len(means) // 2] if means else 0.0
    spread = (means[int(0.9 * (len(means) - 1))] - means[int(0.1 * (len(means) - 1))]) if means else 0.0
    out = []
    for action, r in per.items():
        cand = int(r.get("candidates", 0))
        rows = int(r.get("rows", 0))
        kept = int(r.get("kept", 0))
        row = {"action": action, "rows": rows, "candidates": cand, "kept": kept,
               "cut": _share(r.get("cut", 0), cand), "object_only": _share(r.get("object_only", 0), cand),
               "siblings": _share(r.get("siblings", 0), rows), "claimed": _share(r.get("claimed", 0), cand),
               "relaxed_only": bool(kept and r.get("kept_relaxed", 0) == kept), "mean": r.get("mean")}
        weak = 0.0
        if row["mean"] is not None and spread > 0:
            weak = min(1.0, max(0.0, (median - float(row["mean"])) / spread))
        few = 1.0 if 0 < kept < FEW else 0.0
        relaxed_share = _share(r.get("kept_relaxed", 0), kept)
        row["noise"] = round(0.35 * row["object_only"] + 0.25 * relaxed_share + 0.25 * weak + 0.15 * few, 3)
        row["warnings"] = warnings_of(row, rows_without_kept=bool(rows and not kept))
        out.append(row)
    return sorted(out, key=lambda r: (-r["noise"], r["action"]))


def warnings_of(row: Mapping[str, Any], rows_without_kept: bool = False) -> list[str]:
    """Short reasons to look at an action's descriptions (empty: nothing stands out)."""
    w = []
    if rows_without_kept:
        w.append("nothing kept")
    if row["relaxed_only"]:
        w.append("only relaxed matches kept")
    if row["object_only"] >= 0.5:
        w.append(f"{100 * row['object_only']:.0f} % object-only")
    if 0 < row["kept"] < FEW:
        w.append(f"only {row['kept']} kept")
    if row["siblings"] >= 0.5:
        w.append(f"{100 * row['siblings']:.0f} % shared with a more specific query")
    if row["claimed"] >= 0.5:
        w.append(f"{100 * row['claimed']:.0f} % fit another action better")
    return w


def format_quality_table(rows: Sequence[Mapping[str, Any]], limit: int | None = 20) -> list[str]:
    """Text lines: the warning list (actions with a warning, most likely noisy first)."""
    flagged = [r for r in rows if r["warnings"]]
    lines = [f"actions to check, most likely noisy first ({len(flagged)} of {len(rows)}):"]
    if not flagged:
        return lines[:0] + ["no action's descriptions stand out as noisy"]
    lines.append(f"  {'action':32s} {'kept':>5s} {'cut':>5s} {'object':>7s} {'sibling':>8s} {'noise':>6s}  why")
    for r in flagged[:limit] if limit else flagged:
        lines.append(f"  {r['action'][:32]:32s} {r['kept']:5d} {100 * r['cut']:4.0f}% {100 * r['object_only']:6.0f}% "
                     f"{100 * r['siblings']:7.0f}% {r['noise']:6.2f}  {'; '.join(r['warnings'])}")
    if limit and len(flagged) > limit:
        lines.append(f"  ... and {len(flagged) - limit} more (--json lists them all)")
    return lines
