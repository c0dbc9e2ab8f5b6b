"""Collection: the real HTTP client against a fake Shutterstock server on 127.0.0.1 (SYNTHETIC
catalogue, scripted 429/5xx/slow/malformed replies), resume after kill -9, the request budget,
and the local BM25 provider on hand-made caption files."""
import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
import pytest

from actionhub.cli import main
from actionhub.dataset.collect import AuthError, ProviderConfigError, collect, get_provider
from actionhub.dataset.collect.base import Page
from actionhub.dataset.collect.http import parse_retry_after
from actionhub.dataset.collect.local import BM25Index, LocalProvider
from actionhub.dataset.collect.shutterstock import ShutterstockProvider
from actionhub.dataset.store import Store, read_store

sys.path.insert(0, str(Path(__file__).parent))
from captions import write_table_as  # noqa: E402
from fakeapi import TOKEN, FakeVideoAPI, Fault, description, video_id  # noqa: E402

ENV = {"SHUTTERSTOCK_API_TOKEN": TOKEN}
pytestmark = pytest.mark.timeout(60)


def provider(api, sleeps=None, **kw):
    kw.setdefault("per_page", 10)
    kw.setdefault("timeout", 0.5)
    return ShutterstockProvider(base_url=api.url, env=ENV,
                                sleep=(sleeps.append if sleeps is not None else (lambda s: None)),
                                **kw)


def keys(store):
    t = read_store(store)
    return list(zip(t.column("action").to_pylist(), t.column("video_id").to_pylist(), strict=True))


def expected(queries, per_query, total, shared_every=10):
    """What a clean run stores: per query, its first `per_query` videos -- also those another query found."""
    return [(q, video_id(q, i, shared_every)) for q in queries for i in range(min(per_query, total))]


def test_collect_follows_the_documented_request_and_reply_shape(tmp_path):
    qs = ["play guitar", "ride horse", "swim"]
    with FakeVideoAPI(videos_per_query=45) as api:
        s = collect(qs, provider(api), tmp_path / "store", per_query=25)
        reqs = list(api.requests)
    assert sorted(keys(tmp_path / "store")) == sorted(expected(qs, 25, 45))
    assert s["added"] == 75 and s["failed"] == {} and s["stopped"] is None
    # shared videos (every 10th) count for every query that found them, and are stored once
    assert s["duplicates"] == 0 and s["new_descriptions"] == 75 - 2 * 2 == Store(tmp_path / "store").num_descriptions()
    r = reqs[0]
    assert r["path"] == "/v2/videos/search" and r["query"] == "play guitar"
    assert r["page"] == "1" and r["per_page"] == "10" and r["sort"] == "relevance" and r["view"] == "minimal"
    assert r["people_model_released"] == "true"
    t = read_store(tmp_path / "store")
    row = t.filter(pa.compute.equal(t.column("video_id"), video_id("swim", 1, 10))).to_pylist()[0]
    assert row["description"] == description("swim", 1) and row["num_sentences"] == 2
    assert row["provider"] == "shutterstock" and row["action"] == "swim"
    # rerun: everything is complete, no request is sent
    with FakeVideoAPI(videos_per_query=45) as api:
        again = collect(qs, provider(api), tmp_path / "store", per_query=25)
        assert api.count == 0 and again["queries_complete"] == 3 and again["added"] == 0


def test_exhausted_results_stop_paging(tmp_path):
    with FakeVideoAPI(totals={"rare": 13}) as api:
        s = collect(["rare"], provider(api), tmp_path / "s")
        assert api.count == 2  # 10 + 3 results: the short page is the last
    assert s["added"] == 13 and len(keys(tmp_path / "s")) == 13


def test_people_count_mode_sweeps_people_number(tmp_path):
    with FakeVideoAPI(totals={"dance": 5}, shared_every=0) as api:
        collect(["dance"], provider(api, people="count"), tmp_path / "s")
        assert [r["people_number"] for r in api.requests] == ["1", "2", "3", "4"]
        assert "people_model_released" not in api.requests[0]


