"""`actionhub stats`: counts, Fig. 4 histograms and Fig. 5 lists of a description store."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from actionhub.cli.common import add_curation_flag, non_negative_int


def run_stats(a: argparse.Namespace) -> int:
    from actionhub.dataset.stats import compute_stats
    from actionhub.dataset.stats_plots import format_stats, write_report

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
    if a.plots:
        paths = write_report(s, a.plots, overwrite=a.overwrite)
    if a.json:
        print(json.dumps(s, indent=1, ensure_ascii=False))
    else:
        print(format_stats(s), end="")
        if a.plots:
            print("wrote " + ", ".join(str(p) for p in paths))
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    s = sub.add_parser("stats", help="counts, Fig. 4 histograms and Fig. 5 lists of a store",
                       description="Counts of actions, descriptions and sentences of a store, the number of "
                                   "actions per description/sentence bin (Fig. 4) and the actions with the most and "
                                   "fewest descriptions (Fig. 5). An action counts every video its query returned, "
                                   "also those other actions list too; --json adds descriptions_per_action. Sentences: runs of . ! ? followed by a space or "
                                   "the end, plus unterminated trailing text.")
    s.add_argument("store", type=Path, help="store directory")
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
