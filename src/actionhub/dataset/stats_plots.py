"""Text and PNG renderings of store statistics (:func:`actionhub.dataset.store.compute_stats`).

Fig. 4 of the paper: actions per number-of-descriptions bin and per number-of-sentences bin
(``fig4_histograms.png``); Fig. 5: the actions with the most and the fewest descriptions
(``fig5_top_bottom.png``). The "fewest" panel shows actions that have at least one description
(:func:`fewest_described`); queried actions without any are counted in a note, not drawn as
zero-length bars. A store's note (e.g. "SYNTHETIC: fake server") is put in every title.
matplotlib is imported lazily with the Agg backend (``pip install matplotlib``).
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Optional

from actionhub.utils.io import atomic_path, atomic_write_text
from actionhub.utils.outputs import stages_folder

__all__ = ["fewest_described", "format_stats", "write_plots", "write_report"]


def _tag(stats: dict, note: Optional[str] = None) -> str:
    n = note if note is not None else stats.get("note", "")
    return f" [{n}]" if n else ""


def fewest_described(stats: dict) -> dict:
    """The actions with the fewest descriptions among those that have any, derived from
    :func:`~actionhub.dataset.stats.compute_stats` output (its format is not changed).

    With ``queries``, ``stats["bottom"]`` starts with the queried actions without descriptions
    (count 0). Its non-zero rows are the fewest described actions; when zeros fill it, they
    are taken from ``stats["top"]`` if that list holds every action with descriptions.
    Returns ``{"rows": [[action, descriptions, sentences], ...]`` (fewest first, at most
    ``len(stats["bottom"])``), ``"without"`` (queried actions with no description),
    ``"missing"`` (actions with descriptions that belong in ``rows`` but are not in these
    statistics: rerun with a longer bottom list to see them)}.
    """
    bottom, top = stats.get("bottom", []), stats.get("top", [])
    want = len(bottom)
    without = stats.get("actions_without_descriptions", sum(1 for r in bottom if r[1] == 0))
    key = lambda r: (r[1], r[0])  # noqa: E731 - compute_stats' order: fewest first, ties by name
    known = {r[0]: list(r) for r in bottom if r[1] > 0}
    top_described = [r for r in top if r[1] > 0]
    if len(top_described) >= stats.get("num_actions", 0):   # the top list holds every described action
        known.update((r[0], list(r)) for r in top_described)
    rows = sorted(known.values(), key=key)[:want]
    return {"rows": rows, "without": int(without),
            "missing": max(0, min(want, stats.get("num_actions", 0)) - len(rows))}


def format_stats(stats: dict, note: Optional[str] = None, top: Optional[int] = None,
                 bottom: Optional[int] = None) -> str:
    """Human-readable summary: counts, both histograms, the top and bottom lists."""
    s = stats
    lines = [f"ActionHub store {s['store']}{_tag(s, note)}",
             f"actions with descriptions: {s['num_actions']:,}"]
    if "num_queries" in s:
        lines.append(f"queries: {s['num_queries']:,} ({s['actions_without_descriptions']:,} without descriptions)"
                     + (f"; the query list from {s['queries_from']}" if s.get("queries_from") else ""))
    lines += [f"descriptions: {s['num_descriptions']:,}"
              + (f" ({s['shared_descriptions']:,} listed by two or more actions; "
                 f"{s['num_action_descriptions']:,} per-action listings)" if s.get("shared_descriptions") else ""),
              f"sentences: {s['num_sentences']:,} ({s['sentences_per_description']:.2f} per description)",
              "providers: " + (", ".join(f"{k} {v:,}" for k, v in sorted(s["providers"].items())) or "none"),
              f"per action: median {s['per_action']['median_descriptions']:g} descriptions, "
              f"median {s['per_action']['median_sentences']:g} sentences"]
    for name, c in sorted((s.get("collections") or {}).items()):
        if c.get("match"):
            how = {"all": "every content word of it", "any": "any content word of it",
                   "most": f"every content word of it (a query with fewer than {c.get('relax_below', 10)} such "
                           "captions: all but one)"}.get(c["match"], c["match"])
            lines.append(f"collected from {name}: a caption matches a query when it holds {how} (--match {c['match']})"
                         + ("; compounds and agent nouns of the corpus count" if c.get("variants") else ""))
        generic = (c.get("generic") or {}).get("queries") or []
        if generic:
            lines.append(f"  {len(generic)} queries too generic for the corpus "
                         f"({(c.get('generic') or {}).get('mode')}): "
                         + ", ".join(f"{g['query']} ({g['fix']})" for g in generic[:6]))
        if c.get("aliases"):
            lines.append(f"  aliases for {len(c['aliases'])} queries: "
                         + "; ".join(f"{q}: {' | '.join(v)}" for q, v in list(c["aliases"].items())[:4]))
    if s.get("curation"):
        c = s["curation"]
        lines.append(f"curation: {c['dropped_hits']:,} description listing(s) left out by {c['marks']} mark(s) in "
                     f"{c['file']} ({len(c['unusable_actions'])} action(s) unusable); --ignore-curation keeps them")
    if s.get("few", {}).get("count") and s["num_descriptions"]:
        from actionhub.dataset.stats import format_few  # noqa: PLC0415

        lines.append(format_few(s["few"]))
    lines.append("")
    if not s["num_descriptions"]:
        lines.append("the store holds no descriptions yet: fill it with `actionhub collect` or `actionhub import`")
        return "\n".join(lines) + "\n"
    for key, what in (("hist_descriptions", "descriptions"), ("hist_sentences", "sentences")):
        lines.append(f"actions by number of {what} (Fig. 4):")
        width = max((len(h["bin"]) for h in s[key]), default=1)
        peak = max((h["actions"] for h in s[key]), default=0) or 1
        for h in s[key]:
            bar = "#" * round(40 * h["actions"] / peak)
            lines.append(f"  {h['bin']:>{width}}  {h['actions']:6d}  {bar}")
        lines.append("")
    t = s["top"][:top] if top else s["top"]
    b = s["bottom"][:bottom] if bottom else s["bottom"]
    lines.append(f"top-{len(t)} actions by descriptions (Fig. 5): " + ", ".join(f"{a} ({n})" for a, n, _ in t))
    few = fewest_described({**s, "bottom": b})
    same = few["rows"] == [list(r) for r in b]   # differs when the bottom list starts with actions without any
    lines.append(f"bottom-{len(b)} actions by descriptions{' (Fig. 5)' if same else ''}: "
                 + ", ".join(f"{a} ({n})" for a, n, _ in b))
    if few["rows"] and not same:
        lines.append("fewest among the actions with descriptions (Fig. 5): "
                     + ", ".join(f"{a} ({n})" for a, n, _ in few["rows"]))
    if few["missing"]:
        lines.append(f"  ({few['missing']} more of the fewest described actions are not in these statistics: "
                     f"rerun with --bottom {len(b) + few['without']} to list them)")
    return "\n".join(lines) + "\n"


def _pyplot():
    try:
        import matplotlib  # noqa: PLC0415
    except ImportError as e:  # pragma: no cover - installed with the plot extra
        raise ImportError("plots need matplotlib: pip install matplotlib (or pip install 'actionhub[plot]')") from e
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    return plt


def _save(fig, path: Path) -> None:
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, bbox_inches="tight", format="png")


def write_plots(stats: dict, out_dir: str | os.PathLike[str], note: Optional[str] = None) -> list[Path]:
    """Write ``fig4_histograms.png`` and ``fig5_top_bottom.png`` into ``out_dir``; returns the paths."""
    plt = _pyplot()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tag = _tag(stats, note)
    paths = []

    fig, axes = plt.subplots(1, 2, figsize=(13, 4.8))
    for ax, key, what, color in ((axes[0], "hist_descriptions", "descriptions", "#3b75af"),
                                 (axes[1], "hist_sentences", "sentences", "#d9822b")):
        hist = stats[key]
        xs = range(len(hist))
        bars = ax.bar(xs, [h["actions"] for h in hist], color=color, width=0.8)
        ax.bar_label(bars, fontsize=8, padding=2)
        ax.set_xticks(list(xs), [h["bin"] for h in hist], rotation=40, ha="right", fontsize=9)
        ax.set_xlabel(f"number of {what} per action")
        ax.set_ylabel("number of actions")
        ax.set_title(f"Actions by number of {what}", fontsize=11)
        ax.margins(y=0.12)
        ax.grid(axis="y", alpha=0.3)
    fig.suptitle(f"ActionHub store: {stats['num_actions']:,} actions, {stats['num_descriptions']:,} descriptions, "
                 f"{stats['num_sentences']:,} sentences{tag}", fontsize=12)
    fig.tight_layout()
    p = out / "fig4_histograms.png"
    _save(fig, p)
    plt.close(fig)
    paths.append(p)

    top = [r for r in stats["top"] if r[1] > 0]   # queried actions without descriptions are not "most"
    few = fewest_described(stats)
    bottom, asked = few["rows"], len(stats["bottom"])
    rows = max(len(top), len(bottom), 1)
    fig, axes = plt.subplots(1, 2, figsize=(13, max(3.4, 0.24 * rows + 1.6)))
    _bars(axes[0], top, rows, f"Top-{len(top)}: most descriptions", "#3b75af")
    more = f"`actionhub stats --bottom {asked + few['without']}`"
    if bottom:
        notes = []
        if few["without"]:
            notes.append(f"not shown: {few['without']:,} queried action(s) with no description")
        if few["missing"]:
            notes.append(f"{few['missing']} more not in these statistics: {more} lists them")
        _bars(axes[1], bottom, rows, f"Bottom-{len(bottom)}: fewest descriptions (of the actions with any)",
              "#b5473a", note="\n".join(notes))
    else:
        # Never an all-zero bar chart: say what there is instead.
        if not asked:
            msg = "No bottom list was asked for (--bottom 0)."
        elif stats.get("num_actions", 0):
            msg = (f"All {asked} actions with the fewest descriptions have none:\n"
                   f"{few['without']:,} of {stats.get('num_queries', few['without']):,} queried actions "
                   "have no description.\n\n" + _fewest_bin(stats) + f"List them with {more}.")
        else:
            msg = "No action has a description yet."
        axes[1].axis("off")
        axes[1].text(0.5, 0.5, msg, ha="center", va="center", fontsize=10, transform=axes[1].transAxes)
        axes[1].set_title("Fewest descriptions", fontsize=11)
    fig.suptitle(f"Actions with the most and the fewest descriptions{tag}", fontsize=12)
    fig.tight_layout()
    p = out / "fig5_top_bottom.png"
    _save(fig, p)
    plt.close(fig)
    paths.append(p)
    return paths


def _bars(ax, items: list, rows: int, title: str, color: str, note: str = "") -> None:
    """Horizontal bars of (action, descriptions, sentences) rows, first row on top."""
    ys = [rows - 1 - i for i in range(len(items))]  # first item on top; both panels top-aligned
    bars = ax.barh(ys, [n for _, n, _ in items], color=color, height=0.75)
    ax.bar_label(bars, fontsize=7, padding=2)
    ax.set_yticks(ys, [a for a, _, _ in items], fontsize=8)
    ax.set_ylim(-0.6, rows - 0.4)
    ax.set_xlim(0, max((n for _, n, _ in items), default=1) * 1.15)
    ax.set_xlabel("descriptions" + (f"\n({note})" if note else ""))
    ax.set_title(title, fontsize=11)
    ax.grid(axis="x", alpha=0.3)


def _fewest_bin(stats: dict) -> str:
    """The lowest non-empty bin of the description histogram above 0, as a sentence."""
    for h in stats.get("hist_descriptions", []):
        if h["lo"] >= 1 and h["actions"]:
            return (f"Fewest among the actions with descriptions: {h['bin']} description(s),\n"
                    f"held by {h['actions']:,} action(s) (Fig. 4).\n")
    return ""


@stages_folder("out_dir", kind="stats", what="stats folder", legacy=lambda p: (p / "stats.json").is_file())
def write_report(stats: dict, out_dir: str | os.PathLike[str], note: Optional[str] = None,
                 plots: bool = True) -> list[Path]:
    """``stats.txt`` (:func:`format_stats`), ``stats.json`` and, with ``plots``, the two PNGs: the folder
    appears whole; an existing one is replaced only with ``overwrite=True`` (only these files)."""
    out = Path(out_dir)
    atomic_write_text(out / "stats.txt", format_stats(stats, note))
    atomic_write_text(out / "stats.json", json.dumps(stats, indent=1, ensure_ascii=False) + "\n")
    paths = [out / "stats.txt", out / "stats.json"]
    if plots and stats["num_descriptions"]:  # nothing to draw for an empty store
        paths += write_plots(stats, out, note)
    return paths