def test_429_honours_retry_after_seconds_and_http_date(tmp_path):
    sleeps = []
    date = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() + 30))
    with FakeVideoAPI(videos_per_query=20) as api:
        api.script({1: Fault("429", retry_after="7"), 3: Fault("429", retry_after=date)})
        s = collect(["run"], provider(api, sleeps), tmp_path / "s", per_query=15)
        assert api.count == 4
    assert s["added"] == 15 and s["requests"] == 4
    assert sleeps[0] == 7.0 and 15 <= sleeps[1] <= 31  # the date is 30 s ahead; a loaded machine takes a while


def test_parse_retry_after():
    assert parse_retry_after("12") == 12.0 and parse_retry_after(" 0 ") == 0.0
    assert parse_retry_after(None) is None and parse_retry_after("soon") is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470.0) == 10.0


def test_5xx_backs_off_exponentially_with_a_bound_then_the_query_fails_and_the_next_runs(tmp_path):
    sleeps = []
    with FakeVideoAPI(videos_per_query=5, shared_every=0) as api:
        api.script({i: Fault("500") for i in range(1, 5)})  # the first query gets 500 four times
        p = provider(api, sleeps, max_retries=3, backoff_base=1.0, backoff_max=3.0)
        s = collect(["a", "b"], p, tmp_path / "s")
        assert api.count == 5
    assert list(s["failed"]) == ["a"] and "HTTP 500" in s["failed"]["a"]
    assert s["added"] == 5 and {a for a, _ in keys(tmp_path / "s")} == {"b"}
    assert len(sleeps) == 3
    for k, d in enumerate(sleeps):  # jittered exponential: [0.5, 1] x min(3, 2**k)
        assert 0.5 * min(3, 2 ** k) <= d <= min(3, 2 ** k)
    # the next run retries the failed query and completes it
    with FakeVideoAPI(videos_per_query=5, shared_every=0) as api:
        s2 = collect(["a", "b"], provider(api), tmp_path / "s")
    assert s2["failed"] == {} and s2["added"] == 5 and s2["queries_complete"] == 1
    assert sorted(keys(tmp_path / "s")) == sorted(expected(["a", "b"], 5, 5, 0))


def test_slow_reply_beyond_the_timeout_is_retried(tmp_path):
    sleeps = []
    with FakeVideoAPI(videos_per_query=10, shared_every=0) as api:
        api.script({1: Fault("slow", delay=1.5)})
        s = collect(["wave"], provider(api, sleeps, timeout=0.3), tmp_path / "s")
        assert api.count == 2
    assert s["added"] == 10 and len(sleeps) == 1


def test_a_malformed_page_is_fetched_again_not_lost(tmp_path, caplog):
    with FakeVideoAPI(videos_per_query=30, shared_every=0) as api:
        api.script({1: Fault("badjson"), 2: Fault("nodesc"), 3: Fault("nodata")})
        s = collect(["jump"], provider(api), tmp_path / "s")
        pages = [r["page"] for r in api.requests]
    assert pages == ["1", "1", "2", "2", "3"]  # each malformed page asked again; page 3 is the last (30 results)
    assert s["malformed_pages"] == 2 and s["skipped_results"] == 2 and s["failed"] == {}
    assert s["added"] == 28  # only the 2 results without a description are missing
    assert "not JSON" in caplog.text and "without id or description" in caplog.text


def test_a_page_that_stays_malformed_fails_the_query_and_the_rerun_fetches_it(tmp_path, capsys, monkeypatch):
    """A misbehaving server: page 2 of the first query is broken three times in a row. The run exits 1
    and keeps that query's cursor; the rerun fetches page 2 and the store ends complete (SYNTHETIC)."""
    monkeypatch.setenv("SHUTTERSTOCK_API_TOKEN", TOKEN)
    (tmp_path / "q.txt").write_text("jump\nswim\n")
    args = ["collect", "--provider", "shutterstock", "--queries", str(tmp_path / "q.txt"), "--out", str(tmp_path / "s"),
            "--per-page", "10", "--no-progress", "--timeout", "0.5"]
    with FakeVideoAPI(videos_per_query=30, shared_every=0) as api:
        api.script({2: Fault("badjson"), 3: Fault("nodata"), 4: Fault("badjson")})
        assert main(args + ["--base-url", api.url]) == 1
    out = capsys.readouterr().out
    assert "failed: 'jump'" in out and "malformed" in out
    assert Store(tmp_path / "s").counts() == {"jump": 10, "swim": 30}
    with FakeVideoAPI(videos_per_query=30, shared_every=0) as api:
        assert main(args + ["--base-url", api.url]) == 0
        assert [(r["query"], r["page"]) for r in api.requests] == [("jump", "2"), ("jump", "3")]
    assert Store(tmp_path / "s").counts() == {"jump": 30, "swim": 30}
    assert sorted(keys(tmp_path / "s")) == sorted(expected(["jump", "swim"], 30, 30, shared_every=0))


