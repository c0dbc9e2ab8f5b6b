"""`actionhub report`: the paper's tables and figures from saved runs, sweeps and results."""
from __future__ import annotations

import argparse
from pathlib import Path

from actionhub.cli.common import CliError


def run(a: argparse.Namespace) -> int:
    from actionhub.report import build_report
    from actionhub.utils.outputs import check_no_overlap

    out = a.out
    if out is None:   # FOLDER/report lies inside its input by design: a folder of its own beside the run's files
        if len(a.inputs) != 1 or not Path(a.inputs[0]).is_dir():
            raise CliError("pass --out DIR for the report (only a single run or sweep folder gets FOLDER/report "
                           "by default)")
        out = Path(a.inputs[0]) / "report"
    else:
        check_no_overlap({"--out": out}, {"RESULTS_OR_RUN_DIRS": a.inputs, "--features": a.features,
                                          "--eval-features": a.eval_features, "--text-features": a.text_features})
    path = build_report(a.inputs, out, features=a.features, text_features=a.text_features,
                        eval_features=a.eval_features, tsne_classes=a.tsne_class, cycle_classes=a.cycle_class,
                        tsne_videos=a.tsne_videos, seed=a.seed, say=print, reported=a.reported,
                        overwrite=a.overwrite)
    print(f"report: {path}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    r = sub.add_parser("report", help="write report.md and PNG figures (Tables 2-4, Fig. 8-12) from saved runs",
                       description="Render the paper's tables and figures from run directories (`actionhub train`), "
                                   "sweep directories (`actionhub sweep`) and results files (`actionhub evaluate "
                                   "--out`): the method x benchmark table with its protocol, GZSL, Table 4, the k and "
                                   "alpha curves, the CIM bar chart, the t-SNE of individual videos and class semantic "
                                   "features, the top-5 cycle-attention neighbours, and the training curves of each "
                                   "run (losses, lr, val accuracy by step, from run.json). What the inputs cannot "
                                   "provide is listed in the report. `actionhub report RUN` writes RUN/report/.")
    r.add_argument("inputs", nargs="+", metavar="RESULTS_OR_RUN_DIRS",
                   help="run directories, sweep directories, results .json files, or directories holding them")
    r.add_argument("--out", type=Path, help="output directory for report.md and the PNGs (default for a single run "
                                            "or sweep folder: FOLDER/report)")
    r.add_argument("--overwrite", action="store_true",
                   help="replace an earlier report in --out (only the files a report wrote; other files are kept)")
    r.add_argument("--reported", action="store_true",
                   help="also show the paper's published Tables 2-4 numbers (and the rows they cite) in a table "
                        "of their own, marked REPORTED, beside this report's runs of the same methods, and the "
                        "video-CLIP papers' published zero-shot rows (X-CLIP, ViFi-CLIP) in the CLIP-era section; "
                        "never mixed with or averaged into the runs")
    g = r.add_argument_group("data for the t-SNE and cycle-attention figures (default: the paths in run.json)")
    g.add_argument("--features", help="video features of the runs' benchmark")
    g.add_argument("--eval-features", help="features of the val/test videos")
    g.add_argument("--text-features", help="class text features (.npz or .parquet)")
    g.add_argument("--tsne-class", action="append", metavar="NAME",
                   help="a class to show in the t-SNE (repeatable; default: 5 seen + 5 unseen drawn with --seed)")
    g.add_argument("--tsne-videos", type=int, default=25, metavar="N",
                   help="videos per class in the t-SNE, drawn with --seed (default: 25)")
    g.add_argument("--cycle-class", action="append", metavar="NAME",
                   help="an unseen class for the cycle-attention table (repeatable; default: 2 drawn with --seed)")
    g.add_argument("--seed", type=int, default=0,
                   help="seed for the class and video choices and the t-SNE (default: 0)")
    r.set_defaults(func=run)
