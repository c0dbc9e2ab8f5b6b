"""The Fig. 6 analysis written out: the picture, the neighbour tables and the summary
(:func:`analyze_descriptions` runs :mod:`actionhub.dataset.analysis` and :func:`write_analysis`).

Files: ``fig6_descriptions.png`` (name vectors, description vectors and centres projected by PCA,
which keeps each centre the mean of its points; each action's nearest actions by name and by
descriptions), ``fig6_neighbours.md``, ``fig6_neighbours.csv`` (``action, by, rank, neighbour,
cosine``) and ``fig6_analysis.json``. The note (the store's or ``--note``, e.g. "SYNTHETIC: ...")
is in the figure title and the tables. matplotlib is imported lazily (Agg canvas).

Docs: docs/dataset.md#8-fig-6-names-vs-descriptions-actionhub-analyze-descriptions
"""
from __future__ import annotations

import csv
import io
import json
import os
import time
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from actionhub.dataset.analysis import (
    DEFAULT_NUM_ACTIONS,
    DEFAULT_PER_ACTION,
    DEFAULT_TOP,
    AnalysisError,
    DescriptionVectors,
    default_actions,
    description_vectors,
    neighbour_summary,
    neighbour_tables,
    project_2d,
    resolve_actions,
)
from actionhub.utils.io import atomic_path, atomic_write_text
from actionhub.utils.names import listing
from actionhub.utils.outputs import check_no_overlap, staged_folder

__all__ = ["FILES", "analyze_descriptions", "write_analysis", "format_summary"]

FILES = {"figure": "fig6_descriptions.png", "markdown": "fig6_neighbours.md", "csv": "fig6_neighbours.csv",
         "json": "fig6_analysis.json"}
PROJECTION = "PCA"
COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#7f7f7f",
          "#bcbd22"]


def _tag(note: str) -> str:
    return f" [{note}]" if note else ""


def _neighbours(v: DescriptionVectors, tables: dict[str, np.ndarray], i: int, by: str) -> list[tuple[str, float]]:
    idx, sim = tables[f"{by}_idx"][i], tables[f"{by}_sim"][i]
    return [(v.actions[j], float(s)) for j, s in zip(idx, sim, strict=True) if j >= 0]


def analyze_descriptions(
    store: Any,
    out_dir: str | Path,
    *,
    actions: Sequence[str] | None = None,
    num_actions: int = DEFAULT_NUM_ACTIONS,
    top: int = DEFAULT_TOP,
    per_action: int = DEFAULT_PER_ACTION,
    word_vectors: Any = None,
    note: str | None = None,
    batch_size: int = 1 << 17,
    progress: bool = True,
    say: Callable[[str], None] | None = None,
    overwrite: bool = False,
) -> dict[str, Any]:
    """Fig. 6 of a description store or top-k table into ``out_dir``; returns the JSON record
    (``summary``, ``chosen``, ``files``, timings). ``actions``: the actions to draw (default:
    ``num_actions`` well-populated ones, :func:`~actionhub.dataset.analysis.default_actions`).
    The folder is written whole or not at all (:func:`~actionhub.utils.outputs.staged_folder`); an
    existing one is refused before any work unless ``overwrite``, which replaces only these files."""
    # numbers are checked before the pass over the store
    for flag, value, least in (("--top", top, 1), ("--num-actions", num_actions, 1), ("--batch-size", batch_size, 1)):
        if value < least:
            raise AnalysisError(f"{flag} must be at least {least}, got {value}")
    if per_action < 0:
        raise AnalysisError(f"--per-action must be >= 0 (0: every description), got {per_action}")
    if isinstance(store, (str, os.PathLike)):
        check_no_overlap({"--out": out_dir}, {"STORE": store})
    t0 = time.perf_counter()
    with _staged(out_dir, overwrite) as staging:
        vectors = description_vectors(store, word_vectors, per_action=per_action,
                                      points_per_action=per_action or DEFAULT_PER_ACTION,
                                      batch_size=batch_size, progress=progress, note=note)
        chosen = resolve_actions(vectors, actions) if actions else default_actions(vectors, num_actions)
        t1 = time.perf_counter()
        tables = neighbour_tables(vectors, top)
        summary = neighbour_summary(vectors, tables)
        record = _write_files(vectors, tables, summary, chosen, staging, Path(out_dir))
    record["seconds"] = {"vectors": round(t1 - t0, 2), "neighbours_and_files": round(time.perf_counter() - t1, 2),
                         "total": round(time.perf_counter() - t0, 2)}
    if say is not None:
        say(format_summary(record))
    return record


def _staged(out_dir: str | Path, overwrite: bool) -> Any:
    return staged_folder(out_dir, kind="analysis", overwrite=overwrite, what="analysis folder",
                         names=FILES.values(), legacy=lambda p: (p / FILES["json"]).is_file())