def test_rate_limit_longer_than_the_maximum_stops_and_a_rerun_continues(tmp_path):
    with FakeVideoAPI(videos_per_query=20, shared_every=0) as api:
        api.script({3: Fault("429", retry_after="3600")})
        s = collect(["a", "b"], provider(api, max_retry_after=60), tmp_path / "s", per_query=20)
    assert s["stopped"] == "rate_limited" and "3600" in s["message"]
    assert s["added"] == 20 and len(keys(tmp_path / "s")) == 20  # query a finished and was saved
    with FakeVideoAPI(videos_per_query=20, shared_every=0) as api:
        s2 = collect(["a", "b"], provider(api), tmp_path / "s", per_query=20)
    assert s2["stopped"] is None and sorted(keys(tmp_path / "s")) == sorted(expected(["a", "b"], 20, 20, 0))


def test_budget_is_persisted_across_runs(tmp_path):
    with FakeVideoAPI(videos_per_query=50, shared_every=0) as api:
        s = collect(["a", "b"], provider(api), tmp_path / "s", budget=3)
        assert api.count == 3
    assert s["stopped"] == "budget" and s["requests_total"] == 3 and s["added"] == 30
    ledger = json.loads((tmp_path / "s" / "_state" / "budget-shutterstock.json").read_text())
    assert ledger["requests"] == 3
    with FakeVideoAPI(videos_per_query=50, shared_every=0) as api:
        s = collect(["a", "b"], provider(api), tmp_path / "s", budget=3)
        assert api.count == 0 and s["stopped"] == "budget"
        s = collect(["a", "b"], provider(api), tmp_path / "s", budget=5)
        assert api.count == 2 and s["requests_total"] == 5
    assert sorted(keys(tmp_path / "s")) == sorted(expected(["a"], 50, 50, 0))


def test_credentials_never_leak_and_missing_ones_are_a_clear_error(tmp_path, capsys):
    with pytest.raises(ProviderConfigError, match="SHUTTERSTOCK_API_TOKEN"):
        ShutterstockProvider(env={})
    p = ShutterstockProvider(base_url="http://127.0.0.1:9", env={"SHUTTERSTOCK_API_TOKEN": "s3cr3t-value"})
    assert "s3cr3t" not in repr(p) and "s3cr3t" not in json.dumps(p.fingerprint())
    with FakeVideoAPI() as api:
        bad = ShutterstockProvider(base_url=api.url, env={"SHUTTERSTOCK_API_TOKEN": "s3cr3t-value"})
        with pytest.raises(AuthError) as e:
            collect(["a"], bad, tmp_path / "s")
        assert "401" in str(e.value) and "s3cr3t" not in str(e.value)
        q = tmp_path / "q.txt"
        q.write_text("a\n")
        os.environ["SHUTTERSTOCK_API_TOKEN"] = "s3cr3t-value"
        try:
            code = main(["collect", "--provider", "shutterstock", "--base-url", api.url, "--queries", str(q),
                         "--out", str(tmp_path / "s"), "--no-progress"])
        finally:
            del os.environ["SHUTTERSTOCK_API_TOKEN"]
    err = capsys.readouterr()
    assert code == 2 and "credentials" in err.err and "s3cr3t" not in err.err + err.out


