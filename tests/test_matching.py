"""Which captions a query matches in the local provider: compounds and agent nouns learned from the
corpus, relaxed matching for queries with few captions, per-action aliases and queries too generic
for the corpus (hand-written SYNTHETIC stock-footage captions)."""
from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pyarrow.csv as pcsv
import pytest

from actionhub.cli import main
from actionhub.dataset.aliases import AliasError, read_aliases, resolve_aliases
from actionhub.dataset.collect import collect
from actionhub.dataset.collect.generic import generic_queries
from actionhub.dataset.collect.local import BM25Index, LocalProvider
from actionhub.dataset.collect.variants import derived_forms
from actionhub.dataset.store import Store
from actionhub.utils.parallel import InProcessBackend

CAPTIONS = [  # SYNTHETIC captions
    "Woman swims breaststroke in the pool",
    "Young man doing pushups on a mat",
    "Girl doing push-ups at home",
    "Teenager skateboarding in the park",
    "Man riding a jet ski on the lake",
    "Tourist on a jetski at sea",
    "The pitcher throws a fastball",
    "A vaulter clears the bar",
    "The long jumper lands in the sand",
    "A skydiver jumps out of the plane",
    "Man taking a shower",
    "Athlete throws the shotput",
    "A cellist plays on stage",
    "A fencer lunges at his opponent",
    "The gymnast tumbles on the floor",
]


def matched(idx: BM25Index, query: str, match: str = "all") -> list[str]:
    return [CAPTIONS[i] for i in idx.candidates(query, match)[0]]


@pytest.fixture(scope="module")
def index():
    return BM25Index.build(CAPTIONS)


def test_compounds_match_both_ways(index):
    assert matched(index, "breast stroke") == ["Woman swims breaststroke in the pool"]
    assert matched(index, "push up") == ["Young man doing pushups on a mat", "Girl doing push-ups at home"]
    assert matched(index, "skate board") == ["Teenager skateboarding in the park"]
    # a query word that is two corpus words: "skijet" finds "jet ski" and "jetski"
    assert matched(index, "skijet") == ["Man riding a jet ski on the lake", "Tourist on a jetski at sea"]
    assert matched(index, "shot put") == ["Athlete throws the shotput"]
    assert matched(index, "sky dive") == ["A skydiver jumps out of the plane"]  # joined, through its agent noun


def test_agent_and_derived_nouns_count_but_not_verbs_in_their_own_right(index):
    assert matched(index, "pitch") == ["The pitcher throws a fastball"]
    assert matched(index, "pole vault") == []  # "pole" is not there
    assert matched(index, "vault") == ["A vaulter clears the bar"]
    assert matched(index, "long jump") == ["The long jumper lands in the sand"]
    assert matched(index, "play cello") == ["A cellist plays on stage"]
    assert matched(index, "fencing") == ["A fencer lunges at his opponent"]
    assert matched(index, "floor gymnastics") == ["The gymnast tumbles on the floor"]
    assert matched(index, "show") == []  # "shower" is a verb itself, not "show" + "-er"
    forms = derived_forms(["pitcher", "shower", "hammer", "swimmer", "bowler", "cricketer", "banana"])
    assert forms["pitch"] == ["pitcher"] and forms["swim"] == ["swimmer"] and forms["bowling"] == ["bowler"]
    assert forms["cricket"] == ["cricketer"] and "show" not in forms and "ham" not in forms


def _corpus(path, rows):
    pcsv.write_csv(pa.table({"videoid": [f"v{i}" for i in range(len(rows))], "name": rows}), path)
    return path


