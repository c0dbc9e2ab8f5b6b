"""`actionhub extract`: video files -> the per-video feature store the trainer reads."""
from __future__ import annotations

import argparse
import sys

from actionhub.cli.common import add_progress_flag


def run(a: argparse.Namespace) -> int:
    from actionhub.video.backbones import list_backbones
    from actionhub.video.extract import extract_features

    if a.list_backbones:
        for info in list_backbones():
            name = info.name + ("<model>" if info.name.endswith(":") else "")
            state = "installed" if info.available else "needs " + info.install
            print(f"{name:<24} {info.description} [{state}]")
        return 0
    if a.input is None or a.out is None:
        from actionhub.cli.common import CliError

        raise CliError("extract needs INPUT and --out FEATURES (or --list-backbones)")
    res = extract_features(
        a.input, a.out, backbone=a.backbone, sampling=a.sampling, batch_size=a.batch_size,
        frame_batch=a.frame_batch, device=a.device, backend=a.backend, scheduler=a.scheduler, ids=a.ids,
        progress=not a.no_progress, overwrite=a.overwrite,
    )
    m = res.meta
    print(f"{res.out_dir}: {m['num_extracted']} of {res.total} videos extracted "
          f"({res.extracted} now, {res.skipped} already done), {res.failed} failed in this run")
    print(f"backbone {m['backbone']} ({m['dim']}-d), sampling {m['sampling']}; "
          f"{res.videos_per_second:.2f} videos/s, {res.frames_per_second:.1f} frames/s")
    if m.get("num_failed"):
        print(f"failures (with reasons): {res.out_dir / 'failures.jsonl'}")
    if res.total and not m.get("num_extracted"):
        print(f"actionhub extract: every one of the {res.total} videos failed; see {res.out_dir / 'failures.jsonl'}",
              file=sys.stderr)
        return 1
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "extract", help="extract video features with a frozen visual backbone (resumable)",
        usage="actionhub extract [options] INPUT --out FEATURES\n       actionhub extract --list-backbones",
        description="Decode every video of INPUT (a directory, searched recursively, or a list file of "
                    "'path [label]' lines), sample frames, encode them with a frozen backbone and write one "
                    "<video_id>.npy per video plus metas.jsonl/index.jsonl/meta.json into --out: the feature "
                    "store `actionhub train --features` reads. Unreadable videos are recorded in "
                    "failures.jsonl and the rest go on; rerun the same command to resume.")
    p.add_argument("input", nargs="?", help="directory of videos, or a list file of 'path [label]' lines")
    p.add_argument("--out", help="feature store directory (created; rerun to resume)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace an extraction of another INPUT in --out (its .npy files and lists; refused without)")
    p.add_argument("--backbone", default="efficientnet-lite0",
                   help="visual backbone: efficientnet-lite0 (offline default), timm:<model>, "
                        "open_clip:<model>:<pretrained>, hf-clip:<model> (CLIP image embeddings per frame), "
                        "hf-xclip:<model> (X-CLIP video embeddings per 8-frame clip); <model> is a Hugging Face id "
                        "or a save_pretrained folder (see --list-backbones, docs/clip.md)")
    p.add_argument("--sampling", default="segments:8",
                   help="frames per video: segments:T (T segment centres; 8 for Kinetics-ZSAR, 1 for UCF101/HMDB51) "
                        "or clip:LxS (one centred clip, e.g. clip:16x4) (default: segments:8)")
    p.add_argument("--batch-size", type=int, default=8, help="videos decoded and encoded together (default: 8)")
    p.add_argument("--frame-batch", type=int, default=64, help="frames per forward pass (default: 64)")
    p.add_argument("--device", default="cpu", help="torch device of the backbone, e.g. cpu or cuda (default: cpu)")
    p.add_argument("--backend", choices=("inprocess", "dask"), default="inprocess",
                   help="where videos are decoded and encoded (default: inprocess)")
    p.add_argument("--scheduler", help="Dask scheduler address for --backend dask, e.g. tcp://10.0.0.1:8786")
    p.add_argument("--ids", choices=("relpath", "stem"), default="relpath",
                   help="video ids: relative path with '/' -> '__' (default), or the file name alone")
    p.add_argument("--list-backbones", action="store_true", help="list the registered backbones and exit")
    add_progress_flag(p)
    p.set_defaults(func=run)
