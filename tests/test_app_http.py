"""`actionhub serve` over HTTP, no browser: status codes, JSON endpoints, curation round trips, bad input.
The server binds 127.0.0.1 on a free port, requests time out, and it is stopped after the module."""
from __future__ import annotations

import http.client
import json
import urllib.error
import urllib.parse
import urllib.request

import pyarrow.parquet as pq
import pytest

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")

from appdata import make_runs, make_store  # noqa: E402

from actionhub.app import is_local_host, make_state  # noqa: E402
from actionhub.app.server import bind, create_app, running  # noqa: E402
from actionhub.cli import main  # noqa: E402
from actionhub.dataset.curation import curation_path, load_curation  # noqa: E402
from actionhub.utils.errors import UserError  # noqa: E402

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    root = tmp_path_factory.mktemp("app")
    store = make_store(root / "store")
    runs = make_runs(root)
    state = make_state([store], [runs])
    with running(create_app(state)) as url:
        yield url, store, state


def get(url, path, data=None):
    """(status, body bytes, headers) of a request; never raises on 4xx/5xx; redirects are not followed."""
    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *a, **k):
            return None

    opener = urllib.request.build_opener(NoRedirect)
    body = urllib.parse.urlencode(data).encode() if data is not None else None
    try:
        with opener.open(url + path, data=body, timeout=120) as r:
            return r.status, r.read(), r.headers
    except urllib.error.HTTPError as e:
        return e.code, e.read(), e.headers


def api(url, path):
    status, body, _ = get(url, path)
    return status, json.loads(body)


@pytest.mark.slow
def test_overview_counts_figures_and_quality(served):
    url, store, _ = served
    status, d = api(url, "/api/store/0")
    assert status == 200
    assert d["stats"]["num_actions"] == 5 and d["stats"]["num_descriptions"] == 173
    assert d["note"].startswith("SYNTHETIC")
    assert {a for a, _ in d["quality"]["few"]["examples"]} >= {"yo yo", "ride camel", "strum guitar"}
    for f in d["figures"]:
        status, body, headers = get(url, f)
        assert status == 200 and body.startswith(PNG) and headers["content-type"] == "image/png"
    status, body, _ = get(url, "/store/0")
    assert status == 200 and b"Fig. 4" in body and b"SYNTHETIC" in body


@pytest.mark.slow
def test_an_action_pages_by_relevance_with_the_actions_sharing_each_description(served):
    url, _, _ = served
    status, p1 = api(url, "/api/store/0/action?name=play%20guitar&per=50")
    assert status == 200 and p1["total"] == 131 and p1["pages"] == 3 and len(p1["rows"]) == 50
    status, p3 = api(url, "/api/store/0/action?name=play%20guitar&per=50&page=3")
    assert [r["rank"] for r in p3["rows"]] == list(range(100, 131))
    scores = [r["score"] for r in p1["rows"] + p3["rows"] if r["score"] is not None]
    assert scores == sorted(scores, reverse=True)           # relevance order across pages
    assert p3["rows"][-1]["video_id"] == "junk1"             # no word of the name: least relevant
    shared = {r["video_id"]: r["shared"] for r in p1["rows"] + p3["rows"]}
    assert shared["g0"] == ["strum guitar"]
    assert all(shared[v] == [] for v in shared if v.startswith("g") and int(v[1:]) >= 10)
    status, body, _ = get(url, "/store/0/action?name=play%20guitar&page=2")
    assert status == 200 and b'id="next-page"' in body and b"strum guitar" in body


def test_action_names_and_full_text_search(served):
    url, _, _ = served
    status, d = api(url, "/api/store/0/actions?q=GUIT")
    assert [a["action"] for a in d["actions"]] == ["play guitar", "strum guitar"]
    status, body, headers = get(url, "/store/0/actions?q=ride%20horse")
    assert status == 303 and "action?name=ride+horse" in headers["location"]
    status, d = api(url, "/api/store/0/search?q=acoustic%20guitar")
    assert status == 200 and d["matches"] == 65
    groups = {g["action"]: g["rows"] for g in d["groups"]}
    assert set(groups) == {"play guitar", "strum guitar"}
    assert {r["video_id"] for r in groups["strum guitar"]} == {"g0", "g2", "g4", "g6", "g8"}
    status, d = api(url, "/api/store/0/search?q=camel%20desert&match=any")
    assert [g["action"] for g in d["groups"]][0] == "ride camel"


@pytest.mark.slow
def test_marking_in_the_app_is_honoured_by_rank_and_can_be_undone(served, tmp_path):
    url, store, _ = served
    status, _, headers = get(url, "/store/0/mark", {"action": "play guitar", "provider": "local",
                                                  "video_id": "junk1", "by": "tester",
                                                  "back": "/store/0/action?name=play%20guitar&page=3"})
    assert status == 303 and headers["location"].endswith("page=3")
    (m,) = load_curation(store).marks
    assert m["by"] == "tester" and m["video_id"] == "junk1" and m["action"] == "play guitar"
    status, d = api(url, "/api/store/0/action?name=play%20guitar&page=3")
    assert d["rows"][-1]["mark"]["id"] == m["id"]
    assert main(["rank", str(store), "--out", str(tmp_path / "topk.parquet"), "--k", "200", "--no-progress",
                 "--ranker", "glove"]) == 0
    t = pq.read_table(tmp_path / "topk.parquet")
    assert "junk1" not in t.column("video_id").to_pylist() and t.num_rows == 183
    status, d = api(url, "/api/store/0")
    assert d["stats"]["num_action_descriptions"] == 183 and d["curation"]["marks"] == 1
    status, _, _ = get(url, "/store/0/undo", {"id": m["id"], "back": "/store/0/curation"})
    assert status == 303 and not load_curation(store).marks
    status, d = api(url, "/api/store/0")
    assert d["stats"]["num_action_descriptions"] == 184


