"""`actionhub predict`: zero-shot predictions for your videos and your action names."""
from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from actionhub.cli.common import CliError, add_progress_flag, add_threads_flag, non_negative_int, positive_int


def run(a: argparse.Namespace) -> int:
    from actionhub.engine.predict import predict
    from actionhub.utils.threads import torch_threads

    if (a.checkpoint is None) == (a.zero_shot is None):
        raise CliError("pass --checkpoint RUN_DIR (a trained run) or --zero-shot conse|clip (training-free)")
    with torch_threads(a.threads):
        res = predict(
            a.videos or None, a.checkpoint, a.actions, top=a.top, actions_file=a.actions_file, benchmark=a.benchmark,
            split=a.split, definitions=a.definitions, descriptions=a.descriptions, corpus=a.corpus, store=a.store,
            k=a.k, per_query=a.per_query, match=a.match, id_column=a.id_column, caption_column=a.caption_column,
            corpus_format=a.corpus_format, index_cache=a.index_cache, zero_shot=a.zero_shot, backbone=a.backbone,
            sampling=a.sampling, encoder=a.encoder, device=a.device, batch_size=a.batch_size, features=a.features,
            out=a.out, overwrite=a.overwrite, explain=a.explain, confusion=a.confusion or True,
            cache=a.cache if a.cache else True, progress=not a.no_progress,
        )
    s = res.summary
    ok = s["videos"] > s["failed"]
    if a.out:
        _print_summary(s, a.json)
        return 0 if ok else 1
    if a.json:
        slim = [{k: v for k, v in r.items() if k != "imagenet_top"} for r in res]
        json.dump(slim, sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
    else:
        _print_rows(res, a.zero_shot)
    if s.get("metrics"):
        _print_metrics(s, file=sys.stderr if a.json else sys.stdout)
    return 0 if ok else 1


def _print_rows(res: Any, zero_shot: str | None) -> None:
    if zero_shot:
        doc = "docs/clip.md" if zero_shot == "clip" else "docs/video.md"
        print(f"[zero-shot baseline: {zero_shot}, no training -- see {doc}]")
    for r in res:
        print(r["video"] + (f"  [label: {r['label']}]" if r.get("label") is not None else ""))
        if "error" in r:
            print(f"  cannot read it: {r['error']}")
            continue
        for i, p in enumerate(r["predictions"], 1):
            share = (f"   (AD {p['from_ad']:+.4f}, VC {p['from_vc']:+.4f})" if "from_ad" in p else "")
            print(f"  {i:>2}. {p['action']:<32} {p['score']:+.4f}{share}")
            for d in p.get("descriptions", []):
                print(f"        {d['similarity']:+.3f}  {d['description']}")
            if "descriptions" in p and not p["descriptions"]:
                print("        (no descriptions: scored by its name)")


def _print_metrics(s: dict[str, Any], file: Any) -> None:
    from actionhub.engine.predict_metrics import format_metrics

    print(f"labels: {format_metrics(s['metrics'])}", file=file)
    if s.get("confusion"):
        print(f"confusion matrix: {s['confusion']}", file=file)


def _print_summary(s: dict[str, Any], as_json: bool) -> None:
    if as_json:
        json.dump(s, sys.stdout, ensure_ascii=False, indent=2, default=str)
        sys.stdout.write("\n")
        return
    print(f"{s['out']}: {s['videos']} videos, {s['scored']} scored now"
          + (f" ({s['videos_per_second']:.1f} videos/s)" if s["videos_per_second"] else "")
          + (f", {s['resumed']} already scored by an earlier run" if s["resumed"] else "")
          + (f"; {s['failed']} could not be read (their rows say why)" if s["failed"] else ""))
    if s.get("metrics"):
        _print_metrics(s, file=sys.stdout)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "predict", help="zero-shot action predictions for video files",
        description="Score action names for each video with a trained run (--checkpoint: the video is encoded "
                    "with the run's backbone and sampling, the names with its text encoder), with the "
                    "training-free ConSE baseline (--zero-shot conse), or in a CLIP / X-CLIP model's own space "
                    "(--zero-shot clip --backbone hf-clip:MODEL). The actions' descriptions come from a ranked "
                    "file (--descriptions), a caption corpus searched on the fly (--corpus) or a collected store "
                    "(--store). VIDEOS are files, folders (recursive) or list files of 'path [label]' lines; "
                    "--features scores what `actionhub extract` wrote instead. --out writes one row per video, "
                    "resumably. Unreadable videos are reported and the others still scored. See docs/video.md.")
    p.add_argument("videos", nargs="*", metavar="VIDEOS",
                   help="video files, folders of videos (searched recursively) or list files of 'path [label]' "
                        "lines (labels give top-1/top-5 and a confusion matrix)")
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
    p.add_argument("--top", type=positive_int, default=5, help="predictions per video (default: 5)")
    p.add_argument("--json", action="store_true",
                   help='print [{"video", "predictions": [{"action", "score"}, ...]}] (plus "error" for unreadable '
                        'videos, "label"/"label_rank" for labelled ones, the explanations with --explain); with '
                        "--out, the run's summary as JSON")
    p.add_argument("--definitions", help='definitions of the actions: JSON {"name": "definition"} or '
                                         "name<TAB>definition lines")
    d = p.add_argument_group("descriptions of the actions (one source at most; none: their names alone)")
    d.add_argument("--descriptions", help="ranked descriptions (topk.parquet from `actionhub rank`)")
    d.add_argument("--corpus", help="a caption corpus (CSV/JSONL/Parquet, e.g. WebVid's): each action's query is built "
                                    "as `vocab` does, searched with the local provider's cached BM25 index (the "
                                    "one `collect` uses), ranked as `rank` does, and the top --k kept")
    d.add_argument("--store", help="a description store of `collect`/`import`: the actions' descriptions in it, "
                                   "ranked as `rank` does")
    d.add_argument("--k", type=positive_int, help="descriptions kept per action (default: the run's k; 100 for "
                                                  "--zero-shot; at most the k a --descriptions file was ranked with)")
    d.add_argument("--per-query", type=positive_int, default=3000,
                   help="with --corpus: best BM25 matches of each query ranked for the top --k (default: 3000)")
    d.add_argument("--match", choices=("all", "any"), default="all",
                   help="with --corpus: a caption matches when it holds every / any content word of the query "
                        "(default: all, as `collect`)")
    d.add_argument("--id-column", default="videoid", help="with --corpus: video id column (default: videoid)")
    d.add_argument("--caption-column", default="name", help="with --corpus: caption column (default: name)")
    d.add_argument("--corpus-format", choices=("csv", "jsonl", "parquet"),
                   help="with --corpus: format (default: from the suffix)")
    d.add_argument("--index-cache", help="with --corpus: where the BM25 index is cached (default: next to the "
                                         "corpus, shared with `collect`)")
    o = p.add_argument_group("batch output")
    o.add_argument("--features", metavar="DIR", help="score the features `actionhub extract` wrote into DIR instead "
                                                      "of decoding VIDEOS")
    o.add_argument("--out", help="write one row per video to this .parquet or .jsonl file (in parts while it runs: "
                                 "rerun the same command after a kill to finish it)")
    o.add_argument("--overwrite", action="store_true", help="replace an existing --out (and confusion matrix), or "
                                                            "start over instead of resuming")
    o.add_argument("--explain", type=non_negative_int, default=0, metavar="N",
                   help="for each predicted action, the N descriptions closest to the video with their similarity "
                        "(and, for a trained CoCo run, the parts of the score from the definition and the "
                        "descriptions)")
    o.add_argument("--confusion", metavar="PNG",
                   help="where the confusion matrix of labelled videos goes (default: beside --out as "
                        "NAME_confusion.png, else predict_confusion.png here)")
    p.add_argument("--backbone", help="override the run's visual backbone (must match its training features); "
                                      "with --zero-shot clip: the model, e.g. hf-clip:openai/clip-vit-base-patch16")
    p.add_argument("--sampling", help="override the run's frame sampling, e.g. segments:8 or clip:16x4")
    p.add_argument("--encoder", help="override the text encoder (default: the run's; minilm for --zero-shot conse; "
                                     "the backbone's model for --zero-shot clip)")
    p.add_argument("--device", default="cpu", help="torch device (default: cpu)")
    p.add_argument("--batch-size", type=positive_int, default=8, help="videos encoded together (default: 8)")
    p.add_argument("--cache", help="encoded-text cache directory (default: $ACTIONHUB_CACHE/text, else "
                                   "$XDG_CACHE_HOME/actionhub/text, else ~/.cache/actionhub/text)")
    add_progress_flag(p)
    add_threads_flag(p)
    p.set_defaults(func=run)
