"""`actionhub export` / `actionhub import DIR`: a store as a Hugging Face dataset folder and back.

Every store here holds SYNTHETIC, hand-made descriptions. ``datasets`` runs offline with its
caches under the test's tmp folder.
"""
import json
import os
import subprocess
import sys

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from actionhub.cli import main
from actionhub.dataset.export import _yaml_lines
from actionhub.dataset.store import DESCRIPTION_SCHEMA, Store
from actionhub.utils.outputs import MANIFEST

UNICODE = "Kamel in der Wüste — 骆驼 läuft. «Slow motion» 🐪"


def build_store(path):
    """Two providers, a video listed by two actions, unicode text, explicit ranks and collection times,
    a query without hits in the collection state, and a stray description no action lists."""
    st = Store(path, create=True, note="SYNTHETIC: test_export")
    rows = [
        ("ride horse", "stock", "v1", "A cowboy rides a horse. Sunset.", 0, "2024-05-01T10:00:00Z"),
        ("ride horse", "stock", "v2", "Horse riding on a beach", 1, "2024-05-01T10:00:01Z"),
        ("ride horse", "stock", "v3", "Riders on horses and a camel.", 2, "2024-05-02T09:00:00Z"),
        ("ride camel", "stock", "v3", "Riders on horses and a camel.", 5, "2024-05-02T09:00:00Z"),
        ("ride camel", "stock", "v4", 'He said "go." The camel walks!', 7, "2024-05-03T08:00:00Z"),
        ("ride camel", "corpus", "v1", UNICODE, 0, "2025-01-01T00:00:00Z"),  # same id, other provider
        ("jump", "corpus", "j9", "Jumping\nover a fence, 3.5 m high", 3, "2025-01-02T00:00:00Z"),
    ]
    cols = ["action", "provider", "video_id", "description", "rank", "collected_at"]
    with st.lock():
        st.add(pa.table({c: [r[i] for r in rows] for i, c in enumerate(cols)}))
    (st.state_dir / "collect-stock.json").write_text(json.dumps(
        {"provider": "stock", "queries": {"ride horse": {}, "ride camel": {}, "swim underwater": {}}}))
    st.update_meta(collections={"corpus": {"corpus": "/home/someone/private/captions.csv", "match": "all"}})
    stray = pa.table({"provider": ["stock"], "video_id": ["orphan"], "description": ["Never listed."],
                      "num_sentences": pa.array([1], pa.int32()), "collected_at": ["2024-01-01T00:00:00Z"]})
    pq.write_table(stray.cast(DESCRIPTION_SCHEMA), path / "descriptions" / "part-00000000T000000Z-stray.parquet")
    return st


def sorted_rows(t, keys):
    return t.sort_by([(k, "ascending") for k in keys]).to_pylist()


def store_tables(path):
    st = Store(path)
    hits = sorted_rows(st.read_hits(), ["action", "provider", "video_id"])
    listed = {(h["provider"], h["video_id"]) for h in hits}
    desc = [d for d in sorted_rows(st.read_descriptions(), ["provider", "video_id"])
            if (d["provider"], d["video_id"]) in listed]
    return desc, hits


def card_header(folder):
    yaml = pytest.importorskip("yaml")
    text = (folder / "README.md").read_text(encoding="utf-8")
    assert text.startswith("---\n")
    return yaml.safe_load(text.split("---\n")[1]), text


@pytest.fixture
def exported(tmp_path, capsys):
    store = tmp_path / "store"
    build_store(store)
    queries = tmp_path / "queries.txt"
    queries.write_text("ride horse\nride camel\njuggle fire\n", encoding="utf-8")
    out = tmp_path / "hf"
    assert main(["export", str(store), "--out", str(out), "--queries", str(queries), "--no-progress"]) == 0
    return store, out, capsys.readouterr().out


