"""`actionhub export`: a description store as a Hugging Face dataset folder (Parquet shards + dataset card)."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from actionhub.cli.common import add_curation_flag, add_progress_flag, curation_line, positive_float, positive_int


def run_export(a: argparse.Namespace) -> int:
    from actionhub.dataset.export import export_store

    queries = None
    if a.queries:
        from actionhub.dataset.vocab import read_queries

        queries = read_queries(a.queries)
    m = export_store(a.store, a.out, queries=queries, max_shard_mb=a.max_shard_mb, max_shard_rows=a.max_shard_rows,
                     overwrite=a.overwrite, license=a.license, name=a.name, progress=not a.no_progress,
                     curation=not a.ignore_curation)
    if a.json:
        print(json.dumps(m, indent=1, ensure_ascii=False))
        return 0
    c = m["configs"]
    size = sum(v["download_size"] for v in c.values())
    shards = sum(len(v["files"]) for v in c.values())
    print(f"wrote {m['out']}: {c['descriptions']['rows']:,} descriptions, {c['hits']['rows']:,} hits of "
          f"{m['stats']['num_actions']:,} actions, {c['queries']['rows']:,} queries "
          f"({shards} Parquet shards, {size / 1e6:,.1f} MB) and README.md (the dataset card)")
    if curation_line(m.get("curation")):
        print(curation_line(m.get("curation")))
    print(f"load it with datasets.load_dataset({str(m['out'])!r}) (configs: descriptions, hits, queries); "
          f"back into a store with `actionhub import {m['out']} --out STORE`")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("export", help="export a store as a Hugging Face dataset folder",
                       description="Write a description store as a folder that `datasets.load_dataset(DIR)` reads: "
                                   "Parquet shards of three configs -- descriptions (the default; one row per "
                                   "description), hits (one row per action and video, with the provider's rank) and "
                                   "queries (the query vocabulary with counts) -- and README.md, a dataset card with "
                                   "features, counts, provenance and a licence note (the text is the provider's or "
                                   "corpus's, not ours). `actionhub import DIR --out STORE` reads it back.")
    p.add_argument("store", type=Path, help="store directory")
    p.add_argument("--out", required=True, type=Path,
                   help="the dataset folder to write (new or empty; --overwrite to replace an earlier export)")
    p.add_argument("--queries", type=Path,
                   help="the queries collected (as for `stats`), so those that found nothing are listed too "
                        "(the queries of the store's own collection state are always included)")
    p.add_argument("--max-shard-mb", type=positive_float, default=500, metavar="MB",
                   help="cut a shard at about this many MB of Parquet (default: 500)")
    p.add_argument("--max-shard-rows", type=positive_int, metavar="N",
                   help="and at most N rows per shard (default: no limit)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace an earlier export at --out: only the files an export wrote there are replaced, "
                        "other files in the folder are kept")
    p.add_argument("--license", default="other",
                   help="licence id for the card (default: other, i.e. the provider's or corpus's terms; set it "
                        "only when you hold the rights to the text)")
    p.add_argument("--name", help="the dataset's pretty name in the card (default: from the store's folder name)")
    p.add_argument("--json", action="store_true", help="print the export's metadata (actionhub.json) as JSON")
    add_curation_flag(p)
    add_progress_flag(p)
    p.set_defaults(func=run_export)
