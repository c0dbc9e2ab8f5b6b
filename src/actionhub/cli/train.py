"""`actionhub train`: one run of CoCo on one split."""
from __future__ import annotations

import argparse
from pathlib import Path

from actionhub.cli.common import CliError, add_config_flags, add_progress_flag, config_from_args


def run(a: argparse.Namespace) -> int:
    from actionhub.benchmarks import get_benchmark
    from actionhub.coco.train import train_run
    from actionhub.experiment import build_inputs

    cfg = config_from_args(a)
    try:
        bench = get_benchmark(a.benchmark)
        bench.split(a.split)
    except ValueError as e:
        raise CliError(str(e)) from None
    inp = build_inputs(
        bench, a.split, features=a.features, text_features=a.text_features, eval_features=a.eval_features,
        video_list=a.video_list, eval_video_list=a.eval_video_list, labels=a.labels,
        eval_labels=a.eval_labels, cim_pool=a.cim_pool,
    )
    rec = train_run(cfg, inp, a.out, progress=not a.no_progress)
    m = rec["metrics"]["test"]
    tag = " [SYNTHETIC]" if rec["data"].get("synthetic") else ""
    print(f"{bench.name} split {a.split}: top-1 {m['top1']:.2f}  top-5 {m['top5']:.2f} "
          f"on {m['num_videos']} videos of {m['num_classes']} unseen classes{tag}")
    print(f"run directory: {a.out}")
    return 0


def add_data_flags(t: argparse.ArgumentParser) -> None:
    t.add_argument("--benchmark", required=True, help="protocol name (see `actionhub benchmarks list`)")
    t.add_argument("--split", type=int, required=True, help="split index, 0-based")
    t.add_argument("--features", required=True,
                   help="training video features: a directory of <video>.npy files, a .npy/.npz matrix, or Parquet")
    t.add_argument("--eval-features", help="features of the val/test videos (default: --features)")
    t.add_argument("--video-list", help="metas .jsonl or `video label` lines for a directory of .npy files")
    t.add_argument("--eval-video-list",
                   help="video list for --eval-features (kinetics-zsar: the shipped val/test metas by default)")
    t.add_argument("--labels", help="labels file (one per line) for a .npy matrix")
    t.add_argument("--eval-labels", help="labels file for an --eval-features .npy matrix")
    t.add_argument("--text-features", required=True,
                   help="class text features (.npz or .parquet) with AD and description features")
    t.add_argument("--cim-pool", help="class text features whose classes (minus the seen ones) form the cycle "
                                     "pool instead of the split's unseen classes")


def register(sub: argparse._SubParsersAction) -> None:
    t = sub.add_parser("train", help="train CoCo on one split and evaluate it",
                       description="Train CoCo on the seen classes of one split, select the epoch (on the val "
                                   "classes where the protocol has them), evaluate on the unseen classes, and "
                                   "write a resumable run directory.")
    add_data_flags(t)
    t.add_argument("--out", required=True, type=Path, help="run directory (rerun the same command to resume)")
    add_progress_flag(t)
    add_config_flags(t)
    t.set_defaults(func=run)