def test_cli_collect_against_the_fake_server(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("SHUTTERSTOCK_API_TOKEN", TOKEN)
    q = tmp_path / "q.txt"
    q.write_text("play guitar\nride horse\n")
    with FakeVideoAPI(videos_per_query=30) as api:
        code = main(["collect", "--provider", "shutterstock", "--base-url", api.url, "--queries", str(q),
                     "--out", str(tmp_path / "s"), "--per-query", "12", "--per-page", "5", "--no-progress",
                     "--note", "SYNTHETIC: fake server", "--json"])
    s = json.loads(capsys.readouterr().out)
    assert code == 0 and s["added"] == 24 and s["requests"] == 6
    assert main(["stats", str(tmp_path / "s")]) == 0
    out = capsys.readouterr().out
    # 24 per-action descriptions; the shared video of index 9 is one description listed by both
    assert "[SYNTHETIC: fake server]" in out and "descriptions: 23 (1 listed by two or more actions" in out


# `actionhub collect` with only this verb registered (the full parser also imports torch for other verbs)
COLLECT_ONLY_CLI = """
import argparse, sys
from actionhub.cli import collect
p = argparse.ArgumentParser(prog="actionhub")
collect.register(p.add_subparsers(dest="verb", required=True))
a = p.parse_args(sys.argv[1:])
sys.exit(a.func(a))
"""


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_kill_9_mid_run_neither_loses_nor_duplicates(tmp_path):
    """A real subprocess collecting from the fake server is SIGKILLed mid-run, several times;
    the final store equals that of an uninterrupted run."""
    queries = ["play guitar", "ride horse", "swim", "dance", "jump", "cook egg"]
    (tmp_path / "q.txt").write_text("\n".join(queries) + "\n")
    env = {**os.environ, **ENV, "HF_HUB_OFFLINE": "1"}

    def cmd(api, store):
        return [sys.executable, "-c", COLLECT_ONLY_CLI,
                "collect", "--provider", "shutterstock", "--base-url", api.url, "--queries", str(tmp_path / "q.txt"),
                "--out", str(store), "--per-query", "30", "--per-page", "5", "--flush-rows", "7", "--no-progress"]

    with FakeVideoAPI(videos_per_query=40, delay=0.03) as api:
        subprocess.run(cmd(api, tmp_path / "ref"), env=env, timeout=60, check=True, capture_output=True)
        ref = sorted(keys(tmp_path / "ref"))
        assert ref == sorted(expected(queries, 30, 40))

        store = tmp_path / "killed"
        partial = []
        for extra in (0.0, 0.1, 0.25, 0.4):
            proc = subprocess.Popen(cmd(api, store), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            n0 = len(list(store.glob("hits/part-*.parquet"))) if store.exists() else 0
            deadline = time.time() + 30
            while proc.poll() is None and time.time() < deadline:  # wait for a new part file
                if store.exists() and len(list(store.glob("hits/part-*.parquet"))) > n0:
                    break
                time.sleep(0.005)
            time.sleep(extra)
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=10)
            now = keys(store)
            assert len(now) == len(set(now))  # never a duplicate, even right after a kill
            partial.append(len(now))
        done = subprocess.run(cmd(api, store), env=env, timeout=60, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert any(0 < n < len(ref) for n in partial), partial  # at least one kill landed mid-run
    final = keys(store)
    assert sorted(final) == ref and len(final) == len(set(final))
    t1, t2 = read_store(tmp_path / "ref"), read_store(store)  # per action, in rank order
    for col in ("action", "video_id", "rank", "description"):
        assert t1.column(col).to_pylist() == t2.column(col).to_pylist()


# -- local provider --------------------------------------------------------------------------------

CAPTIONS = [  # SYNTHETIC captions, WebVid-style columns
    ("v0", "A man riding a horse on the beach."),
    ("v1", "Woman rides horses. Horses run in a field. Sunset."),
    ("v2", "Close-up of a guitar."),
    ("v3", "Girl playing guitar and singing at home."),
    ("v4", "Horse eating grass"),
    ("v5", "People playing football in the park."),
    ("v6", None),
    ("v7", "Teenager plays the guitar; riding a bike later."),
]


def write_corpus(path, rows=CAPTIONS, id_col="videoid", cap_col="name"):
    return write_table_as(path, pa.table({id_col: [r[0] for r in rows], "contentUrl": ["x"] * len(rows),
                                          cap_col: [r[1] for r in rows]}))


def test_bm25_scores_match_the_formula_on_a_hand_made_corpus():
    docs = ["ride horse", "horse horse eat", "play guitar", "ride bike bike bike"]
    idx = BM25Index.build(docs, k1=1.2, b=0.75)
    n, avgdl = 4, (2 + 3 + 2 + 4) / 4

    def bm25(tf, dl, df):
        return math.log1p((n - df + 0.5) / (df + 0.5)) * tf * 2.2 / (tf + 1.2 * (0.25 + 0.75 * dl / avgdl))

    s = idx.scores("ride horse")
    want = [bm25(1, 2, 2) + bm25(1, 2, 2), bm25(2, 3, 2), 0.0, bm25(1, 4, 2)]
    assert s == pytest.approx(want, rel=1e-5)
    docs_, scores = idx.search("ride horse", k=10)
    assert docs_.tolist() == [0, 1, 3] and scores.tolist() == sorted(scores.tolist(), reverse=True)
    assert idx.search("ride horse", k=1, offset=1)[0].tolist() == [1]
    assert idx.search("submarine", k=5)[0].size == 0


@pytest.mark.parametrize("suffix", [".csv", ".jsonl", ".parquet"])
def test_local_provider_ranks_lemmatised_matches_and_caches_its_index(tmp_path, suffix):
    corpus = write_corpus(tmp_path / f"captions{suffix}")
    p = LocalProvider(corpus, match="any")
    assert not p.index_from_cache and p.cache_path.exists()
    page = p.search("ride horse", None, None, lambda: None)
    ids = [h.video_id for h in page.hits]
    assert set(ids) == {"v0", "v1", "v4", "v7"}  # "riding", "rides horses", "horse", "riding"
    assert ids.index("v0") < ids.index("v4") and ids[-1] == "v7"
    assert page.next_cursor is None
    every = LocalProvider(corpus, match="all")  # second use: loaded, not rebuilt; every content word
    assert every.index_from_cache and every.match == "all"
    assert [h.video_id for h in every.search("ride horse", None, None, None).hits] == ["v0", "v1"]
    # the default ("most"): a query with fewer than 10 such captions also gets those with all but one word, after
    most = LocalProvider(corpus)
    assert most.match == "most"
    assert [h.video_id for h in most.search("ride horse", None, None, None).hits] == ["v0", "v1", "v4", "v7"]
    time.sleep(0.01)
    write_corpus(corpus, CAPTIONS + [("v8", "Horse riding lesson")])
    changed = LocalProvider(corpus)
    assert not changed.index_from_cache
    assert "v8" in [h.video_id for h in changed.search("ride horse", None, None, None).hits]


def test_local_provider_pages_and_errors(tmp_path):
    corpus = write_corpus(tmp_path / "c.csv")
    p = LocalProvider(corpus, page_size=2, cache_dir=tmp_path / "cache", match="any")
    first = p.search("play guitar", None, None, None)
    assert len(first.hits) == 2 and first.next_cursor == 2
    second = p.search("play guitar", first.next_cursor, None, None)
    assert {h.video_id for h in first.hits + second.hits} == {"v2", "v3", "v5", "v7"}
    assert second.next_cursor is None  # exactly 4 matches: no empty third page
    with pytest.raises(ProviderConfigError,
                       match=r"c\.csv has no column\(s\) \['caption'\].*videoid, contentUrl, name"):
        LocalProvider(corpus, caption_column="caption")
    with pytest.raises(ProviderConfigError, match="needs a caption corpus"):
        get_provider("local")
    with pytest.raises(ProviderConfigError, match="unknown provider"):
        get_provider("youtube")
    with pytest.raises(ProviderConfigError, match="unknown --match 'some'"):
        LocalProvider(corpus, match="some")


REALISTIC = [  # hand-written stock-footage captions (not from any site)
    ("r1", "Young man doing push ups in the gym, close up"),
    ("r2", "Sporty woman does push-ups on a yoga mat at home"),
    ("r3", "Cute baby waking up in bed in the morning and smiling"),
    ("r4", "Little baby wakes up and yawns in a crib, slow motion"),
    ("r5", "Man playing acoustic guitar on a sofa"),
    ("r6", "Teen plays electric guitar on stage, concert lights"),
    ("r7", "Woman riding a horse along the beach at sunset"),
    ("r8", "Cowboy rides his horse across the prairie"),
    ("r9", "Athlete throws the shot put at a stadium"),
    ("r10", "Aerial view of the city at night. Shot on RED"),
    ("r11", "Children playing football in the park, slow motion"),
    ("r12", "Dog walking on a leash in the park"),
    ("r13", "Man in a suit waking up late and getting up in a hurry"),
    ("r14", "Baby boy sleeping peacefully, close up"),
    ("r15", "Group of friends playing cards at a table"),
]


@pytest.mark.parametrize("match", ["all", "any"])
def test_queries_get_their_own_captions_on_a_realistic_set(tmp_path, match):
    """With every content word required (the default), "baby waking up" gets no push-ups and
    "play guitar", "ride horse", "push up" each get theirs, whatever the query order."""
    corpus = write_corpus(tmp_path / "stock.csv", REALISTIC)
    queries = ["act play", "baby waking up", "handstand walk", "play cello", "play daf", "play guitar",
               "push up", "ride horse", "shot put"]
    s = collect(queries, LocalProvider(corpus, match=match), tmp_path / "s")
    got = {a: {v for v in vids.to_pylist()} for a, vids in Store(tmp_path / "s").action_videos("local").items()}
    assert {"r5", "r6"} <= got["play guitar"] and {"r7", "r8"} <= got["ride horse"]
    assert {"r1", "r2"} <= got["push up"] and {"r3", "r4"} <= got["baby waking up"]
    if match == "all":
        assert got == {"baby waking up": {"r3", "r4"}, "play guitar": {"r5", "r6"}, "push up": {"r1", "r2"},
                       "ride horse": {"r7", "r8"}, "shot put": {"r9"}}
        assert s["few"]["none"] == 4  # act play, handstand walk, play cello, play daf: nothing matches
    else:  # any word: the old behaviour, kept for recall
        assert {"r1", "r2"} & got["baby waking up"] and "r10" in got["shot put"]


def test_collect_local_end_to_end_with_the_cli(tmp_path, capsys):
    corpus = write_corpus(tmp_path / "webvid.csv")
    (tmp_path / "q.txt").write_text("ride horse\nplay guitar\nswim\n")
    args = ["collect", "--provider", "local", "--corpus", str(corpus), "--queries", str(tmp_path / "q.txt"),
            "--out", str(tmp_path / "s"), "--per-query", "2", "--no-progress", "--note", "SYNTHETIC: local captions"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "4 new descriptions" in out and "requests" not in out
    got = keys(tmp_path / "s")
    # the two best per query; "swim" matches nothing
    assert sorted(got) == sorted([("ride horse", "v0"), ("ride horse", "v1"), ("play guitar", "v3"),
                                  ("play guitar", "v7")])
    assert main(args[:-2]) == 0  # rerun: nothing new (swim is exhausted, the others complete)
    assert "0 new descriptions" in capsys.readouterr().out
    assert Store(tmp_path / "s").note == "SYNTHETIC: local captions"


def test_python_api_with_a_custom_provider(tmp_path):
    class Fixed(get_provider.__globals__["Provider"]):
        name = "fixed"
        uses_requests = False

        def search(self, query, cursor, want, charge):
            from actionhub.dataset.collect import Hit
            return Page(hits=[Hit(f"{query}-{i}", f"{query} number {i}.") for i in range(3)])

    s = collect(["x", "y"], Fixed(), tmp_path / "s", per_query=2)
    assert s["added"] == 4 and sorted(keys(tmp_path / "s")) == [("x", "x-0"), ("x", "x-1"), ("y", "y-0"), ("y", "y-1")]
