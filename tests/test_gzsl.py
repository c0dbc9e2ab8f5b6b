"""GZSL metrics on a hand-made confusion case; the seen-class hold-out; GZSL runs."""
import json
from dataclasses import replace

import numpy as np
import pytest
import torch

from actionhub.config import ModelConfig, OptimConfig, TrainConfig
from actionhub.demo.synthetic import SyntheticSpec, SyntheticWorld
from actionhub.engine.checkpoint import RunDirError, load_model
from actionhub.engine.evaluate import evaluate_gzsl
from actionhub.engine.gzsl import holdout_seen
from actionhub.engine.inputs import RunInputs
from actionhub.engine.trainer import train_run
from actionhub.evaluation.metrics import (
    gzsl_accuracy,
    gzsl_accuracy_from_margins,
    gzsl_margins,
    harmonic_mean,
    seen_unseen_curve,
)
from actionhub.features import FeatureSet

# classes s0, s1 (seen), u0, u1 (unseen)
SEEN_MASK = np.array([True, True, False, False])
SCORES = np.array([
    [0.9, 0.1, 0.5, 0.0],   # y=s0: right within seen, seen wins by 0.4
    [0.2, 0.6, 0.1, 0.0],   # y=s0: s1 beats it within seen -> always wrong
    [0.1, 0.7, 0.8, 0.0],   # y=s1: right within seen, but u0 wins by 0.1
    [0.3, 0.0, 0.6, 0.2],   # y=u0: right within unseen, unseen wins by 0.3
    [0.5, 0.0, 0.1, 0.4],   # y=u1: right within unseen, but s0 wins by 0.1
    [0.0, 0.0, 0.1, 0.9],   # y=u1: right
])
Y = np.array([0, 0, 1, 2, 3, 3])


def test_margins_summarise_each_video():
    m = gzsl_margins(SCORES, Y, SEEN_MASK)
    assert m["is_seen"].tolist() == [True, True, True, False, False, False]
    assert m["within"].tolist() == [True, False, True, True, True, True]
    assert m["margin"] == pytest.approx([0.4, 0.5, -0.1, -0.3, 0.1, -0.9])


def test_hand_made_confusion_without_calibration():
    out = gzsl_accuracy(torch.tensor(SCORES), torch.tensor(Y), torch.tensor(SEEN_MASK))
    # seen: s0 1/2, s1 0/1 -> 25 %; unseen: u0 1/1, u1 1/2 -> 75 %
    assert out["acc_seen"] == pytest.approx(25.0)
    assert out["acc_unseen"] == pytest.approx(75.0)
    assert out["h"] == pytest.approx(37.5)
    assert out["acc_seen_videos"] == pytest.approx(100 / 3)
    assert out["acc_unseen_videos"] == pytest.approx(200 / 3)
    assert out["num_seen_videos"] == 3 and out["num_unseen_videos"] == 3


def test_calibrated_stacking_moves_videos_between_groups():
    up = gzsl_accuracy(SCORES, Y, SEEN_MASK, calibration=0.2)     # seen scores - 0.2
    assert up["acc_seen"] == pytest.approx(25.0) and up["acc_unseen"] == pytest.approx(100.0)
    assert up["h"] == pytest.approx(40.0)
    down = gzsl_accuracy(SCORES, Y, SEEN_MASK, calibration=-0.2)  # favours seen classes
    assert down["acc_seen"] == pytest.approx(75.0) and down["acc_unseen"] == pytest.approx(75.0)


def test_margins_agree_with_a_direct_argmax_for_any_calibration():
    rng = np.random.default_rng(0)
    s, y = rng.normal(size=(300, 9)), rng.integers(0, 9, 300)
    mask = np.arange(9) < 5
    m = gzsl_margins(s, y, mask)
    for gamma in (-0.5, 0.0, 0.3, 1.0):
        pred = (s - gamma * mask).argmax(axis=1)
        ok = pred == y
        want_seen = np.mean([ok[y == c].mean() for c in range(5)]) * 100
        want_unseen = np.mean([ok[y == c].mean() for c in range(5, 9)]) * 100
        got = gzsl_accuracy_from_margins(m, gamma)
        assert got["acc_seen"] == pytest.approx(want_seen) and got["acc_unseen"] == pytest.approx(want_unseen)


def test_harmonic_mean_edge_cases():
    assert harmonic_mean(0.0, 0.0) == 0.0
    assert harmonic_mean(50.0, 50.0) == pytest.approx(50.0)
    assert np.isnan(harmonic_mean(float("nan"), 3.0))


def test_seen_unseen_curve_areas():
    perfect = {"label": np.array([0, 1]), "is_seen": np.array([True, False]), "within": np.array([True, True]),
               "margin": np.array([1.0, -1.0])}
    u, s, area = seen_unseen_curve(perfect)
    assert area == pytest.approx(1.0)
    assert (u[0], s[0]) == (0.0, 1.0) and (u[-1], s[-1]) == (1.0, 0.0)
    swapped = dict(perfect, margin=np.array([-1.0, 1.0]))
    assert seen_unseen_curve(swapped)[2] == pytest.approx(0.0)


