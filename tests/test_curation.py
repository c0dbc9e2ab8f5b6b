"""Curation marks beside a store (STORE/curation.jsonl): append-only with who/when, undo, refusals, and the
verbs that honour them (rank, stats, export, text-features) with --ignore-curation keeping everything."""
from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest

from actionhub.cli import main
from actionhub.dataset.curation import (
    CurationError,
    curation_path,
    load_curation,
    mark_action,
    mark_descriptions,
    read_records,
    undo,
)
from actionhub.dataset.store import Store


def make_store(path):
    """play guitar (6), strum guitar (sharing g0, g1), ride horse (3): small, hand-written, shared videos."""
    st = Store(path, create=True, note="SYNTHETIC: curation test")
    rows = [{"action": "play guitar", "provider": "local", "video_id": f"g{i}",
             "description": f"a man playing an acoustic guitar, take {i}"} for i in range(5)]
    rows.append({"action": "play guitar", "provider": "local", "video_id": "junk",
                 "description": "stock footage loop background 4k"})
    rows += [{"action": "strum guitar", "provider": "local", "video_id": f"g{i}", "description": "x"} for i in (0, 1)]
    rows += [{"action": "ride horse", "provider": "local", "video_id": f"h{i}",
              "description": f"a girl riding a horse in a field, {i}"} for i in range(3)]
    with st.lock():
        st.add(rows)
    return st


@pytest.fixture()
def store(tmp_path):
    return make_store(tmp_path / "store")


def test_marks_are_appended_with_who_and_when_and_undone_by_another_line(store):
    m = mark_descriptions(store, "play guitar", [("local", "junk")], reason="not a guitar", by="ana")[0]
    a = mark_action(store, "ride horse", by="ben")
    before = curation_path(store).read_bytes()
    assert [x["id"] for x in load_curation(store).marks] == [m["id"], a["id"]]
    assert m["by"] == "ana" and m["at"].endswith("Z") and m["reason"] == "not a guitar"
    undo(store, [a["id"]], by="ana")
    after = curation_path(store).read_bytes()
    assert after.startswith(before)                 # append-only: nothing rewritten
    assert [x["op"] for x in read_records(store)] == ["mark", "mark", "undo"]
    assert [x["id"] for x in load_curation(store).marks] == [m["id"]]
    assert load_curation(store).unusable == []
    # the store's own files are untouched by any of it
    assert not any("curation" in p.name for p in store.parts())


def test_marks_naming_nothing_are_refused(store):
    with pytest.raises(CurationError, match="no action 'nope'"):
        mark_action(store, "nope")
    with pytest.raises(CurationError, match="local:h0: not a description of 'play guitar'"):
        mark_descriptions(store, "play guitar", [("local", "h0")])
    with pytest.raises(CurationError, match="no active mark"):
        undo(store, ["m-000000000000"])
    assert not curation_path(store).exists()


def test_a_malformed_curation_file_is_refused_with_its_line(store, capsys):
    mark_action(store, "ride horse")
    with open(curation_path(store), "a", encoding="utf-8") as fh:
        fh.write('{"op": "mark"}\n')
    with pytest.raises(CurationError, match=r"curation.jsonl:2: no 'id' string"):
        load_curation(store)
    assert main(["rank", str(store.path), "--out", str(store.path.parent / "t.parquet"), "--no-progress"]) == 2
    assert "curation.jsonl:2" in capsys.readouterr().err
    with pytest.raises(CurationError):   # and nothing is appended after a line that cannot be read back
        mark_action(store, "play guitar")


