"""benchmarks/bench_bm25_libraries.py: its agreement measure, and that it runs with only our index
(an engine whose package is missing is skipped, saying so). Corpora here are SYNTHETIC."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_bm25_libraries.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_bm25_libraries", BENCH)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_agreement_jaccard_and_split(bench) -> None:
    ours = [np.array([1, 2, 3]), np.array([5, 6]), np.array([], np.int64)]
    theirs = [np.array([2, 3, 4]), np.array([6, 5]), np.array([], np.int64)]
    v = bench.agreement(ours, theirs, k=3, our_terms=[["a"], ["b"], ["c"]], their_terms=[["a"], ["b", "x"], ["c"]],
                        queries=["q1", "q2", "q3"])
    assert v["mean_jaccard"] == pytest.approx((0.5 + 1 + 1) / 3, abs=1e-4)
    assert v["identical_sets"] == 2  # order does not matter; two empty sets agree
    assert v["cut_at_k"] == {"queries": 1, "mean_jaccard": 0.5}  # q1 holds k results: cut
    assert v["complete"] == {"queries": 2, "mean_jaccard": 1.0}
    assert v["different_number_of_query_terms"]["queries"] == 1
    assert v["worst"][0]["query"] == "q1"


@pytest.mark.slow
def test_runs_with_our_index_only(bench, tmp_path, monkeypatch, capsys) -> None:
    corpus = tmp_path / "synthetic.csv"  # SYNTHETIC captions
    corpus.write_text('videoid,name\n0,a man riding horses on the beach\n1,horse grazing in a field\n'
                      '2,girl plays the guitar\n3,riding a bike\n4,guitar shop window\n')
    queries = tmp_path / "queries.csv"
    queries.write_text("query\nride horse\nplay guitar\n")
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name in ("bm25s", "tantivy") else real(name, *a))
    monkeypatch.setattr(sys, "argv", ["bench", "--corpus", str(corpus), "--queries", str(queries), "--k", "3",
                                      "--workdir", str(tmp_path / "w")])
    bench.main()
    out = capsys.readouterr().out
    assert "bm25s: not installed" in out and "tantivy: not installed" in out and "SYNTHETIC" in out
    res = json.loads((tmp_path / "w" / "bench_bm25_libraries_5.json").read_text())
    assert res["data"].startswith("SYNTHETIC") and set(res["engines"]) == {"actionhub"}
    returned = {r["match"]: r["returned"] for r in res["rows"]}
    assert returned == {"all": 2, "any": 3 + 2}  # all: captions 0 and 2; any: 0, 1, 3 and 2, 4
    assert all(r["vs_actionhub"]["mean_jaccard"] == 1.0 for r in res["rows"])
    assert res["engines"]["actionhub"]["peak_rss_gb"] > 0 and res["engines"]["actionhub"]["disk_bytes"] > 0
