"""The CLIP-era table (issue 21): the video-CLIP papers' protocols (``ucf101-full``, ``hmdb51-full``
with the datasets' official test lists, ``kinetics600-zs``), training-free ``evaluate --zero-shot
clip`` with name-prompt / definition / description class text, CoCo on CLIP features through the
``clip/`` recipes, and the published video-CLIP rows in a report section of their own.

Models are tiny CLIP / X-CLIP with RANDOM weights built offline (tests/tinyclip.py); every video
feature here is SYNTHETIC (a class-text row plus noise), so the numbers only check the code against
a computation done here by hand."""
from __future__ import annotations

import json
import logging
import re
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch
from conftest import offline_env

sys.path.insert(0, str(Path(__file__).parent))

from actionhub.cli import main  # noqa: E402
from actionhub.features import FeatureError, FeatureSet, save_features  # noqa: E402
from actionhub.features.listed import select_listed, video_key  # noqa: E402
from actionhub.protocols import get_benchmark, list_benchmarks  # noqa: E402
from actionhub.protocols.clip_era import CLIP_ERA_BENCHMARKS, kinetics400_pool  # noqa: E402
from actionhub.protocols.shipped import hmdb51_split_ids, labels, official_test_lists, xu_class_names  # noqa: E402
from actionhub.video.extract import video_id  # noqa: E402

# --------------------------------------------------------------------------- protocols (no model)


def test_ucf101_official_test_lists():
    lists = official_test_lists("ucf101")
    assert [len(x) for x in lists] == [3783, 3734, 3696]
    classes = set(labels("ucf101"))
    assert classes == set(xu_class_names("UCF101")) and len(classes) == 101
    for n, lst in enumerate(lists):
        assert {c for _, c in lst} == classes                       # no class of the list is missing
        assert len({v for v, _ in lst}) == len(lst)
        groups = set()
        for video, cls in lst:
            m = re.fullmatch(r"v_([A-Za-z]+)_g(\d\d)_c(\d\d)\.avi", video)
            # the release spells one class's files v_HandStandPushups_*: compare without case
            assert m and m.group(1).lower() == cls.lower(), video
            groups.add(int(m.group(2)))
        assert groups == set(range(7 * n + 1, 7 * n + 8))            # split N tests groups 7N-6 .. 7N
    assert not {v for v, _ in lists[0]} & {v for v, _ in lists[1]}


def test_hmdb51_official_splits():
    rows = hmdb51_split_ids()
    assert len(rows) == 6766 and len({v for _, v, _ in rows}) == 6766
    classes = xu_class_names("HMDB51")
    assert {c for c, _, _ in rows} == set(classes) == set(labels("hmdb51"))
    for s, lst in enumerate(official_test_lists("hmdb51")):
        assert len(lst) == 1530
        assert Counter(c for _, c in lst) == {c: 30 for c in classes}
        assert Counter(c for c, _, ids in rows if ids[s] == 1) == {c: 70 for c in classes}
        assert all(v.endswith(".avi") for v, _ in lst)


@pytest.mark.parametrize(("name", "dataset", "counts"), [("ucf101-full", "ucf101", [3783, 3734, 3696]),
                                                         ("hmdb51-full", "hmdb51", [1530, 1530, 1530])])
def test_full_protocols(name, dataset, counts):
    bench = get_benchmark(name)
    official = list(xu_class_names(dataset.upper()))
    pool = kinetics400_pool()
    assert bench.listed_test_videos and not bench.select_epoch_on_val and bench.num_splits == 3
    for s, split in enumerate(bench.splits):
        assert list(split.unseen) == official and split.val == () and tuple(split.seen) == pool
        test = bench.eval_videos(s, "test")
        assert len(test) == counts[s] and {c for _, c in test} == set(official)
        assert not any(v.endswith(".avi") for v, _ in test)        # ids without the extension
        assert bench.eval_videos(s, "val") == []
    assert all(bench.definitions[c].strip() for c in bench.classes)


