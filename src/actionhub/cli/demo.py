"""`actionhub demo`: the main job, end to end on the shipped protocols."""
from __future__ import annotations

import argparse
from pathlib import Path

from actionhub.cli.common import add_progress_flag


def run(a: argparse.Namespace) -> int:
    from actionhub.demo.run import run_demo

    run_demo(a.out, plan=a.plan, epochs=a.epochs, corpus=a.corpus, report=not a.no_report, predict=not a.no_predict,
             progress=not a.no_progress, full=a.full)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    d = sub.add_parser("demo", help="run the whole chain offline: protocols, real class text, report, prediction",
                       description="The main job, offline: train and evaluate CoCo on UCF101, HMDB51 and "
                                   "Kinetics-ZSAR splits with SYNTHETIC features (the recipes of configs/demo) and "
                                   "print the "
                                   "summary table; "
                                   "encode the real Kinetics-ZSAR definitions with MiniLM and train on them; "
                                   "render the report with baselines and ablations; predict actions on a real "
                                   "short clip. Finished runs are reused.")
    d.add_argument("--out", type=Path, default=Path("runs/demo"), help="output directory (default: runs/demo)")
    d.add_argument("--plan", type=Path, metavar="DIR",
                   help="a demo plan: a directory holding plan.toml and the SYNTHETIC recipes it lists "
                        "(default: the packaged configs/demo; see docs/recipes.md)")
    d.add_argument("--full", action="store_true",
                   help="the whole plan: every split of every recipe and the full sweeps (default: the plan's "
                        "[quick] part, the first split of each, in minutes; a later --full reuses its runs)")
    d.add_argument("--epochs", type=int, help="training epochs per run (default: the plan's recipes, 8)")
    d.add_argument("--corpus", help="caption file (CSV/JSONL/Parquet with a video id column such as videoid or id "
                                    "and a caption column such as name, caption or text) for class descriptions "
                                    "(default: $ACTIONHUB_DEMO_CORPUS; none: AD-only)")
    d.add_argument("--no-report", action="store_true", help="skip the report step")
    d.add_argument("--no-predict", action="store_true", help="skip the prediction step")
    add_progress_flag(d)
    d.set_defaults(func=run)
