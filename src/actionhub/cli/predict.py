"""`actionhub predict`: zero-shot predictions for your videos and your action names."""
from __future__ import annotations

import argparse
import json
import sys

from actionhub.cli.common import CliError, add_progress_flag, add_threads_flag


def run(a: argparse.Namespace) -> int:
    from actionhub.engine.predict import predict
    from actionhub.utils.threads import torch_threads

    if (a.checkpoint is None) == (a.zero_shot is None):
        raise CliError("pass --checkpoint RUN_DIR (a trained run) or --zero-shot conse|clip (training-free)")
    with torch_threads(a.threads):
        res = predict(
            a.videos, a.checkpoint, a.actions, top=a.top, actions_file=a.actions_file, benchmark=a.benchmark,
            split=a.split, definitions=a.definitions, descriptions=a.descriptions, zero_shot=a.zero_shot,
            backbone=a.backbone, sampling=a.sampling, encoder=a.encoder, device=a.device, batch_size=a.batch_size,
            cache=a.cache if a.cache else True, progress=not a.no_progress,
        )
    if a.json:
        slim = [{k: v for k, v in r.items() if k in ("video", "predictions", "error")} for r in res]
        json.dump(slim, sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
        return 0 if any(r["predictions"] for r in res) else 1
    if a.zero_shot:
        doc = "docs/clip.md" if a.zero_shot == "clip" else "docs/video.md"
        print(f"[zero-shot baseline: {a.zero_shot}, no training -- see {doc}]")
    for r in res:
        print(r["video"])
        if "error" in r:
            print(f"  cannot read it: {r['error']}")
            continue
        for i, p in enumerate(r["predictions"], 1):
            print(f"  {i:>2}. {p['action']:<32} {p['score']:+.4f}")
    return 0 if any(r["predictions"] for r in res) else 1


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "predict", help="zero-shot action predictions for video files",
        description="Score action names for each VIDEO with a trained run (--checkpoint: the video is encoded "
                    "with the run's backbone and sampling, the names with its text encoder), with the "
                    "training-free ConSE baseline (--zero-shot conse), or in a CLIP / X-CLIP model's own space "
                    "(--zero-shot clip --backbone hf-clip:MODEL). Unreadable videos are reported and the others "
                    "still scored.")
    p.add_argument("videos", nargs="+", metavar="VIDEO", help="video files")
    p.add_argument("--checkpoint", metavar="RUN_DIR", help="run directory of `actionhub train`")
    p.add_argument("--zero-shot", choices=("conse", "clip"),
                   help="training-free method instead of a checkpoint: conse (ConSE on EfficientNet-Lite0's "
                        "ImageNet classifier + MiniLM) or clip (cosine of the --backbone hf-clip:/hf-xclip: video "
                        "embedding and the same model's text embedding; see docs/clip.md)")
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--actions", help='comma-separated action names, e.g. "riding a horse, eating"')
    g.add_argument("--actions-file", help="file with one action name per line")
    g.add_argument("--benchmark", help="score the classes of a benchmark (see `actionhub benchmarks list`)")
    p.add_argument("--split", type=int, help="with --benchmark: only that split's unseen classes")
    p.add_argument("--top", type=int, default=5, help="predictions per video (default: 5)")
    p.add_argument("--json", action="store_true",
                   help='print [{"video": path, "predictions": [{"action", "score"}, ...]}] (plus "error" for '
                        "unreadable videos)")
    p.add_argument("--definitions", help='definitions of the actions: JSON {"name": "definition"} or '
                                         "name<TAB>definition lines")
    p.add_argument("--descriptions", help="ranked descriptions (topk.parquet from `actionhub rank`) for the actions")
    p.add_argument("--backbone", help="override the run's visual backbone (must match its training features); "
                                      "with --zero-shot clip: the model, e.g. hf-clip:openai/clip-vit-base-patch16")
    p.add_argument("--sampling", help="override the run's frame sampling, e.g. segments:8 or clip:16x4")
    p.add_argument("--encoder", help="override the text encoder (default: the run's; minilm for --zero-shot conse; "
                                     "the backbone's model for --zero-shot clip)")
    p.add_argument("--device", default="cpu", help="torch device (default: cpu)")
    p.add_argument("--batch-size", type=int, default=8, help="videos encoded together (default: 8)")
    p.add_argument("--cache", help="encoded-text cache directory (default: $ACTIONHUB_CACHE/text, else "
                                   "$XDG_CACHE_HOME/actionhub/text, else ~/.cache/actionhub/text)")
    add_progress_flag(p)
    add_threads_flag(p)
    p.set_defaults(func=run)