def test_kinetics400_pool_keeps_no_target_class():
    from actionhub.dataset.vocab import normalize_action
    from actionhub.protocols.clip_era import SAME_ACTION_AS_TARGET
    from actionhub.utils.names import text_name

    pool = kinetics400_pool()
    assert len(pool) == 349 and set(pool) <= set(labels("kinetics400"))
    targets = {normalize_action(text_name(c)) for c in (*labels("ucf101"), *labels("hmdb51"))}
    assert not {normalize_action(c) for c in pool} & targets           # no UCF101/HMDB51 action by lemma
    assert {normalize_action(c) for c in SAME_ACTION_AS_TARGET} <= targets
    assert not set(SAME_ACTION_AS_TARGET) & set(pool)
    for dropped in ("archery", "playing cello", "juggling balls", "cartwheeling"):  # UCF101/HMDB51 actions
        assert dropped in labels("kinetics400") and dropped not in pool


def test_kinetics600_zs_is_kinetics_zsar_by_the_clip_papers_name():
    zs, zsar = get_benchmark("kinetics600-zs"), get_benchmark("kinetics-zsar")
    assert zs.splits == zsar.splits and [len(s.unseen) for s in zs.splits] == [160, 160, 160]
    assert zs.eval_videos(1, "test") == zsar.eval_videos(1, "test")
    k400 = set(labels("kinetics400"))
    assert set(labels("kinetics600")) - k400 >= set(zs.splits[0].unseen) - k400


def test_benchmarks_list_shows_the_clip_era_protocols(capsys):
    assert set(CLIP_ERA_BENCHMARKS) <= set(list_benchmarks())
    assert main(["benchmarks", "list"]) == 0
    out = capsys.readouterr().out
    for name in CLIP_ERA_BENCHMARKS:
        assert name in out


# --------------------------------------------------------------------------- official list matching


def _store(videos, classes, dim=4):
    return FeatureSet(np.eye(len(videos), dim, dtype=np.float32), np.array(classes, dtype=object),
                      np.array(videos, dtype=object), "store.npz", {})


def test_select_listed_matches_by_file_name(caplog):
    listed = [("v_ApplyEyeMakeup_g01_c01.avi", "ApplyEyeMakeup"), ("v_Archery_g02_c03.avi", "Archery"),
              ("boomsnapclap!_clap_u_nm_np1_fr_med_0.avi", "clap"), ("v_Never_g01_c01", "Archery")]
    fs = _store(["ApplyEyeMakeup__v_ApplyEyeMakeup_g01_c01",      # `extract` id: folder__stem
                 "v_archery_g02_c03.avi",                          # file name, other case
                 "clap__boomsnapclap__clap_u_nm_np1_fr_med_0",     # `extract` replaced the "!"
                 "boom-snap-clap_clap_u_nm_np1_fr_med_0",          # another video, punctuation apart
                 "v_ApplyEyeMakeup_g08_c01"],                      # a training video: not listed
                ["ApplyEyeMakeup", "Archery", "clap", "clap", "ApplyEyeMakeup"], dim=5)
    with caplog.at_level(logging.WARNING):
        sub, info = select_listed(fs, listed, "the test list")
    assert list(sub.videos) == list(fs.videos[:3]) and np.array_equal(sub.features, fs.features[:3])
    assert info == {"listed": 4, "found": 3, "missing": 1, "missing_examples": ["v_Never_g01_c01"], "not_listed": 2}
    assert "1 of the 4 videos" in caplog.text and "v_Never_g01_c01" in caplog.text
    assert video_key("a/b/V_X!y_(2).MP4") == "v_x_y_(2)"


@pytest.mark.parametrize("dataset", ["ucf101", "hmdb51"])
def test_every_listed_video_is_found_under_its_extract_ids(dataset):
    """Stores of every video of the lists, with the ids `actionhub extract` gives them (relpath and
    stem): each split selects exactly its own test videos."""
    lists = official_test_lists(dataset)
    every = sorted({pair for lst in lists for pair in lst})
    if dataset == "hmdb51":   # the training videos too
        every = [(v, c) for c, v, _ in hmdb51_split_ids()]
    for ids in ("relpath", "stem"):
        fs = _store([video_id(f"{c}/{v}", ids) for v, c in every], [c for _, c in every], dim=1)
        for lst in lists:
            sub, info = select_listed(fs, lst, "the test list")
            want = {video_id(f"{c}/{v}", ids) for v, c in lst}
            assert set(sub.videos) == want and len(sub) == len(lst) and info["missing"] == 0


