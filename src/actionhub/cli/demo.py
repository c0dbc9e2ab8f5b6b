"""`actionhub demo`: the main job, end to end on the shipped protocols."""
from __future__ import annotations

import argparse
from pathlib import Path

from actionhub.cli.common import add_progress_flag


def run(a: argparse.Namespace) -> int:
    from actionhub.demo import run_demo

    run_demo(a.out, epochs=a.epochs, progress=not a.no_progress)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    d = sub.add_parser("demo", help="run the whole chain on the shipped protocols (synthetic features)",
                       description="Train and evaluate CoCo on UCF101, HMDB51 and Kinetics-ZSAR splits with "
                                   "SYNTHETIC features and print the summary table. Finished runs are reused.")
    d.add_argument("--out", type=Path, default=Path("runs/demo"), help="output directory (default: runs/demo)")
    d.add_argument("--epochs", type=int, default=8, help="training epochs per run (default: 8)")
    add_progress_flag(d)
    d.set_defaults(func=run)
