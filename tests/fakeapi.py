"""A fake Shutterstock video search server on 127.0.0.1 for the collector tests (SYNTHETIC data).

It speaks the documented shape of ``GET /v2/videos/search`` (``query``, ``page``, ``per_page``;
reply ``{"page", "per_page", "total_count", "search_id", "data": [{"id", "description", ...}]}``),
checks the bearer token, counts requests, and injects scripted faults:

    api.script({3: Fault("429", retry_after="2"), 4: Fault("500"), 6: Fault("slow", delay=1.0)})

keys are 1-based request numbers (every request counts, retries included). Fault kinds:
``429`` (with ``retry_after``: seconds or an HTTP date, or none), ``500``/``503``, ``slow``
(sleeps ``delay`` s before a normal reply), ``badjson`` (200 with a broken body), ``nodata``
(200 JSON without ``data``), ``nodesc`` (a normal page whose first two results lack a usable
description), ``401``, ``400``.

The catalogue is synthetic and deterministic: query ``q`` has ``videos_per_query`` videos (or
``totals[q]``); every ``shared_every``-th of them is a video shared by all queries (id
``shared-<i>``), to exercise de-duplication across queries.
"""
from __future__ import annotations

import json
import threading
import time
import zlib
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Optional
from urllib.parse import parse_qs, urlparse

TOKEN = "test-token-not-a-secret"


@dataclass
class Fault:
    kind: str
    retry_after: Optional[str] = None
    delay: float = 0.0


def video_id(query: str, i: int, shared_every: int) -> str:
    if shared_every and i % shared_every == shared_every - 1:
        return f"shared-{i}"
    return f"{zlib.crc32(query.encode()):08x}-{i}"


def description(query: str, i: int) -> str:
    """SYNTHETIC description: 1 to 3 sentences."""
    s = [f"A person doing {query} outdoors, clip {i}."]
    if i % 2:
        s.append("Filmed in slow motion!")
    if i % 3 == 2:
        s.append("Is it 4.5 seconds long?")
    return " ".join(s)


class FakeVideoAPI:
    """Start with ``with FakeVideoAPI() as api: api.url``; ``api.requests`` lists what arrived."""

    def __init__(self, videos_per_query: int = 50, totals: Optional[dict] = None, shared_every: int = 10,
                 delay: float = 0.0, token: str = TOKEN):
        self.videos_per_query, self.totals = videos_per_query, dict(totals or {})
        self.shared_every, self.delay, self.token = shared_every, delay, token
        self.faults: dict[int, Fault] = {}
        self.requests: list[dict] = []
        self.lock = threading.Lock()
        api = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def do_GET(self):
                try:
                    api._handle(self)
                except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout)
                    pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> "FakeVideoAPI":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    def script(self, faults: dict[int, Fault]) -> None:
        with self.lock:
            self.faults.update(faults)

    @property
    def count(self) -> int:
        return len(self.requests)

    def total_for(self, query: str) -> int:
        return int(self.totals.get(query, self.videos_per_query))

    def _send(self, h: BaseHTTPRequestHandler, code: int, body: bytes, headers: Optional[dict] = None) -> None:
        h.send_response(code)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            h.send_header(k, v)
        h.end_headers()
        h.wfile.write(body)

    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        u = urlparse(h.path)
        params = {k: v[-1] for k, v in parse_qs(u.query).items()}
        with self.lock:
            self.requests.append({"path": u.path, **params})
            n = len(self.requests)
            fault = self.faults.pop(n, None)
        if self.delay:
            time.sleep(self.delay)
        if u.path != "/v2/videos/search":
            return self._send(h, 404, b'{"message": "Not found"}')
        if fault is not None and fault.kind == "401" or h.headers.get("Authorization") != f"Bearer {self.token}":
            return self._send(h, 401, b'{"message": "Invalid or missing access token"}')
        kind = fault.kind if fault else None
        if kind == "429":
            hdr = {"Retry-After": fault.retry_after} if fault.retry_after is not None else {}
            return self._send(h, 429, b'{"message": "Too many requests"}', hdr)
        if kind in ("500", "503"):
            return self._send(h, int(kind), b'{"message": "Internal error"}')
        if kind == "400":
            return self._send(h, 400, b'{"message": "Invalid query"}')
        if kind == "slow":
            time.sleep(fault.delay)
        if kind == "badjson":
            return self._send(h, 200, b'{"page": 1, "data": [{"id": ')
        if kind == "nodata":
            return self._send(h, 200, b'{"page": 1, "per_page": 20, "total_count": 3}')
        q = params.get("query", "")
        page, per_page = int(params.get("page", 1)), int(params.get("per_page", 20))
        total = self.total_for(q)
        lo, hi = (page - 1) * per_page, min(total, page * per_page)
        data = [{"media_type": "video", "id": video_id(q, i, self.shared_every), "description": description(q, i),
                 "aspect": 1.778, "duration": 12, "has_model_release": True, "contributor": {"id": "1"},
                 "aspect_ratio": "16:9", "assets": {}, "url": f"https://example.invalid/clip-{i}"}
                for i in range(lo, hi)]
        if kind == "nodesc" and data:
            data[0].pop("description")
            if len(data) > 1:
                data[1]["description"] = None
        body = {"page": page, "per_page": per_page, "total_count": total, "search_id": "fake", "data": data}
        return self._send(h, 200, json.dumps(body).encode())
