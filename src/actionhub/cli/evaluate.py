"""`actionhub evaluate`: per-split metrics and mean ± std over splits (ZSL and GZSL) of trained runs,
or a training-free zero-shot evaluation of a protocol (``--zero-shot clip``)."""
from __future__ import annotations

import argparse
from pathlib import Path

from actionhub.cli.common import CliError, positive_int


def _splits(value: str) -> list[int]:
    try:
        out = [int(v) for v in value.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"splits must be comma-separated split indices, e.g. 0,1,2; "
                                         f"got {value!r}") from None
    if not out or min(out) < 0:
        raise argparse.ArgumentTypeError(f"splits must be split indices >= 0, e.g. 0,1,2; got {value!r}")
    return out


def run(a: argparse.Namespace) -> int:
    from actionhub.api import evaluate
    from actionhub.evaluation.results import format_table

    if (a.runs is None) == (a.zero_shot is None):
        raise CliError("pass --runs RUN_DIR ... (trained runs) or --zero-shot clip (training-free), one of them")
    if a.zero_shot is None:
        zs = [f for f, v in (("--features", a.features), ("--text-features", a.text_features), ("--config", a.config),
                             ("--splits", a.splits), ("--class-text", a.class_text), ("--k", a.k), ("--alpha", a.alpha),
                             ("--backbone", a.backbone), ("--video-list", a.video_list), ("--labels", a.labels))
              if v is not None]
        if zs:
            raise CliError(f"{', '.join(zs)} belong to --zero-shot; with --runs drop them")
        summary = evaluate(a.runs, a.out, benchmark=a.benchmark, gzsl=a.gzsl, calibration=a.calibration,
                           overwrite=a.overwrite)
    else:
        if a.gzsl or a.calibration is not None:
            raise CliError("--gzsl/--calibration apply to trained runs (--runs), not to --zero-shot")
        summary = evaluate(None, a.out, benchmark=a.benchmark, zero_shot=a.zero_shot, features=a.features,
                           text_features=a.text_features, recipe=a.config, splits=a.splits, class_text=a.class_text,
                           k=a.k, alpha=a.alpha, backbone=a.backbone, video_list=a.video_list, labels=a.labels,
                           overwrite=a.overwrite)
    print(format_table(summary, markdown=a.markdown, gzsl=a.gzsl))
    if a.out:
        print(f"\nwrote {a.out}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    e = sub.add_parser("evaluate", help="summarise finished runs over splits, or evaluate a protocol training-free",
                       description="Collect finished runs and give per-split top-1/top-5 and mean ± std over "
                                   "splits in the layout of the paper's tables; with --gzsl also the generalised "
                                   "zero-shot seen/unseen accuracy and their harmonic mean. With --zero-shot clip, "
                                   "score every split of a benchmark training-free in the joint space of the CLIP / "
                                   "X-CLIP model that made the video features and the class text, and write the "
                                   "same results JSON (method clip-zs; docs/clip.md).")
    e.add_argument("--benchmark", help="check that every run is on this benchmark (a name or a user benchmark "
                                       "FILE.json); with --zero-shot: the benchmark to evaluate")
    e.add_argument("--runs", nargs="+", help="run directories written by `actionhub train`")
    e.add_argument("--out", type=Path, help="write the results JSON here")
    e.add_argument("--overwrite", action="store_true", help="replace an existing --out file")
    e.add_argument("--markdown", action="store_true", help="print a Markdown table")
    e.add_argument("--gzsl", action="store_true",
                   help="add GZSL columns (runs must have been trained with `actionhub train --gzsl`)")
    e.add_argument("--calibration", type=float, default=None,
                   help="with --gzsl: recompute GZSL at this calibrated-stacking gamma (subtracted from seen-class "
                        "scores) from each run's gzsl.npz instead of the value used at training")
    z = e.add_argument_group("training-free evaluation (--zero-shot)")
    z.add_argument("--zero-shot", metavar="METHOD",
                   help="clip: cosine between the video features and the class text of the same CLIP / X-CLIP "
                        "model (hf-clip:/hf-xclip: features and text), nothing trained")
    z.add_argument("--features", help="video features of the benchmark's test videos (a store from `actionhub "
                                      "extract --backbone hf-clip:MODEL`, or any layout `train --features` reads)")
    z.add_argument("--text-features", nargs="+", metavar="FILE",
                   help="class text file(s) from `actionhub text-features --encoder` of the same model: one results "
                        "row each (e.g. --prompt names, definitions, names + --descriptions)")
    z.add_argument("--config", metavar="RECIPE", help="a training-free recipe (e.g. clip/zs-names-ucf101-full; "
                                                      "`actionhub recipes list`): benchmark, splits, class text")
    z.add_argument("--splits", type=_splits, metavar="S,S,...", help="evaluate only these splits (default: all)")
    z.add_argument("--class-text", choices=("ad", "vc", "ad+vc"),
                   help="ad: the file's AD rows (name prompts or name: definition; default), vc: its top-k "
                        "descriptions, ad+vc: both fused with --alpha (Eq. 17)")
    z.add_argument("--k", type=positive_int, help="descriptions per class (default: 100)")
    z.add_argument("--alpha", type=float, help="weight of the AD rows in ad+vc (default: 0.5)")
    z.add_argument("--backbone", help="the model that extracted --features, for stores that do not record it")
    z.add_argument("--video-list", help="video list of a per-video feature folder (as for `train`)")
    z.add_argument("--labels", help="labels of a .npy feature matrix (as for `train`)")
    e.set_defaults(func=run)
