"""Shutterstock video search: per-video descriptions written by the uploaders (paper Fig. 2 style).

Follows the documented ``GET /v2/videos/search`` of the Shutterstock API v2
(https://api-reference.shutterstock.com/#videos-search-videos-get): ``query``, ``page``,
``per_page`` (<= 500), ``sort=relevance``, ``view=minimal`` (includes ``description``) and the
paper's people filter (``people_model_released=true``, or ``people_number`` 1-4, or none).
Results without ``id`` or ``description`` are skipped and counted. Credentials
(``SHUTTERSTOCK_API_TOKEN``, or ``SHUTTERSTOCK_CONSUMER_KEY``/``_SECRET`` for basic auth) come from
the environment and are never logged; ``base_url`` lets the tests use a server on 127.0.0.1.
Docs: docs/dataset.md#provider-shutterstock
"""
from __future__ import annotations

import base64
import logging
import os
import random
import time
from typing import Any, Callable, Mapping, Optional

from actionhub.dataset.collect.base import Charge, Hit, MalformedReply, Page, Provider, ProviderConfigError
from actionhub.dataset.collect.http import HttpClient

__all__ = ["ShutterstockProvider", "PEOPLE_MODES"]

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api.shutterstock.com"
SEARCH_PATH = "/v2/videos/search"
MAX_PER_PAGE = 500
PEOPLE_MODES = ("released", "count", "any")
SORTS = ("relevance", "popular", "newest", "random")


class ShutterstockProvider(Provider):
    """Client of Shutterstock's video search (see the module docstring).

    Cursor: ``{"page": p, "per_page": n, "people": k}`` (``people`` only with ``people="count"``).
    ``max_pages`` bounds the pages read per query (and per people count).
    """

    name = "shutterstock"

    def __init__(self, base_url: Optional[str] = None, per_page: int = 100, people: str = "released",
                 sort: str = "relevance", timeout: float = 30.0, max_retries: int = 5,
                 backoff_base: float = 1.0, backoff_max: float = 60.0, max_retry_after: float = 900.0,
                 max_pages: Optional[int] = None, extra_params: Optional[Mapping[str, Any]] = None,
                 env: Optional[Mapping[str, str]] = None, sleep: Callable[[float], None] = time.sleep,
                 rng: Optional[random.Random] = None, name: Optional[str] = None):
        env = os.environ if env is None else env
        if people not in PEOPLE_MODES:
            raise ProviderConfigError(f"unknown people filter {people!r}; choose one of {', '.join(PEOPLE_MODES)}")
        if sort not in SORTS:
            raise ProviderConfigError(f"unknown sort {sort!r}; choose one of {', '.join(SORTS)}")
        if not 1 <= int(per_page) <= MAX_PER_PAGE:
            raise ProviderConfigError(f"per_page must be within 1..{MAX_PER_PAGE} (the API's maximum), got {per_page}")
        self.base_url = (base_url or env.get("SHUTTERSTOCK_API_URL") or DEFAULT_BASE_URL).rstrip("/")
        if not self.base_url.startswith(("http://", "https://")):
            raise ProviderConfigError("the Shutterstock base URL must start with http:// or https://, got "
                                      f"{self.base_url!r}")
        self.per_page, self.people, self.sort = int(per_page), people, sort
        self.max_pages = max_pages
        self.extra_params = dict(extra_params or {})
        if name:
            self.name = name
        token = env.get("SHUTTERSTOCK_API_TOKEN")
        key, secret = env.get("SHUTTERSTOCK_CONSUMER_KEY"), env.get("SHUTTERSTOCK_CONSUMER_SECRET")
        if token:
            self.__auth = "Bearer " + token
        elif key and secret:
            self.__auth = "Basic " + base64.b64encode(f"{key}:{secret}".encode()).decode("ascii")
        else:
            raise ProviderConfigError(
                "no Shutterstock credentials: set SHUTTERSTOCK_API_TOKEN (an OAuth access token) or both "
                "SHUTTERSTOCK_CONSUMER_KEY and SHUTTERSTOCK_CONSUMER_SECRET in the environment")
        self.http = HttpClient(timeout=timeout, max_retries=max_retries, backoff_base=backoff_base,
                               backoff_max=backoff_max, max_retry_after=max_retry_after, sleep=sleep, rng=rng)

    def __repr__(self) -> str:  # never shows the credentials
        return f"ShutterstockProvider(base_url={self.base_url!r}, people={self.people!r}, per_page={self.per_page})"

    def fingerprint(self) -> dict:
        return {"people": self.people, "sort": self.sort,
                "extra_params": {k: str(v) for k, v in sorted(self.extra_params.items())}}

    def _params(self, query: str, page: int, per_page: int, people_count: Optional[int]) -> dict:
        p: dict[str, Any] = {"query": query, "page": page, "per_page": per_page, "sort": self.sort, "view": "minimal"}
        if self.people == "released":
            p["people_model_released"] = "true"
        elif self.people == "count":
            p["people_number"] = people_count
        p.update(self.extra_params)
        return p

    def search(self, query: str, cursor: Any, want: Optional[int], charge: Charge) -> Page:
        if isinstance(cursor, dict) and {"page", "per_page"} <= cursor.keys():
            page, per_page = int(cursor["page"]), int(cursor["per_page"])
            people_count = cursor.get("people")
        else:
            page = 1
            per_page = min(self.per_page, want) if want else self.per_page
            people_count = 1 if self.people == "count" else None
        here = {"page": page, "per_page": per_page, **({"people": people_count} if people_count else {})}
        nxt = {"page": page + 1, "per_page": per_page, **({"people": people_count} if people_count else {})}
        if self.max_pages is not None and page >= self.max_pages:
            nxt = None
        after_last = self._after_last(here)
        url = self.base_url + SEARCH_PATH
        try:
            obj = self.http.get_json(url, self._params(query, page, per_page, people_count),
                                     {"Authorization": self.__auth}, charge)
            hits, skipped, total = _parse(obj)
        except MalformedReply as e:
            log.warning("query %r page %d: %s; the page will be fetched again", query, page, e)
            return Page(next_cursor=nxt if nxt is not None else after_last, malformed=True)
        if skipped:
            log.warning("query %r page %d: %d result(s) without id or description skipped", query, page, skipped)
        exhausted = (not hits and not skipped) or (len(hits) + skipped < per_page) or (
            total is not None and page * per_page >= total)
        return Page(hits=hits, next_cursor=after_last if (exhausted or nxt is None) else nxt, skipped=skipped)

    def _after_last(self, here: dict) -> Any:
        """Cursor after the last page of ``here``'s search: the next people count, or None."""
        k = here.get("people")
        if self.people == "count" and k is not None and k < 4:
            return {"page": 1, "per_page": here["per_page"], "people": k + 1}
        return None


def _parse(obj: Any) -> tuple[list[Hit], int, Optional[int]]:
    """Hits, number of skipped results and ``total_count`` of a search reply."""
    if not isinstance(obj, dict) or not isinstance(obj.get("data"), list):
        raise MalformedReply("the reply has no 'data' list")
    total = obj.get("total_count")
    total = int(total) if isinstance(total, (int, float)) and not isinstance(total, bool) else None
    hits, skipped = [], 0
    for item in obj["data"]:
        if not isinstance(item, dict):
            skipped += 1
            continue
        vid, desc = item.get("id"), item.get("description")
        if vid in (None, "") or not isinstance(desc, str) or not desc.strip():
            skipped += 1
            continue
        hits.append(Hit(str(vid), desc.strip()))
    return hits, skipped, total
