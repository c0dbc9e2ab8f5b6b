"""`actionhub vocab build|show`: the ActionHub query vocabulary from seven label lists."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from actionhub.cli.common import non_negative_int


def _vocabulary(a: argparse.Namespace):
    from actionhub.dataset.vocab import SOURCE_DATASETS, Vocabulary, build_vocabulary

    if getattr(a, "vocab", None):
        return Vocabulary.load(a.vocab)
    extra = list(getattr(a, "add", None) or [])
    if getattr(a, "add_file", None):
        from actionhub.dataset.vocab import read_queries

        extra += read_queries(a.add_file)
    return build_vocabulary(getattr(a, "datasets", None) or SOURCE_DATASETS, extra_names=extra)


def _print_query(q) -> None:
    print(f"{q.query}  <=  {len(q.sources)} name(s)")
    for s in q.sources:
        print(f"    {s.dataset:20s} {s.name}")


def run(a: argparse.Namespace) -> int:
    v = _vocabulary(a)
    if a.action == "build":
        if a.out:
            from actionhub.utils.outputs import check_no_overlap, staged_file

            check_no_overlap({"--out": a.out}, {"--add-file": a.add_file})
            with staged_file(a.out, overwrite=a.overwrite) as tmp:
                v.save(tmp)
        if a.json:
            print(json.dumps(v.to_json(), indent=1, ensure_ascii=False))
            return 0
        merges = v.merges()
        print(f"{v.num_source_names} source names -> {len(v)} queries "
              f"({len(merges)} queries merge {sum(len(q.sources) for q in merges)} names; "
              f"the paper: 1,490 -> 1,211)")
        if a.out:
            print(f"wrote {a.out}")
        return 0
    # show
    if not a.query:
        merges = v.merges()
        print(f"{len(merges)} of {len(v)} queries merge two or more source names:")
        for q in merges[: a.limit] if a.limit else merges:
            print(f"{q.query:32s} <= " + "; ".join(f"{s.dataset}:{s.name}" for s in q.sources))
        return 0
    status = 0
    for text in a.query:
        q = v.lookup(text)
        if q is None:
            from actionhub.dataset.vocab import normalize_action

            print(f"{text!r}: not in the vocabulary (its query would be {normalize_action(text)!r})")
            status = 1
        else:
            _print_query(q)
    return status


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("vocab", help="build or inspect the action query vocabulary",
                       description="Normalise the action names of the seven source datasets (CamelCase and "
                                   "underscores split, parenthetical examples dropped where unambiguous, stop "
                                   "words removed, lemmatised) and de-duplicate them into search queries, each "
                                   "with its provenance.")
    ps = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    b = ps.add_parser("build", help="build the vocabulary; write queries.csv / print JSON",
                      description="Build the query vocabulary from the shipped label lists.")
    b.add_argument("--out", type=Path, help="write the queries: .csv (query,num_sources,datasets,names) or .json")
    b.add_argument("--overwrite", action="store_true", help="replace an existing --out file")
    b.add_argument("--json", action="store_true",
                   help='print {"num_source_names", "num_queries", "queries": [{"query", "sources": [{"dataset","name"}]}]}')
    b.add_argument("--datasets", nargs="+", metavar="NAME",
                   help="label lists to use (default: the seven sources: kinetics700 moments_in_time339 "
                        "activitynet200 ava80 hmdb51 ucf101 olympic_sports16)")
    b.add_argument("--add", action="append", metavar="NAME", help="also add this action name (repeatable)")
    b.add_argument("--add-file", type=Path, metavar="FILE", help="also add the names of this file (one per line)")
    s = ps.add_parser("show", help="show the source names merged into queries",
                      description="Show which source names a query merges. Without QUERY: every query that "
                                  "merges two or more names. QUERY may be a query, an original name or any text.")
    s.add_argument("query", nargs="*", help="queries or action names to look up")
    s.add_argument("--vocab", type=Path, help="a vocabulary file written by `vocab build --out` (default: build it)")
    s.add_argument("--limit", type=non_negative_int, default=0, help="list at most this many merges (default: all)")
    p.set_defaults(func=run)
