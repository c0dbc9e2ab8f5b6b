"""`actionhub vocab build|show`: the ActionHub query vocabulary from seven label lists."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from actionhub.cli.common import CliError, non_negative_int


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


def _benchmark_queries(v, benchmark: str) -> list[str]:
    from actionhub.protocols import get_benchmark

    try:
        bench = get_benchmark(benchmark)
    except (KeyError, ValueError) as e:
        raise CliError(str(e).strip("'\"")) from None
    return list(dict.fromkeys(v.query_for(c) for c in bench.classes))


def run_overlaps(a: argparse.Namespace, v) -> int:
    from actionhub.dataset.siblings import format_overlaps, overlaps

    queries = [q.query for q in v]
    pairs = overlaps(queries)
    if a.benchmark:
        mine = set(_benchmark_queries(v, a.benchmark))
        pairs = [o for o in pairs if o.general in mine and (o.specific in mine or a.all)]
    if a.json:
        print(json.dumps([o.to_json() for o in pairs], indent=1, ensure_ascii=False))
        return 0
    where = f" among the classes of {a.benchmark}" if a.benchmark and not a.all else ""
    print(f"{len({o.general for o in pairs})} queries{where} whose words are all in a more specific query "
          f"({len(pairs)} pairs; `rank` keeps the specific query's captions out of the general one):")
    for line in format_overlaps(pairs):
        print("  " + line)
    return 0


def run_check(a: argparse.Namespace, v) -> int:
    from actionhub.dataset.collect.generic import generic_queries, phrase_words
    from actionhub.dataset.collect.local import LocalProvider

    queries = _benchmark_queries(v, a.benchmark) if a.benchmark else [q.query for q in v]
    p = LocalProvider(a.corpus, id_column=a.id_column, caption_column=a.caption_column, fmt=a.corpus_format,
                      cache_dir=a.index_cache)
    flagged = generic_queries(queries, p.index)
    phrases = [pw for pws in phrase_words([q for q in queries if q not in {g.query for g in flagged}],
                                          p.index).values() for pw in pws]
    if a.json:
        print(json.dumps([g.to_json() for g in flagged] + [pw.to_json() for pw in phrases], indent=1,
                         ensure_ascii=False))
        return 0
    print(f"{len(flagged)} of {len(queries)} queries are too generic for {a.corpus} ({p.index.num_docs:,} captions); "
          "`collect --generic fix` (the default) keeps only the captions where the word is a verb form:")
    for g in flagged:
        print("  " + g.describe())
    if phrases:
        print(f"{len({pw.query for pw in phrases})} longer queries hold a word the corpus mostly uses in a fixed "
              "phrase; `collect` (unless --generic keep) does not count the word there:")
        for pw in phrases:
            print("  " + pw.describe())
    return 0


def run(a: argparse.Namespace) -> int:
    v = _vocabulary(a)
    if a.action == "overlaps":
        return run_overlaps(a, v)
    if a.action == "check":
        return run_check(a, v)
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
                   help='print {"num_source_names", "num_queries", '
                        '"queries": [{"query", "sources": [{"dataset","name"}]}]}')
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
    o = ps.add_parser("overlaps", help="list the queries whose words are all in a more specific query",
                      description="Sibling queries: a general query ('push up', 'ski') whose words are all in a more "
                                  "specific one ('wall pushup', 'skijet'). `actionhub rank` keeps a caption of the "
                                  "specific query out of the general one. A word starting many queries ('play', "
                                  "'ride') "
                                  "and particles ('out') do not make a query more specific.")
    o.add_argument("--benchmark", metavar="NAME|FILE.json", help="only the queries of this benchmark's classes")
    o.add_argument("--all", action="store_true", help="with --benchmark: also more specific queries of other datasets")
    o.add_argument("--vocab", type=Path, help="a vocabulary file written by `vocab build --out` (default: build it)")
    o.add_argument("--datasets", nargs="+", metavar="NAME", help="label lists to build it from (default: the seven)")
    o.add_argument("--json", action="store_true", help='print [{"general", "specific", "extra"}]')
    c = ps.add_parser("check", help="flag the queries too generic for a caption corpus ('close', 'empty') and the "
                                    "words of longer queries caught in a fixed phrase ('shot on RED')",
                      description="A one-word query whose word is frequent in the corpus and mostly a fixed phrase "
                                  "('close' of 'close-up') or an adjective ('empty road') takes captions that show "
                                  "nothing of the action; `collect --provider local` fixes such queries by default "
                                  "(verb forms only: 'closing'). A word of a longer query that the corpus mostly "
                                  "writes in one boilerplate phrase ('shot' of 'cricket shot' in 'shot on RED') is "
                                  "listed "
                                  "too: `collect` does not count the word there.")
    c.add_argument("--corpus", required=True, type=Path, help="caption corpus (CSV/JSONL/Parquet), as for collect")
    c.add_argument("--id-column", default="videoid", help="video id column (default: videoid)")
    c.add_argument("--caption-column", default="name", help="caption column (default: name)")
    c.add_argument("--corpus-format", choices=("csv", "jsonl", "parquet"),
                   help="corpus format (default: from the suffix)")
    c.add_argument("--index-cache", type=Path, help="directory for the BM25 index cache (default: next to the corpus)")
    c.add_argument("--benchmark", metavar="NAME|FILE.json", help="only the queries of this benchmark's classes")
    c.add_argument("--vocab", type=Path, help="a vocabulary file written by `vocab build --out` (default: build it)")
    c.add_argument("--datasets", nargs="+", metavar="NAME", help="label lists to build it from (default: the seven)")
    c.add_argument("--json", action="store_true",
                   help='print [{"query", "reason", "captions", "share", "phrase", "fix"}] (reason "phrase", '
                        '"adjective" or, for a word of a longer query, "phrase word" with its "word")')
    p.set_defaults(func=run)
