"""`actionhub collect`: resumable description collection from a provider into a store."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from actionhub.cli.common import (
    CliError,
    add_progress_flag,
    int_in_range,
    non_negative_int,
    positive_float,
    positive_int,
)


def _provider_options(a: argparse.Namespace) -> dict:
    if a.provider == "shutterstock":
        return {"base_url": a.base_url, "per_page": a.per_page, "people": a.people, "sort": a.sort,
                "timeout": a.timeout, "max_retries": a.max_retries, "max_pages": a.max_pages}
    if a.provider == "local":
        return {"corpus": a.corpus, "id_column": a.id_column, "caption_column": a.caption_column,
                "fmt": a.corpus_format, "cache_dir": a.index_cache, "match": a.match, "aliases": _aliases(a),
                "generic": a.generic, "memory_gb": a.memory_gb, "backend": a.backend, "scheduler": a.scheduler,
                "progress": not a.no_progress, "max_caption_chars": a.max_caption_chars}
    return {}


def _aliases(a: argparse.Namespace) -> dict | None:
    if not a.aliases:
        return None
    from actionhub.dataset.aliases import read_aliases

    return read_aliases(a.aliases)


def run(a: argparse.Namespace) -> int:
    from actionhub.dataset.collect import get_provider
    from actionhub.dataset.collect.runner import collect
    from actionhub.dataset.stats import format_few
    from actionhub.dataset.vocab import read_queries
    from actionhub.utils.outputs import check_no_overlap

    if a.provider != "local":
        given = [f for f, v in (("--match", a.match), ("--aliases", a.aliases), ("--generic", a.generic),
                                ("--memory-gb", a.memory_gb)) if v is not None]
        if a.backend != "inprocess":
            given.append("--backend")
        if given:
            raise CliError(f"{', '.join(given)} apply to the local provider only (the {a.provider} site decides "
                           "how it matches)")
    check_no_overlap({"--out": a.out}, {"--queries": a.queries, "--corpus": a.corpus})
    queries = read_queries(a.queries)
    provider = get_provider(a.provider, **_provider_options(a))
    if a.budget is not None and not provider.uses_requests:
        print(f"note: --budget does not apply to the {a.provider} provider (it sends no requests)")
    try:
        s = collect(queries, provider, a.out, per_query=a.per_query, budget=a.budget, progress=not a.no_progress,
                    flush_rows=a.flush_rows, note=a.note, min_descriptions=a.min_descriptions)
    finally:
        provider.close()
    if a.json:
        print(json.dumps(s, indent=1, ensure_ascii=False))
    else:
        print(f"{s['provider']}: {s['added']} new descriptions for {s['queries_run']} queries "
              f"({s['new_descriptions']} videos stored for the first time; {s['queries_complete']} queries already "
              f"complete, {len(s['failed'])} failed); {s['descriptions_total']} per-action descriptions from this "
              "provider in the store")
        if s["duplicates"] or s["skipped_results"] or s["malformed_pages"]:
            print(f"dropped: {s['duplicates']} already listed by their action, {s['skipped_results']} results "
                  f"without id/description; {s['malformed_pages']} malformed replies (fetched again)")
        if s["few"]["count"]:
            print(format_few(s["few"], "queries") + f" (see `actionhub stats {s['store']}`)")
        if provider.uses_requests:
            budget = f" of a budget of {s['budget']}" if s["budget"] is not None else ""
            print(f"requests: {s['requests']} this run, {s['requests_total']} in total{budget}")
        for q, why in list(s["failed"].items())[:10]:
            print(f"failed: {q!r}: {why}")
        if s["stopped"]:
            print(f"stopped ({s['stopped']}): {s['message']}")
        print(f"store: {s['store']}")
    return 0 if not s["stopped"] and not s["failed"] else 1


def register(sub: argparse._SubParsersAction) -> None:
    from actionhub.dataset.collect import list_providers

    providers = list_providers()
    p = sub.add_parser("collect", help="collect video descriptions for queries into a store",
                       description="Search a provider for every query and store the video descriptions: each "
                                   "description once (unique by provider and video id), and for every query's action "
                                   "every video the query returned, with its rank -- a video found by two queries "
                                   "counts for both actions. Resumable: rerun the same command after a kill to "
                                   "continue; nothing is lost or duplicated. Exit status 1 when queries failed or "
                                   "the run stopped early (rerun to continue). Providers: "
                                   + "; ".join(f"{k}: {v}" for k, v in providers.items()) + ".")
    p.add_argument("--provider", required=True, choices=sorted(providers), help="where to search")
    p.add_argument("--queries", required=True, type=Path,
                   help="queries: queries.csv from `actionhub vocab build --out`, JSON, or one per line")
    p.add_argument("--out", required=True, type=Path, help="store directory (created when missing)")
    p.add_argument("--per-query", type=positive_int,
                   help="at most N descriptions per query's action, shared videos included (default: all results; "
                        "the paper has about 3000)")
    p.add_argument("--min-descriptions", type=non_negative_int, default=100, metavar="N",
                   help="summarise the queries left with fewer than N descriptions (default: 100)")
    p.add_argument("--budget", type=non_negative_int,
                   help="at most N requests to this provider for this store, over all runs (persisted)")
    p.add_argument("--note", help="a note kept with the store and shown by `actionhub stats` (e.g. SYNTHETIC)")
    p.add_argument("--json", action="store_true", help="print the run summary as JSON")
    p.add_argument("--flush-rows", type=positive_int, default=1000, help=argparse.SUPPRESS)
    add_progress_flag(p)
    g = p.add_argument_group("shutterstock (credentials: SHUTTERSTOCK_API_TOKEN, or SHUTTERSTOCK_CONSUMER_KEY "
                             "and SHUTTERSTOCK_CONSUMER_SECRET)")
    g.add_argument("--base-url", help="API base URL (default: $SHUTTERSTOCK_API_URL or https://api.shutterstock.com)")
    g.add_argument("--per-page", type=int_in_range(1, 500), default=100,
                   help="results per request, at most 500 (default: 100)")
    g.add_argument("--people", choices=("released", "count", "any"), default="released",
                   help="people filter: released = people_model_released=true (default); count = people_number "
                        "1, 2, 3 and 4 in turn; any = no filter")
    g.add_argument("--sort", choices=("relevance", "popular", "newest", "random"), default="relevance",
                   help="result order (default: relevance)")
    g.add_argument("--timeout", type=positive_float, default=30.0,
                   help="seconds a request may take in all, connecting and reading the whole reply included "
                        "(default: 30)")
    g.add_argument("--max-retries", type=non_negative_int, default=5,
                   help="retries of a request on 429/5xx/timeouts (default: 5)")
    g.add_argument("--max-pages", type=positive_int, help="read at most N pages per query")
    g = p.add_argument_group("local (BM25 over a caption corpus)")
    g.add_argument("--corpus", type=Path,
                   help="caption corpus: a CSV, JSONL or Parquet file (e.g. a WebVid CSV), or a folder or a quoted "
                        "glob of such files (shards) read as one corpus")
    g.add_argument("--id-column", default="videoid", help="video id column (default: videoid)")
    g.add_argument("--caption-column", default="name", help="caption column (default: name)")
    g.add_argument("--corpus-format", choices=("csv", "jsonl", "parquet"),
                   help="corpus format (default: from the suffix)")
    g.add_argument("--max-caption-chars", type=positive_int, default=5000, metavar="N",
                   help="refuse a CSV corpus that reads as a caption longer than N characters: broken quoting "
                        "(a stray quote) merges the following lines into one field (default: 5000)")
    g.add_argument("--index-cache", type=Path,
                   help="directory for the BM25 index cache (default: next to the corpus; with --backend dask, a "
                        "folder every worker can read and write at the same path)")
    g.add_argument("--memory-gb", type=positive_float,
                   help="memory the index build may use, in GB (per process; default: a quarter of the machine's "
                        "memory); the corpus is indexed chunk by chunk within it")
    g.add_argument("--backend", choices=("inprocess", "dask"), default="inprocess",
                   help="build the index and answer the queries here (default) or on a Dask cluster (--scheduler); "
                        "on a cluster, the few queries with --aliases, a --generic fix (a fixed-phrase word "
                        "included) or relaxed matching are "
                        "answered here, from the shared index folder")
    g.add_argument("--scheduler", help="Dask scheduler address for --backend dask, e.g. tcp://10.0.0.1:8786")
    g.add_argument("--match", choices=("most", "all", "any"), default=None,
                   help="most (default): a caption must hold every content word of the query (lemmatised, stop "
                        "words left out, compounds and agent nouns of the corpus count: 'breaststroke' for 'breast "
                        "stroke', 'pitcher' for 'pitch'), as a stock-footage search does, and a query with fewer than "
                        "10 such captions also gets those holding all but one word, after its own; all: every word, "
                        "never relaxed; any: one word is enough. Ranked by BM25; recorded in the store")
    g.add_argument("--aliases", type=Path, metavar="FILE",
                   help="extra queries per action, stored under the action: JSON {\"BaseballPitch\": [\"pitcher "
                        "throws\"]} or 'NAME: alias | alias' lines; NAME is a query or a class name")
    g.add_argument("--generic", choices=("fix", "drop", "keep"), default=None,
                   help="one-word queries too generic for the corpus ('close' of 'close-up', 'empty' of 'empty "
                        "road'; listed by `actionhub vocab check`): fix (default) keeps the captions where the word is "
                        "a verb form ('closing'), drop leaves them out, keep searches them as they are; unless "
                        "keep (or --match any), a word of a longer query that the corpus mostly writes in a fixed "
                        "phrase ('shot' of 'cricket shot' in 'shot on RED') does not count there")
    p.set_defaults(func=run)
