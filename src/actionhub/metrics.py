"""Evaluation metrics as pure functions returning plain numbers and dicts."""
from __future__ import annotations

from typing import Iterable, Sequence

import numpy as np
import torch
from torch import Tensor


def topk_correct(scores: Tensor, y: Tensor, ks: Sequence[int] = (1, 5)) -> dict[int, Tensor]:
    """scores: (N, C), y: (N,) -> {k: (N,) bool}, whether y_i is among the k best classes.

    k larger than C counts every prediction as correct (as top-5 over 3 classes would).
    """
    kmax = min(max(ks), scores.shape[1])
    top = scores.topk(kmax, dim=1).indices          # (N, kmax)
    hit = top == y[:, None]                           # (N, kmax)
    return {k: hit[:, : min(k, kmax)].any(dim=1) for k in ks}


def topk_accuracy(scores: Tensor, y: Tensor, ks: Sequence[int] = (1, 5)) -> dict[str, float]:
    """scores: (N, C), y: (N,) -> {"top1": %, "top5": %, "mean_class_top1": %}.

    Accuracies are percentages over videos; ``mean_class_top1`` averages the per-class
    top-1 accuracy over the classes present in ``y``.
    """
    if scores.shape[0] == 0:
        raise ValueError("cannot compute accuracy of an empty evaluation set")
    hits = topk_correct(scores, y, ks)
    out = {f"top{k}": 100.0 * hits[k].float().mean().item() for k in ks}
    h1 = (scores.argmax(dim=1) == y).float()
    classes, inverse = torch.unique(y, return_inverse=True)
    per_class = torch.zeros(len(classes)).index_add_(0, inverse, h1) / torch.bincount(inverse).float()
    out["mean_class_top1"] = 100.0 * per_class.mean().item()
    out["num_videos"] = int(scores.shape[0])
    out["num_classes"] = int(scores.shape[1])
    return out


def mean_std(values: Iterable[float]) -> dict[str, float]:
    """Mean and population standard deviation (ddof=0) over splits, plus the count."""
    arr = np.asarray(list(values), dtype=np.float64)
    if arr.size == 0:
        raise ValueError("mean_std of no values")
    return {"mean": float(arr.mean()), "std": float(arr.std()), "n": int(arr.size)}
