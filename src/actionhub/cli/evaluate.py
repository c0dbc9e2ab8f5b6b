"""`actionhub evaluate`: per-split metrics and mean ± std over splits (ZSL and GZSL)."""
from __future__ import annotations

import argparse


def run(a: argparse.Namespace) -> int:
    from actionhub.api import evaluate
    from actionhub.evaluation.results import format_table

    summary = evaluate(a.runs, a.out, benchmark=a.benchmark, gzsl=a.gzsl, calibration=a.calibration,
                       overwrite=a.overwrite)
    print(format_table(summary, markdown=a.markdown, gzsl=a.gzsl))
    if a.out:
        print(f"\nwrote {a.out}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    e = sub.add_parser("evaluate", help="summarise finished runs over splits",
                       description="Collect finished runs and give per-split top-1/top-5 and mean ± std over "
                                   "splits in the layout of the paper's tables; with --gzsl also the generalised "
                                   "zero-shot seen/unseen accuracy and their harmonic mean.")
    e.add_argument("--benchmark", help="check that every run is on this benchmark (a name or a user benchmark "
                                       "FILE.json)")
    e.add_argument("--runs", nargs="+", required=True, help="run directories written by `actionhub train`")
    e.add_argument("--out", help="write the results JSON here")
    e.add_argument("--overwrite", action="store_true", help="replace an existing --out file")
    e.add_argument("--markdown", action="store_true", help="print a Markdown table")
    e.add_argument("--gzsl", action="store_true",
                   help="add GZSL columns (runs must have been trained with `actionhub train --gzsl`)")
    e.add_argument("--calibration", type=float, default=None,
                   help="with --gzsl: recompute GZSL at this calibrated-stacking gamma (subtracted from seen-class "
                        "scores) from each run's gzsl.npz instead of the value used at training")
    e.set_defaults(func=run)
