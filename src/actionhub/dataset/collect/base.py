"""The provider interface of `actionhub collect`, its errors and the persisted request budget.

A provider answers one page of a search at a time (:meth:`Provider.search`): the runner
(:mod:`actionhub.dataset.collect.runner`) keeps the opaque ``cursor`` it returns in the store's resume
state, so a killed collection continues from the last page whose rows reached the store.
Adding a site means writing one class (see ``docs/dataset.md``, "Adding a provider") and
registering it with :func:`actionhub.dataset.collect.register_provider`.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

from actionhub.utils import jsontext
from actionhub.utils.errors import UserError
from actionhub.utils.io import atomic_write_json

__all__ = [
    "Hit",
    "Page",
    "Provider",
    "Charge",
    "Budget",
    "ProviderError",
    "ProviderConfigError",
    "AuthError",
    "RequestError",
    "TransientError",
    "RateLimited",
    "MalformedReply",
    "BudgetExhausted",
]

log = logging.getLogger(__name__)

# Called by a provider before every request it sends (retries included); raises BudgetExhausted.
Charge = Callable[[], None]


@dataclass(frozen=True)
class Hit:
    """One search result: the site's video id and its text description."""

    video_id: str
    description: str


class Page:
    """One page of results, in the provider's rank order.

    Results come as ``hits`` (a list of :class:`Hit`, for sites that answer a few at a time) or
    as ``table`` (a ``pyarrow.Table`` with string columns ``video_id`` and ``description``, for
    providers that return thousands at once); :meth:`as_table` and :attr:`hits` give either form.
    ``next_cursor``: JSON-able position of the next page, None when the results are exhausted.
    ``skipped``: results dropped as malformed (no id or description). ``malformed``: the whole
    reply was unusable (bad JSON, missing fields); the runner fetches the same page again (and
    on the next run, if it stays unusable) instead of moving on.
    """

    def __init__(self, hits: list[Hit] | None = None, next_cursor: Any = None, skipped: int = 0,
                 malformed: bool = False, table: Any = None):
        self._hits = list(hits) if hits is not None else None
        self.table = table
        self.next_cursor = next_cursor
        self.skipped = skipped
        self.malformed = malformed

    @property
    def hits(self) -> list[Hit]:
        if self._hits is None:
            t = self.as_table()
            self._hits = [Hit(str(v), str(d)) for v, d in zip(t.column("video_id").to_pylist(),
                                                              t.column("description").to_pylist(), strict=True)]
        return self._hits

    def __len__(self) -> int:
        return self.table.num_rows if self.table is not None else len(self._hits or [])

    def as_table(self) -> Any:
        """The results as a ``pyarrow.Table`` (``video_id``, ``description``; strings)."""
        import pyarrow as pa  # noqa: PLC0415

        if self.table is not None:
            return self.table
        hits = self._hits or []
        return pa.table({"video_id": pa.array([h.video_id for h in hits], pa.string()),
                         "description": pa.array([h.description for h in hits], pa.string())})

    def __repr__(self) -> str:
        return f"Page({len(self)} results, next_cursor={self.next_cursor!r}, malformed={self.malformed})"


class Provider:
    """A source of (video id, description) search results for an action query.

    Subclasses set :attr:`name` (the ``provider`` column of the store) and implement
    :meth:`search`. ``uses_requests`` is False for providers that send no network requests
    (the request budget does not apply to them).
    """

    name: str = "provider"
    uses_requests: bool = True

    def search(self, query: str, cursor: Any, want: Optional[int], charge: Charge) -> Page:
        """One page of results for ``query``.

        ``cursor``: None for the first page, else a ``next_cursor`` this provider returned.
        ``want``: how many more results the caller needs (None: no cap); a hint for page sizes.
        ``charge``: call it before every request sent. Raise :class:`TransientError` when the
        site stays unavailable after retries, :class:`RateLimited` when it asks to wait too long,
        :class:`AuthError` for rejected credentials; return ``Page(malformed=True)`` for an
        unusable reply (the runner asks for the same page again; see :class:`Page`).
        """
        raise NotImplementedError

    def plan(self, wants: Sequence[tuple[str, Any, Optional[int]]]) -> None:
        """Told before the first search of a run: the queries it will search, in order, each as
        ``(query, cursor of its first page, results it still wants (None: all))``. Providers that
        answer many queries at once (the local provider on a Dask cluster) batch them; others
        ignore it."""

    def fingerprint(self) -> dict:
        """The options that change what a search returns; saved cursors of another fingerprint
        are not reused."""
        return {}

    def prepare(self, queries: list[str]) -> None:
        """Called once with every query before the first search (e.g. to resolve aliases)."""

    def notes(self) -> dict:
        """How this provider matched the queries, kept with the store's record of the collection
        (``store.json`` "collections"); not part of :meth:`fingerprint`."""
        return {}

    def close(self) -> None:
        """Release resources (connections, indexes)."""


class ProviderError(UserError):
    """A provider failed in a way the user should know about."""


class ProviderConfigError(ProviderError):
    """Missing credentials or options; the message says which environment variable or flag to set."""


class AuthError(ProviderError):
    """The site rejected the credentials (HTTP 401/403)."""


class RequestError(ProviderError):
    """The site rejected one request (HTTP 4xx other than 401/403/429): that query is skipped."""


class TransientError(ProviderError):
    """Server errors or timeouts persisted through every retry."""


class RateLimited(ProviderError):
    """The site asked to wait longer than the configured maximum (HTTP 429 Retry-After)."""

    def __init__(self, message: str, retry_after: float):
        super().__init__(message)
        self.retry_after = retry_after


class MalformedReply(ProviderError):
    """A reply that is not the documented JSON shape."""


class BudgetExhausted(ProviderError):
    """The request budget of a provider is used up."""


class Budget:
    """Requests sent to one provider, persisted in the store (``_state/budget-<provider>.json``).

    :meth:`charge` is called before each request: it raises :class:`BudgetExhausted` once
    ``limit`` requests were counted (over every run on this store), else counts the request and
    writes the ledger atomically, so a killed run never under-counts (at worst one request that
    was about to be sent is counted).
    """

    def __init__(self, path: Optional[Path], limit: Optional[int], provider: str):
        if limit is not None and limit < 0:
            raise ProviderConfigError(f"--budget must be >= 0, got {limit}")
        self.path, self.limit, self.provider = path, limit, provider
        self.used = 0
        self.session = 0
        if path is not None and path.exists():
            try:
                self.used = int(jsontext.loads(path.read_text(encoding="utf-8")).get("requests", 0))
            except (OSError, ValueError, TypeError):
                log.warning("unreadable request ledger %s; counting from 0", path)

    @property
    def remaining(self) -> Optional[int]:
        return None if self.limit is None else max(0, self.limit - self.used)

    def charge(self) -> None:
        if self.limit is not None and self.used >= self.limit:
            raise BudgetExhausted(f"the request budget of {self.provider} is used up ({self.used} of {self.limit} "
                                  "requests); rerun with a larger --budget to continue")
        self.used += 1
        self.session += 1
        if self.path is not None:
            atomic_write_json(self.path, {"provider": self.provider, "requests": self.used})