def test_export_writes_shards_card_and_counts(exported):
    store, out, printed = exported
    assert "6 descriptions, 7 hits of 3 actions, 5 queries (3 Parquet shards" in printed
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("[!.]*") if p.is_file()) == [
        "README.md", "actionhub.json", "descriptions/train-00000-of-00001.parquet",
        "hits/train-00000-of-00001.parquet", "queries/train-00000-of-00001.parquet"]
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".")]  # no staging folder left
    header, text = card_header(out)
    cfg = {c["config_name"]: c for c in header["configs"]}
    assert list(cfg) == ["descriptions", "hits", "queries"] and cfg["descriptions"].get("default") is True
    assert cfg["hits"]["data_files"] == [{"split": "train", "path": "hits/train-*.parquet"}]
    info = {c["config_name"]: c for c in header["dataset_info"]}
    # 6 listed descriptions (v3 is listed twice, the stray one by nobody), 7 hits, 5 queries
    assert [info[k]["splits"][0]["num_examples"] for k in cfg] == [6, 7, 5]
    assert [f["name"] for f in info["hits"]["features"]] == ["action", "provider", "video_id", "rank"]
    assert {f["name"]: f["dtype"] for f in info["descriptions"]["features"]}["num_sentences"] == "int32"
    assert header["license"] == "other" and header["size_categories"] == ["n<1K"]
    assert "SYNTHETIC: test_export" in text and "not ActionHub's" in text
    assert "queries: 5 (2 without descriptions)" in text            # juggle fire (--queries), swim underwater (state)
    assert "descriptions: 6 (1 listed by two or more actions; 7 per-action listings" in text
    assert "| `stock` | 4 | 5 | 2 | 2024-05-01T10:00:00Z | 2024-05-03T08:00:00Z |" in text
    assert "/home/someone" not in text and "captions.csv" in text   # local paths are not published
    assert "1 stored descriptions that no action lists" in text
    meta = json.loads((out / "actionhub.json").read_text(encoding="utf-8"))
    assert meta["queries"] == ["juggle fire", "jump", "ride camel", "ride horse", "swim underwater"]
    q = pq.read_table(out / "queries").to_pylist()
    assert {r["action"]: r["num_descriptions"] for r in q} == {
        "juggle fire": 0, "jump": 1, "ride camel": 3, "ride horse": 3, "swim underwater": 0}
    hits = pq.read_table(out / "hits").to_pylist()
    assert [(h["action"], h["provider"], h["rank"]) for h in hits][:4] == [  # sorted by action, provider, rank
        ("jump", "corpus", 3), ("ride camel", "corpus", 0), ("ride camel", "stock", 5), ("ride camel", "stock", 7)]