@pytest.mark.slow
def test_rank_stats_and_export_honour_the_marks_and_ignore_curation_keeps_them(store, tmp_path, capsys):
    assert main(["curate", "mark", str(store.path), "--action", "play guitar", "--description", "local:junk",
                 "--by", "ana"]) == 0
    assert main(["curate", "mark", str(store.path), "--action", "ride horse"]) == 0
    # g0 bad for every action that lists it (play guitar and strum guitar)
    assert main(["curate", "mark", str(store.path), "--action", "play guitar", "--description", "local:g0",
                 "--every-action"]) == 0
    capsys.readouterr()

    assert main(["rank", str(store.path), "--out", str(tmp_path / "topk.parquet"), "--no-progress",
                 "--ranker", "glove"]) == 0
    assert "curation: left out 6 description listing(s)" in capsys.readouterr().out
    t = pq.read_table(tmp_path / "topk.parquet")
    kept = set(zip(t.column("action").to_pylist(), t.column("video_id").to_pylist(), strict=True))
    assert ("play guitar", "junk") not in kept and ("play guitar", "g0") not in kept
    assert ("strum guitar", "g0") not in kept and ("strum guitar", "g1") in kept
    assert "ride horse" not in set(t.column("action").to_pylist())
    assert main(["rank", str(store.path), "--out", str(tmp_path / "all.parquet"), "--no-progress", "--ranker", "glove",
                 "--ignore-curation"]) == 0
    assert pq.read_table(tmp_path / "all.parquet").num_rows == 11
    capsys.readouterr()

    assert main(["stats", str(store.path), "--json"]) == 0
    s = json.loads(capsys.readouterr().out)
    assert s["descriptions_per_action"] == {"play guitar": 4, "strum guitar": 1}
    assert s["curation"]["dropped_hits"] == 6
    assert main(["stats", str(store.path), "--json", "--ignore-curation"]) == 0
    assert json.loads(capsys.readouterr().out)["descriptions_per_action"]["ride horse"] == 3

    assert main(["export", str(store.path), "--out", str(tmp_path / "hf"), "--no-progress"]) == 0
    hits = pq.read_table(tmp_path / "hf" / "hits")
    assert hits.num_rows == 5 and "ride horse" not in set(hits.column("action").to_pylist())
    desc = pq.read_table(tmp_path / "hf" / "descriptions")
    assert "junk" not in set(desc.column("video_id").to_pylist())          # listed by nobody any more
    assert json.loads((tmp_path / "hf" / "actionhub.json").read_text())["curation"]["marks"] == 3

    # undo: the next rank has them again
    ids = [m["id"] for m in load_curation(store).marks]
    assert main(["curate", "undo", str(store.path), *ids]) == 0
    assert main(["rank", str(store.path), "--out", str(tmp_path / "again.parquet"), "--no-progress",
                 "--ranker", "glove"]) == 0
    assert pq.read_table(tmp_path / "again.parquet").num_rows == 11


def test_marks_made_after_ranking_are_honoured_by_text_features(store, tmp_path, monkeypatch):
    import numpy as np

    from actionhub.text import build as build_mod

    assert main(["rank", str(store.path), "--out", str(tmp_path / "topk.parquet"), "--no-progress",
                 "--ranker", "glove"]) == 0
    mark_descriptions(store, "play guitar", [("local", "junk"), ("local", "g3")])
    encoded: list[str] = []

    def fake_encode(texts, *args, **kwargs):   # records what would be encoded; no model needed
        encoded.extend(texts)
        return np.full((len(texts), 3), 3 ** -0.5, np.float32)

    monkeypatch.setattr(build_mod, "encode_texts", fake_encode)
    args = (["play guitar"], {"play guitar": "playing a guitar"}, str(tmp_path / "topk.parquet"), "minilm")
    ct = build_mod.build_class_text(*args, k=10, cache=False, progress=False)
    assert ct.meta["curation"]["dropped_hits"] == 2 and ct.meta["num_descriptions"] == 4
    assert not any("stock footage" in t or "take 3" in t for t in encoded)
    encoded.clear()
    ct = build_mod.build_class_text(*args, k=10, cache=False, progress=False, curation=False)
    assert ct.meta["num_descriptions"] == 6 and any("stock footage" in t for t in encoded)