def write_analysis(vectors: DescriptionVectors, tables: dict[str, np.ndarray], summary: dict[str, Any],
                   chosen: Sequence[str], out_dir: str | Path, overwrite: bool = False) -> dict[str, Any]:
    """Write the four files of the module docstring (whole or not at all); returns the JSON record."""
    with _staged(out_dir, overwrite) as staging:
        return _write_files(vectors, tables, summary, chosen, staging, Path(out_dir))


def _write_files(vectors: DescriptionVectors, tables: dict[str, np.ndarray], summary: dict[str, Any],
                 chosen: Sequence[str], out: Path, final: Path) -> dict[str, Any]:
    """The files into folder ``out``, the record naming them where they will be: in ``final``."""
    v = vectors
    valid = v.valid   # a property over every action's name vector: computed once
    per_action = []
    for i, a in enumerate(v.actions):
        per_action.append({"action": a, "descriptions_used": int(v.used[i]), "descriptions_read": int(v.read[i]),
                           "by_name": _neighbours(v, tables, i, "name") if valid[i] else [],
                           "by_descriptions": _neighbours(v, tables, i, "desc") if valid[i] else []})
    chosen_rows = [per_action[v.index(a)] for a in chosen]
    files = {k: str(final / name) for k, name in FILES.items()}
    explained = _figure(v, chosen, chosen_rows, out / FILES["figure"]) if chosen else None
    if not chosen:
        files.pop("figure")
    record = {
        "what": "Fig. 6: name vectors vs description centres (averaged word vectors), nearest actions by cosine",
        "note": v.note,
        "store": v.store,
        "word_vectors": v.word_vectors,
        "per_action": v.per_action,
        "points_per_action": v.points_per_action,
        "rows": v.rows,
        "projection": PROJECTION,
        "explained_variance": None if explained is None else [round(float(e), 4) for e in explained],
        "chosen": chosen_rows,
        "summary": summary,
        "files": files,
        "actions": per_action,
    }
    atomic_write_text(out / FILES["json"], json.dumps(record, indent=1, ensure_ascii=False) + "\n")
    atomic_write_text(out / FILES["csv"], _csv(per_action))
    atomic_write_text(out / FILES["markdown"], _markdown(record))
    return record


def _csv(rows: list[dict[str, Any]]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["action", "by", "rank", "neighbour", "cosine"])
    for r in rows:
        for by, key in (("name", "by_name"), ("descriptions", "by_descriptions")):
            for k, (n, s) in enumerate(r[key], 1):
                w.writerow([r["action"], by, k, n, f"{s:.4f}"])
    return buf.getvalue()


def _pct(x: float) -> str:
    return "n/a" if x != x else f"{100 * x:.1f}%"


def _summary_lines(rec: dict[str, Any]) -> list[str]:
    s = rec["summary"]
    used = "every description" if not rec["per_action"] else f"the first {rec['per_action']} descriptions"
    lines = [
        f"actions compared: {s['actions_compared']:,} of {s['actions']:,} "
        f"(centres from {used} of each action by rank, {s['descriptions_used']:,} descriptions, "
        f"{rec['word_vectors']})",
        f"nearest action by name = nearest by descriptions: {_pct(s['nearest_agree'])} "
        f"({s['nearest_agree_count']:,} actions)",
        f"mean overlap of the top-{s['top']} lists: {_pct(s['mean_overlap'])} (chance {_pct(s['chance_overlap'])})",
        f"mean cosine of a name vector and its own description centre: {s['mean_name_centre_cosine']:.3f}; "
        f"the centre nearest to a name is its own action's for {_pct(s['name_nearest_centre_is_own'])}",
    ]
    if s["descriptions_without_vector"]:
        lines.append(f"{s['descriptions_without_vector']:,} description(s) without any in-vocabulary word "
                     "were left out")
    for key, what in (("actions_without_name_vector", "no word of the name in the vocabulary"),
                      ("actions_without_descriptions", "no description with a vector")):
        if s[key]:
            shown = listing(s[key][:10], len(s[key]))
            lines.append(f"{len(s[key])} action(s) not compared ({what}): {shown}")
    return lines


def _fmt(pairs: list[tuple[str, float]]) -> str:
    return ", ".join(f"{n} ({s:.2f})" for n, s in pairs) or "-"


def _markdown(rec: dict[str, Any]) -> str:
    note = rec["note"]
    md = [f"# Fig. 6: what names and descriptions say{_tag(note)}", ""]
    if note:
        md += [f"> **{note}**", ""]
    md += [f"Averaged {rec['word_vectors']} word vectors of each action's name and of its descriptions; "
           f"neighbours by cosine similarity (name vector vs description centre). Store: `{rec['store']}`.", ""]
    md += [f"- {line}" for line in _summary_lines(rec)] + [""]
    if rec["chosen"]:
        md += [f"## Most similar actions{_tag(note)}", "",
               "| action | descriptions | by name (cosine) | by descriptions (cosine) |", "|---|---|---|---|"]
        for r in rec["chosen"]:
            md.append(f"| {r['action']} | {r['descriptions_used']} | {_fmt(r['by_name'])} | "
                      f"{_fmt(r['by_descriptions'])} |")
        md += ["", f"![Fig. 6]({FILES['figure']})", ""]
    md += [f"Every action's neighbours: `{FILES['csv']}` and `{FILES['json']}`.", ""]
    return "\n".join(md)