def test_most_relaxes_a_query_with_few_matches_and_records_it(tmp_path):
    corpus = _corpus(tmp_path / "c.csv", ["Tennis player hits a forehand", "Man swings a tennis racket",
                                          "Tennis ball on the court", "Girl on a playground swing"])
    strict = LocalProvider(corpus, match="all", cache_dir=tmp_path)
    assert [h.description for h in strict.search("tennis swing", None, None, None).hits] == [
        "Man swings a tennis racket"]
    s = collect(["tennis swing"], LocalProvider(corpus, cache_dir=tmp_path), tmp_path / "store")
    hits = Store(tmp_path / "store").descriptions("TennisSwing")
    assert hits.column("description").to_pylist()[0] == "Man swings a tennis racket"  # its own match first
    assert set(hits.column("description").to_pylist()[1:]) == {
        "Tennis player hits a forehand", "Tennis ball on the court", "Girl on a playground swing"}
    rec = Store(tmp_path / "store").meta()["collections"]["local"]
    assert rec["match"] == "most" and rec["relaxed"] == {"tennis swing": 1} and s["added"] == 4


VARIANT_QUERIES = ["breast stroke", "push up", "skate board", "skijet", "shot put", "sky dive", "pitch", "long jump",
                   "play cello", "fencing", "floor gymnastics", "throw", "man jump", "show"]


def test_the_out_of_core_index_over_shards_matches_variants_as_the_in_memory_one_does(tmp_path, index):
    (tmp_path / "c").mkdir()
    for i in range(3):  # three shards, so the variants of a query sit in different segments
        _corpus(tmp_path / "c" / f"part-{i}.csv", CAPTIONS[5 * i:5 * i + 5])
    disk = LocalProvider(tmp_path / "c", cache_dir=tmp_path).index
    assert disk.num_docs == len(CAPTIONS)
    for q in VARIANT_QUERIES:
        for mode in ("all", "any"):
            got, want = disk.candidates(q, mode), index.candidates(q, mode)
            assert got[0].tolist() == want[0].tolist(), (q, mode)
            np.testing.assert_allclose(got[1], want[1], rtol=1e-6)
        # the same plan, sent to the segments as work items (the cluster path), gives the same ranking
        answer = disk.search_many([(q, 20)], "all", InProcessBackend())[q]
        assert answer["docs"].tolist() == index.search(q, 20, match="all")[0].tolist(), q
        assert answer["count"] == index.candidates(q, "all")[0].size


class _PretendCluster(InProcessBackend):
    """Work items run here, but the provider takes it for a cluster (its batched query path)."""

    name = "pretend-cluster"


def test_a_cluster_collects_what_this_process_collects_with_relaxing_aliases_and_generic_fixes(tmp_path):
    rows = ["Tennis player hits a forehand", "Man swings a tennis racket", "Tennis ball on the court",
            "Girl on a playground swing", "Pitcher throws a curveball", "Woman closing the door"]
    rows += [f"Close-up of a {w} on a table" for w in ("cup", "phone", "book", "key", "pen", "plate")] * 5
    corpus = _corpus(tmp_path / "c.csv", rows)
    queries = ["tennis swing", "baseball pitch", "close", "tennis", "forehand"]
    aliases = {"baseball pitch": ["pitcher throws"]}
    stores = {}
    for name, backend in (("here", "inprocess"), ("cluster", _PretendCluster())):
        p = LocalProvider(corpus, cache_dir=tmp_path, aliases=aliases, backend=backend)
        assert p.on_cluster == (name == "cluster")
        collect(queries, p, tmp_path / name)
        stores[name] = Store(tmp_path / name)
    here, there = (stores[n].read(["action", "video_id", "description", "rank"]) for n in ("here", "cluster"))
    assert there.to_pylist() == here.to_pylist()
    assert stores["cluster"].meta()["collections"]["local"]["relaxed"] == {"tennis swing": 1}
    assert stores["here"].counts() == {"tennis swing": 4, "baseball pitch": 1, "close": 1, "tennis": 3, "forehand": 1}