def test_import_of_an_export_gives_identical_rows(exported, tmp_path, capsys):
    store, out, _ = exported
    back = tmp_path / "back"
    assert main(["import", str(out), "--out", str(back), "--no-progress"]) == 0
    assert "7 hits and 6 descriptions added" in capsys.readouterr().out
    desc0, hits0 = store_tables(store)
    desc1, hits1 = store_tables(back)
    assert hits1 == hits0 and desc1 == desc0 and len(desc0) == 6 and len(hits0) == 7
    assert any(d["description"] == UNICODE for d in desc1)
    st = Store(back)
    assert st.note == "SYNTHETIC: test_export" and st.num_descriptions() == 6
    assert st.meta()["collections"]["corpus"] == {"corpus": "captions.csv", "match": "all"}
    # importing again adds nothing; the store's export lists the queries that found nothing again
    assert main(["import", str(out), "--out", str(back), "--json", "--no-progress"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["added"] == 0 and again["new_descriptions"] == 0 and again["duplicates"] == 7
    assert main(["export", str(back), "--out", str(tmp_path / "hf2"), "--no-progress"]) == 0
    assert pq.read_table(tmp_path / "hf2" / "queries").equals(pq.read_table(out / "queries"))
    assert sorted_rows(pq.read_table(tmp_path / "hf2" / "hits"), ["action", "provider", "video_id"]) == hits0
    # stats of the imported store count the queries that found nothing, from the kept vocabulary
    queries = pq.read_table(out / "queries").to_pydict()
    capsys.readouterr()
    assert main(["stats", str(back), "--json"]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert stats["num_queries"] == len(queries["action"]) and "import" in stats["queries_from"]
    assert stats["actions_without_descriptions"] == queries["num_descriptions"].count(0) > 0


@pytest.fixture
def offline_datasets(tmp_path, monkeypatch):
    """``datasets`` offline, with every cache under tmp_path (also when another test imported it first)."""
    cache = tmp_path / "hf_home"
    for k, v in {"HF_DATASETS_OFFLINE": "1", "HF_HUB_OFFLINE": "1", "HF_HOME": str(cache),
                 "HF_DATASETS_CACHE": str(cache / "datasets")}.items():
        monkeypatch.setenv(k, v)
    datasets = pytest.importorskip("datasets")
    monkeypatch.setattr(datasets.config, "HF_DATASETS_OFFLINE", True, raising=False)
    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", True, raising=False)
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", cache / "datasets", raising=False)
    datasets.disable_progress_bars()
    return datasets, cache


def test_load_dataset_reads_every_config(exported, offline_datasets):
    datasets, cache = offline_datasets
    store, out, _ = exported
    desc0, hits0 = store_tables(store)
    kw = {"cache_dir": str(cache / "datasets")}
    d = datasets.load_dataset(str(out), **kw)          # the default config
    assert list(d) == ["train"] and d["train"].column_names == DESCRIPTION_SCHEMA.names
    assert sorted_rows(d["train"].data.table, ["provider", "video_id"]) == desc0
    h = datasets.load_dataset(str(out), "hits", **kw)["train"]
    assert sorted_rows(h.data.table, ["action", "provider", "video_id"]) == hits0
    assert h.features["rank"].dtype == "int32"
    q = datasets.load_dataset(str(out), "queries", split="train", **kw)
    assert dict(zip(q["action"], q["num_descriptions"], strict=True))["juggle fire"] == 0
    assert any(cache.rglob("*.arrow"))  # the cache went where we said
    assert sorted(p.name for p in out.iterdir()) == [MANIFEST, "README.md", "actionhub.json", "descriptions", "hits",
                                                     "queries"]


@pytest.mark.parametrize("cut", [["--max-shard-rows", "2"], ["--max-shard-mb", "0.000001"]])
def test_shards_are_cut_by_rows_or_size_and_still_round_trip(tmp_path, offline_datasets, monkeypatch, cut):
    import actionhub.dataset.export as ex

    monkeypatch.setattr(ex, "ROW_GROUP_ROWS", 2)  # a size check every 2 rows, as every 100,000 in real use
    datasets, cache = offline_datasets
    store = tmp_path / "store"
    build_store(store)
    out = tmp_path / "hf"
    assert main(["export", str(store), "--out", str(out), *cut, "--no-progress"]) == 0
    names = sorted(p.name for p in (out / "hits").iterdir())
    assert names == [f"train-{i:05d}-of-00004.parquet" for i in range(4)]  # 7 hits, 2 per shard
    assert [pq.ParquetFile(out / "hits" / n).metadata.num_rows for n in names] == [2, 2, 2, 1]
    assert len(list((out / "descriptions").iterdir())) == 3
    h = datasets.load_dataset(str(out), "hits", split="train", cache_dir=str(cache / "datasets"))
    assert h.num_rows == 7
    back = tmp_path / "back"
    assert main(["import", str(out), "--out", str(back), "--no-progress"]) == 0
    assert store_tables(back) == store_tables(store)


def test_out_must_be_new_empty_or_an_earlier_export(tmp_path, capsys):
    store = tmp_path / "store"
    build_store(store)
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "mine.txt").write_text("keep me")
    assert main(["export", str(store), "--out", str(busy), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "already holds mine.txt" in err and "--overwrite" in err and "Traceback" not in err
    assert [p.name for p in busy.iterdir()] == ["mine.txt"]
    # --overwrite replaces only what an export wrote: a user's file beside it is kept, one in its way refused
    assert main(["export", str(store), "--out", str(busy), "--overwrite", "--no-progress"]) == 0
    assert (busy / "mine.txt").read_text() == "keep me" and (busy / "actionhub.json").is_file()
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "README.md").write_text("my notes")
    assert main(["export", str(store), "--out", str(tmp_path / "other"), "--overwrite", "--no-progress"]) == 2
    assert "README.md would be replaced but is not from an earlier export" in capsys.readouterr().err
    assert [p.name for p in (tmp_path / "other").iterdir()] == ["README.md"]
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["export", str(store), "--out", str(empty), "--max-shard-rows", "1", "--no-progress"]) == 0
    assert len(list((empty / "hits").iterdir())) == 7
    assert main(["export", str(store), "--out", str(empty), "--no-progress"]) == 2
    assert main(["export", str(store), "--out", str(empty), "--overwrite", "--no-progress"]) == 0
    assert len(list((empty / "hits").iterdir())) == 1  # the earlier shards are gone, not mixed in
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
    assert main(["export", str(store), "--out", str(store / "hf"), "--no-progress"]) == 2
    assert "lies inside the input STORE" in capsys.readouterr().err


def test_missing_or_empty_store_and_non_export_folder_are_clear_errors(tmp_path, capsys):
    out = tmp_path / "hf"
    assert main(["export", str(tmp_path / "nope"), "--out", str(out)]) == 2
    assert "store not found" in capsys.readouterr().err
    Store(tmp_path / "empty", create=True)
    assert main(["export", str(tmp_path / "empty"), "--out", str(out)]) == 2
    assert "holds no descriptions yet" in capsys.readouterr().err
    assert not out.exists()
    (tmp_path / "folder").mkdir()
    assert main(["import", str(tmp_path / "folder"), "--out", str(tmp_path / "s")]) == 2
    err = capsys.readouterr().err
    assert "not an exported ActionHub dataset" in err and "actionhub export" in err
    for kind, table in (("descriptions", {"provider": ["p"], "video_id": ["1"], "description": ["x"]}),
                        ("hits", {"action": ["a"], "provider": ["p"], "video_id": ["1"], "rank": [0]})):
        (tmp_path / "folder" / kind).mkdir()
        pq.write_table(pa.table(table), tmp_path / "folder" / kind / "train-00000-of-00001.parquet")
    assert main(["import", str(tmp_path / "folder"), "--out", str(tmp_path / "s")]) == 2
    assert "lacks the column(s) num_sentences, collected_at" in capsys.readouterr().err
    assert not (tmp_path / "s").exists()


def test_export_waits_for_no_writer(tmp_path, capsys):
    store = tmp_path / "store"
    build_store(store)
    code = ("import sys, time\nfrom actionhub.dataset.store import Store\n"
            "with Store(sys.argv[1]).lock():\n    print('ready', flush=True)\n    time.sleep(60)\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    p = subprocess.Popen([sys.executable, "-c", code, str(store)], stdout=subprocess.PIPE, text=True, env=env)
    try:   # a collector or an import writing to the store
        assert p.stdout.readline().strip() == "ready"
        assert main(["export", str(store), "--out", str(tmp_path / "hf"), "--no-progress"]) == 2
    finally:
        p.kill()
        p.wait()
    assert f"store {store} is being written by process {p.pid}" in capsys.readouterr().err
    assert not (tmp_path / "hf").exists()
    assert main(["export", str(store), "--out", str(tmp_path / "hf"), "--no-progress"]) == 0


def test_a_failed_export_leaves_nothing_behind(tmp_path, monkeypatch):
    import actionhub.dataset.export as ex

    store = tmp_path / "store"
    build_store(store)

    def boom(*a, **k):
        raise RuntimeError("simulated crash while writing the card")

    monkeypatch.setattr(ex, "_card", boom)
    with pytest.raises(RuntimeError, match="simulated crash"):
        ex.export_store(store, tmp_path / "hf", progress=False)
    assert sorted(os.listdir(tmp_path)) == ["store"]


def test_card_yaml_quotes_what_yaml_would_misread():
    yaml = pytest.importorskip("yaml")
    obj = {"a": ["yes", "null", "1.0", "x: y", 'say "hi"', "Wüste — 骆驼", "- dash", "#"], "b": {"c": [], "d": {}},
           "e": [{"f": 1, "g": [{"h": True}]}], "n": None}
    assert yaml.safe_load("\n".join(_yaml_lines(obj))) == obj



@pytest.mark.parametrize("flag,value", [("--max-shard-mb", "nan"), ("--max-shard-mb", "inf"), ("--max-shard-mb", "0"),
                                        ("--max-shard-rows", "0")])
def test_shard_limits_must_be_finite_and_positive(flag, value, tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        main(["export", str(tmp_path / "store"), "--out", str(tmp_path / "hf"), flag, value])
    assert e.value.code == 2 and f"argument {flag}" in capsys.readouterr().err
    assert not (tmp_path / "hf").exists()
