"""`actionhub serve`: a local web app over description stores, runs and predictions."""
from __future__ import annotations

import argparse
from pathlib import Path

from actionhub.cli.common import int_in_range


def run(a: argparse.Namespace) -> int:
    from actionhub.app import serve

    serve(a.stores, a.runs or (), a.videos or (), host=a.host, port=a.port, progress=not a.no_progress)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("serve", help="browse stores, curate descriptions, compare runs, predict: a local web app",
                       description="Start a local web app: each STORE's overview (counts, Fig. 4/5, actions with "
                                   "few or low-relevance descriptions), every action's descriptions by relevance "
                                   "with the actions sharing them, full-text search, curation marks (kept in "
                                   "STORE/curation.jsonl), the runs under --runs side by side with the report's "
                                   "tables and figures, and predictions on a clip. A store is indexed once for the "
                                   "app (STORE/_index/serve-*), again only when it changes. Needs "
                                   "pip install 'actionhub[app]'.")
    p.add_argument("stores", nargs="*", type=Path, metavar="STORE", help="description store directories")
    p.add_argument("--runs", action="append", type=Path, metavar="DIR",
                   help="a folder of runs, sweeps and results files (repeat for more)")
    p.add_argument("--videos", action="append", type=Path, metavar="DIR",
                   help="a folder of videos the predict page may pick from (repeat for more)")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default: 127.0.0.1, this machine only; any other host is warned "
                        "about: the app has no authentication)")
    p.add_argument("--port", type=int_in_range(0, 65535), default=8765, help="port (default: 8765; 0: any free port)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars while indexing a store")
    p.set_defaults(func=run)
