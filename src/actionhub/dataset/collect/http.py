"""A small JSON-over-HTTP GET client with bounded retries (standard library only).

* HTTP 429: waits ``Retry-After`` (delta-seconds or an HTTP date); without the header, backs off
  like a server error. A wait longer than ``max_retry_after`` raises :class:`RateLimited`
  (the run stops, saving its work; rerun later).
* HTTP 5xx, timeouts and connection errors: exponential backoff with jitter,
  ``uniform(0.5, 1) * min(backoff_max, backoff_base * 2**attempt)`` seconds, at most
  ``max_retries`` retries, then :class:`TransientError`.
* HTTP 401/403: :class:`AuthError`; other 4xx: :class:`RequestError`; a 2xx body that is not
  JSON: :class:`MalformedReply` (not retried).

Credentials travel in headers only; nothing here logs headers, and error messages name the URL
without its query string.
"""
from __future__ import annotations

import email.utils
import http.client
import json
import logging
import random
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, Callable, Mapping, Optional

from actionhub import __version__
from actionhub.dataset.collect.base import AuthError, Charge, MalformedReply, RateLimited, RequestError, TransientError

__all__ = ["HttpClient", "parse_retry_after"]

log = logging.getLogger(__name__)


def parse_retry_after(value: Optional[str], now: Optional[float] = None) -> Optional[float]:
    """Seconds to wait from a ``Retry-After`` header: delta-seconds or an HTTP date; None if absent/invalid."""
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


class HttpClient:
    """GET JSON with retries; ``sleep``, ``rng`` and ``now`` are injectable so tests run instantly."""

    def __init__(self, timeout: float = 30.0, max_retries: int = 5, backoff_base: float = 1.0,
                 backoff_max: float = 60.0, max_retry_after: float = 900.0,
                 sleep: Callable[[float], None] = time.sleep, rng: Optional[random.Random] = None,
                 now: Callable[[], float] = time.time):
        self.timeout, self.max_retries = float(timeout), int(max_retries)
        self.backoff_base, self.backoff_max = float(backoff_base), float(backoff_max)
        self.max_retry_after = float(max_retry_after)
        self.sleep, self.rng, self.now = sleep, rng or random.Random(), now
        self.user_agent = f"actionhub/{__version__} (python urllib)"

    def backoff(self, attempt: int) -> float:
        """Seconds to wait before retry ``attempt`` (0-based), with jitter."""
        return self.rng.uniform(0.5, 1.0) * min(self.backoff_max, self.backoff_base * (2 ** attempt))

    def get_json(self, url: str, params: Mapping[str, Any], headers: Mapping[str, str],
                 charge: Optional[Charge] = None) -> Any:
        """GET ``url?params`` and parse the JSON reply (see the module docstring for errors)."""
        full = url + ("?" + urllib.parse.urlencode(params, doseq=True) if params else "")
        last = ""
        for attempt in range(self.max_retries + 1):
            if charge is not None:
                charge()
            req = urllib.request.Request(full, headers={"Accept": "application/json",
                                                         "User-Agent": self.user_agent, **headers})
            wait: Optional[float] = None
            try:
                with urllib.request.urlopen(req, timeout=self.timeout) as resp:  # noqa: S310 - http(s) only
                    body = resp.read()
                try:
                    return json.loads(body.decode("utf-8"))
                except (UnicodeDecodeError, ValueError) as e:
                    raise MalformedReply(f"{url} returned a reply that is not JSON ({e})") from None
            except urllib.error.HTTPError as e:
                code = e.code
                detail = _error_detail(e)
                e.close()
                if code in (401, 403):
                    raise AuthError(f"{url} rejected the credentials (HTTP {code}{detail}); check the API "
                                    "token or key/secret environment variables") from None
                if code == 429:
                    wait = parse_retry_after(e.headers.get("Retry-After"), self.now())
                    if wait is not None and wait > self.max_retry_after:
                        raise RateLimited(f"{url} is rate limiting (HTTP 429) and asks to wait {wait:.0f} s, "
                                          f"more than {self.max_retry_after:.0f} s; rerun the same command later",
                                          wait) from None
                    last = f"HTTP 429{detail}"
                elif code >= 500:
                    last = f"HTTP {code}{detail}"
                else:
                    raise RequestError(f"{url} refused the request (HTTP {code}{detail})") from None
            except (TimeoutError, socket.timeout):
                last = f"no reply within {self.timeout:g} s"
            except urllib.error.URLError as e:
                if isinstance(e.reason, (TimeoutError, socket.timeout)):
                    last = f"no reply within {self.timeout:g} s"
                else:
                    last = f"connection failed ({e.reason})"
            except (ConnectionError, http.client.HTTPException, OSError) as e:
                last = f"connection failed ({type(e).__name__}: {e})"
            if attempt == self.max_retries:
                break
            delay = wait if wait is not None else self.backoff(attempt)
            log.info("%s: %s; retry %d/%d in %.1f s", url, last, attempt + 1, self.max_retries, delay)
            self.sleep(delay)
        raise TransientError(f"{url}: {last} after {self.max_retries + 1} attempts; rerun the same command to retry")


def _error_detail(e: urllib.error.HTTPError) -> str:
    """A short message from an error body (``message`` of a JSON error), for error texts."""
    try:
        body = e.read(2000)
        obj = json.loads(body.decode("utf-8"))
        msg = obj.get("message") if isinstance(obj, dict) else None
        return f": {str(msg)[:200]}" if msg else ""
    except Exception:  # noqa: BLE001 - best effort only
        return ""
