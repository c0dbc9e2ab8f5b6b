"""A small JSON-over-HTTP GET client with bounded retries (standard library only).

HTTP 429 waits ``Retry-After`` (a wait over ``max_retry_after``: :class:`RateLimited`). ``timeout``
is a deadline for the whole request, body included (a watchdog shuts the socket of a trickling
server). 5xx, timeouts and connection errors: backoff ``uniform(0.5, 1) * min(backoff_max,
backoff_base * 2**attempt)`` s, at most ``max_retries``, then :class:`TransientError`. 401/403:
:class:`AuthError`; other 4xx: :class:`RequestError`; a 2xx that is not JSON: :class:`MalformedReply`.
Credentials travel in headers only; nothing logs headers, and errors name the URL without its
query string.
Docs: docs/dataset.md#provider-shutterstock
"""
from __future__ import annotations

import email.utils
import http.client
import json
import logging
import random
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, Callable, Mapping, Optional

from actionhub import __version__
from actionhub.dataset.collect.base import (
    AuthError,
    Charge,
    MalformedReply,
    ProviderConfigError,
    RateLimited,
    RequestError,
    TransientError,
)

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


class _Deadline:
    """A watchdog for one request: ``seconds`` after entering, every socket registered with it is
    shut down (a blocked read returns at once), and so is any socket registered later."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.expired = False
        self._socks: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._fire)
        self._timer.daemon = True

    def __enter__(self) -> "_Deadline":
        self._timer.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._timer.cancel()

    def register(self, sock: Any) -> None:
        with self._lock:
            self._socks.append(sock)
            expired = self.expired
        if expired:
            _shutdown(sock)

    def _fire(self) -> None:
        with self._lock:
            self.expired = True
            socks = list(self._socks)
        for s in socks:
            _shutdown(s)


def _shutdown(sock: Any) -> None:
    try:  # the plain socket's shutdown, also for TLS sockets: it only ends the blocked read
        socket.socket.shutdown(sock, socket.SHUT_RDWR)
    except (OSError, TypeError, ValueError):
        pass


_current = threading.local()  # the deadline of the request this thread is sending


class _DeadlineConnections:
    """Mixed into urllib's HTTP(S) handlers: each connection's socket joins the current deadline."""

    def do_open(self, http_class: Any, req: Any, **kw: Any) -> Any:
        deadline = getattr(_current, "deadline", None)
        if deadline is None:
            return super().do_open(http_class, req, **kw)  # type: ignore[misc]

        def connection(*args: Any, **kwargs: Any) -> Any:
            conn = http_class(*args, **kwargs)
            connect = conn.connect

            def connect_and_watch() -> None:
                connect()
                deadline.register(conn.sock)
            conn.connect = connect_and_watch
            return conn
        return super().do_open(connection, req, **kw)  # type: ignore[misc]


class _HTTPHandler(_DeadlineConnections, urllib.request.HTTPHandler):
    pass


class _HTTPSHandler(_DeadlineConnections, urllib.request.HTTPSHandler):
    pass


class HttpClient:
    """GET JSON with retries; ``sleep``, ``rng`` and ``now`` are injectable so tests run instantly."""

    def __init__(self, timeout: float = 30.0, max_retries: int = 5, backoff_base: float = 1.0,
                 backoff_max: float = 60.0, max_retry_after: float = 900.0,
                 sleep: Callable[[float], None] = time.sleep, rng: Optional[random.Random] = None,
                 now: Callable[[], float] = time.time):
        self.timeout, self.max_retries = float(timeout), int(max_retries)
        if not self.timeout > 0 or self.timeout == float("inf"):
            raise ProviderConfigError(f"the timeout (--timeout) must be a finite number of seconds > 0, got {timeout}")
        if self.max_retries < 0:
            raise ProviderConfigError(f"the number of retries (--max-retries) must be >= 0, got {max_retries}")
        self.backoff_base, self.backoff_max = float(backoff_base), float(backoff_max)
        self.max_retry_after = float(max_retry_after)
        self.sleep, self.rng, self.now = sleep, rng or random.Random(), now
        self.user_agent = f"actionhub/{__version__} (python urllib)"
        self._opener = urllib.request.build_opener(_HTTPHandler(), _HTTPSHandler())

    def backoff(self, attempt: int) -> float:
        """Seconds to wait before retry ``attempt`` (0-based), with jitter."""
        return self.rng.uniform(0.5, 1.0) * min(self.backoff_max, self.backoff_base * (2 ** attempt))

    def _fetch(self, req: urllib.request.Request) -> tuple[bytes, Optional[int], str, Optional[str]]:
        """``(body, None, "", None)`` of a 2xx reply; ``(b"", HTTP code, error detail, Retry-After)`` of
        an HTTP error. Run under a :class:`_Deadline`."""
        try:
            with self._opener.open(req, timeout=self.timeout) as resp:
                return resp.read(), None, "", None
        except urllib.error.HTTPError as e:
            try:
                return b"", e.code, _error_detail(e), e.headers.get("Retry-After")
            finally:
                e.close()

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
            deadline = _Deadline(self.timeout)
            try:
                with deadline:
                    _current.deadline = deadline
                    try:
                        body, code, detail, retry_after = self._fetch(req)
                    finally:
                        _current.deadline = None
                if code is None:
                    try:
                        return json.loads(body.decode("utf-8"))
                    except (UnicodeDecodeError, ValueError) as e:
                        if deadline.expired:  # cut off mid-reply
                            raise TimeoutError from None
                        raise MalformedReply(f"{url} returned a reply that is not JSON ({e})") from None
                if code in (401, 403):
                    raise AuthError(f"{url} rejected the credentials (HTTP {code}{detail}); check the API "
                                    "token or key/secret environment variables") from None
                if code == 429:
                    wait = parse_retry_after(retry_after, self.now())
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
                last = f"no complete reply within {self.timeout:g} s"
            except urllib.error.URLError as e:
                if deadline.expired or isinstance(e.reason, (TimeoutError, socket.timeout)):
                    last = f"no complete reply within {self.timeout:g} s"
                else:
                    last = f"connection failed ({e.reason})"
            except (ConnectionError, http.client.HTTPException, OSError) as e:
                if deadline.expired:
                    last = f"no complete reply within {self.timeout:g} s"
                else:
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
