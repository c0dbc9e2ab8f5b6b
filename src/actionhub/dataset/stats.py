"""Statistics of a description store (paper Sec. 3.3, Fig. 4 and Fig. 5): counts, per-action
distributions and the actions with the most and fewest descriptions."""
from __future__ import annotations

import os
from typing import Any, Iterable

import numpy as np
import pyarrow.compute as pc

from actionhub.dataset.store import Store

__all__ = ["compute_stats", "hist_edges"]


def hist_edges(max_value: int, with_zero: bool = False) -> list[int]:
    """Bin edges 1, 2, 5, 10, 20, 50, ... (prefixed by 0 when ``with_zero``) covering ``max_value``;
    bin i is ``[edges[i], edges[i+1])``."""
    edges = [0] if with_zero else []
    e, steps = 1, (2, 2.5, 2)  # 1 -> 2 -> 5 -> 10 -> 20 -> ...
    i = 0
    while True:
        edges.append(int(e))
        if e > max_value:
            return edges
        e *= steps[i % 3]
        i += 1


def _bin_label(lo: int, hi: int) -> str:
    """Inclusive label of the bin ``[lo, hi)``: ``"1"``, ``"2–4"``, ``"1,000–1,999"``."""
    return f"{lo:,}" if hi - lo == 1 else f"{lo:,}–{hi - 1:,}"


def _histogram(values: np.ndarray, with_zero: bool) -> list[dict]:
    """Actions per bin of :func:`hist_edges`; empty bins below the smallest value are left out
    (the 0 bin stays when ``with_zero``)."""
    edges = hist_edges(int(values.max()) if values.size else 0, with_zero)
    counts, _ = np.histogram(values, bins=np.asarray(edges, dtype=np.float64))
    bins = [{"bin": _bin_label(lo, hi), "lo": lo, "hi": hi, "actions": int(c)}
            for lo, hi, c in zip(edges[:-1], edges[1:], counts)]
    first = next((i for i, b in enumerate(bins) if b["actions"] or (with_zero and b["lo"] == 0)), len(bins))
    return bins[first:]


def compute_stats(store: str | os.PathLike[str] | Store, queries: Iterable[str] | None = None,
                  top: int = 40, bottom: int = 20) -> dict:
    """Counts and distributions of a store (the paper's Sec. 3.3, Fig. 4 and Fig. 5).

    Returns ``{"store", "note", "num_actions", "num_descriptions", "num_sentences",
    "sentences_per_description", "providers": {name: descriptions}, "per_action": {"median_descriptions",
    ...}, "hist_descriptions", "hist_sentences" (lists of {"bin", "lo", "hi", "actions"}),
    "top": [[action, descriptions, sentences], ...], "bottom": [...]}``.
    With ``queries`` (the queries collected), actions without any description count too
    (``num_queries``, ``actions_without_descriptions``) and can be in the bottom list.
    """
    st = store if isinstance(store, Store) else Store(store)
    t = st.read(["action", "provider", "num_sentences"])
    out: dict[str, Any] = {"store": str(st.path), "note": st.note}
    if t.num_rows:
        g = t.group_by("action").aggregate([("action", "count"), ("num_sentences", "sum")])
        actions = g.column("action").to_pylist()
        ndesc = np.asarray(g.column("action_count").to_numpy(), dtype=np.int64)
        nsent = np.asarray(pc.fill_null(g.column("num_sentences_sum"), 0).to_numpy(), dtype=np.int64)
        pg = t.group_by("provider").aggregate([("provider", "count")])
        providers = dict(zip(pg.column("provider").to_pylist(), pg.column("provider_count").to_pylist()))
    else:
        actions, ndesc, nsent, providers = [], np.zeros(0, np.int64), np.zeros(0, np.int64), {}
    with_zero = False
    if queries is not None:
        qs = list(dict.fromkeys(queries))
        have = set(actions)
        missing = [q for q in qs if q not in have]
        out["num_queries"] = len(qs)
        out["actions_without_descriptions"] = len(missing)
        out["actions_not_in_queries"] = len(have - set(qs))
        actions = actions + missing
        ndesc = np.concatenate([ndesc, np.zeros(len(missing), np.int64)])
        nsent = np.concatenate([nsent, np.zeros(len(missing), np.int64)])
        with_zero = bool(missing)
    total_desc, total_sent = int(ndesc.sum()), int(nsent.sum())
    out.update({
        "num_actions": int((ndesc > 0).sum()),
        "num_descriptions": total_desc,
        "num_sentences": total_sent,
        "sentences_per_description": round(total_sent / total_desc, 3) if total_desc else 0.0,
        "providers": providers,
        "per_action": {
            "median_descriptions": float(np.median(ndesc)) if ndesc.size else 0.0,
            "mean_descriptions": round(float(ndesc.mean()), 3) if ndesc.size else 0.0,
            "median_sentences": float(np.median(nsent)) if nsent.size else 0.0,
        },
        "hist_descriptions": _histogram(ndesc, with_zero),
        "hist_sentences": _histogram(nsent, with_zero or bool((nsent == 0).any())),
    })
    # most descriptions first, ties by name; fewest first for the bottom list
    order = sorted(range(len(actions)), key=lambda i: (-ndesc[i], actions[i]))
    rows = [[actions[i], int(ndesc[i]), int(nsent[i])] for i in order]
    out["top"] = rows[:top]
    out["bottom"] = sorted(rows, key=lambda r: (r[1], r[0]))[:bottom]
    return out
