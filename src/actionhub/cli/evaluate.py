"""`actionhub evaluate`: per-split metrics and mean ± std over splits (ZSL and GZSL)."""
from __future__ import annotations

import argparse

from actionhub.cli.common import CliError


def run(a: argparse.Namespace) -> int:
    from actionhub.evaluation.results import format_table, load_runs, recalibrate, summarize
    from actionhub.utils.io import atomic_write_json

    records = load_runs(a.runs)
    if a.calibration is not None and not a.gzsl:
        raise CliError("--calibration applies to GZSL metrics: add --gzsl")
    if a.gzsl:
        missing = [r["run_dir"] for r in records if "gzsl" not in r["metrics"]]
        if missing:
            raise CliError(f"{len(missing)} run(s) have no GZSL metrics (trained without --gzsl): "
                           f"{', '.join(missing[:5])}. Train them with `actionhub train ... --gzsl`.")
        if a.calibration is not None:
            records = [recalibrate(r, a.calibration) for r in records]
    summary = summarize(records, benchmark=a.benchmark)
    if a.out:
        atomic_write_json(a.out, summary)
    print(format_table(summary, markdown=a.markdown, gzsl=a.gzsl))
    if a.out:
        print(f"\nwrote {a.out}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    e = sub.add_parser("evaluate", help="summarise finished runs over splits",
                       description="Collect finished runs and give per-split top-1/top-5 and mean ± std over "
                                   "splits in the layout of the paper's tables; with --gzsl also the generalised "
                                   "zero-shot seen/unseen accuracy and their harmonic mean.")
    e.add_argument("--benchmark", help="check that every run is on this benchmark")
    e.add_argument("--runs", nargs="+", required=True, help="run directories written by `actionhub train`")
    e.add_argument("--out", help="write the results JSON here")
    e.add_argument("--markdown", action="store_true", help="print a Markdown table")
    e.add_argument("--gzsl", action="store_true",
                   help="add GZSL columns (runs must have been trained with `actionhub train --gzsl`)")
    e.add_argument("--calibration", type=float, default=None,
                   help="with --gzsl: recompute GZSL at this calibrated-stacking gamma (subtracted from seen-class "
                        "scores) from each run's gzsl.npz instead of the value used at training")
    e.set_defaults(func=run)
