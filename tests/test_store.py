"""The description store: schema, de-duplication, compaction, importer, statistics and their CLI.

Every store here holds SYNTHETIC, hand-made descriptions.
"""
import json

import pyarrow as pa
import pyarrow.dataset as ds
import pytest

from actionhub.cli import main
from actionhub.dataset.importer import import_released
from actionhub.dataset.stats import compute_stats, hist_edges
from actionhub.dataset.store import (
    COLUMNS,
    SCHEMA,
    Store,
    StoreError,
    append,
    count_sentences,
    read_store,
    synthetic_video_id,
)


def rows(action, provider, ids, text="A person {a}. Clip {i}."):
    return [{"action": action, "provider": provider, "video_id": str(i), "description": text.format(a=action, i=i)}
            for i in ids]


@pytest.mark.parametrize("text, n", [
    ("A man runs. He jumps", 2), ("Slow motion.", 1), ("Slow motion", 1), ("", 0), ("   ", 0),
    ("3.5 km run", 1), ("Wow!!! Great.", 2), ('He said "stop." Then left.', 2), ("Is it? Yes! No.", 3),
    ("Mr. Smith runs.", 2),  # documented limitation: abbreviations followed by a space count
])
def test_count_sentences(text, n):
    assert count_sentences([text]).to_pylist() == [n]


def test_count_sentences_null_and_type():
    out = count_sentences(pa.array(["a. b.", None], type=pa.string()))
    assert out.type == pa.int32() and out.to_pylist() == [2, 0]


def test_append_dedupes_by_provider_and_video_id(tmp_path):
    s = tmp_path / "store"
    assert append(s, rows("run", "p1", [1, 2, 3])) == 3
    assert append(s, rows("run", "p1", [2, 3, 4])) == 1          # 2, 3 already stored
    assert append(s, rows("jump", "p2", [1, 2])) == 2            # same ids, other provider
    batch = rows("walk", "p1", [5, 5, 6]) + [{"action": "walk", "provider": "p1", "video_id": "7", "description": "  "}]
    assert append(s, batch) == 2                                 # repeat within the batch, empty description
    t = read_store(s)
    assert t.schema.equals(SCHEMA) and tuple(t.column_names) == COLUMNS
    keys = list(zip(t.column("provider").to_pylist(), t.column("video_id").to_pylist(), strict=True))
    assert len(keys) == len(set(keys)) == 8
    assert set(t.column("num_sentences").to_pylist()) == {2}
    assert all(v.endswith("Z") and "T" in v for v in t.column("collected_at").to_pylist())


def test_plain_pyarrow_dataset_reads_the_store_and_ignores_state(tmp_path):
    s = tmp_path / "store"
    append(s, rows("run", "p", range(4)), note="SYNTHETIC test")
    st = Store(s)
    (st.state_dir / "collect-p.json").write_text("{}")
    st.cache_dir.joinpath("junk.npz").write_bytes(b"not parquet")
    hits = ds.dataset(s / "hits").to_table()
    desc = ds.dataset(s / "descriptions").to_table()
    assert hits.num_rows == 4 and set(hits.column_names) == {"action", "provider", "video_id", "rank"}
    assert desc.num_rows == 4 and "description" in desc.column_names and "action" not in desc.column_names
    assert st.note == "SYNTHETIC test" and len(st) == 4 and st.num_descriptions() == 4
    assert read_store(s, columns=["action"]).column_names == ["action"]
    with pytest.raises(StoreError, match="unknown store column"):
        read_store(s, columns=["nope"])


def test_a_video_found_by_two_actions_is_stored_once_and_listed_by_both(tmp_path):
    """ZSAR needs "ride camel" to keep the clips that also match "ride horse" (SYNTHETIC rows)."""
    s = tmp_path / "store"
    assert append(s, rows("ride horse", "p", [1, 2, 3], text="Riding clip {i}.")) == 3
    assert append(s, rows("ride camel", "p", [3, 4], text="Riding clip {i}.")) == 2  # video 3: shared
    st = Store(s)
    assert st.num_descriptions() == 4 and len(st) == 5
    assert st.counts() == {"ride horse": 3, "ride camel": 2}
    view = read_store(s)
    got = [(r["action"], r["video_id"], r["rank"]) for r in view.to_pylist()]
    assert got == [("ride camel", "3", 0), ("ride camel", "4", 1),
                   ("ride horse", "1", 0), ("ride horse", "2", 1), ("ride horse", "3", 2)]
    assert {r["description"] for r in view.to_pylist() if r["video_id"] == "3"} == {"Riding clip 3."}
    assert {a: v.to_pylist() for a, v in st.action_videos("p").items()} == {
        "ride camel": ["3", "4"], "ride horse": ["1", "2", "3"]}
    # adding the same pair again adds nothing; given ranks are kept
    with st.lock():
        assert st.add(rows("ride camel", "p", [4])) == (0, 0)
        assert st.add([{"action": "ride camel", "provider": "p", "video_id": "1", "description": "Riding clip 1.",
                        "rank": 7}]) == (0, 1)
    assert read_store(s).filter(ds.field("video_id") == "1").column("rank").to_pylist() == [7, 0]