def test_select_listed_refuses_mislabelled_and_foreign_stores():
    listed = [("v_Archery_g01_c01.avi", "Archery")]
    with pytest.raises(FeatureError, match="carry another label.*ApplyEyeMakeup; the list: Archery"):
        select_listed(_store(["v_Archery_g01_c01"], ["ApplyEyeMakeup"]), listed, "the test list")
    with pytest.raises(FeatureError, match="holds none of the 1 videos"):
        select_listed(_store(["clip_0001"], ["Archery"]), listed, "the test list")


# --------------------------------------------------------------------------- class text and scoring math


def test_prompt_templates_must_hold_name_only():
    from actionhub.text.build import TextFeatError
    from actionhub.text.prompts import check_prompts, prompt_texts

    assert check_prompts(["a video of a person {name}."]) == ["a video of a person {name}."]
    assert prompt_texts(["ApplyEyeMakeup", "brush_hair"], "a video of {name}.") == [
        "a video of apply eye makeup.", "a video of brush hair."]
    for bad, msg in ((["a video of a person."], "has no {name}"), (["{name}: {definition}"], "uses {definition}"),
                     (["{name"], "bad prompt template"), (["{name}", "{name}"], "twice"), ([], "no prompt")):
        with pytest.raises(TextFeatError, match=re.escape(msg)):
            check_prompts(bad)


def test_prompt_ensemble_is_clips_mean_of_unit_embeddings():
    from actionhub.text.prompts import prompt_ensemble

    a = np.array([[3.0, 0.0], [0.0, 2.0]], np.float32)   # template 1, classes x, y
    b = np.array([[0.0, 1.0], [0.0, 5.0]], np.float32)   # template 2
    got = prompt_ensemble([a, b])
    h = np.sqrt(0.5)
    assert np.allclose(got, [[h, h], [0.0, 1.0]], atol=1e-6)


def test_clip_zs_class_embeddings_and_scores_by_hand():
    from actionhub.models.clip_zs import class_embeddings, scores

    ad = torch.tensor([[2.0, 0.0], [0.0, 1.0]])
    vc = torch.tensor([[0.0, 3.0], [0.0, 1.0]])
    h = float(np.sqrt(0.5))
    assert torch.allclose(class_embeddings(ad, vc, 1.0), torch.tensor([[1.0, 0.0], [0.0, 1.0]]))
    assert torch.allclose(class_embeddings(ad, vc, 0.0), torch.tensor([[0.0, 1.0], [0.0, 1.0]]))
    assert torch.allclose(class_embeddings(ad, vc, 0.5), torch.tensor([[h, h], [0.0, 1.0]]), atol=1e-6)
    x = torch.tensor([[4.0, 0.0], [1.0, 1.0]])
    assert torch.allclose(scores(x, torch.tensor([[1.0, 0.0], [0.0, 2.0]])), torch.tensor([[1.0, 0.0], [h, h]]),
                          atol=1e-6)
    with pytest.raises(ValueError, match="alpha"):
        class_embeddings(ad, vc, 1.5)


# --------------------------------------------------------------------------- tiny CLIP / X-CLIP end to end


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    yield from offline_env(tmp_path_factory.mktemp("clip_era"))


@pytest.fixture(scope="module")
def models(env):
    pytest.importorskip("transformers")
    import tinyclip

    return {"clip": f"hf-clip:{tinyclip.build_clip(env / 'clip')}",
            "clip2": f"hf-clip:{tinyclip.build_clip(env / 'clip2', seed=1)}",
            "xclip": f"hf-xclip:{tinyclip.build_xclip(env / 'xclip')}"}


def _topk_file(path: Path) -> Path:
    """A ranked description table as `actionhub rank` writes it, for two HMDB51 classes."""
    rows = [("brush hair", "A woman brushes her long hair"), ("brush hair", "Girl combing and brushing hair"),
            ("cartwheel", "Child doing a cartwheel on the grass")]
    pq.write_table(pa.table({"action": [a for a, _ in rows], "rank": pa.array([0, 1, 0], pa.int32()),
                             "score": pa.array([0.9, 0.8, 0.9], pa.float32()), "provider": ["p"] * 3,
                             "video_id": ["v1", "v2", "v3"], "description": [d for _, d in rows]}), path)
    return path