def test_aliases_add_captions_under_the_action(tmp_path):
    corpus = _corpus(tmp_path / "c.csv", ["Pitcher throws a curveball", "Baseball bat on the grass",
                                          "Batter hits a home run in the baseball game"])
    (tmp_path / "aliases.txt").write_text("# extra queries\nBaseballPitch: pitcher throws | curveball\n")
    aliases = read_aliases(tmp_path / "aliases.txt")
    assert aliases == {"BaseballPitch": ["pitcher throws", "curveball"]}
    assert resolve_aliases(aliases,
                           ["baseball pitch", "ride horse"]) == {"baseball pitch": ["pitcher throws", "curveball"]}
    with pytest.raises(AliasError, match="match none of the 1 queries: 'BaseballPitch'"):
        resolve_aliases(aliases, ["ride horse"])
    (tmp_path / "a.json").write_text(json.dumps({"BaseballPitch": "pitcher throws"}))
    assert read_aliases(tmp_path / "a.json") == {"BaseballPitch": ["pitcher throws"]}
    args = ["collect", "--provider", "local", "--corpus", str(corpus), "--queries", str(tmp_path / "q.txt"),
            "--out", str(tmp_path / "s"), "--aliases", str(tmp_path / "aliases.txt"), "--match", "all", "--no-progress"]
    (tmp_path / "q.txt").write_text("baseball pitch\n")
    assert main(args) == 0
    st = Store(tmp_path / "s")
    assert st.counts() == {"baseball pitch": 1}  # "Pitcher throws a curveball": only through its aliases
    assert st.meta()["collections"]["local"]["aliases"] == {"baseball pitch": ["pitcher throws", "curveball"]}


def test_generic_queries_are_flagged_and_fixed(tmp_path, capsys):
    rows = [f"Close-up of a {w} on a table" for w in ("cup", "phone", "book", "key", "pen", "plate")] * 5
    rows += [f"Empty {w} at sunset" for w in ("road", "street", "beach", "room", "stadium")] * 5
    rows += ["Woman closing the door", "Man empties a bucket", "Ride a horse on the beach"]
    corpus = _corpus(tmp_path / "c.csv", rows)
    p = LocalProvider(corpus, cache_dir=tmp_path)
    flagged = {g.query: g for g in generic_queries(["close", "empty", "ride horse"], p.index)}
    assert set(flagged) == {"close", "empty"}
    assert flagged["close"].reason == "phrase" and flagged["close"].phrase == "close up"
    assert flagged["empty"].reason == "adjective" and "emptying" in flagged["empty"].fix
    collect(["close", "empty", "ride horse"], p, tmp_path / "s")
    got = {a: v.to_pylist() for a, v in Store(tmp_path / "s").action_videos("local").items()}
    assert len(got["close"]) == 1 and len(got["empty"]) == 1 and len(got["ride horse"]) == 1  # verb forms only
    rec = Store(tmp_path / "s").meta()["collections"]["local"]["generic"]
    assert rec["mode"] == "fix" and {g["query"] for g in rec["queries"]} == {"close", "empty"}
    assert main(["vocab", "check", "--corpus", str(corpus), "--index-cache", str(tmp_path), "--datasets",
                 "moments_in_time339"]) == 0
    out = capsys.readouterr().out
    assert "'close': in 31 captions, 97 % of its uses are 'close up'" in out and "'empty'" in out


