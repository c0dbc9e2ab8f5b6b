"""``actionhub serve``: a local web app over description stores, runs and predictions.

Stack: Starlette (ASGI) with Jinja2 templates, served by uvicorn (``pip install 'actionhub[app]'``); the
pages are plain HTML forms and links with a little CSS, so they work in any browser and are tested in
headless Chromium. :func:`serve` is what the verb calls; :mod:`actionhub.app.server` holds the pages,
:mod:`actionhub.app.index` how a store is read fast, :mod:`actionhub.app.runs` how runs are read.
"""
from __future__ import annotations

import ipaddress
import logging
from pathlib import Path
from typing import Callable, Sequence

from actionhub.utils.errors import UserError

__all__ = ["serve", "make_state", "is_local_host"]

log = logging.getLogger(__name__)


def is_local_host(host: str) -> bool:
    """Whether ``host`` only accepts connections from this machine (loopback)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _deps() -> None:
    from importlib.util import find_spec

    missing = [name for name, mod in (("starlette", "starlette"), ("uvicorn", "uvicorn"), ("jinja2", "jinja2"),
                                      ("python-multipart", "python_multipart"), ("markdown", "markdown"))
               if find_spec(mod) is None]
    if missing:
        raise UserError(f"the web app needs {', '.join(missing)}: pip install 'actionhub[app]'")


def make_state(stores: Sequence[str | Path] = (), runs: Sequence[str | Path] = (), videos: Sequence[str | Path] = (),
               say: Callable[[str], None] = log.info, progress: bool = False):
    """The :class:`~actionhub.app.server.AppState` of the given stores (indexed first when they changed),
    run folders and video folders; a path that is not what it should be is a :class:`UserError`."""
    from actionhub.app.index import open_index
    from actionhub.app.runs import RunsView
    from actionhub.app.server import AppState
    from actionhub.dataset.curation import current_user, load_curation

    _deps()
    for flag, paths in (("--runs", runs), ("--videos", videos)):
        for p in paths:
            if not Path(p).is_dir():
                raise UserError(f"{flag} {p}: not a folder")
    indexes = []
    for p in stores:
        ix = open_index(p, say=say, progress=progress)
        load_curation(ix.store)   # a malformed curation file is said now, not on the first page
        ix.overview()             # statistics and Fig. 4/5 before the first request, not during it
        indexes.append(ix)
    return AppState(indexes, RunsView([Path(r) for r in runs]).refresh(), [Path(v) for v in videos],
                    user=current_user())


def serve(stores: Sequence[str | Path] = (), runs: Sequence[str | Path] = (), videos: Sequence[str | Path] = (), *,
          host: str = "127.0.0.1", port: int = 8765, say: Callable[[str], None] = print,
          progress: bool = True) -> None:
    """Serve the app until Ctrl-C (see :mod:`actionhub.app.server` for the pages)."""
    from actionhub.app.server import bind, cleanup, create_app, serve_forever, url_of

    if not stores and not runs:
        raise UserError("nothing to serve: give a store directory and/or --runs DIR")
    state = make_state(stores, runs, videos, say=say, progress=progress)
    sock = bind(host, port)
    try:
        if not is_local_host(host):
            say(f"WARNING: --host {host} lets other machines reach this app, and it has no authentication: anyone "
                "who can connect can read the stores and runs and add curation marks")
        say(f"serving {len(state.stores)} store(s) and {len(state.runs.by_id)} run(s) at {url_of(sock)} "
            "(Ctrl-C stops)")
        serve_forever(create_app(state), sock)
    finally:
        sock.close()
        cleanup(state)