def format_summary(rec: dict[str, Any], width: int = 3) -> str:
    """Plain-text summary for the terminal: the store-wide figures and the chosen actions."""
    lines = [f"Fig. 6 description analysis{_tag(rec['note'])}"] + _summary_lines(rec)
    for r in rec["chosen"]:
        lines.append(f"  {r['action']}: by name {_fmt(r['by_name'][:width])} | "
                     f"by descriptions {_fmt(r['by_descriptions'][:width])}")
    return "\n".join(lines)


# ------------------------------------------------------------------------------- figure
def _figure(v: DescriptionVectors, chosen: Sequence[str], rows: list[dict[str, Any]], path: Path) -> np.ndarray:
    """Draw and save the picture; returns the explained variance of the two components."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: PLC0415
        from matplotlib.figure import Figure  # noqa: PLC0415
        from matplotlib.lines import Line2D  # noqa: PLC0415
    except ImportError:  # pragma: no cover - exercised only without the extra
        raise ImportError("the Fig. 6 picture needs matplotlib: `pip install matplotlib` "
                          "(or `pip install 'actionhub[plot]'`)") from None
    ids = [v.index(a) for a in chosen]
    pts = [v.points[v.point_action == i] for i in ids]
    stack = np.concatenate([v.name[ids], v.centre[ids], *pts])
    xy, explained = project_2d(stack)
    k = len(ids)
    name_xy, centre_xy, rest = xy[:k], xy[k:2 * k], xy[2 * k:]
    fig = Figure(figsize=(10, 7 + 0.3 * (k + 1)), layout="constrained")
    FigureCanvasAgg(fig)
    grid = fig.add_gridspec(2, 1, height_ratios=[7, 0.3 * (k + 1)])
    ax = fig.add_subplot(grid[0])
    start = 0
    for c, p in enumerate(pts):
        color = COLORS[c % len(COLORS)]
        seg = rest[start:start + len(p)]
        start += len(p)
        ax.scatter(seg[:, 0], seg[:, 1], marker="v", s=14, color=color, alpha=0.35, linewidths=0)
        ax.scatter(*centre_xy[c], marker="o", s=150, color=color, edgecolors="black", linewidths=1.2, zorder=3)
        ax.scatter(*name_xy[c], marker="x", s=170, color=color, linewidths=3, zorder=4)
    note = _tag(v.note)
    used = f"first {v.per_action}" if v.per_action else "all"
    ax.set_title(f"Fig. 6: averaged {v.word_vectors} vectors of action names (x), up to {v.points_per_action} "
                 f"descriptions (\u25bc) and the centre of the {used} descriptions (\u25cf), {PROJECTION} to 2-D"
                 f"{note}", fontsize=10, wrap=True)
    ax.set_xlabel(f"{PROJECTION} 1 ({100 * explained[0]:.0f}% of variance)")
    ax.set_ylabel(f"{PROJECTION} 2 ({100 * explained[1]:.0f}% of variance)")
    handles = [Line2D([], [], color=COLORS[c % len(COLORS)], marker="o", linestyle="", markersize=9,
                      label=f"{a} ({int(v.used[i])} desc.)") for c, (a, i) in enumerate(zip(chosen, ids, strict=True))]
    handles += [Line2D([], [], color="gray", marker=m, linestyle="", markersize=9, label=lab)
                for m, lab in (("x", "name"), ("v", "description"), ("o", "centre of descriptions"))]
    ax.legend(handles=handles, fontsize=8, loc="best", framealpha=0.85)
    ax.grid(alpha=0.25)
    tab = fig.add_subplot(grid[1])
    tab.axis("off")
    cells = [[r["action"], _short(r["by_name"]), _short(r["by_descriptions"])] for r in rows]
    table = tab.table(cellText=cells, colLabels=["action", "most similar by name", "most similar by descriptions"],
                      loc="upper center", cellLoc="left", colLoc="left", colWidths=[0.2, 0.4, 0.4])
    table.auto_set_font_size(False)
    table.set_fontsize(8.5)
    for c in range(len(rows)):
        table[(c + 1, 0)].get_text().set_color(COLORS[c % len(COLORS)])
        table[(c + 1, 0)].get_text().set_fontweight("bold")
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    return explained


def _short(pairs: list[tuple[str, float]], n: int = 3, width: int = 58) -> str:
    text = ", ".join(name for name, _ in pairs[:n])
    return text if len(text) <= width else text[: width - 1] + "\u2026"
