"""The ``actionhub`` command: verbs only. Parse, call the library, print."""
from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import sys
from pathlib import Path
from typing import Any, Sequence

from actionhub import __version__
from actionhub.config import CLASS_TEXT_CHOICES, ModelConfig, OptimConfig, TrainConfig

# Help for every config field; the CLI flags are generated from the dataclasses so the
# two can never drift apart.
FIELD_HELP = {
    "dim": "joint embedding dimension d",
    "tau": "softmax temperature of every similarity",
    "alpha": "AD/VC fusion ratio (Eq. 10, 17)",
    "gamma": "weight of the cycle loss L_cycle (Eq. 15)",
    "k": "number of top-ranked video descriptions averaged per class (Eq. 6)",
    "class_text": "class text to align with: ad, vc or ad+vc (Table 4 ablation)",
    "cim": "Cross-action Invariance Mining (L_cycle)",
    "lr": "Adam learning rate",
    "weight_decay": "Adam weight decay",
    "batch_size": "videos per batch",
    "epochs": "training epochs",
    "warmup_epochs": "linear warm-up length in epochs, then cosine annealing",
    "seed": "random seed (initialisation and shuffling)",
}


class CliError(Exception):
    """A user error: printed without a traceback, exit status 2."""


def _add_config_flags(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("model and optimiser (paper defaults)")
    for cls in (ModelConfig, OptimConfig):
        for f in dataclasses.fields(cls):
            flag = "--" + f.name.replace("_", "-")
            if f.type in (bool, "bool"):
                g.add_argument(f"--no-{f.name.replace('_', '-')}", dest=f.name, action="store_false",
                               default=None, help=f"switch off {FIELD_HELP.get(f.name, f.name)}")
                continue
            typ = {"int": int, "float": float, "str": str}.get(str(f.type), f.type)
            kw: dict[str, Any] = {"type": typ, "default": None,
                                  "help": f"{FIELD_HELP.get(f.name, f.name)} (default: {f.default})"}
            if f.name == "class_text":
                kw["choices"] = CLASS_TEXT_CHOICES
            g.add_argument(flag, dest=f.name, **kw)
    g.add_argument("--device", default="cpu", help="torch device, e.g. cpu or cuda (default: cpu)")


def config_from_args(a: argparse.Namespace) -> TrainConfig:
    def pick(cls):
        return cls(**{f.name: getattr(a, f.name) for f in dataclasses.fields(cls) if getattr(a, f.name, None) is not None})

    cfg = TrainConfig(model=pick(ModelConfig), optim=pick(OptimConfig), method=getattr(a, "method", "coco"), device=a.device)
    try:
        cfg.validate()
    except ValueError as e:
        raise CliError(str(e)) from None
    return cfg


# ----------------------------------------------------------------------------- verbs
def cmd_benchmarks(a: argparse.Namespace) -> int:
    from actionhub.benchmarks import get_benchmark, list_benchmarks

    if a.action == "list":
        for name in list_benchmarks():
            b = get_benchmark(name)
            print(f"{name:16s} {len(b.classes):4d} classes  {b.num_splits:2d} split(s)")
        return 0
    try:
        b = get_benchmark(a.name)
        if a.split is not None:
            b.split(a.split)
    except ValueError as e:
        raise CliError(str(e)) from None
    if a.json:
        print(json.dumps(b.to_json(a.split), indent=2, ensure_ascii=False))
        return 0
    print(f"{b.name}: {len(b.classes)} classes, {b.num_splits} split(s)")
    print(f"source: {b.source}")
    for note in b.notes:
        print(f"note: {note}")
    idx = [a.split] if a.split is not None else range(b.num_splits)
    for i in idx:
        s = b.split(i)
        print(f"split {i}: {len(s.seen)} seen / {len(s.val)} val / {len(s.unseen)} unseen")
        if a.split is not None:
            for part in ("seen", "val", "unseen"):
                print(f"  {part}: {', '.join(getattr(s, part))}")
    return 0


def cmd_train(a: argparse.Namespace) -> int:
    from actionhub.benchmarks import get_benchmark
    from actionhub.coco.train import train_run
    from actionhub.experiment import build_inputs

    cfg = config_from_args(a)
    try:
        bench = get_benchmark(a.benchmark)
        inp = build_inputs(
            bench, a.split, features=a.features, text_features=a.text_features, eval_features=a.eval_features,
            video_list=a.video_list, eval_video_list=a.eval_video_list, labels=a.labels,
            eval_labels=a.eval_labels, cim_pool=a.cim_pool,
        )
    except ValueError as e:
        raise CliError(str(e)) from None
    rec = train_run(cfg, inp, a.out, progress=not a.no_progress)
    m = rec["metrics"]["test"]
    tag = " [SYNTHETIC]" if rec["data"].get("synthetic") else ""
    print(f"{bench.name} split {a.split}: top-1 {m['top1']:.2f}  top-5 {m['top5']:.2f} "
          f"on {m['num_videos']} videos of {m['num_classes']} unseen classes{tag}")
    print(f"run directory: {a.out}")
    return 0


def cmd_evaluate(a: argparse.Namespace) -> int:
    from actionhub.io import atomic_write_json
    from actionhub.results import format_table, load_runs, summarize

    try:
        summary = summarize(load_runs(a.runs), benchmark=a.benchmark)
    except ValueError as e:
        raise CliError(str(e)) from None
    if a.out:
        atomic_write_json(a.out, summary)
    print(format_table(summary, markdown=a.markdown))
    if a.out:
        print(f"\nwrote {a.out}")
    return 0


def cmd_demo(a: argparse.Namespace) -> int:
    from actionhub.demo import run_demo

    run_demo(a.out, epochs=a.epochs, progress=not a.no_progress)
    return 0


# ----------------------------------------------------------------------------- parser
def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="actionhub",
        description="Zero-shot action recognition with ActionHub descriptions and the CoCo model.",
    )
    p.add_argument("--version", action="version", version=f"actionhub {__version__}")
    p.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    sub = p.add_subparsers(dest="verb", required=True, metavar="VERB")

    b = sub.add_parser("benchmarks", help="list or show the ZSAR protocols",
                       description="The shipped zero-shot protocols: classes, splits, definitions.")
    bs = b.add_subparsers(dest="action", required=True, metavar="ACTION")
    bs.add_parser("list", help="list benchmark names with class and split counts")
    show = bs.add_parser("show", help="show one benchmark's splits")
    show.add_argument("name", help="benchmark name (see `actionhub benchmarks list`)")
    show.add_argument("--split", type=int, help="only this split (0-based)")
    show.add_argument("--json", action="store_true", help="print {name, num_splits, source, notes, splits} as JSON")
    b.set_defaults(func=cmd_benchmarks)

    t = sub.add_parser("train", help="train CoCo on one split and evaluate it",
                       description="Train CoCo on the seen classes of one split, select the epoch "
                                   "(on val classes where the protocol has them), evaluate on the unseen "
                                   "classes, and write a resumable run directory.")
    t.add_argument("--benchmark", required=True, help="protocol name (see `actionhub benchmarks list`)")
    t.add_argument("--split", type=int, required=True, help="split index, 0-based")
    t.add_argument("--features", required=True,
                   help="training video features: a directory of <video>.npy files, a .npy/.npz matrix, or Parquet")
    t.add_argument("--eval-features", help="features of the val/test videos (default: --features)")
    t.add_argument("--video-list", help="metas .jsonl or `video label` lines for a directory of .npy files")
    t.add_argument("--eval-video-list", help="video list for --eval-features (kinetics-zsar: the shipped metas by default)")
    t.add_argument("--labels", help="labels file (one per line) for a .npy matrix")
    t.add_argument("--eval-labels", help="labels file for an --eval-features .npy matrix")
    t.add_argument("--text-features", required=True, help="class text features (.npz or .parquet) with AD and descriptions")
    t.add_argument("--cim-pool", help="class text features whose classes (minus the seen ones) form the cycle pool "
                                     "instead of the split's unseen classes")
    t.add_argument("--out", required=True, type=Path, help="run directory (rerun the same command to resume)")
    t.add_argument("--no-progress", action="store_true", help="no progress bars")
    _add_config_flags(t)
    t.set_defaults(func=cmd_train)

    e = sub.add_parser("evaluate", help="summarise finished runs over splits",
                       description="Collect finished runs, give per-split top-1/top-5 and mean ± std over "
                                   "splits in the layout of the paper's tables.")
    e.add_argument("--benchmark", help="check every run is on this benchmark")
    e.add_argument("--runs", nargs="+", required=True, help="run directories written by `actionhub train`")
    e.add_argument("--out", help="write the results JSON here")
    e.add_argument("--markdown", action="store_true", help="print a Markdown table")
    e.set_defaults(func=cmd_evaluate)

    d = sub.add_parser("demo", help="run the whole chain on the shipped protocols (synthetic features)",
                       description="Train and evaluate CoCo on UCF101, HMDB51 and Kinetics-ZSAR splits with "
                                   "SYNTHETIC features and print the summary table. Finished runs are reused.")
    d.add_argument("--out", type=Path, default=Path("runs/demo"), help="output directory (default: runs/demo)")
    d.add_argument("--epochs", type=int, default=8, help="training epochs per run (default: 8)")
    d.add_argument("--no-progress", action="store_true", help="no progress bars")
    d.set_defaults(func=cmd_demo)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    a = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if a.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        return a.func(a)
    except CliError as e:
        print(f"actionhub {a.verb}: error: {e}", file=sys.stderr)
        return 2
    except (FileNotFoundError, PermissionError) as e:
        print(f"actionhub {a.verb}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; finished work is saved, rerun the same command to resume", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
