"""Descriptions on the fly (dataset/describe.py): typed names -> vocab queries -> the local provider's cached
index (or a store) -> rank's ranking -> top k; and a cached corpus not parsed again."""
from __future__ import annotations

import pyarrow as pa
import pytest
from captions import CAPTIONS
from captions import write_captions as write_corpus

import actionhub.dataset.rank as rank_module
from actionhub.dataset.collect import collect
from actionhub.dataset.collect import local as local_module
from actionhub.dataset.collect.base import ProviderConfigError
from actionhub.dataset.collect.local import LocalProvider
from actionhub.dataset.describe import DescribeError, action_queries, describe_actions


def test_queries_are_built_as_vocab_builds_them():
    q = action_queries(["riding a horse", "Push-Ups", "flying a kite"])
    assert q == {"riding a horse": "ride horse", "Push-Ups": "push up", "flying a kite": "fly kite"}
    with pytest.raises(DescribeError, match="without any word: '\\?\\?\\?'"):
        action_queries(["riding a horse", "???"])


@pytest.mark.slow
def test_corpus_search_is_ranked_by_rank_and_shares_the_provider_cache(tmp_path, monkeypatch):
    corpus = write_corpus(tmp_path / "captions.csv")
    calls = []
    real = rank_module.rank_table

    def spy(table, *args, **kwargs):   # rank's own public function ranks the hits (its default ranker)
        calls.append((sorted(set(table.column("action").to_pylist())), kwargs.get("k")))
        return real(table, *args, **kwargs)

    monkeypatch.setattr(rank_module, "rank_table", spy)
    d = describe_actions(["riding a horse", "playing guitar", "flying a kite"], corpus=corpus, k=3)
    assert calls == [(["play guitar", "ride horse"], 3)]
    assert d.queries["riding a horse"] == "ride horse" and d.index_from_cache is False
    assert d.hits == {"riding a horse": 4, "playing guitar": 2, "flying a kite": 0}
    assert d.without == ["flying a kite"]
    t = d.table
    horse = t.filter(pa.compute.equal(t.column("action"), "riding a horse"))
    assert horse.num_rows == 3 and horse.column("rank").to_pylist() == [0, 1, 2]   # the top k of 4, ranked
    assert set(horse.column("video_id").to_pylist()) <= {"h1", "h2", "h3", "h4"}
    scores = horse.column("score").to_pylist()
    assert scores == sorted(scores, reverse=True)
    # the same ranking rank itself gives those captions for that query
    ref = real(pa.table({"action": ["ride horse"] * 4, "provider": ["local"] * 4,
                         "video_id": ["h1", "h2", "h3", "h4"], "description": [c for _, c in CAPTIONS[:4]]}), k=3)
    assert horse.column("video_id").to_pylist() == ref.column("video_id").to_pylist()
    # the provider's own cache, same key: collect (and a second call) find the index built here
    assert LocalProvider(corpus).index_from_cache
    assert describe_actions(["riding a horse"], corpus=corpus, k=3).index_from_cache is True


def test_a_store_gives_the_same_descriptions(tmp_path):
    corpus = write_corpus(tmp_path / "captions.csv")
    collect(["ride horse", "play guitar", "push up"], LocalProvider(corpus), tmp_path / "store")
    names = ["riding a horse", "playing guitar", "flying a kite"]
    a = describe_actions(names, corpus=corpus, k=3).table
    b = describe_actions(names, store=tmp_path / "store", k=3).table
    for col in ("action", "rank", "video_id", "description"):
        assert a.column(col).to_pylist() == b.column(col).to_pylist()
    with pytest.raises(DescribeError, match="one of the two"):
        describe_actions(names, corpus=corpus, store=tmp_path / "store")


def test_a_corpus_without_the_columns_is_refused_naming_the_flags(tmp_path):
    corpus = write_corpus(tmp_path / "c.csv", columns=("videoid", "caption"))
    with pytest.raises(ProviderConfigError, match=r"no column\(s\) \['name'\].*--caption-column"):
        describe_actions(["riding a horse"], corpus=corpus)


def test_a_cached_corpus_is_not_parsed_again_and_a_changed_one_is(tmp_path, monkeypatch):
    corpus = write_corpus(tmp_path / "captions.csv")
    first = LocalProvider(corpus)
    assert list(first.cache_path.glob("seg-*.bin")) and not first.index_from_cache
    want = first.search("ride horse", None, 10, lambda: None).as_table()
    first.close()

    def no_parse(*a, **k):
        raise AssertionError("the corpus was parsed again")

    monkeypatch.setattr(local_module, "read_corpus", no_parse)
    again = LocalProvider(corpus)   # ids and captions come from the index segment, memory-mapped
    assert again.index_from_cache and again.index.num_docs == len(CAPTIONS)
    page = again.search("ride horse", None, 10, lambda: None).as_table()
    assert page.equals(want) and set(page.column("video_id").to_pylist()) == {"h1", "h2", "h3", "h4"}
    again.close()
    monkeypatch.undo()
    write_corpus(corpus, CAPTIONS[:3])   # a changed corpus: parsed and indexed again
    changed = LocalProvider(corpus)
    assert not changed.index_from_cache and changed.index.num_docs == 3
    with pytest.raises(ProviderConfigError, match="caption corpus not found"):
        LocalProvider(tmp_path / "missing.csv")
