"""`actionhub stats`: counts, Fig. 4 histograms and Fig. 5 lists of a description store; the quality of
its ranked descriptions per action (--ranked), per benchmark class (--benchmark), or one action (--action)."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from actionhub.cli.common import CliError, add_curation_flag, non_negative_int


def _ranked(path: Path | None):
    if path is None:
        return None, {}
    from actionhub.text.build import read_descriptions
    from actionhub.text.coverage import ranked_report

    table = read_descriptions(path)
    report = ranked_report(table)
    if not report.get("per_action"):
        raise CliError(f"{path} has no per-action report (it was ranked by an older version, or by the paper's "
                       "glove ranking without a cut-off); rank it again with `actionhub rank`")
    return table, report


def run_action(a: argparse.Namespace) -> int:
    """`stats STORE --action NAME`: one action's descriptions (and, with --ranked, its ranked ones)."""
    import pyarrow.compute as pc

    from actionhub.dataset.store import Store

    st = Store(a.store)
    action = st.resolve_action(a.action)
    t = st.descriptions(action, ["action", "rank", "provider", "video_id", "description"])
    table, report = _ranked(a.ranked)
    out = {"name": a.action, "action": action, "descriptions": t.num_rows,
           "first": [{"rank": r, "provider": p, "video_id": v, "description": d} for r, p, v, d in zip(
               *(t.column(c).to_pylist()[:a.samples] for c in ("rank", "provider", "video_id", "description")),
               strict=True)]}
    if table is not None:
        from actionhub.dataset.quality import action_quality

        mine = table.filter(pc.equal(table.column("action"), action))
        out["ranked"] = [{"rank": r, "score": round(s, 4), "description": d} for r, s, d in zip(
            *(mine.column(c).to_pylist()[:a.samples] for c in ("rank", "score", "description")), strict=True)]
        out["kept"] = mine.num_rows
        out["quality"] = next((q for q in action_quality(report) if q["action"] == action), None)
    if a.json:
        print(json.dumps(out, indent=1, ensure_ascii=False))
        return 0
    how = "" if action == a.action else f" ({a.action!r} resolves to it through the vocabulary)"
    print(f"action {action!r}{how}: {t.num_rows:,} descriptions in {st.path}")
    for r in out["first"]:
        print(f"  {r['rank']:>5}  {r['description'][:110]}")
    if t.num_rows > a.samples:
        print(f"  ... {t.num_rows - a.samples:,} more (--samples N)")
    if table is not None:
        q = out["quality"] or {}
        print(f"ranked ({report.get('ranker', 'glove')}, {a.ranked}): {out['kept']} kept"
              + (f"; {100 * q.get('cut', 0):.0f} % of the scored cut, {100 * q.get('object_only', 0):.0f} % "
                 "object-only, "
                 f"{100 * q.get('siblings', 0):.0f} % of a more specific query; likely noise {q.get('noise', 0):.2f}"
                 if q else "") + (f" ({'; '.join(q['warnings'])})" if q.get("warnings") else ""))
        for r in out["ranked"]:
            print(f"  {r['score']:+.3f}  {r['description'][:110]}")
    return 0


def _benchmark_table(a: argparse.Namespace, store_actions: list[str], table, report) -> dict:
    from actionhub.dataset.siblings import overlaps
    from actionhub.protocols import get_benchmark
    from actionhub.text.build import class_rows, match_classes
    from actionhub.text.coverage import class_coverage

    try:
        bench = get_benchmark(str(a.benchmark))
    except (KeyError, ValueError) as e:
        raise CliError(str(e).strip("'\"")) from None
    import numpy as np

    if table is not None:
        ranked_actions = table.column("action").combine_chunks().unique().drop_null().to_pylist()
        matches, _ = match_classes(bench.classes, ranked_actions)
        rows = class_rows(table, matches, bench.classes, 10 ** 9)
    else:
        matches, _ = match_classes(bench.classes, store_actions)
        rows = [np.zeros(0, np.int64)] * len(bench.classes)
    cov = class_coverage(bench.classes, matches, rows, table, a.min_descriptions)
    if table is None:  # without a ranked file: what the store holds per class
        from actionhub.dataset.store import Store

        counts = Store(a.store).counts()
        for r in cov:
            r["stored"] = sum(counts.get(x, 0) for x in r["actions"].split(";") if x)
            r["status"] = "none" if not r["stored"] else ("few" if r["stored"] < a.min_descriptions else "ok")
    used = sorted({x for acts in matches.values() for x in acts})
    pairs = [o for o in overlaps(store_actions) if o.general in used or o.specific in used]
    return {"benchmark": bench.name, "classes": cov, "overlaps": [o.to_json() for o in pairs],
            "unmatched": [c for c in bench.classes if c not in matches]}


