import pytest
import torch

from actionhub.evaluation.metrics import mean_std, topk_accuracy, topk_correct


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
