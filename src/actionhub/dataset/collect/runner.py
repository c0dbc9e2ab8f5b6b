"""The resumable collection loop behind `actionhub collect` and :func:`actionhub.dataset.collect.collect`.

For each query the runner asks the provider for pages until ``per_query`` new descriptions are
stored, the results are exhausted, or the request budget is used up. New rows (not yet stored
for this provider: the store is unique by ``(provider, video_id)``, so a video found by two
queries belongs to the first) are buffered and written as one atomic part file every
``flush_rows`` rows or ``flush_seconds`` seconds; *after* each part file, the resume state
(``_state/collect-<provider>.json``: per query the cursor of the next page, and whether the
results are exhausted) is written atomically.

Crash safety (``kill -9`` at any moment): a part file is either complete or absent, and the
state never runs ahead of the rows. A rerun re-reads the stored ids and counts per query from
the store itself, resumes every query from its saved cursor, and drops results it already has,
so nothing is lost and nothing is duplicated (at worst a page is fetched twice). A query that
fails (server errors, timeouts, a refused request) is reported and retried by the next run.
"""
from __future__ import annotations

import contextlib
import json
import logging
import signal
import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterable, Optional

import pyarrow as pa

from actionhub.dataset.collect.base import Budget, BudgetExhausted, Provider, RateLimited, RequestError, TransientError
from actionhub.dataset.store import Store, utc_now
from actionhub.utils.io import atomic_write_json

__all__ = ["collect"]

log = logging.getLogger(__name__)

MAX_MALFORMED_IN_ROW = 3  # consecutive unusable pages before a query is given up for this run
MAX_FAILED_IN_ROW = 5  # consecutive failed queries before the run stops (the site is down)
COMPACT_ABOVE_PARTS = 256


class _Stop(Exception):
    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