@pytest.fixture(scope="module")
def texts(models, env):
    """hmdb51-full class text of each tiny model: name prompts (2 templates; 1 for X-CLIP and the
    second CLIP), definitions, and name prompts + descriptions (tiny CLIP)."""
    topk = _topk_file(env / "topk.parquet")
    prompts = ["--prompt", "a video of a person {name}.", "--prompt", "a video of {name}."]
    out = {}
    for key, extra in (("clip-names", prompts), ("clip-defs", []),
                       ("clip-desc", [*prompts, "--descriptions", str(topk)]),
                       ("xclip-names", prompts[:2]), ("clip2-names", prompts[:2])):
        model = models[key.split("-")[0]]
        out[key] = env / f"{key}.npz"
        assert main(["text-features", "--benchmark", "hmdb51-full", "--encoder", model, *extra, "--out",
                     str(out[key]), "--no-progress"]) == 0
    return out


@pytest.mark.slow
def test_name_prompts_are_clips_ensemble_of_the_templates(models, texts):
    from actionhub.text import get_encoder
    from actionhub.text.class_text import load_class_text

    ct = load_class_text(texts["clip-names"])
    assert ct.meta["prompts"] == ["a video of a person {name}.", "a video of {name}."]
    enc = get_encoder(models["clip"]).encode(["a video of a person brush hair.", "a video of brush hair."])
    unit = enc / np.linalg.norm(enc, axis=1, keepdims=True)
    want = unit.mean(0) / np.linalg.norm(unit.mean(0))
    assert np.allclose(ct.ad[ct.classes.index("brush_hair")], want, atol=1e-5)


def _hmdb_store(path: Path, text_file: Path, backbone: str, dim: int | None = None, noise: float = 0.02) -> Path:
    """SYNTHETIC features of all 6,766 HMDB51 videos (train and test of every split), in the order
    of hmdb51_split_ids(): each the AD row of its class in ``text_file`` plus noise; ids as
    `actionhub extract` makes them (Class__name) and file names."""
    t = np.load(text_file, allow_pickle=False)
    row = {c: i for i, c in enumerate(t["classes"])}
    vids = hmdb51_split_ids()
    rng = np.random.default_rng(0)
    x = np.stack([t["ad"][row[c]] for c, _, _ in vids]).astype(np.float32)
    x = x + noise * rng.standard_normal(x.shape).astype(np.float32)
    if dim is not None:
        x = x[:, :dim]
    ids = [video_id(f"{c}/{v}") if i % 2 else v for i, (c, v, _) in enumerate(vids)]
    save_features(path, FeatureSet(x, np.array([c for c, _, _ in vids], dtype=object), np.array(ids, dtype=object)),
                  meta={"backbone": backbone, "synthetic": True})
    return path


@pytest.fixture(scope="module")
def stores(models, texts, env):
    return {"clip": _hmdb_store(env / "clip_feats.npz", texts["clip-names"], models["clip"]),
            "xclip": _hmdb_store(env / "xclip_feats.npz", texts["xclip-names"], models["xclip"])}


def _by_hand(store: Path, text_file: Path, split: int, alpha: float | None = None, k: int = 100) -> float:
    """top-1 (%) of split ``split``: cosine of each listed test video to every class row, by numpy."""
    from actionhub.text.class_text import load_class_text

    f = np.load(store, allow_pickle=True)
    keep = [i for i, (_, _, ids) in enumerate(hmdb51_split_ids()) if ids[split] == 2]   # the store's row order
    x, y = f["features"][keep].astype(np.float64), [str(c) for c in f["labels"][keep]]
    ct = load_class_text(text_file)
    classes = list(xu_class_names("HMDB51"))
    ad, vc, _ = ct.select(classes, k)
    unit = lambda m: m / np.linalg.norm(m, axis=1, keepdims=True)  # noqa: E731 - a one-line helper
    emb = unit(ad) if alpha is None else unit(alpha * unit(ad) + (1 - alpha) * unit(vc))
    pred = np.argmax(unit(x) @ emb.T, axis=1)
    return 100.0 * float(np.mean([classes[p] == c for p, c in zip(pred, y, strict=True)]))


