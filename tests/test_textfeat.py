"""Tests for actionhub.text.build and `actionhub text-features`."""
from __future__ import annotations

import hashlib
import json
import logging
import os
import sys
import types

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # nothing may be downloaded by these tests

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from actionhub import text as T
from actionhub.cli import main
from actionhub.demo.class_text import demo_class_text
from actionhub.text import encode as text_encode
from actionhub.text.build import (
    TextFeatError,
    build_class_text,
    definition_texts,
    description_quality,
    format_quality,
    match_classes,
)
from actionhub.text.class_text import load_class_text


class HashEncoder(T.TextEncoder):
    """Deterministic 6-d features from the SHA-1 of the text, so every row can be checked."""

    def __init__(self, arg: str) -> None:
        self.spec, self.id, self.dim, self.normalized = f"tfhash:{arg}", f"tfhash:{arg}", 6, False
        self.seen: list[str] = []

    def encode(self, texts, batch_size=64):
        self.seen += list(texts)
        return np.stack([feat(t) for t in texts]) if texts else np.zeros((0, 6), np.float32)


def feat(t: str) -> np.ndarray:
    return np.frombuffer(hashlib.sha1(t.encode()).digest()[:6], np.uint8).astype(np.float32)


T.register_encoder("tfhash", HashEncoder, help="test encoder")


def topk(rows):
    """A ranked table as `actionhub rank` writes it: (action, rank, score, video_id, description)."""
    return pa.table({
        "action": [r[0] for r in rows], "rank": pa.array([r[1] for r in rows], pa.int32()),
        "score": pa.array([r[2] for r in rows], pa.float32()), "provider": ["p"] * len(rows),
        "video_id": [r[3] for r in rows], "description": [r[4] for r in rows],
    })


def test_definition_texts():
    defs = {"ApplyEyeMakeup": "put on eye makeup", "abseiling": "abseiling"}
    assert definition_texts(list(defs), defs) == ["apply eye makeup: put on eye makeup", "abseiling"]
    assert definition_texts(["ApplyEyeMakeup"], defs, "{definition} ({name})") == [
        "put on eye makeup (apply eye makeup)"]
    # names alone need no definition (ER's GCN node inputs); a template with neither field is refused
    assert definition_texts(["ApplyEyeMakeup", "no definition here"], defs, "{name}") == [
        "apply eye makeup", "no definition here"]
    assert definition_texts(["ApplyEyeMakeup"], defs, "a video of {name}") == ["a video of apply eye makeup"]
    with pytest.raises(TextFeatError, match="must contain"):
        definition_texts(["abseiling"], defs, "a video")
    with pytest.raises(TextFeatError, match="no definition"):
        definition_texts(["x"], defs)


def test_match_rules_in_order():
    classes = ["ApplyEyeMakeup", "brush_hair", "riding horse", "passing American football (in game)",
               "passing American football (not in game)", "Nothing"]
    actions = ["apply eye makeup", "Brush-Hair", "ride horse", "pass american football game",
               "pass american football not game", "riding horse"]
    found, counts = match_classes(classes, actions)
    assert found["ApplyEyeMakeup"] == ["apply eye makeup"]
    assert found["brush_hair"] == ["Brush-Hair"]
    assert found["riding horse"] == ["riding horse"]  # the exact rule wins over the lemma rule
    assert "Nothing" not in found
    if counts["normalize_action"]:  # actionhub.dataset.vocab present: the parentheticals keep classes apart
        assert found["passing American football (in game)"] == ["pass american football game"]
        assert found["passing American football (not in game)"] == ["pass american football not game"]
    assert counts["exact"] == 2 and counts["name"] == 1


def test_match_uses_normalize_action_and_survives_without_vocab(monkeypatch):
    fake = types.ModuleType("actionhub.dataset.vocab")
    fake.normalize_action = lambda s: " ".join(w.removesuffix("ing") for w in s.lower().split())
    monkeypatch.setitem(sys.modules, "actionhub.dataset.vocab", fake)  # no build_vocabulary: normalize_action alone
    found, counts = match_classes(["riding horse", "Surf"], ["rid horse", "surf"])
    assert found == {"riding horse": ["rid horse"], "Surf": ["surf"]} and counts["normalize_action"] == 1
    monkeypatch.setitem(sys.modules, "actionhub.dataset.vocab", None)  # helper module missing: names only
    found, counts = match_classes(["riding horse", "Surf"], ["rid horse", "surf"])
    assert found == {"Surf": ["surf"]} and counts["normalize_action"] == 0