@contextlib.contextmanager
def _sigterm_as_interrupt():
    """Turn SIGTERM into KeyboardInterrupt (main thread only) so buffered rows are flushed."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):  # noqa: ARG001
        raise KeyboardInterrupt

    old = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)


def collect(queries: Iterable[str], provider: Provider, store: str | Path | Store, per_query: Optional[int] = None,
            budget: Optional[int] = None, progress: bool = True, flush_rows: int = 1000,
            flush_seconds: float = 30.0, note: Optional[str] = None,
            clock: Callable[[], float] = time.monotonic) -> dict:
    """Collect descriptions for ``queries`` from ``provider`` into ``store``; resumable.

    ``per_query``: cap on stored descriptions per query (None: all results). ``budget``: the most
    requests this provider may have sent to this store, over all runs (None: no cap).
    Returns a summary: ``{"provider", "store", "queries", "queries_complete" (skipped: already
    complete), "queries_run", "added", "duplicates", "skipped_results", "malformed_pages",
    "failed": {query: reason}, "requests", "requests_total", "budget", "stopped", "message",
    "descriptions_total"}``; ``stopped`` is None, "budget", "rate_limited", "failing" or "interrupted".
    :class:`AuthError` and other provider configuration errors propagate (after saving the work).
    """
    from actionhub.utils.progress import progress_bar  # noqa: PLC0415

    qs = list(dict.fromkeys(q.strip() for q in queries if q and q.strip()))
    if per_query is not None and per_query < 1:
        raise ValueError(f"per_query must be >= 1, got {per_query}")
    st = store if isinstance(store, Store) else Store(store, create=True, note=note)
    pname = provider.name
    summary: dict[str, Any] = {"provider": pname, "store": str(st.path), "queries": len(qs), "queries_complete": 0,
                               "queries_run": 0, "added": 0, "duplicates": 0, "skipped_results": 0,
                               "malformed_pages": 0, "failed": {}, "requests": 0, "requests_total": 0,
                               "budget": budget, "stopped": None, "message": ""}
    with st.lock(), _sigterm_as_interrupt():
        state_path = st.state_file("collect", pname)
        state = _load_state(state_path, provider)
        ledger = Budget(st.state_file("budget", pname) if provider.uses_requests else None,
                        budget if provider.uses_requests else None, pname)
        stored = {pname: st.keys(pname)}
        counts = st.counts(pname)
        pending: set[str] = set()
        buf: dict[str, list] = {"action": [], "video_id": [], "description": []}
        last_flush = clock()

        def flush() -> None:
            nonlocal last_flush
            if buf["action"]:
                n = len(buf["action"])
                t = pa.table({"action": buf["action"], "provider": [pname] * n, "video_id": buf["video_id"],
                              "description": buf["description"], "collected_at": [utc_now()] * n})
                st.append(t, known=stored)
                for v in buf.values():
                    v.clear()
                pending.clear()
            state["updated_at"] = utc_now()
            atomic_write_json(state_path, state)
            last_flush = clock()

        outer = progress_bar(qs, enabled=progress, desc=f"collect {pname}", unit=" query")
        failed_in_row = 0
        try:
            for q in outer:
                qstate = state["queries"].setdefault(q, {"cursor": None, "exhausted": False, "pages": 0})
                have = counts.get(q, 0)
                if qstate.get("exhausted") or (per_query is not None and have >= per_query):
                    summary["queries_complete"] += 1
                    continue
                summary["queries_run"] += 1
                bar = progress_bar(enabled=progress, transient=True, total=per_query, initial=have, desc=q[:40],
                                   unit=" desc")
                malformed_in_row = 0
                try:
                    while True:
                        want = None if per_query is None else per_query - counts.get(q, 0)
                        if want is not None and want <= 0:
                            break
                        page = provider.search(q, qstate["cursor"], want, ledger.charge)
                        summary["skipped_results"] += page.skipped
                        if page.malformed:
                            summary["malformed_pages"] += 1
                            malformed_in_row += 1
                        else:
                            malformed_in_row = 0
                        new = 0
                        for h in page.hits:
                            if want is not None and new >= want:
                                break
                            if h.video_id in pending or h.video_id in stored[pname] or not h.description.strip():
                                summary["duplicates"] += 1
                                continue
                            pending.add(h.video_id)
                            buf["action"].append(q)
                            buf["video_id"].append(h.video_id)
                            buf["description"].append(h.description)
                            new += 1
                        counts[q] = counts.get(q, 0) + new
                        summary["added"] += new
                        bar.update(new)
                        qstate.update(cursor=page.next_cursor, exhausted=page.next_cursor is None,
                                      pages=int(qstate.get("pages", 0)) + 1)
                        qstate.pop("error", None)
                        if len(buf["action"]) >= flush_rows or clock() - last_flush >= flush_seconds:
                            flush()
                        if page.next_cursor is None:
                            break
                        if malformed_in_row >= MAX_MALFORMED_IN_ROW:
                            raise TransientError(f"{malformed_in_row} malformed replies in a row")
                    failed_in_row = 0
                except (TransientError, RequestError) as e:
                    summary["failed"][q] = str(e)
                    qstate["error"] = str(e)
                    log.warning("query %r failed: %s", q, e)
                    failed_in_row += 1
                    if failed_in_row >= MAX_FAILED_IN_ROW and provider.uses_requests:
                        raise _Stop("failing", f"{failed_in_row} queries failed in a row (last: {e}); "
                                               "the site looks unavailable, rerun the same command later") from None
                finally:
                    bar.close()
                outer.set_postfix(added=summary["added"], requests=ledger.session, refresh=False)
        except BudgetExhausted as e:
            summary["stopped"], summary["message"] = "budget", str(e)
        except RateLimited as e:
            summary["stopped"], summary["message"] = "rate_limited", str(e)
        except _Stop as e:
            summary["stopped"], summary["message"] = e.reason, str(e)
        except KeyboardInterrupt:
            summary["stopped"] = "interrupted"
            raise
        finally:
            outer.close()
            flush()
            summary["requests"], summary["requests_total"] = ledger.session, ledger.used
        summary["descriptions_total"] = sum(counts.values())
    if summary["stopped"] is None and len(st.parts()) > COMPACT_ABOVE_PARTS:
        st.compact()  # takes the lock itself
    return summary


def _load_state(path: Path, provider: Provider) -> dict:
    """Resume state of a provider; cursors of another provider configuration are dropped."""
    fp = json.loads(json.dumps(provider.fingerprint()))
    fresh = {"provider": provider.name, "fingerprint": fp, "queries": {}}
    if not path.exists():
        return fresh
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(state.get("queries"), dict):
            raise ValueError("no 'queries' object")
    except (OSError, ValueError, AttributeError) as e:
        log.warning("unreadable resume state %s (%s); starting every query from its first page "
                    "(stored descriptions are kept and not duplicated)", path, e)
        return fresh
    if state.get("fingerprint") != fp:
        log.warning("the %s options changed since the last run (%s -> %s): queries restart from their first "
                    "page (stored descriptions are kept and not duplicated)", provider.name,
                    state.get("fingerprint"), fp)
        return fresh
    return state
