"""`actionhub benchmarks list|show`: the shipped zero-shot protocols."""
from __future__ import annotations

import argparse
import json

from actionhub.cli.common import CliError


def run(a: argparse.Namespace) -> int:
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
    for i in [a.split] if a.split is not None else range(b.num_splits):
        s = b.split(i)
        print(f"split {i}: {len(s.seen)} seen / {len(s.val)} val / {len(s.unseen)} unseen")
        if a.split is not None:
            for part in ("seen", "val", "unseen"):
                print(f"  {part}: {', '.join(getattr(s, part))}")
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
    b.set_defaults(func=run)