def test_build_class_text_rows_order_merge_and_fallback(tmp_path, caplog):
    classes = ["ApplyEyeMakeup", "brush_hair", "Surfing"]
    defs = {"ApplyEyeMakeup": "put on makeup", "brush_hair": "brush it", "Surfing": "ride waves"}
    table = topk([
        ("apply eye makeup", 2, 0.1, "a2", "third"),
        ("apply eye makeup", 0, 0.9, "a0", "first"),
        ("apply eye makeup", 1, 0.5, "a1", "second"),
        ("Brush-Hair", 0, 0.8, "b0", "brush top"),   # two actions with the same name key: merged by score
        ("brush hair.", 0, 0.9, "c0", "brush best"),
        ("brush hair.", 1, 0.7, "b0", "brush top"),   # the same video again: dropped
        ("brush hair.", 2, 0.1, "c2", "  "),          # blank description: ignored
    ])
    with caplog.at_level(logging.WARNING):
        ct = build_class_text(classes, defs, table, "tfhash:a", k=2, cache=tmp_path)
    assert "1 without any (AD only): Surfing" in caplog.text
    assert ct.classes == classes and ct.num_descriptions().tolist() == [2, 2, 0]
    expect_desc = ["first", "second", "brush best", "brush top"]
    np.testing.assert_array_equal(ct.desc, np.stack([feat(t) for t in expect_desc]))
    np.testing.assert_array_equal(ct.ad[2], feat("surfing: ride waves"))
    vc, missing = ct.vc(2)
    assert missing == ["Surfing"]
    np.testing.assert_array_equal(vc[0], (feat("first") + feat("second")) / 2)
    m = ct.meta
    assert m["k"] == 2 and m["fallback"] == ["Surfing"] and m["definition_template"] == "{name}: {definition}"
    assert m["matched"] == {"exact": 1, "name": 1, "normalize_action": 0} and m["encoder"] == "tfhash:a"
    assert m["matches"] == {"brush_hair": ["Brush-Hair", "brush hair."]}


def test_description_quality_flags_few_missing_and_low_relevance():
    """Counts and a few examples, not every name; low relevance is a low outlier among the classes."""
    classes = [f"c{i}" for i in range(8)]
    rows, data = [], []
    for i, c in enumerate(classes):
        n = {0: 0, 1: 1}.get(i, 3)  # c0: none, c1: one
        score = 0.1 if c == "c7" else 0.8 + 0.01 * i  # c7: far below the others
        rows.append(np.arange(len(data), len(data) + n))
        data += [(c, r, score, f"{c}-{r}", f"text {c} {r}") for r in range(n)]
    q = description_quality(classes, rows, topk(data), minimum=2, show=1)
    assert q["without"] == {"count": 1, "examples": ["c0"]}
    assert q["few"] == {"count": 1, "examples": [["c1", 1]]}
    assert q["low_relevance"]["count"] == 1 and q["low_relevance"]["examples"] == [["c7", 0.1]]
    line = format_quality(q)
    assert "1 without any (AD only): c0" in line and "fewer than 2: c1 (1)" in line and "c7 (0.1)" in line
    assert format_quality(description_quality(classes[2:7], rows[2:7], topk(data), minimum=2)) == \
        "every class has enough descriptions of ordinary relevance"


def test_build_class_text_errors():
    with pytest.raises(TextFeatError, match="lacks column"):
        build_class_text(["a"], {"a": "x"}, pa.table({"action": ["a"]}), "tfhash:a", cache=False)
    with pytest.raises(TextFeatError, match="descriptions file not found"):
        build_class_text(["a"], {"a": "x"}, "/no/such/topk.parquet", "tfhash:a", cache=False)
    with pytest.raises(TextFeatError, match="k must be"):
        build_class_text(["a"], {"a": "x"}, None, "tfhash:a", k=0, cache=False)


@pytest.fixture(scope="module")
def hmdb_topk(tmp_path_factory):
    d = tmp_path_factory.mktemp("tf")
    path = d / "topk.parquet"
    pq.write_table(topk([
        ("brush hair", 0, 0.9, "v1", "A woman brushes her long hair in front of a mirror"),
        ("brush hair", 1, 0.8, "v2", "Girl combing and brushing hair"),
        ("brush hair", 2, 0.7, "v3", "Hairdresser brushing a client's hair"),
        ("cartwheel", 0, 0.9, "v4", "Child doing a cartwheel on the grass"),
        ("unrelated thing", 0, 0.9, "v5", "Stock market chart"),
    ]), path)
    return path


@pytest.mark.slow
def test_text_features_cli_minilm_and_cache(hmdb_topk, tmp_path, capsys, monkeypatch):
    out, cache = tmp_path / "tf.npz", tmp_path / "cache"
    args = ["text-features", "--benchmark", "hmdb51", "--descriptions", str(hmdb_topk), "--k", "2",
            "--encoder", "minilm", "--cache", str(cache), "--out", str(out), "--no-progress"]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "hmdb51: 51 classes, 384-d features from minilm" in printed
    assert "descriptions for 2 classes" in printed and "49 without any (AD only)" in printed
    assert "and 44 more" in printed and printed.count("climb") <= 2  # a summary, not a 49-name list
    ct = load_class_text(out)
    assert ct.ad.shape == (51, 384) and ct.desc.shape == (3, 384)
    assert ct.num_descriptions()[ct.classes.index("brush_hair")] == 2
    assert ct.meta["benchmark"] == "hmdb51" and ct.meta["normalized"] is True
    assert ct.meta["descriptions"] == str(hmdb_topk) and len(ct.meta["fallback"]) == 49
    ad, vc, fallback = ct.select(["brush_hair", "cartwheel", "chew"], 100)
    assert fallback == ["chew"] and not np.allclose(ad[0], vc[0])

    # Rerun into .parquet: every text is cached, so the model must not even be loaded.
    def no_model(spec):
        raise AssertionError(f"model {spec} loaded although every text is cached")
    monkeypatch.setattr(text_encode, "get_encoder", no_model)
    out2 = tmp_path / "tf.parquet"
    assert main(args[:-3] + ["--out", str(out2), "--no-progress"]) == 0
    again = load_class_text(out2)
    np.testing.assert_allclose(again.ad, ct.ad, atol=1e-6)
    np.testing.assert_allclose(again.desc, ct.desc, atol=1e-6)


