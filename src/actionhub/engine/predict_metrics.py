"""Labels in, numbers out: top-1/top-5 of ``predict`` over labelled videos and the confusion-matrix PNG.

A video's label (from a ``path label`` list file, or the labels ``extract`` recorded) is matched to
one of the scored actions by :func:`label_index`: the same name ignoring case and punctuation
(``Riding_Horse`` ~ ``riding horse``), else the same ActionHub query (``ride_horse`` ~ ``riding a
horse``, :func:`actionhub.dataset.vocab.action_key`). Metrics (:func:`label_metrics`) count the
videos whose label is one of the actions and that could be scored; the others are counted apart.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np

from actionhub.utils.names import normalize_name

__all__ = ["label_index", "label_ranks", "label_metrics", "confusion_png", "format_metrics"]


def label_index(labels: Sequence[str | None], names: Sequence[str]) -> np.ndarray:
    """``(N,)`` index of each label's action in ``names`` (module docstring); -1 for none or no label."""
    from actionhub.dataset.vocab import action_key  # noqa: PLC0415

    by_name = {normalize_name(n): i for i, n in enumerate(names)}
    by_key: dict[str, int] | None = None
    out = np.full(len(labels), -1, np.int64)
    cache: dict[str, int] = {}
    for i, lab in enumerate(labels):
        if lab is None or not str(lab).strip():
            continue
        if lab not in cache:
            j = by_name.get(normalize_name(lab), -1)
            if j < 0:
                if by_key is None:
                    by_key = {}
                    for n_i, n in enumerate(names):
                        by_key.setdefault(action_key(n), n_i)
                j = by_key.get(action_key(lab), -1) if action_key(lab) else -1
            cache[lab] = j
        out[i] = cache[lab]
    return out


def label_ranks(scores: np.ndarray, label_idx: np.ndarray) -> np.ndarray:
    """1-based rank of action ``label_idx[i]`` in row ``i`` of ``scores (N, C)`` under the ranking the
    predictions use (score descending, ties in action order); 0 where ``label_idx`` is -1."""
    n = len(scores)
    if n == 0:
        return np.zeros(0, np.int32)
    j = np.maximum(label_idx, 0)
    s = scores[np.arange(n), j][:, None]
    cols = np.arange(scores.shape[1])[None, :]
    rank = 1 + (scores > s).sum(1) + ((scores == s) & (cols < j[:, None])).sum(1)
    return np.where(label_idx >= 0, rank, 0).astype(np.int32)


def label_metrics(table: Any) -> dict[str, Any] | None:
    """Top-1/top-5 (percent, 4 decimals) over the labelled, scored videos whose label is an action, from
    a rows table with ``label`` and ``label_rank`` (:mod:`actionhub.engine.predict_output`); None when no
    video has a label. Also: ``videos`` counted, ``labelled``, ``not_an_action`` (labels matching no
    action: examples), ``unreadable`` (labelled videos that could not be scored)."""
    if "label" not in table.column_names:
        return None
    labels = table.column("label").to_pylist()
    ranks = table.column("label_rank").to_pylist()
    errors = table.column("error").to_pylist()
    labelled = [i for i, lab in enumerate(labels) if lab is not None]
    if not labelled:
        return None
    unreadable = [i for i in labelled if errors[i] is not None]
    outside = [i for i in labelled if errors[i] is None and not ranks[i]]
    counted = np.asarray([ranks[i] for i in labelled if errors[i] is None and ranks[i]], np.int64)
    n = len(counted)
    return {
        "videos": n,
        "top1": round(100.0 * float((counted <= 1).mean()), 4) if n else None,
        "top5": round(100.0 * float((counted <= 5).mean()), 4) if n else None,
        "labelled": len(labelled),
        "unreadable": len(unreadable),
        "not_an_action": {"count": len(outside), "examples": sorted({labels[i] for i in outside})[:5]},
    }


def format_metrics(m: dict[str, Any]) -> str:
    """One line for :func:`label_metrics`."""
    if not m["videos"]:
        line = f"no labelled video could be checked ({m['labelled']} labelled)"
    else:
        line = f"top-1 {m['top1']:.2f}%, top-5 {m['top5']:.2f}% over {m['videos']} labelled video(s)"
    if m["not_an_action"]["count"]:
        line += (f"; {m['not_an_action']['count']} left out: their label is not one of the actions "
                 f"({', '.join(m['not_an_action']['examples'])})")
    if m["unreadable"]:
        line += f"; {m['unreadable']} unreadable"
    return line


def confusion_png(table: Any, names: Sequence[str], path: str | Path, title: str) -> Path:
    """The confusion matrix of the counted videos (label vs top-1 action) as a PNG at ``path`` (atomic):
    rows are the labels' actions that occur, columns every action, each row normalised to 1 (counts
    written in the cells of small matrices)."""
    from actionhub.utils.io import atomic_path  # noqa: PLC0415

    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: PLC0415
        from matplotlib.figure import Figure  # noqa: PLC0415
    except ImportError:  # pragma: no cover - exercised only without the extra
        raise ImportError("the confusion matrix needs matplotlib: `pip install matplotlib` "
                          "(or `pip install 'actionhub[plot]'`)") from None
    names = list(names)
    col = {n: j for j, n in enumerate(names)}
    truth = label_index(table.column("label").to_pylist(), names)
    preds = table.column("predictions").to_pylist()
    ok = [i for i in range(len(preds)) if truth[i] >= 0 and preds[i]]
    rows = sorted({int(truth[i]) for i in ok})
    counts = np.zeros((len(rows), len(names)), np.int64)
    where = {j: r for r, j in enumerate(rows)}
    for i in ok:
        counts[where[int(truth[i])], col[preds[i][0]["action"]]] += 1
    share = counts / np.clip(counts.sum(1, keepdims=True), 1, None)
    c, r = len(names), max(1, len(rows))
    fig = Figure(figsize=(min(24, max(7.0, 2.5 + 0.32 * c)), min(24, max(4.5, 2.0 + 0.32 * r))), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    im = ax.imshow(share if len(rows) else np.zeros((1, c)), cmap="Blues", vmin=0, vmax=1, aspect="auto",
                   interpolation="nearest")
    fig.colorbar(im, ax=ax, label="share of the label's videos")
    if c <= 60:
        ax.set_xticks(range(c))
        ax.set_xticklabels(names, rotation=60, ha="right", fontsize=8)
    if len(rows) <= 60:
        ax.set_yticks(range(len(rows)))
        ax.set_yticklabels([names[j] for j in rows], fontsize=8)
    if c <= 25 and len(rows) <= 25:
        for a in range(len(rows)):
            for b in range(c):
                if counts[a, b]:
                    ax.text(b, a, str(counts[a, b]), ha="center", va="center", fontsize=7,
                            color="white" if share[a, b] > 0.5 else "black")
    ax.set_xlabel("predicted action (top-1)")
    ax.set_ylabel("label")
    ax.set_title(title, fontsize=10)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    return path
