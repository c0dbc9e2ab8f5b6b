"""`actionhub rank` beyond the paper's ranking: sibling queries kept apart, the relevance cut-off, the
MiniLM rankers' agent signal, the quality report of `stats`, and one action's descriptions by a class
name (hand-written SYNTHETIC captions; the MiniLM encoder is the offline one)."""
from __future__ import annotations

import json

import numpy as np
import pyarrow.parquet as pq
import pytest
from conftest import offline_env

from actionhub.cli import main
from actionhub.dataset.quality import action_quality
from actionhub.dataset.siblings import overlaps, query_words
from actionhub.dataset.store import Store, StoreError
from actionhub.text.ranking import (
    lexical_matches,
    near_duplicates,
    object_only,
    rank_descriptions,
    sibling_rows,
    unclaim_last,
)

ROWS = [  # (action, video, description)
    ("push up", "p1", "Man doing push ups on the floor"),
    ("push up", "p2", "Woman doing push ups on a yoga mat"),
    ("push up", "w1", "Senior doing push ups against the wall"),
    ("wall pushup", "w1", "Senior doing push ups against the wall"),
    ("kayak", "k1", "Man paddling a kayak down the river"),
    ("kayak", "k2", "Kayak on the shore"),
    ("kayak", "k3", "Woman kayaking on a calm lake"),
    ("kayak", "k4", "Red kayaks stacked on the beach, no people"),
    ("drum", "d1", "Man playing the drums on stage"),
    ("play drum", "d1", "Man playing the drums on stage"),
]


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    yield from offline_env(tmp_path_factory.mktemp("ranking"))


@pytest.fixture()
def store(tmp_path):
    st = Store(tmp_path / "store", create=True, note="SYNTHETIC: test_ranking")
    with st.lock():
        st.add({"action": [r[0] for r in ROWS], "provider": ["local"] * len(ROWS), "video_id": [r[1] for r in ROWS],
                "description": [r[2] for r in ROWS]})
    return tmp_path / "store"


def kept(path) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for r in pq.read_table(path).to_pylist():
        out.setdefault(r["action"], []).append(r["video_id"])
    return out


def test_overlapping_queries_are_siblings_unless_a_light_verb_or_particle_makes_the_difference():
    queries = ["push up", "wall pushup", "handstand pushup", "ski", "skijet", "drum", "blow candle", "blow out candle"]
    queries += [f"play {x}" for x in ("drum", "guitar", "piano", "flute", "cello")]
    assert query_words("wall pushup", {"push", "up"}) == ["wall", "push", "up"]
    assert query_words("skijet") == ["ski", "jet"] and query_words("massage") == ["massage"]
    pairs = {(o.general, o.specific) for o in overlaps(queries)}
    assert {("push up", "wall pushup"), ("push up", "handstand pushup"), ("ski", "skijet")} <= pairs
    assert ("drum", "play drum") not in pairs  # "play" starts five queries: a way of saying "drum"
    assert ("blow candle", "blow out candle") not in pairs  # a particle


@pytest.mark.slow
def test_a_more_specific_querys_caption_is_kept_out_of_the_general_one(store, tmp_path, capsys):
    out = tmp_path / "topk.parquet"
    rep = rank_descriptions(store, out, ranker="glove", siblings="exclude", progress=False)
    assert kept(out)["push up"] == ["p1", "p2"] and kept(out)["wall pushup"] == ["w1"]
    assert rep.per_action["push up"]["siblings"] == 1 and {"general": "push up", "specific": "wall pushup",
                                                            "extra": ["wall"]} in rep.overlaps
    assert kept(out)["drum"] == ["d1"]  # "play drum" is not more specific
    rank_descriptions(store, out, ranker="glove", siblings="last", progress=False, overwrite=True)
    assert kept(out)["push up"][-1] == "w1"  # ranked after the action's own
    rank_descriptions(store, out, ranker="glove", progress=False, overwrite=True)  # the paper: nothing kept apart
    assert sorted(kept(out)["push up"]) == ["p1", "p2", "w1"]
    ex, last, _ = sibling_rows(["push up", "wall pushup"], np.array([0, 0, 1]), np.array([7, 8, 8]), "auto")
    assert ex.tolist() == [False, True, False] and not last.any()  # UCF101 names both: excluded


def test_a_number_cuts_below_it_and_the_report_says_what_was_cut(store, tmp_path):
    out = tmp_path / "topk.parquet"
    rep = rank_descriptions(store, out, ranker="glove", min_relevance=0.8, progress=False)
    scores = pq.read_table(out).column("score").to_pylist()
    assert scores and all(s >= 0.8 for s in scores)
    per = rep.per_action
    assert sum(r["cut"] for r in per.values()) == sum(r["candidates"] for r in per.values()) - len(scores) > 0
    meta = json.loads(pq.read_schema(out).metadata[b"actionhub"])
    assert meta["min_relevance"] == 0.8 and meta["per_action"]["kayak"]["rows"] == 4
    with pytest.raises(Exception, match="auto needs a MiniLM ranker"):
        rank_descriptions(store, out, ranker="glove", min_relevance="auto", progress=False, overwrite=True)