def test_runs_side_by_side_curves_and_the_report(served):
    url, _, _ = served
    status, d = api(url, "/api/runs")
    assert status == 200 and len(d["runs"]) == 4
    ids = {r["dir"].split("/")[-1]: r["id"] for r in d["runs"]}
    status, run = api(url, f"/api/runs/{ids['coco']}")
    assert run["run"]["method"] == "coco" and run["settings"]["config.model.k"] == 6 and run["history"]
    # why the run stopped and its selected step (run.json's stop_reason; the page showed nothing before)
    assert run["run"]["stopped"] and run["run"]["selected_step"] is not None
    status, body, _ = get(url, f"/runs/{ids['coco']}")
    assert status == 200 and b"Stopped: " in body
    status, body, _ = get(url, f"/runs/{ids['coco']}/curves.png")
    assert status == 200 and body.startswith(PNG)
    status, body, _ = get(url, f"/runs/compare?r={ids['coco']}&r={ids['eszsl']}")
    assert status == 200 and b"config.method" in body
    status, body, _ = get(url, "/report")
    assert status == 200 and b"Tables 2-3" in body and b"/report/figure/fig8_k.png" in body
    status, body, _ = get(url, "/report/figure/fig8_k.png")
    assert status == 200 and body.startswith(PNG)


@pytest.mark.parametrize("path, status, text", [
    ("/store/0/action?name=play%20guitarr", 404, "did you mean &#39;play guitar&#39;"),
    ("/store/0/action?name=play%20guitar&page=9", 400, "past the last page (3)"),
    ("/store/0/action?name=play%20guitar&per=7", 400, "per must be one of 25, 50, 100, 200"),
    ("/store/0/action?name=play%20guitar&page=x", 400, "page must be a whole number"),
    ("/store/3", 404, "no store number 3"),
    ("/runs/0123456789ab", 404, "no run"),
    ("/runs/compare?r=abc", 400, "at least two runs"),
    ("/api/store/0/action?name=nope", 404, "no action"),
])
def test_bad_requests_get_a_clear_page_and_no_traceback(served, path, status, text):
    url, _, _ = served
    got, body, _ = get(url, path)
    assert got == status and text.encode() in body and b"Traceback" not in body


@pytest.mark.parametrize("path", ["/store/0/figure/../../../../etc/passwd", "/static/../../../../etc/passwd",
                                  "/static/%2e%2e/%2e%2e/%2e%2e/etc/passwd", "/store/0/figure/..%2f..%2fmeta.json",
                                  "/report/figure/..%2f..%2fetc%2fpasswd", "/runs/..%2f..%2f/curves.png"])
def test_dot_dot_paths_read_nothing_outside(served, path):
    url, _, _ = served
    host, port = urllib.parse.urlsplit(url).netloc.rsplit(":", 1)
    c = http.client.HTTPConnection(host, int(port), timeout=30)
    c.request("GET", path)   # sent as written: no client-side normalisation of ..
    r = c.getresponse()
    body = r.read()
    c.close()
    assert r.status == 404 and b"root:" not in body and b'"version"' not in body


def test_a_malformed_curation_file_is_a_page_and_the_server_stays_up(served):
    url, store, _ = served
    path = curation_path(store)
    saved = path.read_bytes() if path.exists() else None
    try:
        with open(path, "ab") as fh:
            fh.write(b"this is not json\n")
        status, body, _ = get(url, "/store/0/action?name=play%20guitar")
        assert status == 400 and b"curation.jsonl:" in body and b"fix or remove that line" in body
        status, d = api(url, "/api/runs")
        assert status == 200
    finally:
        path.write_bytes(saved) if saved is not None else path.unlink()
    assert get(url, "/store/0/action?name=play%20guitar")[0] == 200


@pytest.mark.slow
def test_an_upload_that_is_not_a_video_is_refused_with_a_message(served):
    url, _, _ = served
    boundary = "----actionhubtest"
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="actions"\r\n\r\nrunning, eating\r\n',
             f'--{boundary}\r\nContent-Disposition: form-data; name="clip"; filename="notes.txt"\r\n'
             f"Content-Type: text/plain\r\n\r\njust some text\r\n", f"--{boundary}--\r\n"]
    req = urllib.request.Request(url + "/predict", data="".join(parts).encode(), method="POST",
                                 headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(req, timeout=300)
    body = e.value.read()
    assert e.value.code == 400 and b"could not be read as a video" in body and b"Traceback" not in body
    assert get(url, "/store/0")[0] == 200


def test_a_port_in_use_and_paths_that_are_not_stores_are_refused(served, tmp_path, capsys):
    url, store, _ = served
    port = int(url.rsplit(":", 1)[1])
    with pytest.raises(UserError, match=f"port {port} on 127.0.0.1 is in use"):
        bind("127.0.0.1", port)
    (tmp_path / "empty").mkdir()
    assert main(["serve", str(tmp_path / "empty"), "--port", "0"]) == 2
    assert "is not an ActionHub store" in capsys.readouterr().err
    assert main(["serve", str(store), "--runs", str(tmp_path / "nope"), "--port", "0"]) == 2
    assert "--runs" in capsys.readouterr().err
    assert main(["serve", str(store), "--port", str(port)]) == 2
    assert "in use" in capsys.readouterr().err


def test_only_loopback_counts_as_local():
    assert is_local_host("127.0.0.1") and is_local_host("localhost") and is_local_host("::1")
    assert not is_local_host("0.0.0.0") and not is_local_host("192.168.1.5")
