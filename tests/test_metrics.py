import math

import numpy as np
import pytest
import torch

from actionhub.evaluation.metrics import mean_std, round_metrics, topk_accuracy, topk_correct


def test_topk_on_hand_made_scores():
    scores = torch.tensor([
        [0.9, 0.1, 0.0, 0.0, 0.0, 0.0],   # y=0: top-1 hit
        [0.1, 0.2, 0.3, 0.4, 0.5, 0.6],   # y=0: rank 6 -> miss in top-5
        [0.0, 0.5, 0.4, 0.3, 0.2, 0.1],   # y=2: rank 2 -> top-5 hit only
        [0.3, 0.2, 0.1, 0.9, 0.0, 0.0],   # y=3: top-1 hit
    ])
    y = torch.tensor([0, 0, 2, 3])
    m = topk_accuracy(scores, y)
    assert m["top1"] == pytest.approx(50.0)
    assert m["top5"] == pytest.approx(75.0)
    # per class: class 0 -> 1/2, class 2 -> 0, class 3 -> 1 -> mean 0.5
    assert m["mean_class_top1"] == pytest.approx(50.0)
    assert m["num_videos"] == 4 and m["num_classes"] == 6


def test_topk_with_fewer_classes_than_k():
    hits = topk_correct(torch.tensor([[0.2, 0.8]]), torch.tensor([0]), (1, 5))
    assert not hits[1].item() and hits[5].item()


def test_empty_evaluation_set_is_an_error():
    with pytest.raises(ValueError):
        topk_accuracy(torch.zeros(0, 3), torch.zeros(0, dtype=torch.long))


def test_mean_std_population():
    out = mean_std([1.0, 3.0])
    assert out == {"mean": 2.0, "std": 1.0, "n": 2}


def test_round_metrics_rounds_every_float_and_nothing_else():
    m = topk_accuracy(torch.tensor([[0.9, 0.1, 0.0]] * 2 + [[0.0, 0.1, 0.9]]), torch.tensor([0, 0, 0]))
    assert m["top1"] == pytest.approx(200 / 3) and m["top1"] != round(m["top1"], 4)
    obj = {"test": m, "runs": [{"top1": 44.66666579246521, "n": 3, "ok": True}], "pair": (1 / 3, 2),
           "gzsl": {"h": float("nan"), "calibration": 0.123456789, "acc": np.float32(12.3456789)}}
    out = round_metrics(obj)
    assert out["test"]["top1"] == 66.6667 and out["test"]["num_videos"] == 3
    assert out["runs"] == [{"top1": 44.6667, "n": 3, "ok": True}] and out["pair"] == (0.3333, 2)
    assert math.isnan(out["gzsl"]["h"]) and out["gzsl"]["calibration"] == 0.123456789   # a setting, kept
    assert out["gzsl"]["acc"] == 12.3457 and type(out["gzsl"]["acc"]) is float
    assert obj["runs"][0]["top1"] == 44.66666579246521                                   # pure: input untouched
    assert round_metrics({"top1": 44.66666579246521}, ndigits=2) == {"top1": 44.67}
