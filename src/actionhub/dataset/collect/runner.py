"""The resumable collection loop behind `actionhub collect` and :func:`actionhub.dataset.collect.collect`.

Each query's pages are fetched until its action has ``per_query`` descriptions (every result is a *hit* of the
action, a video shared by actions is stored once and counts for each), the results end, or the budget is spent.
Rows are written in atomic part files (descriptions, then hits) every ``flush_rows`` rows (at least the provider's)
or ``flush_seconds`` seconds, and only *after* each write the resume state ``_state/collect-<provider>.json``. So a
``kill -9`` at any moment loses and duplicates nothing: a rerun reads each action's videos from the store and
resumes every query from its saved cursor; a failed query keeps its cursor and is retried by the next run.
Docs: docs/dataset.md#2-collection-actionhub-collect
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

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from actionhub.dataset.collect.base import Budget, BudgetExhausted, Provider, RateLimited, RequestError, TransientError
from actionhub.dataset.store import Store, utc_now
from actionhub.utils import jsontext
from actionhub.utils.errors import disk_full_as
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
            flush_seconds: float = 30.0, note: Optional[str] = None, min_descriptions: int = 100,
            clock: Callable[[], float] = time.monotonic) -> dict:
    """Collect descriptions for ``queries`` from ``provider`` into ``store``; resumable.

    ``per_query``: cap on the descriptions of each query's action (None: all results).
    ``budget``: the most requests this provider may have sent to this store, over all runs (None:
    no cap). Returns a summary: ``{"provider", "store", "queries", "queries_complete" (skipped:
    already complete), "queries_run", "added" (new hits), "new_descriptions" (descriptions stored
    for the first time), "duplicates" (results the action already had), "skipped_results",
    "malformed_pages", "failed": {query: reason}, "requests", "requests_total", "budget",
    "stopped", "message", "descriptions_total" (hits of this provider), "few" (queries with fewer
    than ``min_descriptions``, see :func:`actionhub.dataset.stats.few_descriptions`)}``;
    ``stopped`` is None, "budget", "rate_limited", "failing" or "interrupted".
    :class:`AuthError` and other provider configuration errors propagate (after saving the work).
    A full disk raises :class:`DiskFullError`: the parts and the resume state already written stay,
    so the same call resumes once there is space.
    """
    from actionhub.utils.lock import output_lock  # noqa: PLC0415

    where = store.path if isinstance(store, Store) else Path(store)
    def full(e: OSError) -> str:
        return (f"the disk is full (no space left on device while writing to the store {where}); the store keeps "
                "every description written before, and the next run resumes from there: free some space and rerun "
                "the same command")

    with output_lock(where, what="store"), disk_full_as(full):   # the lock before the store is created
        return _collect(queries, provider, store, per_query=per_query, budget=budget, progress=progress,
                        flush_rows=flush_rows, flush_seconds=flush_seconds, note=note,
                        min_descriptions=min_descriptions, clock=clock)


def _collect(queries: Iterable[str], provider: Provider, store: str | Path | Store, per_query: Optional[int],
             budget: Optional[int], progress: bool, flush_rows: int, flush_seconds: float, note: Optional[str],
             min_descriptions: int, clock: Callable[[], float]) -> dict:
    from actionhub.dataset.stats import few_descriptions  # noqa: PLC0415
    from actionhub.utils.progress import progress_bar  # noqa: PLC0415

    qs = list(dict.fromkeys(q.strip() for q in queries if q and q.strip()))
    if per_query is not None and per_query < 1:
        raise ValueError(f"per_query must be >= 1, got {per_query}")
    st = store if isinstance(store, Store) else Store(store, create=True, note=note)
    pname = provider.name
    flush_rows = max(int(flush_rows), int(getattr(provider, "flush_rows", 0) or 0))
    summary: dict[str, Any] = {"provider": pname, "store": str(st.path), "queries": len(qs), "queries_complete": 0,
                               "queries_run": 0, "added": 0, "new_descriptions": 0, "duplicates": 0,
                               "skipped_results": 0, "malformed_pages": 0, "failed": {}, "requests": 0,
                               "requests_total": 0, "budget": budget, "stopped": None, "message": ""}
    with st.lock(), _sigterm_as_interrupt():
        state_path = st.state_file("collect", pname)
        state = _load_state(state_path, provider)
        provider.prepare(qs)
        collections = dict(st.meta().get("collections") or {})
        collections[pname] = json.loads(json.dumps({**provider.fingerprint(), **provider.notes()}))
        st.update_meta(collections=collections)
        ledger = Budget(st.state_file("budget", pname) if provider.uses_requests else None,
                        budget if provider.uses_requests else None, pname)
        have_ids = st.action_videos(pname)  # action -> video ids it already lists (this provider)
        counts = {a: len(v) for a, v in have_ids.items()}
        buf: list[pa.Table] = []
        buffered = 0
        last_flush = clock()

        def flush() -> None:
            nonlocal last_flush, buffered
            if buf:
                n_desc, _ = st.add(pa.concat_tables(buf), check_hits=False)
                summary["new_descriptions"] += n_desc
                buf.clear()
                buffered = 0
            state["updated_at"] = utc_now()
            atomic_write_json(state_path, state)
            last_flush = clock()

        provider.plan(_wants(qs, state, counts, per_query))
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
                listed = [have_ids[q]] if q in have_ids else []  # video ids of this action, stored or buffered
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
                        if page.malformed:  # keep the cursor: this page is fetched again
                            summary["malformed_pages"] += 1
                            malformed_in_row += 1
                            if malformed_in_row >= MAX_MALFORMED_IN_ROW:
                                raise TransientError(f"{malformed_in_row} malformed replies in a row for the page at "
                                                     f"cursor {qstate['cursor']!r}; the next run fetches it again")
                            continue
                        malformed_in_row = 0
                        rows, dropped, dups = _new_rows(page.as_table(), listed, want)
                        summary["skipped_results"] += dropped
                        summary["duplicates"] += dups
                        first_rank = int(qstate.get("next_rank", 0))
                        n_new = rows.num_rows
                        if n_new:
                            ranks = pc.add(rows.column("position"), first_rank)
                            buf.append(pa.table({
                                "action": pa.repeat(pa.scalar(q, pa.string()), n_new),
                                "provider": pa.repeat(pa.scalar(pname, pa.string()), n_new),
                                "video_id": rows.column("video_id"),
                                "description": rows.column("description"),
                                "rank": pc.cast(ranks, pa.int32()),
                                "collected_at": pa.repeat(pa.scalar(utc_now(), pa.string()), n_new),
                            }))
                            listed.append(rows.column("video_id").combine_chunks())
                            buffered += n_new
                        counts[q] = counts.get(q, 0) + n_new
                        summary["added"] += n_new
                        bar.update(n_new)
                        qstate.update(cursor=page.next_cursor, exhausted=page.next_cursor is None,
                                      pages=int(qstate.get("pages", 0)) + 1, next_rank=first_rank + len(page))
                        qstate.pop("error", None)
                        if buffered >= flush_rows or clock() - last_flush >= flush_seconds:
                            flush()
                        if page.next_cursor is None:
                            break
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
        summary["few"] = few_descriptions({q: counts.get(q, 0) for q in qs}, min_descriptions)
    if summary["stopped"] is None and len(st.parts()) > COMPACT_ABOVE_PARTS:
        st.compact()  # takes the lock itself
    return summary


def _wants(qs: list[str], state: dict, counts: dict[str, int], per_query: Optional[int]
           ) -> list[tuple[str, Any, Optional[int]]]:
    """``(query, cursor, results still wanted)`` of the queries this run will search, in order."""
    out = []
    for q in qs:
        qstate = state["queries"].get(q) or {}
        have = counts.get(q, 0)
        if not qstate.get("exhausted") and (per_query is None or have < per_query):
            out.append((q, qstate.get("cursor"), None if per_query is None else per_query - have))
    return out


def _new_rows(t: pa.Table, listed: list[pa.Array], want: Optional[int]) -> tuple[pa.Table, int, int]:
    """The results of a page that the action does not list yet (vectorised).

    ``t``: the page (``video_id``, ``description``) in rank order; ``listed``: arrays of the video
    ids the action already lists. Returns the new rows (with their ``position`` on the page, at
    most ``want`` of them), the number of results without id or description, and the number of
    results the action already had (or that repeat an earlier result of the page).
    """
    n = t.num_rows
    if n == 0:
        return t.append_column("position", pa.array([], pa.int64())), 0, 0
    ids = pc.cast(t.column("video_id"), pa.string()).combine_chunks()
    desc = pc.utf8_trim_whitespace(pc.cast(t.column("description"), pa.string()).combine_chunks())
    usable = pc.and_(pc.fill_null(pc.greater(pc.utf8_length(ids), 0), False),
                     pc.fill_null(pc.greater(pc.utf8_length(desc), 0), False)).to_numpy(zero_copy_only=False)
    codes = pc.dictionary_encode(ids).indices.to_numpy(zero_copy_only=False)
    first = np.zeros(n, bool)
    first[np.unique(codes, return_index=True)[1]] = True
    seen = np.zeros(n, bool)
    known = [a for a in listed if len(a)]
    if known:
        seen = pc.is_in(ids, value_set=pa.concat_arrays(known) if len(known) > 1 else known[0]).to_numpy(
            zero_copy_only=False)
    new = usable & first & ~seen
    pos = np.flatnonzero(new)
    if want is not None:
        pos = pos[:want]
    rows = pa.table({"video_id": ids.take(pa.array(pos)), "description": desc.take(pa.array(pos)),
                     "position": pa.array(pos, pa.int64())})
    return rows, int((~usable).sum()), int((usable & ~new).sum())


def _load_state(path: Path, provider: Provider) -> dict:
    """Resume state of a provider; cursors of another provider configuration are dropped."""
    fp = json.loads(json.dumps(provider.fingerprint()))
    fresh = {"provider": provider.name, "fingerprint": fp, "queries": {}}
    if not path.exists():
        return fresh
    try:
        state = jsontext.loads(path.read_text(encoding="utf-8"))
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