def test_a_word_of_a_longer_query_in_a_fixed_camera_phrase_does_not_match_there(tmp_path, capsys):
    from actionhub.dataset.collect.generic import phrase_words

    scenery = ("beach at sunset", "city traffic", "forest in fog", "mountain lake", "waves on rocks")
    rows = [f"{s.capitalize()}, shot on RED" for s in scenery] * 12  # 60 captions of camera boilerplate
    rows += ["Cricket insect on a leaf, shot on RED", "Batsman plays a cricket shot in the stadium",
             "Athlete throws the shot put, shot on RED", "Kids jumping on trampoline", "Girl jumps on trampoline"]
    rows += [f"Boy {v} on trampoline" for v in ("bounces", "jumps", "flips", "plays")] * 15
    corpus = _corpus(tmp_path / "c.csv", rows)
    p = LocalProvider(corpus, cache_dir=tmp_path, match="all")
    found = phrase_words(["cricket shot", "shot put", "trampoline jump"], p.index)
    assert {q: [pw.phrase for pw in pws] for q, pws in found.items()} == {
        "cricket shot": ["shot on"], "shot put": ["shot on"]}  # "on trampoline": how the action is written
    collect(["cricket shot", "shot put", "trampoline jump"], p, tmp_path / "s")
    st = Store(tmp_path / "s")
    assert st.descriptions("cricket shot").column("description").to_pylist() == [
        "Batsman plays a cricket shot in the stadium"]  # not the insect: its "shot" is only "shot on RED"
    assert "Athlete throws the shot put, shot on RED" in st.descriptions("shot put").column("description").to_pylist()
    rec = st.meta()["collections"]["local"]["generic"]
    assert {pw["query"] for pw in rec["phrase_words"]} == {"cricket shot", "shot put"}
    # with --match most the insect is a relaxed match (it holds "cricket"), after the query's own
    collect(["cricket shot"], LocalProvider(corpus, cache_dir=tmp_path), tmp_path / "m")
    got = Store(tmp_path / "m").descriptions("cricket shot").column("description").to_pylist()
    assert got[0] == "Batsman plays a cricket shot in the stadium" and "Cricket insect on a leaf, shot on RED" in got
    assert not any(sc in r.lower() for sc in scenery for r in got)  # a camera "shot" is no half-match
    assert main(["vocab", "check", "--corpus", str(corpus), "--index-cache", str(tmp_path), "--benchmark",
                 "ucf101"]) == 0
    assert "'cricket shot': 97 % of the uses of 'shot' (63 captions) are 'shot on'" in capsys.readouterr().out
    assert main(["vocab", "check", "--corpus", str(corpus), "--index-cache", str(tmp_path), "--benchmark",
                 "ucf101", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {r["reason"] for r in rows} == {"phrase word"} and {r["query"] for r in rows} >= {"cricket shot", "shot put"}
    # an article is grammar, never half of a fixed phrase, however often "the beach" is written
    beach = _corpus(tmp_path / "b.csv", [f"Sunset on the beach, view {i}" for i in range(60)]
                    + ["Kids play soccer on the beach"])
    assert phrase_words(["beach soccer"], LocalProvider(beach, cache_dir=tmp_path).index) == {}
    # on a cluster the queries with a fixed-phrase word are answered here: the same store
    collect(["cricket shot", "shot put"], LocalProvider(corpus, cache_dir=tmp_path, backend=_PretendCluster()),
            tmp_path / "c")
    collect(["cricket shot", "shot put"], LocalProvider(corpus, cache_dir=tmp_path), tmp_path / "h")
    cols = ["action", "video_id", "rank"]
    assert Store(tmp_path / "c").read(cols).to_pylist() == Store(tmp_path / "h").read(cols).to_pylist()


def test_a_most_run_searches_each_query_once(tmp_path, monkeypatch):
    from actionhub.dataset.collect import local

    corpus = _corpus(tmp_path / "c.csv", CAPTIONS)
    p = LocalProvider(corpus, cache_dir=tmp_path)
    calls: list[str] = []
    search = p.index.candidates
    p.index.candidates = lambda q, match="all": calls.append(q) or search(q, match)
    queries = ["push up", "long jump", "breast stroke"]
    collect(queries, p, tmp_path / "s")
    assert sorted(q for q in calls if q in queries) == sorted(queries)  # prepare() found them; the run reused them
    monkeypatch.setattr(local, "PREPARED_BYTES", 0)  # nothing kept: every query searched again, same rows
    collect(queries, LocalProvider(corpus, cache_dir=tmp_path), tmp_path / "again")
    cols = ["action", "video_id", "rank"]
    assert Store(tmp_path / "s").read(cols).to_pylist() == Store(tmp_path / "again").read(cols).to_pylist()
