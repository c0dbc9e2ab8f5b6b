"""`actionhub train`: one run of CoCo or a baseline on one split."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from actionhub.cli.common import (
    CliError,
    add_config_flags,
    add_progress_flag,
    add_recipe_flag,
    add_threads_flag,
    config_overrides,
)
from actionhub.config import METHOD_CHOICES


def parse_seeds(spec: str) -> list[int]:
    """``--seeds 0,1,2`` -> [0, 1, 2]."""
    try:
        seeds = [int(s) for s in spec.split(",") if s.strip()]
    except ValueError:
        seeds = []
    if not seeds or len(set(seeds)) != len(seeds):
        raise CliError(f"--seeds {spec}: give distinct comma-separated integer seeds, e.g. 0,1,2")
    return seeds


def run(a: argparse.Namespace) -> int:
    if a.seeds is None:
        return run_one(a)
    if a.seed is not None:
        raise CliError("give --seed or --seeds, not both")
    seeds = parse_seeds(a.seeds)
    out, rc = a.out, 0
    for s in seeds:
        a.seed, a.out = s, out / f"seed{s}"
        rc = max(rc, run_one(a))
    print(f"{len(seeds)} seeds in {out}/seed*: `actionhub evaluate --runs {out}/seed*` reports their spread")
    return rc


def run_one(a: argparse.Namespace) -> int:
    from actionhub.api import train
    from actionhub.models.registry import get_method, parse_method_params

    rec = train(a.benchmark, a.split, out=a.out, features=a.features, text_features=a.text_features,
                recipe=a.config, method=a.method, method_params=parse_method_params(a.method_param) or None,
                eval_features=a.eval_features, video_list=a.video_list, eval_video_list=a.eval_video_list,
                labels=a.labels, eval_labels=a.eval_labels, cim_pool=a.cim_pool, gzsl=a.gzsl,
                gzsl_holdout=a.gzsl_holdout, calibration=a.calibration, progress=not a.no_progress,
                threads=a.threads, log=a.log, **config_overrides(a))
    if rec.get("status") == "diverged":
        print(f"actionhub train: error: {a.out}: {rec['error']}", file=sys.stderr)
        return 1
    if rec.get("reused"):
        print(f"reused the finished run in {a.out} (same settings; use a new --out to train again)")
    m = rec["metrics"]["test"]
    tag = " [SYNTHETIC]" if rec["data"].get("synthetic") else ""
    title = get_method(rec["method"]).title
    print(f"{title} on {rec['benchmark']} split {rec['split']}: top-1 {m['top1']:.2f}  top-5 {m['top5']:.2f} "
          f"on {m['num_videos']} videos of {m['num_classes']} unseen classes{tag}")
    if "gzsl" in rec["metrics"]:
        g = rec["metrics"]["gzsl"]
        print(f"GZSL (calibration {g['calibration']:g}): seen {g['acc_seen']:.2f}  unseen {g['acc_unseen']:.2f}  "
              f"H {g['h']:.2f} (per-class mean top-1){tag}")
    if "recipe" in rec:
        print(f"recipe: {rec['recipe']['name']}"
              + (f" ({rec['recipe']['paper']})" if rec["recipe"].get("paper") else ""))
    print(f"training: {rec.get('stop_reason', 'n/a')}; epoch selection: {rec['protocol']['epoch_selection']}")
    print(f"run directory: {a.out}" + (f" (curves: tensorboard --logdir {a.out / 'tb'})" if a.log else ""))
    print(selection_line(rec))
    return 0


def selection_line(rec: dict[str, Any]) -> str:
    """The last line of a run: the model it kept (selected step) and its val top-1."""
    from actionhub.engine.sweep import val_score

    val = val_score(rec)
    on_val = f", val top-1 {val:.2f}" if val is not None else " (no val classes: the last step)"
    if "selected_step" not in rec:   # a one-shot method
        return f"selected: {rec['protocol']['epoch_selection']}{on_val if val is not None else ''}"
    return f"selected: step {rec['selected_step']} of {rec['steps_done']}{on_val}"


def add_data_flags(t: argparse.ArgumentParser, split: bool = True) -> None:
    t.add_argument("--benchmark", help="protocol name (see `actionhub benchmarks list`) or your own benchmark as a "
                                       "FILE.json in the format of `actionhub benchmarks show NAME --json` (check it "
                                       "with `actionhub benchmarks check FILE.json`); required unless --config names "
                                       "one")
    if split:
        t.add_argument("--split", type=int, required=True,
                       help="split index, 0-based (with --config: one of the recipe's splits)")
    t.add_argument("--features",
                   help="training video features: a directory of <video>.npy files, a .npy/.npz matrix, or Parquet "
                        "(required unless --config is a SYNTHETIC recipe, e.g. configs/demo/ucf101.toml)")
    t.add_argument("--eval-features", help="features of the val/test videos (default: --features)")
    t.add_argument("--video-list", help="metas .jsonl or `video label` lines for a directory of .npy files")
    t.add_argument("--eval-video-list",
                   help="video list for --eval-features (kinetics-zsar: the shipped val/test metas by default)")
    t.add_argument("--labels", help="labels file (one per line) for a .npy matrix")
    t.add_argument("--eval-labels", help="labels file for an --eval-features .npy matrix")
    t.add_argument("--text-features",
                   help="class text features (.npz or .parquet) with AD and description features (required with "
                        "--features)")
    t.add_argument("--cim-pool", help="class text features whose classes (minus the seen ones) form the cycle "
                                     "pool instead of the split's unseen classes")


def add_method_flags(t: argparse.ArgumentParser) -> None:
    g = t.add_argument_group("method and generalised zero-shot evaluation")
    g.add_argument("--method", choices=list(METHOD_CHOICES),
                   help="coco (default), er-vse (CoCo with AD only and no CIM), or a baseline: "
                        "devise, ale, sje, dem, eszsl, gcn (see docs/baselines.md)")
    g.add_argument("--method-param", action="append", metavar="NAME=VALUE",
                   help="a hyper-parameter of the method, e.g. margin=0.1 (devise), delta=1 (ale, sje), "
                        "hidden=1024 lam=0.001 (dem), gamma=1 lam=1 grid=... (eszsl), targets=W.npy "
                        "targets_classes=kinetics400 graph_k=5 (gcn); repeatable; merged over "
                        "the recipe's [method_params]")
    g.add_argument("--gzsl", action="store_true",
                   help="also evaluate generalised ZSL: hold out a deterministic share of each seen class's "
                        "training videos and score them and the unseen-class videos over seen + unseen classes")
    g.add_argument("--gzsl-holdout", type=float, default=0.2,
                   help="share of each seen class's videos held out with --gzsl (default: 0.2)")
    g.add_argument("--calibration", type=float, default=0.0,
                   help="calibrated stacking for --gzsl: subtract this from every seen-class score (default: 0)")


def register(sub: argparse._SubParsersAction) -> None:
    t = sub.add_parser("train", help="train CoCo or a baseline on one split and evaluate it",
                       formatter_class=argparse.RawDescriptionHelpFormatter,
                       description="Train a method (CoCo by default) on the seen classes of one split, select the\n"
                                   "epoch (on the val classes where the protocol has them), evaluate on the unseen\n"
                                   "classes, and write a resumable run directory.\n\n"
                                   "--config RECIPE fills the settings of a row of the paper's Tables 2-4\n"
                                   "(`actionhub recipes list`, docs/recipes.md); flags given here override it.",
                       epilog="examples:\n"
                              "  actionhub train --config table2/coco --split 0 --features F --text-features T "
                              "--out runs/k/split0\n"
                              "  actionhub train --config table2/coco --split 0 --features F --text-features T "
                              "--epochs 20 --out runs/k20/split0\n"
                              "  actionhub train --config configs/demo/ucf101.toml --split 0 --out runs/demo-u0"
                              "   # SYNTHETIC, no files\n"
                              "  actionhub train --benchmark ucf101 --split 0 --features F --text-features T "
                              "--no-cim --out runs/u0")
    add_recipe_flag(t)
    add_data_flags(t)
    t.add_argument("--out", required=True, type=Path, help="run directory (rerun the same command to resume)")
    t.add_argument("--seeds", metavar="S1,S2,...",
                   help="repeat the split once per seed into OUT/seed<S> (ActionHub's; `actionhub evaluate` "
                        "reports the spread over seeds)")
    add_progress_flag(t)
    add_threads_flag(t)
    t.add_argument("--log", action="append", metavar="LOGGER",
                   help="tensorboard: write the training curves (losses, lr, val top-1/top-5) to OUT/tb/ while "
                        "the run trains (`tensorboard --logdir OUT/tb`; needs pip install 'actionhub[tensorboard]'); "
                        "`actionhub report OUT` draws them from run.json without it")
    add_method_flags(t)
    add_config_flags(t)
    t.set_defaults(func=run)
