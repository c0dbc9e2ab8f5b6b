"""Statistics of a description store (paper Sec. 3.3, Fig. 4 and Fig. 5): counts, per-action
distributions and the actions with the most and fewest descriptions."""
from __future__ import annotations

import os
from typing import Any, Iterable, Mapping

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from actionhub.dataset.curation import filter_hits
from actionhub.dataset.store import Store, key_column
from actionhub.utils.names import listing

__all__ = ["compute_stats", "hist_edges", "few_descriptions", "format_few"]


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
            for lo, hi, c in zip(edges[:-1], edges[1:], counts, strict=False)]
    first = next((i for i, b in enumerate(bins) if b["actions"] or (with_zero and b["lo"] == 0)), len(bins))
    return bins[first:]


def compute_stats(store: str | os.PathLike[str] | Store, queries: Iterable[str] | None = None,
                  top: int = 40, bottom: int = 20, min_descriptions: int = 100, curation: bool = True) -> dict:
    """Counts and distributions of a store (the paper's Sec. 3.3, Fig. 4 and Fig. 5), per action.

    An action's descriptions are every video its query returned (a video shared by several
    actions counts for each of them); ``num_descriptions`` counts each stored description once.

    Returns ``{"store", "note", "num_actions", "num_descriptions", "num_action_descriptions",
    "shared_descriptions", "num_sentences", "sentences_per_description", "providers":
    {name: descriptions}, "per_action": {"median_descriptions", ...}, "descriptions_per_action":
    {action: count}, "hist_descriptions", "hist_sentences" (lists of {"bin", "lo", "hi", "actions"}),
    "top": [[action, descriptions, sentences], ...], "bottom": [...], "few": {...}}``.
    ``shared_descriptions``: descriptions listed by two or more actions. With ``queries`` (the
    queries collected), actions without any description count too (``num_queries``,
    ``actions_without_descriptions``, and 0 in ``descriptions_per_action``) and can be in the
    bottom list; without ``queries``, the vocabulary an import kept in ``store.json`` is used
    (``queries_from`` says so). ``few`` summarises the actions with fewer than ``min_descriptions``.
    ``curation``: leave out what the store's curation marks throw out (``curation`` in the result says what).
    """
    st = store if isinstance(store, Store) else Store(store)
    hits, curated = filter_hits(st, st.read_hits(["action", "provider", "video_id"]), curation)
    desc = st.read_descriptions(["provider", "video_id", "num_sentences"])
    meta = st.meta()
    out: dict[str, Any] = {"store": str(st.path), "note": str(meta.get("note") or ""),
                           "collections": meta.get("collections", {}), **({"curation": curated} if curated else {})}
    shared = 0
    num_desc = 0
    providers: dict[str, int] = {}
    if hits.num_rows:
        hkey = key_column(hits.column("provider"), hits.column("video_id"))
        dkey = key_column(desc.column("provider"), desc.column("video_id"))
        where = pc.index_in(hkey, value_set=dkey)
        sent = pc.fill_null(desc.column("num_sentences").take(where), 0)
        t = pa.table({"action": hits.column("action"), "num_sentences": sent, "key": hkey,
                      "provider": hits.column("provider")})
        g = t.group_by("action").aggregate([("action", "count"), ("num_sentences", "sum")])
        actions = g.column("action").to_pylist()
        ndesc = np.asarray(g.column("action_count").to_numpy(), dtype=np.int64)
        nsent = np.asarray(pc.fill_null(g.column("num_sentences_sum"), 0).to_numpy(), dtype=np.int64)
        per_key = t.group_by(["key", "provider"]).aggregate([("key", "count")])
        num_desc = per_key.num_rows
        shared = int(pc.sum(pc.greater_equal(per_key.column("key_count"), 2)).as_py() or 0)
        pg = per_key.group_by("provider").aggregate([("provider", "count")])
        providers = dict(zip(pg.column("provider").to_pylist(), pg.column("provider_count").to_pylist(), strict=True))
        # Sentences of each description once (Sec. 3.3 counts the dataset, not the per-action lists).
        used = pc.is_in(dkey, value_set=hkey)
        total_sent = int(pc.sum(desc.column("num_sentences").filter(used)).as_py() or 0)
    else:
        actions, ndesc, nsent, total_sent = [], np.zeros(0, np.int64), np.zeros(0, np.int64), 0
    with_zero = False
    if queries is None and isinstance(meta.get("queries"), list) and meta["queries"]:
        queries = meta["queries"]   # the vocabulary an import of an exported dataset kept
        out["queries_from"] = "store.json (kept by `actionhub import` of an exported dataset)"
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
    out.update({
        "num_actions": int((ndesc > 0).sum()),
        "num_descriptions": num_desc,
        "num_action_descriptions": int(ndesc.sum()),
        "shared_descriptions": shared,
        "num_sentences": total_sent,
        "sentences_per_description": round(total_sent / num_desc, 3) if num_desc else 0.0,
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
    out["descriptions_per_action"] = {a: int(n) for a, n in sorted(zip(actions, ndesc.tolist(), strict=True))}
    out["few"] = few_descriptions(out["descriptions_per_action"], min_descriptions)
    return out


def few_descriptions(per_action: Mapping[str, int], minimum: int, show: int = 8) -> dict:
    """The actions with fewer than ``minimum`` descriptions, summarised for one short message.

    Returns ``{"minimum", "count", "none" (actions with 0), "examples": [[action, n], ...]}`` --
    ``show`` of them, fewest first -- so callers print one line, not a list of every name.
    """
    few = sorted(((a, n) for a, n in per_action.items() if n < minimum), key=lambda x: (x[1], x[0]))
    return {"minimum": int(minimum), "count": len(few), "none": sum(1 for _, n in few if n == 0),
            "examples": [[a, int(n)] for a, n in few[:show]]}


def format_few(few: Mapping[str, Any], what: str = "actions") -> str:
    """One line for :func:`few_descriptions`: ``"3 actions have fewer than 100 descriptions (1 none): a (0), ..."``."""
    if not few.get("count"):
        return f"every one of the {what} has at least {few.get('minimum', 0)} descriptions"
    ex = listing([f"{a} ({n})" for a, n in few["examples"]], few["count"])
    return f"{few['count']} {what} have fewer than {few['minimum']} descriptions ({few['none']} none): {ex}"
