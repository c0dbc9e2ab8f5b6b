"""`actionhub evaluate`: per-split metrics and mean ± std over splits."""
from __future__ import annotations

import argparse


def run(a: argparse.Namespace) -> int:
    from actionhub.io import atomic_write_json
    from actionhub.results import format_table, load_runs, summarize

    summary = summarize(load_runs(a.runs), benchmark=a.benchmark)
    if a.out:
        atomic_write_json(a.out, summary)
    print(format_table(summary, markdown=a.markdown))
    if a.out:
        print(f"\nwrote {a.out}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    e = sub.add_parser("evaluate", help="summarise finished runs over splits",
                       description="Collect finished runs and give per-split top-1/top-5 and mean ± std over "
                                   "splits in the layout of the paper's tables.")
    e.add_argument("--benchmark", help="check that every run is on this benchmark")
    e.add_argument("--runs", nargs="+", required=True, help="run directories written by `actionhub train`")
    e.add_argument("--out", help="write the results JSON here")
    e.add_argument("--markdown", action="store_true", help="print a Markdown table")
    e.set_defaults(func=run)