@pytest.mark.slow
def test_zero_shot_clip_rows_differ_only_in_the_text(models, texts, stores, env, capsys):
    out = env / "zs.json"
    assert main(["evaluate", "--zero-shot", "clip", "--benchmark", "hmdb51-full", "--features", str(stores["clip"]),
                 "--text-features", str(texts["clip-names"]), str(texts["clip-defs"]), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "SYNTHETIC" in printed and "clip-zs" in printed
    res = json.loads(out.read_text())
    rows = {r["variant"]: r for r in res["rows"]}
    assert set(rows) == {"names (2 prompts) [hf-clip:clip]", "name + definition [hf-clip:clip]"}
    names, defs = rows["names (2 prompts) [hf-clip:clip]"], rows["name + definition [hf-clip:clip]"]
    for r in (names, defs):
        assert (r["method"], r["benchmark"], r["synthetic"], r["training_free"]) == (
            "clip-zs", "hmdb51-full", True, True)
        assert r["method_title"] == "CLIP zero-shot" and r["protocol"]["splits"] == [0, 1, 2]
        assert r["protocol"]["backbone"] == [models["clip"]]
        assert [s["run_dir"] for s in r["splits"]] == [None, None, None]
    # only the 1,530 listed test videos of each split count, out of the 6,766 in the store
    for s in range(3):
        assert names["splits"][s]["num_test_videos"] == 1530
        got = names["splits"][s]["top1"]
        assert got == pytest.approx(_by_hand(stores["clip"], texts["clip-names"], s), abs=0.06)
        assert defs["splits"][s]["top1"] == pytest.approx(
            _by_hand(stores["clip"], texts["clip-defs"], s), abs=0.06)
    assert names["summary"]["top1"]["mean"] > 20 > 100 / 51   # the features were made from these names: above chance
    assert names["summary"]["top1"]["mean"] != defs["summary"]["top1"]["mean"]


@pytest.mark.slow
def test_zero_shot_with_descriptions_fuses_alpha(texts, stores, env):
    from actionhub.api import evaluate

    summary = evaluate(zero_shot="clip", recipe="clip/zs-descriptions-hmdb51-full", features=stores["clip"],
                       text_features=texts["clip-desc"], splits=[1])
    (row,) = summary["rows"]
    assert row["variant"] == "names (2 prompts) + descriptions (top-100, alpha=0.5) [hf-clip:clip]"
    assert row["splits"][0]["split"] == 1 and row["protocol"]["class_text"] == "ad+vc"
    assert row["splits"][0]["top1"] == pytest.approx(
        _by_hand(stores["clip"], texts["clip-desc"], 1, alpha=0.5), abs=0.06)
    vc = evaluate(zero_shot="clip", benchmark="hmdb51-full", features=stores["clip"], text_features=texts["clip-desc"],
                  splits=[1], class_text="vc")["rows"][0]
    assert vc["variant"] == "descriptions (top-100) [hf-clip:clip]"
    assert vc["splits"][0]["top1"] == pytest.approx(
        _by_hand(stores["clip"], texts["clip-desc"], 1, alpha=0.0), abs=0.06)


def test_zero_shot_xclip_and_the_report_section(texts, stores, env):
    out = env / "zs_xclip.json"
    assert main(["evaluate", "--zero-shot", "clip", "--config", "clip/zs-names-hmdb51-full", "--features",
                 str(stores["xclip"]), "--text-features", str(texts["xclip-names"]), "--splits", "0", "--out",
                 str(out)]) == 0
    (row,) = json.loads(out.read_text())["rows"]
    assert row["variant"] == "names (1 prompt) [hf-xclip:xclip]" and row["protocol"]["splits"] == [0]
    assert row["splits"][0]["top1"] == pytest.approx(
        _by_hand(stores["xclip"], texts["xclip-names"], 0), abs=0.06)
    assert main(["report", str(out), "--reported", "--out", str(env / "report")]) == 0
    md = (env / "report" / "report.md").read_text()
    head, clip_era = md.split("## The CLIP-era table", 1)
    assert "| CLIP zero-shot | names (1 prompt) [hf-xclip:xclip] |" in clip_era
    assert "[SYNTHETIC]" in clip_era.split("\n")[0]
    published = clip_era.split("### Published video-CLIP rows", 1)[1]
    assert "| X-CLIP-B/16 | ucf101-full |" in published and "| ViFi-CLIP | kinetics600-zs |" in published
    assert "Table 2" not in published                       # the paper's rows stay in their own table
    assert "X-CLIP" not in head and "CLIP zero-shot |" not in head   # and no CLIP-era row among the Xu-protocol ones
    data = json.loads((env / "report" / "report.json").read_text())
    assert [r["method"] for r in data["clip_era"]] == ["clip-zs"] and len(data["clip_era_reported"]) == 12


@pytest.mark.parametrize(("case", "message"), [
    ("dim", "holds 16-d video features"),
    ("other-model", "zero-shot clip needs the video and text towers of one model"),
    ("other-family", "zero-shot clip needs the video and text towers of one model"),
    ("not-clip", "has no text tower ActionHub reads"),
    ("conse", "--zero-shot conse needs the ImageNet class probabilities"),
    ("unknown", "unknown zero-shot method 'clap'"),
    ("vc-without-descriptions", "--class-text vc needs descriptions"),
    ("recipe-other-text", "evaluates class text of kind 'names'"),
    ("runs-and-zero-shot", "belong to --zero-shot"),
    ("no-features", "no features"),
])
@pytest.mark.slow
def test_zero_shot_refusals(case, message, models, texts, stores, env, capsys):
    feats, text, extra = str(stores["clip"]), str(texts["clip-names"]), []
    if case == "dim":
        feats = str(_hmdb_store(env / "clip16.npz", texts["clip-names"], models["clip"], dim=16))
    elif case == "other-model":
        text = str(texts["clip2-names"])
    elif case == "other-family":
        text = str(texts["xclip-names"])
    elif case == "not-clip":
        feats = str(_hmdb_store(env / "tsm.npz", texts["clip-names"], "tsm"))
    elif case == "vc-without-descriptions":
        extra = ["--class-text", "vc"]
    elif case == "recipe-other-text":
        text, extra = str(texts["clip-defs"]), ["--config", "clip/zs-names-hmdb51-full"]
    method = {"conse": "conse", "unknown": "clap"}.get(case, "clip")
    if case == "runs-and-zero-shot":
        args = ["evaluate", "--runs", str(env / "run"), "--features", feats]
    elif case == "no-features":
        args = ["evaluate", "--zero-shot", "clip", "--benchmark", "hmdb51-full", "--text-features", text]
    else:
        args = ["evaluate", "--zero-shot", method, "--benchmark", "hmdb51-full", "--features", feats,
                "--text-features", text, "--splits", "0", *extra]
    capsys.readouterr()
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("actionhub evaluate: error:") and message in err, err


def test_text_features_refuses_a_prompt_without_name(models, env, capsys):
    assert main(["text-features", "--benchmark", "hmdb51-full", "--encoder", models["clip"], "--prompt",
                 "a video of a person.", "--out", str(env / "bad.npz"), "--no-progress"]) == 2
    assert "has no {name}" in capsys.readouterr().err and not (env / "bad.npz").exists()


def test_zero_shot_recipes_are_not_trained(capsys):
    assert main(["train", "--config", "clip/zs-names-ucf101-full", "--split", "0", "--features", "f.npz",
                 "--text-features",
                 "t.npz", "--out", "run"]) == 2
    assert "is training-free" in capsys.readouterr().err


# --------------------------------------------------------------------------- CoCo on CLIP features


def test_coco_on_clip_features_trains_on_kinetics400_and_tests_the_official_list(models, texts, stores, env):
    """clip/coco-hmdb51-full: SYNTHETIC Kinetics-400 training videos of the seen pool, the HMDB51
    store as evaluation features; only split 0's 1,530 listed test videos are scored."""
    t = np.load(texts["clip-names"], allow_pickle=False)
    row = {c: i for i, c in enumerate(t["classes"])}
    pool = kinetics400_pool()
    rng = np.random.default_rng(1)
    x = np.repeat(np.stack([t["ad"][row[c]] for c in pool]), 2, axis=0)
    x = (x + 0.02 * rng.standard_normal(x.shape)).astype(np.float32)
    train = save_features(env / "k400.npz", FeatureSet(x, np.repeat(np.array(pool, dtype=object), 2),
                                                       np.array([f"k{i}" for i in range(len(x))], dtype=object)),
                          meta={"backbone": models["clip"], "synthetic": True})
    run = env / "coco_run"
    assert main(["train", "--config", "clip/coco-hmdb51-full", "--split", "0", "--features", str(train),
                 "--eval-features", str(stores["clip"]), "--text-features", str(texts["clip-desc"]), "--epochs", "1",
                 "--batch-size", "64", "--out", str(run), "--no-progress"]) == 0
    rec = json.loads((run / "run.json").read_text())
    assert rec["method"] == "coco" and rec["benchmark"] == "hmdb51-full" and rec["data"]["synthetic"]
    assert rec["protocol"]["num_test_videos"] == 1530 and len(rec["protocol"]["unseen"]) == 51
    assert set(rec["protocol"]["seen"]) | set(rec["protocol"]["val"]) == set(pool)


# --------------------------------------------------------------------------- published video-CLIP rows


def test_published_clip_rows_are_sourced_and_kept_apart():
    from actionhub.evaluation.reported import family_of, reported_rows
    from actionhub.evaluation.results import ResultsError

    rows = reported_rows(family="clip-era")
    assert len(rows) == 12 and {r["benchmark"] for r in rows} == set(CLIP_ERA_BENCHMARKS)
    for r in rows:
        assert family_of(r) == "clip-era" and r["reported"] and not r["synthetic"]
        assert re.search(r"at commit [0-9a-f]{40}$", r["source"]["where"]) and r["source"]["row"]
        assert 0 < r["summary"]["top1"]["mean"] < 100 and "top5" not in r["summary"]
    got = {(r["source"]["row"], r["benchmark"]): r["summary"]["top1"]["mean"] for r in rows}
    assert got[("X-CLIP-B/16", "hmdb51-full")] == 44.6 and got[("ViFi-CLIP", "ucf101-full")] == 76.8
    assert not {r["benchmark"] for r in reported_rows()} & set(CLIP_ERA_BENCHMARKS)   # the paper's rows
    assert reported_rows(benchmarks=["kinetics600-zs"], family="clip-era") == [
        r for r in rows if r["benchmark"] == "kinetics600-zs"]
    with pytest.raises(ResultsError, match="family"):
        reported_rows(family="xclip")


def test_zero_shot_reads_an_er_style_folder_through_the_published_lists(tmp_path, caplog):
    """kinetics600-zs, a folder of <video>.npy without a video list (ER's layout): the split's test
    videos are found through the shipped lists; features are each class's own text row (SYNTHETIC)."""
    from actionhub.api import evaluate
    from actionhub.text.class_text import ClassText

    bench = get_benchmark("kinetics600-zs")
    rng = np.random.default_rng(0)
    ad = rng.standard_normal((len(bench.classes), 8)).astype(np.float32)
    text = ClassText(list(bench.classes), ad, np.zeros((0, 8), np.float32), np.zeros(len(bench.classes) + 1, np.int64),
                     {"encoder": "hf-clip:some/model", "synthetic": True})
    row = {c: i for i, c in enumerate(bench.classes)}
    per_class: dict[str, list[str]] = {}
    for video, cls in bench.eval_videos(0, "test"):
        per_class.setdefault(cls, []).append(video)
    chosen = [(v, c) for c in sorted(per_class)[:20] for v in per_class[c][:3]]
    for v, c in chosen:
        np.save(tmp_path / f"{v}.npy", ad[row[c]])
    with caplog.at_level(logging.WARNING):
        summary = evaluate(zero_shot="clip", benchmark="kinetics600-zs", features=tmp_path, text_features=text,
                           splits=[0], backbone="hf-clip:some/model")
    (r,) = summary["rows"]
    assert r["splits"][0]["num_test_videos"] == len(chosen) == 60 and r["splits"][0]["top1"] == 100.0
    assert r["variant"] == "AD [hf-clip:model]" and r["synthetic"]
    assert "140 of the 160 unseen classes" in caplog.text            # named, not silently dropped