@pytest.mark.parametrize(("extra", "message"), [
    (["--encoder", "clip"], "unknown text encoder 'clip'"),
    (["--descriptions", "/no/such/topk.parquet"], "descriptions file not found"),
    (["--benchmark", "kinetics-9000"], "unknown benchmark"),
    (["--k", "0"], "argument --k: must be an integer >= 1"),
])
def test_text_features_cli_errors(tmp_path, capsys, extra, message):
    args = ["text-features", "--benchmark", "hmdb51", "--out", str(tmp_path / "x.npz"), "--no-progress",
            "--cache", str(tmp_path / "c"), *extra]
    try:
        code = main(args)
    except SystemExit as e:  # argparse refuses numbers out of range before any work
        code = e.code
    assert code == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "x.npz").exists()


def test_text_features_json_and_ad_only(tmp_path, capsys):
    args = ["text-features", "--benchmark", "hmdb51", "--encoder", "tfhash:j", "--cache", str(tmp_path / "c"),
            "--out", str(tmp_path / "x.parquet"), "--json", "--no-progress"]
    assert main(args) == 0
    meta = json.loads(capsys.readouterr().out)
    assert meta["descriptions"] is None and meta["num_with_descriptions"] == 0 and meta["dim"] == 6
    assert len(load_class_text(tmp_path / "x.parquet").classes) == 51


@pytest.mark.slow
def test_demo_class_text_ad_only(tmp_path):
    said: list[str] = []
    ct = demo_class_text("hmdb51", None, say=said.append, cache=tmp_path)
    assert said[0] == "no caption corpus configured: AD-only class text"
    assert "51 definitions encoded with MiniLM" in said[-1]
    assert ct.ad.shape == (51, 384) and len(ct.desc) == 0 and ct.meta["encoder"] == "minilm"


@pytest.mark.slow
def test_demo_class_text_with_a_caption_corpus(tmp_path):
    pytest.importorskip("actionhub.dataset.collect.local")
    corpus = tmp_path / "captions.csv"
    corpus.write_text("videoid,name\n"
                      "1,Woman brushing her long hair in front of a mirror\n"
                      "2,Girl brushes hair in the morning\n"
                      "3,Child doing a cartwheel on the grass in a park\n"
                      "4,Aerial view of a city at night\n"
                      "5,Man climbing a rock wall\n", encoding="utf-8")
    said: list[str] = []
    ct = demo_class_text("hmdb51", str(corpus), say=said.append, cache=tmp_path / "cache", k=5)
    per_class = dict(zip(ct.classes, ct.num_descriptions().tolist(), strict=True))
    assert per_class["brush_hair"] == 2 and per_class["cartwheel"] == 1 and per_class["chew"] == 0
    assert ct.meta["corpus"] == str(corpus)
    assert ct.meta["num_with_descriptions"] == sum(v > 0 for v in per_class.values())
    assert any("captions retrieved" in s for s in said) and "descriptions for" in said[-1]


def test_text_features_cli_on_dask_equals_in_process(hmdb_topk, tmp_path, capsys):
    distributed = pytest.importorskip("distributed")
    base = ["text-features", "--benchmark", "hmdb51", "--descriptions", str(hmdb_topk), "--encoder", "tfhash:d",
            "--no-cache", "--batch-size", "4", "--no-progress"]
    assert main(base + ["--out", str(tmp_path / "local.npz")]) == 0
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False, host="127.0.0.1",
                                  protocol="tcp", dashboard_address=None) as cluster:
        assert main(base + ["--out", str(tmp_path / "dask.npz"), "--backend", "dask",
                            "--scheduler", cluster.scheduler_address]) == 0
        assert "encode_chunk" in cluster.scheduler.task_prefixes
    local, remote = load_class_text(tmp_path / "local.npz"), load_class_text(tmp_path / "dask.npz")
    np.testing.assert_array_equal(local.ad, remote.ad)
    np.testing.assert_array_equal(local.desc, remote.desc)
    assert main(base + ["--out", str(tmp_path / "x.npz"), "--backend", "dask"]) == 2
    assert "--scheduler" in capsys.readouterr().err