def test_a_store_of_the_pre_release_layout_is_refused_and_left_alone(tmp_path):
    """Part files at the top of the store (the layout before the per-action store, which no release
    wrote) are named in one error; nothing is changed."""
    import pyarrow.parquet as pq

    s = tmp_path / "old"
    (s / "_state").mkdir(parents=True)
    old = s / "part-20240101T000000000000Z-aaaa.parquet"
    pq.write_table(pa.Table.from_pylist(rows("run", "p", [1, 2])), old)
    before = old.read_bytes()
    with pytest.raises(StoreError, match="pre-release layout .*part-20240101T000000000000Z-aaaa.parquet.*new store"):
        Store(s)
    assert old.read_bytes() == before and sorted(p.name for p in s.iterdir()) == ["_state", old.name]


def test_store_errors(tmp_path):
    with pytest.raises(StoreError, match="store not found"):
        Store(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(StoreError, match="not an ActionHub store"):
        Store(tmp_path / "empty")
    (tmp_path / "f").write_text("x")
    with pytest.raises(StoreError, match="is a file"):
        Store(tmp_path / "f", create=True)
    with pytest.raises(StoreError, match="lack column"):
        append(tmp_path / "s", [{"action": "a", "video_id": "1", "description": "d"}])


def test_compact_merges_parts_and_recovers_from_a_crash(tmp_path):
    s = tmp_path / "store"
    for i in range(4):
        append(s, rows("run", "p", [i]))
    st = Store(s)
    before = sorted(read_store(s).column("video_id").to_pylist())
    assert len(st.parts("hits")) == 4 and len(st.parts("descriptions")) == 4
    assert st.compact() == 8
    assert len(st.parts("hits")) == 1 and len(st.parts("descriptions")) == 1
    assert sorted(read_store(s).column("video_id").to_pylist()) == before

    # crash after the merged hits file was renamed but before the old parts were deleted
    append(s, rows("run", "p", [10]))
    old = [f"hits/{p.name}" for p in st.parts("hits")]
    merged = s / "hits" / "part-99990101T000000000000Z-deadbeef.parquet"
    import pyarrow.parquet as pq
    pq.write_table(st.read_hits(), merged)
    (st.state_dir / "compact.json").write_text(json.dumps({"new": f"hits/{merged.name}", "old": old}))
    Store(s)  # opening finishes the compaction
    assert [p.name for p in st.parts("hits")] == [merged.name]
    assert not (st.state_dir / "compact.json").exists()
    assert sorted(read_store(s).column("video_id").to_pylist()) == sorted(before + ["10"])

    # crash before the merged file existed: the old parts stay
    (st.state_dir / "compact.json").write_text(json.dumps({"new": "hits/part-x.parquet",
                                                           "old": [f"hits/{merged.name}"]}))
    Store(s)
    assert [p.name for p in st.parts("hits")] == [merged.name] and read_store(s).num_rows == 5


def test_import_json_dict(tmp_path):
    f = tmp_path / "actionhub.json"
    f.write_text(json.dumps({"play guitar": ["A man plays guitar. On a stage.", "Girl playing guitar"],
                             "ride horse": ["Riding a horse.", {"id": 77, "description": "Horse at sunset."}, 5, ""]}))
    s = import_released(f, tmp_path / "store", progress=False)
    assert s["added"] == 4 and s["skipped"] == 2 and s["duplicates"] == 0
    t = read_store(tmp_path / "store").sort_by("description")
    d = dict(zip(t.column("description").to_pylist(), t.column("video_id").to_pylist(), strict=True))
    assert d["Horse at sunset."] == "77"
    assert d["Riding a horse."] == synthetic_video_id("ride horse", "Riding a horse.")
    assert set(t.column("provider").to_pylist()) == {"released"}
    again = import_released(f, tmp_path / "store", progress=False)
    assert again["added"] == 0 and again["duplicates"] == 4
    assert read_store(tmp_path / "store").num_rows == 4


def test_import_jsonl_rows_objects_and_malformed_lines(tmp_path):
    f = tmp_path / "actionhub.jsonl"
    lines = [
        json.dumps({"action": "swim", "description": "Swimmer in a pool."}),
        json.dumps({"action": "swim", "description": "Swimmer in a pool."}),       # exact repeat: same stable id
        json.dumps({"action": "swim", "description": "Open water.", "video_id": "v9", "provider": "shutterstock"}),
        "{broken json",
        json.dumps(["not", "an", "object"]),
        json.dumps({"dive": ["Cliff diving. Slow motion!", "Diver jumps"], "bad": "not a list"}),
        "",
    ]
    f.write_text("\n".join(lines) + "\n")
    s = import_released(f, tmp_path / "store", batch_rows=2, progress=False)
    assert s["entries"] == 5 and s["added"] == 4 and s["duplicates"] == 1
    assert s["skipped"] == 3 and s["skipped_lines"] == [4, 5, 6]
    t = read_store(tmp_path / "store")
    assert sorted(t.column("provider").to_pylist()) == ["released"] * 3 + ["shutterstock"]
    assert sorted(t.column("num_sentences").to_pylist()) == [1, 1, 1, 2]


def test_import_errors(tmp_path):
    with pytest.raises(StoreError, match="not found"):
        import_released(tmp_path / "nope.json", tmp_path / "s", progress=False)
    (tmp_path / "bad.json").write_text("{oops")
    with pytest.raises(StoreError, match="bad.json is not valid JSON"):
        import_released(tmp_path / "bad.json", tmp_path / "s", progress=False)


def test_hist_edges():
    assert hist_edges(7) == [1, 2, 5, 10]
    assert hist_edges(1000, with_zero=True) == [0, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000]


@pytest.fixture()
def small_store(tmp_path):
    """SYNTHETIC store: action i has i descriptions of 2 sentences (i = 1..12), one has 300."""
    s = tmp_path / "store"
    for i in range(1, 13):
        append(s, rows(f"act{i:02d}", "fake", range(100 * i, 100 * i + i)))
    append(s, rows("popular", "fake", range(5000, 5300), text="One. Two. Three."))
    return s


def test_compute_stats(small_store):
    st = compute_stats(small_store, top=3, bottom=2)
    assert st["num_actions"] == 13
    assert st["num_descriptions"] == sum(range(1, 13)) + 300
    assert st["num_sentences"] == 2 * sum(range(1, 13)) + 900
    assert st["providers"] == {"fake": st["num_descriptions"]}
    hd = {h["bin"]: h["actions"] for h in st["hist_descriptions"]}
    assert hd == {"1": 1, "2–4": 3, "5–9": 5, "10–19": 3, "20–49": 0, "50–99": 0, "100–199": 0, "200–499": 1}
    assert sum(h["actions"] for h in st["hist_sentences"]) == 13
    assert st["top"] == [["popular", 300, 900], ["act12", 12, 24], ["act11", 11, 22]]
    assert st["bottom"] == [["act01", 1, 2], ["act02", 2, 4]]

    with_q = compute_stats(small_store, queries=["act01", "never found", "popular"], bottom=2)
    assert with_q["num_queries"] == 3 and with_q["actions_without_descriptions"] == 1
    assert with_q["actions_not_in_queries"] == 11
    assert with_q["bottom"][0] == ["never found", 0, 0]
    assert with_q["hist_descriptions"][0] == {"bin": "0", "lo": 0, "hi": 1, "actions": 1}


@pytest.mark.slow
def test_cli_stats_text_json_and_plots(small_store, tmp_path, capsys):
    assert main(["stats", str(small_store), "--note", "SYNTHETIC"]) == 0
    out = capsys.readouterr().out
    assert "[SYNTHETIC]" in out and "descriptions: 378" in out and "top-13 actions" in out
    plots = tmp_path / "plots"
    assert main(["stats", str(small_store), "--json", "--plots", str(plots), "--top", "5"]) == 0
    st = json.loads(capsys.readouterr().out)
    assert st["num_descriptions"] == 378 and len(st["top"]) == 5
    for name in ("fig4_histograms.png", "fig5_top_bottom.png"):
        assert (plots / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "Fig. 5" in (plots / "stats.txt").read_text()
    assert json.loads((plots / "stats.json").read_text())["num_actions"] == 13
    assert main(["stats", str(tmp_path / "nope")]) == 2


def test_cli_stats_of_an_empty_store_says_how_to_fill_it(tmp_path, capsys):
    Store(tmp_path / "s", create=True)
    assert main(["stats", str(tmp_path / "s"), "--plots", str(tmp_path / "plots")]) == 0
    out = capsys.readouterr().out
    assert "descriptions: 0" in out and "actionhub collect" in out and "Fig. 5" not in out
    assert sorted(p.name for p in (tmp_path / "plots").glob("[!.]*")) == ["stats.json", "stats.txt"]


def test_cli_import(tmp_path, capsys):
    f = tmp_path / "a.json"
    f.write_text(json.dumps({"wave": ["Waving hand.", "Waving at camera. Smiling."]}))
    assert main(["import", str(f), "--out", str(tmp_path / "s"), "--no-progress", "--note", "SYNTHETIC"]) == 0
    assert "2 added" in capsys.readouterr().out
    assert main(["import", str(f), "--out", str(tmp_path / "s"), "--no-progress", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["duplicates"] == 2
    assert Store(tmp_path / "s").note == "SYNTHETIC"
