"""Report figures (PNG) from plain data: matplotlib's object API on the Agg canvas, so no
global pyplot state and no display is needed. Titles of SYNTHETIC data say so (callers
pass the title)."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np

from actionhub.utils.io import atomic_path

DPI = 130
COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#7f7f7f",
          "#bcbd22"]


def _figure(width: float, height: float) -> Any:
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:  # pragma: no cover - exercised only without the extra
        raise ImportError("report figures need matplotlib: `pip install matplotlib` "
                          "(or `pip install 'actionhub[plot]'`)") from None
    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _save(fig: Any, path: str | Path) -> Path:
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=DPI)
    return path


def line_figure(path: str | Path, title: str, x_label: str, series: dict[str, dict[Any, dict[str, Any]]],
                log_x: bool = False, note: str = "") -> Path:
    """Fig. 8/9 style: top-1 (mean ± std over splits) against a setting, one line per series.

    series: name -> {x: {"top1": {"mean", "std", "n"}}}."""
    fig = _figure(6.4, 4.2)
    ax = fig.add_subplot()
    markers = "osD^v<>"
    for i, (name, pts) in enumerate(series.items()):
        xs = sorted(pts)
        mean = np.array([pts[x]["top1"]["mean"] for x in xs])
        std = np.array([pts[x]["top1"]["std"] for x in xs])
        ax.errorbar(xs, mean, yerr=std if std.any() else None, marker=markers[i % len(markers)], capsize=3,
                    color=COLORS[i % len(COLORS)], label=name, linewidth=1.8, markersize=6)
        best = int(mean.argmax())
        ax.annotate(f"{mean[best]:.1f}", (xs[best], mean[best]), textcoords="offset points", xytext=(0, 8),
                    ha="center", fontsize=9, color=COLORS[i % len(COLORS)])
    if log_x:
        ax.set_xscale("log")
        xs_all = sorted({x for pts in series.values() for x in pts})
        ax.set_xticks(xs_all)
        ax.set_xticklabels([f"{x:g}" for x in xs_all])
        ax.minorticks_off()
    ax.set_xlabel(x_label + (f"\n({note})" if note else ""), fontsize=11)
    ax.set_ylabel("top-1 accuracy (%)", fontsize=11)
    lo, hi = ax.get_ylim()
    ax.set_ylim(lo, hi + 0.08 * (hi - lo))
    ax.set_title(title, fontsize=11)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=10, loc="best")
    return _save(fig, path)


def cim_bars(path: str | Path, title: str, groups: dict[str, dict[str, dict[str, Any]]], note: str = "") -> Path:
    """Fig. 10 style: grouped bars, one group per class-text setting, one bar per CIM setting.

    groups: group label -> {bar label: {"top1": {"mean", "std", "n"}}}."""
    fig = _figure(6.4, 4.2)
    ax = fig.add_subplot()
    bars = list(dict.fromkeys(b for g in groups.values() for b in g))
    width = 0.8 / max(1, len(bars))
    x = np.arange(len(groups))
    tops = []
    for j, b in enumerate(bars):
        mean = np.array([groups[g][b]["top1"]["mean"] if b in groups[g] else np.nan for g in groups])
        std = np.array([groups[g][b]["top1"]["std"] if b in groups[g] else 0.0 for g in groups])
        pos = x - 0.4 + width * (j + 0.5)
        ax.bar(pos, mean, width * 0.92, yerr=std if np.nan_to_num(std).any() else None, capsize=3,
               color=["#9ecae1", "#08519c", "#fdae6b", "#a63603"][j % 4], label=b)
        for p_, m_ in zip(pos, mean, strict=True):
            if np.isfinite(m_):
                ax.text(p_, m_, f"{m_:.1f}", ha="center", va="bottom", fontsize=9)
        tops.append(np.nanmax(mean + std))
    ax.set_xticks(x)
    ax.set_xticklabels(list(groups), fontsize=11)
    ax.set_xlabel("class descriptions" + (f"\n({note})" if note else ""), fontsize=11)
    ax.set_ylabel("top-1 accuracy (%)", fontsize=11)
    ax.set_ylim(0, max(tops) * 1.15 if tops else 1)
    ax.set_title(title, fontsize=11)
    ax.legend(fontsize=10, loc="upper left")
    ax.grid(axis="y", alpha=0.3)
    return _save(fig, path)


def tsne_figure(path: str | Path, title: str, panels: Sequence[dict[str, Any]], classes: Sequence[str],
                seen: Sequence[str]) -> Path:
    """Fig. 11 style: one panel per model; small circles = individual videos' projected visual
    features, triangles = class semantic features, one colour per class.

    panels: [{"title": str, "points": (N + C, 2) video rows then the C semantic rows,
    "labels": (N,) class index of each video row}]."""
    return _save(draw_tsne(title, panels, classes, seen), path)


def draw_tsne(title: str, panels: Sequence[dict[str, Any]], classes: Sequence[str], seen: Sequence[str]) -> Any:
    """The Figure of :func:`tsne_figure` (not saved)."""
    n = len(panels)
    fig = _figure(4.3 * n + 2.6, 4.9)
    axes = fig.subplots(1, n, squeeze=False)[0]
    C = len(classes)
    for ax, panel in zip(axes, panels, strict=True):
        pts = np.asarray(panel["points"])
        labels = np.asarray(panel["labels"])
        N = len(labels)
        if len(pts) != N + C:
            raise ValueError(f"panel {panel['title']!r}: {len(pts)} points for {N} videos + {C} classes")
        for i in range(C):
            col = COLORS[i % len(COLORS)]
            v = pts[:N][labels == i]
            ax.scatter(v[:, 0], v[:, 1], marker="o", s=14, color=col, alpha=0.6, linewidth=0, zorder=2)
            ax.scatter(*pts[N + i], marker="^", s=110, color=col, edgecolor="black", linewidth=0.9, zorder=3)
        ax.set_title(panel["title"], fontsize=9.5)
        ax.set_xticks([])
        ax.set_yticks([])
    from matplotlib.lines import Line2D

    handles = [Line2D([], [], marker="s", linestyle="", color=COLORS[i % len(COLORS)], markersize=8,
                      label=_short(c) + (" (seen)" if c in seen else " (unseen)")) for i, c in enumerate(classes)]
    handles += [Line2D([], [], marker="o", linestyle="", color="gray", alpha=0.6, markersize=5,
                       label="a video (projected visual feature)"),
                Line2D([], [], marker="^", linestyle="", color="gray", markeredgecolor="black", markersize=9,
                       label="class semantic feature")]
    fig.legend(handles=handles, loc="outside right center", fontsize=8.5, frameon=False)
    _suptitle(fig, title)
    return fig


def cycle_figure(path: str | Path, title: str, entries: Sequence[dict[str, Any]], models: Sequence[str]) -> Path:
    """Fig. 12 style: for each chosen class (rows) and model (columns), the top-5 backward
    attention weights as horizontal bars on one shared x-axis (so models compare at a
    glance); the class itself in red.

    entries: [{"class": str, "model": str, "neighbours": [(name, weight)]}]."""
    return _save(draw_cycle(title, entries, models), path)


def draw_cycle(title: str, entries: Sequence[dict[str, Any]], models: Sequence[str]) -> Any:
    """The Figure of :func:`cycle_figure` (not saved)."""
    queries = list(dict.fromkeys(e["class"] for e in entries))
    fig = _figure(max(4.4 * len(models), 6.0), 2.3 * len(queries) + 1.0)
    axes = fig.subplots(len(queries), len(models), squeeze=False, sharex=True)
    look = {(e["class"], e["model"]): e for e in entries}
    top = max((w for e in entries for _, w in e["neighbours"]), default=0.0)
    for r, q in enumerate(queries):
        for c, m in enumerate(models):
            ax = axes[r][c]
            e = look.get((q, m))
            if e is None:
                ax.axis("off")
                continue
            names = [n for n, _ in e["neighbours"]][::-1]
            weights = [w for _, w in e["neighbours"]][::-1]
            ax.barh(range(len(names)), weights, color=["#d62728" if n == q else "#6baed6" for n in names])
            ax.set_yticks(range(len(names)))
            ax.set_yticklabels([_short(n, 26) for n in names], fontsize=8.5)
            for i, w in enumerate(weights):
                ax.text(w, i, f" {w:.3f}", va="center", fontsize=8)
            ax.tick_params(axis="x", labelsize=8)
            ax.grid(axis="x", alpha=0.3)
            if r == 0:
                ax.set_title(m, fontsize=10)
            if r == len(queries) - 1:
                ax.set_xlabel("backward attention weight", fontsize=9)
            if c == 0:
                ax.set_ylabel(_short(q, 22), fontsize=9.5, fontweight="bold")
    axes[0][0].set_xlim(0, top * 1.3 if top > 0 else 1.0)   # shared by every panel; room for the labels
    _suptitle(fig, title)
    return fig


def curves_figure(path: str | Path, title: str, curves: dict[str, tuple[list[int], list[float]]],
                  selected_step: int | None = None) -> Path:
    """A run's training curves against the step (:func:`actionhub.evaluation.curves.curves`): the
    losses, the learning rate and the val top-1/top-5, the selected step marked."""
    panels = [("loss", "training loss (epoch mean)"), ("lr", "learning rate"), ("val", "val accuracy (%)")]
    panels = [(p, label) for p, label in panels if any(n.split("/")[0] == p for n in curves)]
    fig = _figure(4.2 * max(1, len(panels)), 3.6)
    axes = fig.subplots(1, max(1, len(panels)), squeeze=False)[0]
    for ax, (prefix, label) in zip(axes, panels, strict=False):   # no panel: one empty axis
        shown = [(n, c) for n, c in curves.items() if n.split("/")[0] == prefix]
        for i, (name, (steps, values)) in enumerate(shown):
            ax.plot(steps, values, color=COLORS[i % len(COLORS)], linewidth=1.6,
                    marker="o" if prefix == "val" else None, markersize=3, label=name.split("/")[-1])
        if selected_step is not None:
            ax.axvline(selected_step, color="#7f7f7f", linestyle="--", linewidth=1, label="selected step")
        ax.set_xlabel("step", fontsize=10)
        ax.set_title(label, fontsize=10)
        ax.grid(alpha=0.3)
        if len(shown) > 1 or selected_step is not None:
            ax.legend(fontsize=8, loc="best")
    _suptitle(fig, title)
    return _save(fig, path)


def _suptitle(fig: Any, title: str, fontsize: float = 11) -> Any:
    """The figure title, wrapped onto more lines until it fits the figure's width."""
    import textwrap

    text = fig.suptitle(title, fontsize=fontsize)
    renderer = fig.canvas.get_renderer()
    room = 0.96 * fig.bbox.width
    width = len(title)
    while text.get_window_extent(renderer).width > room and width > 16:
        width = int(width * 0.85)
        text.set_text("\n".join(textwrap.wrap(title, width)))
    return text


def _short(name: str, n: int = 24) -> str:
    return name if len(name) <= n else name[: n - 1] + "…"