def test_gzsl_needs_both_groups():
    with pytest.raises(ValueError):
        gzsl_margins(SCORES, Y, np.ones(4, bool))


# ------------------------------------------------------------ hold-out and GZSL runs

SEEN = [f"s{i}" for i in range(12)]
UNSEEN = [f"u{i}" for i in range(8)]


def _inputs():
    world = SyntheticWorld(SEEN + UNSEEN, SyntheticSpec(visual_dim=48, text_dim=24, latent_dim=16, num_concepts=30,
                                                       descriptions_per_class=20, seed=4, sigma_video=0.9,
                                                       sigma_ad=0.8, sigma_desc=1.2, view_overlap=1.0))
    return world, RunInputs(benchmark="synthetic", split=0, seen=SEEN, val=(), unseen=UNSEEN,
                            train=world.videos(SEEN, 20, seed=1), test=world.videos(UNSEEN, 10, seed=2),
                            text=world.class_text(), data_info={"synthetic": True, "features": "synthetic"})


def test_holdout_is_per_class_deterministic_and_order_free():
    _, inp = _inputs()
    g = holdout_seen(inp, 0.2)
    assert len(g.seen_test) == 12 * 4 and len(g.train) == 12 * 16
    assert set(g.seen_test.videos).isdisjoint(g.train.videos)
    labels, counts = np.unique(g.seen_test.labels.astype(str), return_counts=True)
    assert list(counts) == [4] * 12
    perm = np.random.default_rng(0).permutation(len(inp.train))
    shuffled = replace(inp, train=FeatureSet(inp.train.features[perm], inp.train.labels[perm], inp.train.videos[perm]))
    assert set(holdout_seen(shuffled, 0.2).seen_test.videos) == set(g.seen_test.videos)
    assert g.data_info["gzsl_holdout"]["num_held_out"] == 48
    one = replace(inp, train=FeatureSet(inp.train.features[:1], inp.train.labels[:1], inp.train.videos[:1]))
    with pytest.raises(ValueError, match="held out"):
        holdout_seen(one, 0.2)


def test_gzsl_run_records_metrics_and_recalibrates_from_disk(tmp_path, capsys):
    from actionhub.cli import main

    world, inp = _inputs()
    cfg = TrainConfig(model=ModelConfig(dim=32, k=10),
                      optim=replace(OptimConfig(), epochs=4, batch_size=64, val_classes=0), method="devise")
    rec = train_run(cfg, holdout_seen(inp), tmp_path / "g", progress=False, calibration=0.0)
    g = rec["metrics"]["gzsl"]
    assert g["num_seen_videos"] == 48 and g["num_unseen_videos"] == 80
    assert rec["protocol"]["gzsl"]["fraction"] == 0.2 and rec["protocol"]["num_train_videos"] == 192
    assert g["h"] == pytest.approx(harmonic_mean(g["acc_seen"], g["acc_unseen"]), abs=1e-3)
    # run.json rounds the metrics to 4 decimals; gzsl.npz keeps the exact per-video margins.
    assert json.loads((tmp_path / "g" / "run.json").read_text())["metrics"]["gzsl"] == g
    assert all(v == round(v, 4) for v in (g["acc_seen"], g["acc_unseen"], g["h"], g["acc_seen_videos"]))
    with np.load(tmp_path / "g" / "gzsl.npz") as z:
        assert any(m != round(m, 4) for m in z["margin"].tolist())
    # The stored margins reproduce a fresh evaluation at another calibration.
    model = load_model(tmp_path / "g")
    g_inp = holdout_seen(inp)
    fresh, _ = evaluate_gzsl(model, g_inp.seen_test, g_inp.test, SEEN, UNSEEN, world.class_text(), 10, calibration=0.05)
    assert main(["evaluate", "--runs", str(tmp_path / "g"), "--gzsl", "--calibration", "0.05",
                 "--out", str(tmp_path / "res.json")]) == 0
    out = capsys.readouterr().out
    assert "GZSL H" in out and "gamma = 0.05" in out
    row = json.loads((tmp_path / "res.json").read_text())["rows"][0]
    assert row["summary"]["gzsl"]["h"]["mean"] == pytest.approx(fresh["h"], abs=1e-4)   # results keep 4 decimals
    assert all(v == round(v, 4) for v in (row["summary"]["gzsl"]["h"]["mean"], row["splits"][0]["gzsl"]["h"]))
    # A GZSL run changes the training set: it cannot resume a plain run's directory.
    train_run(cfg, inp, tmp_path / "plain", progress=False, callbacks=[lambda e: e["epoch"] >= 0])
    with pytest.raises(RunDirError):
        train_run(cfg, holdout_seen(inp), tmp_path / "plain", progress=False)
    assert main(["evaluate", "--runs", str(tmp_path / "g"), "--calibration", "1"]) == 2
    assert "--gzsl" in capsys.readouterr().err