@pytest.mark.slow
def test_the_agent_ranker_puts_people_doing_it_first_and_cuts_objects_at_rest(env, store, tmp_path):
    out = tmp_path / "topk.parquet"
    rep = rank_descriptions(store, out, progress=False)  # the default: minilm-agent, auto cut-off, siblings auto
    assert rep.ranker == "minilm-agent" and rep.min_relevance == "auto"
    k = kept(out)
    assert set(k["kayak"]) <= {"k1", "k3"} and k["kayak"]  # "Kayak on the shore" and the stacked kayaks are cut
    assert rep.per_action["kayak"]["object_only"] >= 1 and rep.per_action["kayak"]["cut"] >= 2
    assert "w1" not in k["push up"]
    glove = rank_descriptions(store, tmp_path / "g.parquet", ranker="glove", progress=False)
    assert glove.ranker == "glove" and kept(tmp_path / "g.parquet")["kayak"][0] == "k2"  # the paper's: the object first


def test_quality_report_orders_actions_by_likely_noise(store, tmp_path, capsys):
    report = {"per_action": {
        "kayak": {"rows": 40, "candidates": 40, "cut": 30, "object_only": 28, "kept": 2, "mean": 0.2,
                  "kept_relaxed": 0},
        "surf": {"rows": 40, "candidates": 40, "cut": 4, "object_only": 0, "kept": 30, "mean": 0.9},
        "swing": {"rows": 30, "candidates": 20, "cut": 5, "object_only": 1, "siblings": 20, "kept": 10, "mean": 0.7},
        "rock climb": {"rows": 9, "candidates": 9, "cut": 6, "object_only": 0, "kept": 3, "mean": 0.5,
                       "kept_relaxed": 3}}}
    rows = action_quality(report)
    assert [r["action"] for r in rows][0] == "kayak" and rows[-1]["action"] == "surf"
    by = {r["action"]: r for r in rows}
    assert by["kayak"]["warnings"] == ["70 % object-only", "only 2 kept"] and by["surf"]["warnings"] == []
    assert "67 % shared with a more specific query" in by["swing"]["warnings"]
    assert "only relaxed matches kept" in by["rock climb"]["warnings"]
    out = tmp_path / "topk.parquet"
    rank_descriptions(store, out, ranker="glove", min_relevance=0.8, progress=False)
    assert main(["stats", str(store), "--ranked", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "actions to check, most likely noisy first" in printed or "stand out as noisy" in printed
    assert main(["stats", str(store), "--ranked", str(out), "--benchmark", "ucf101", "--min-descriptions", "1"]) == 0
    printed = capsys.readouterr().out
    assert "PushUps" in printed and "push up < wall pushup" in printed and "ucf101: 101 classes" in printed


def test_one_actions_descriptions_by_a_class_name(store, capsys):
    st = Store(store)
    t = st.descriptions("PushUps")  # UCF101's class name resolves through the vocabulary
    assert set(t.column("action").to_pylist()) == {"push up"} and t.num_rows == 3
    assert st.descriptions("Kayaking").column("video_id").to_pylist() == ["k1", "k2", "k3", "k4"]
    assert st.descriptions("wall pushup").num_rows == 1
    with pytest.raises(StoreError, match="no action 'kayaks stacked' .*the closest: kayak"):
        st.descriptions("kayaks stacked")
    import actionhub as ah
    assert ah.open_store(store).descriptions("Drumming").num_rows == 1
    assert main(["stats", str(store), "--action", "WallPushups"]) == 0
    printed = capsys.readouterr().out
    assert "action 'wall pushup' ('WallPushups' resolves to it through the vocabulary): 1 descriptions" in printed


def test_object_only_is_relative_to_the_actions_clearest_agent_signal():
    # action 0: a clear agent (0.40) makes 0.08 object-only (<= a quarter of it); action 1's best is 0.04,
    # so its 0.03 stays (a vague prompt's scale); a negative signal is object-only whatever the best
    agent = np.array([0.40, 0.08, 0.15, 0.04, 0.03, -0.01], np.float32)
    group = np.array([0, 0, 0, 1, 1, 1])
    assert object_only(agent, group).tolist() == [False, True, False, False, False, True]
    # a description another action claims does not set the bar
    claimed = np.array([True, False, False, False, False, False])
    assert object_only(agent, group, claimed=claimed).tolist() == [False, False, False, False, False, True]


def test_near_duplicates_keep_the_best_of_each_group_of_the_same_text():
    unit = np.array([[1, 0], [1, 0], [0.6, 0.8], [1, 0], [0.999, 0.0447]], np.float32)
    group = np.array([0, 0, 0, 1, 0])
    key = np.array([0.5, 0.9, 0.7, 0.3, np.nan])   # row 4 is already left out: never compared
    # action 0: row 1 (best) is kept, row 0 says the same (cosine 1), row 2 differs; action 1 alone
    assert near_duplicates(group, key, unit).tolist() == [True, False, False, False, False]


def test_claims_are_undone_for_an_action_that_would_lose_every_own_description():
    claimed_by = np.array([5, 5, -1, 7, 5])
    group = np.array([0, 0, 1, 1, 2])
    own = np.array([True, True, True, True, False])
    # action 0 would lose both of its own: undone; action 1 keeps one, so its claim stands; action 2's
    # only description is not its own (a relaxed match): the claim stands
    assert unclaim_last(claimed_by, group, own).tolist() == [-1, -1, -1, 7, 5]
    # with the agent signal, an action's things at rest do not count: action 1's row 2 is object-only
    # (0.01 <= a quarter of its best, 0.2), so its one description of someone doing it is all it has
    agent = np.array([0.3, 0.2, 0.01, 0.2, 0.1])
    assert unclaim_last(claimed_by, group, own, agent).tolist() == [-1, -1, -1, -1, 5]


def test_relaxed_matches_hold_all_but_one_word_of_the_query():
    from actionhub.dataset.collect.local import BM25Index

    idx = BM25Index.build(["man throws a curveball pitch", "man throws a curveball", "a pitch of grass", "a cat"])
    # all three words, and two of them; "pitch" alone is one word of three
    assert sorted(idx.relaxed("throw curveball pitch")[0].tolist()) == [0, 1]
    assert idx.relaxed("pitch")[0].size == 0   # one word: nothing to relax
    matches = lexical_matches(["Man throws the curveball"], ["throw curveball pitch", "cat"])
    assert set(matches.toarray()[0]) == {True, False}


def test_a_caption_goes_to_the_query_it_writes_as_one_phrase():
    from actionhub.text.adjacency import adjacent_claims, caption_lemmas, holds_as_phrase

    assert holds_as_phrase(caption_lemmas("Woman doing wall push-ups at home"), ["wall", "push", "up"])
    assert holds_as_phrase(caption_lemmas("Man does wall pushups"), ["wall", "push", "up"])  # a compound
    assert not holds_as_phrase(caption_lemmas("Man does pushups against the wall"), ["wall", "push", "up"])
    assert not holds_as_phrase(caption_lemmas("A girl jumps high on a trampoline"), ["high", "jump"])  # order
    names = ["wall pushup", "handstand pushup", "do nail", "hammer"]
    texts = ["Athlete doing handstand push ups against wall",   # of wall pushup, listed by handstand pushup
             "Athlete doing handstand push ups against wall",   # of handstand pushup, claimed by wall pushup
             "Man does pushups against the wall",               # of wall pushup, listed by nobody
             "Man hammering a nail"]                            # of do nail, listed by hammer (one word)
    group = np.array([0, 1, 0, 2])
    listed = [np.array([1]), np.array([0]), np.array([], np.int64), np.array([3])]
    semantic = np.array([-1, 0, -1, -1])
    assert adjacent_claims(texts, group, names, listed, semantic).tolist() == [1, -1, -1, -1]
    def may(a: int, b: int) -> bool:  # e.g. two ways of saying one action: no claim
        return (a, b) not in {(0, 1), (1, 0)}

    # the phrase rule leaves that pair alone: no claim by adjacency, and the encoder's claim stands
    assert adjacent_claims(texts, group, names, listed, semantic, may).tolist() == [-1, 0, -1, -1]


def test_a_relaxed_row_listed_by_one_other_query_knows_it():
    from actionhub.text.ranking import _listed_by, _subset_listers

    names = ["cricket", "cricket shot", "play cricket"]
    aids = np.array([0, 1, 2, 0])
    codes = np.array([7, 7, 7, 8])   # rows 0-2: one description, listed by three queries; row 3 another
    relaxed = np.array([False, True, True, False])
    # the relaxed row 1 is listed as its own by "cricket" alone (row 2 is relaxed too): it must say so
    assert [x.tolist() for x in _listed_by(np.array([1, 3]), aids, codes, ~relaxed)] == [[0], []]
    # "cricket" is made of fewer of "cricket shot"'s words: it may take the relaxed row; not "play cricket"'s
    assert _subset_listers(names, aids, codes, relaxed).tolist() == [-1, 0, 0, -1]


def test_the_encoder_reads_captions_without_the_corpus_fixed_phrases():
    from actionhub.text.ranking import _without_phrases

    got = _without_phrases(["Cricket insect on a leaf, shot on RED", "Close-up of man doing push ups",
                            "Athlete shot put throw", "Aerial upshot on the hill", "shot on"], ["shot on", "close up"])
    # whole words only ("upshot" stays), case and hyphens as written; a caption that is nothing else stays
    assert got == ["Cricket insect on a leaf, RED", "of man doing push ups", "Athlete shot put throw",
                   "Aerial upshot on the hill", "shot on"]
    assert _without_phrases(["a", "b"], []) == ["a", "b"]