def run_stats(a: argparse.Namespace) -> int:
    from actionhub.dataset.stats import compute_stats
    from actionhub.dataset.stats_plots import format_stats, write_report

    if a.action:
        return run_action(a)
    from actionhub.utils.outputs import check_new_folder, check_no_overlap

    check_no_overlap({"--plots": a.plots}, {"STORE": a.store, "--queries": a.queries})
    if a.plots:   # refused before the statistics are computed
        check_new_folder(a.plots, a.overwrite, kind="stats", what="stats folder", flag="--plots")
    queries = None
    if a.queries:
        from actionhub.dataset.vocab import read_queries

        queries = read_queries(a.queries)
    s = compute_stats(a.store, queries=queries, top=a.top, bottom=a.bottom, min_descriptions=a.min_descriptions,
                      curation=not a.ignore_curation)
    if a.note:
        s["note"] = a.note
    table, report = _ranked(a.ranked)
    if table is not None:
        from actionhub.dataset.quality import action_quality

        s["quality"] = action_quality(report)
    if a.benchmark:
        s["benchmark"] = _benchmark_table(a, list(s["descriptions_per_action"]), table, report)
    if a.plots:
        paths = write_report(s, a.plots, overwrite=a.overwrite)
    if a.json:
        print(json.dumps(s, indent=1, ensure_ascii=False))
        return 0
    print(format_stats(s), end="")
    if table is not None:
        from actionhub.dataset.quality import format_quality_table

        print(f"\nranked descriptions ({report.get('ranker', 'glove')}, {a.ranked}; cut-off "
              f"{report.get('min_relevance') or 'none'}, siblings {report.get('siblings')}):")
        print("\n".join(format_quality_table(s["quality"], limit=a.top or None)))
    if a.benchmark:
        from actionhub.text.coverage import format_class_table

        b = s["benchmark"]
        states = {k: sum(1 for r in b["classes"] if r["status"] == k) for k in ("none", "few", "ok")}
        print(f"\n{b['benchmark']}: {len(b['classes'])} classes: {states['ok']} with at least {a.min_descriptions} "
              f"descriptions, {states['few']} with fewer, {states['none']} without "
              + ("(kept after ranking)" if table is not None else "(in the store; --ranked shows what ranking keeps)"))
        print("\n".join(format_class_table(b["classes"])))
        if b["overlaps"]:
            print(f"overlapping queries of {b['benchmark']} (a caption of the more specific one is kept out of the "
                  "general one by `rank`):")
            from actionhub.dataset.siblings import Overlap, format_overlaps

            print("\n".join("  " + line for line in format_overlaps(
                [Overlap(o["general"], o["specific"], tuple(o["extra"])) for o in b["overlaps"]])))
    if a.plots:
        print("wrote " + ", ".join(str(p) for p in paths))
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    s = sub.add_parser("stats", help="counts, Fig. 4/5, and the quality of a store's descriptions",
                       description="Counts of actions, descriptions and sentences of a store, the number of "
                                   "actions per description/sentence bin (Fig. 4) and the actions with the most and "
                                   "fewest descriptions (Fig. 5). An action counts every video its query returned, "
                                   "also those other actions list too; --json adds descriptions_per_action. Sentences: "
                                   "runs of . ! ? followed by a space or the end, plus unterminated trailing text. "
                                   "With "
                                   "--ranked (the output of `actionhub rank`): per action the share cut by the "
                                   "relevance "
                                   "cut-off, the object-only share and the share of a more specific query, and the "
                                   "actions to check, most likely noisy first. --benchmark: a table per class. "
                                   "--action: "
                                   "one action's descriptions.")
    s.add_argument("store", type=Path, help="store directory")
    s.add_argument("--ranked", type=Path, metavar="TOPK", help="the ranked descriptions of this store (`actionhub "
                                                               "rank` output)")
    s.add_argument("--benchmark", metavar="NAME|FILE.json",
                   help="a table per class of this benchmark (shipped name or your benchmark file): queries used, "
                        "descriptions kept, share cut, a sample; and its overlapping queries")
    s.add_argument("--action", metavar="NAME",
                   help="one action's descriptions: an action of the store or a class name that resolves to one "
                        "(e.g. PlayingGuitar)")
    s.add_argument("--samples", type=non_negative_int, default=10,
                   help="descriptions shown with --action (default: 10)")
    s.add_argument("--plots", type=Path, metavar="DIR",
                   help="write stats.txt, stats.json, fig4_histograms.png and fig5_top_bottom.png here")
    s.add_argument("--overwrite", action="store_true",
                   help="replace earlier statistics in the --plots folder (only their files; other files are kept)")
    s.add_argument("--json", action="store_true", help="print the statistics as JSON")
    s.add_argument("--queries", type=Path, help="the queries collected: count those without descriptions too")
    s.add_argument("--top", type=non_negative_int, default=40, help="length of the top list (default: 40)")
    s.add_argument("--bottom", type=non_negative_int, default=20, help="length of the bottom list (default: 20)")
    s.add_argument("--min-descriptions", type=non_negative_int, default=100, metavar="N",
                   help="summarise the actions with fewer than N descriptions (default: 100, the paper's k)")
    s.add_argument("--note", help="label for titles and text (default: the store's note), e.g. SYNTHETIC")
    add_curation_flag(s)
    s.set_defaults(func=run_stats)
