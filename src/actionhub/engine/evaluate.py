"""Zero-shot evaluation of a trained model (paper Eq. 16-17): scores of videos against class
text, top-1/top-5 accuracy over the unseen classes, and the generalised (GZSL) setting over
seen + unseen classes."""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
from torch import nn

from actionhub.evaluation.metrics import gzsl_accuracy_from_margins, gzsl_margins, topk_accuracy
from actionhub.features import FeatureSet
from actionhub.text.class_text import ClassText

__all__ = ["EVAL_BATCH", "label_indices", "select_text", "text_tensors", "class_scores", "evaluate", "evaluate_gzsl"]

EVAL_BATCH = 8192


def label_indices(fs: FeatureSet, classes: Sequence[str]) -> np.ndarray:
    pos = {c: i for i, c in enumerate(classes)}
    try:
        return np.fromiter((pos[str(c)] for c in fs.labels), dtype=np.int64, count=len(fs.labels))
    except KeyError as e:
        raise ValueError(f"video label {e.args[0]!r} of {fs.source} is not among the expected classes") from None


def select_text(text: ClassText, classes: Sequence[str], k: int) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """:meth:`ClassText.select` with the top-k means computed once per (text, k).

    A run selects text for several class sets and evaluates every epoch; each
    ``ClassText.vc(k)`` is a pass over every description feature, so its result is kept
    on the object (the arrays of a ClassText are never modified in place)."""
    cache = text.__dict__.setdefault("_vc_cache", {})
    key = (k, id(text.desc), text.desc.shape, id(text.ad))
    if key not in cache:
        if len(cache) >= 8:
            cache.pop(next(iter(cache)))
        cache[key] = text.vc(k)
    vc, missing = cache[key]
    idx = text.indices(classes)
    missing_set = set(missing)
    return text.ad[idx], vc[idx], [c for c, i in zip(classes, idx, strict=True) if text.classes[i] in missing_set]


def text_tensors(text: ClassText, classes: Sequence[str], k: int,
                 device: str) -> tuple[torch.Tensor, torch.Tensor, list[str]]:
    ad, vc, fallback = select_text(text, classes, k)
    return torch.from_numpy(ad).to(device), torch.from_numpy(vc).to(device), fallback


@torch.no_grad()
def class_scores(model: nn.Module, fs: FeatureSet, classes: Sequence[str], text: ClassText, k: int,
                 device: str = "cpu") -> torch.Tensor:
    """(N, C) scores of the videos of ``fs`` against ``classes`` (Eq. 16 for CoCo; each
    baseline's compatibility otherwise), computed in batches."""
    model.eval()
    ad, vc, _ = text_tensors(text, classes, k, device)
    emb = model.class_embeddings(ad, vc)
    return torch.cat(
        [
            model.scores(torch.as_tensor(np.asarray(fs.features[i : i + EVAL_BATCH]), dtype=torch.float32,
                                         device=device), emb).cpu()
            for i in range(0, len(fs), EVAL_BATCH)
        ]
    )


@torch.no_grad()
def evaluate(model: nn.Module, fs: FeatureSet, classes: Sequence[str], text: ClassText, k: int,
             device: str = "cpu") -> dict[str, float]:
    """Zero-shot accuracy of ``fs`` over ``classes`` (Eq. 16-17): top-1/top-5 in %."""
    y = torch.from_numpy(label_indices(fs, classes))
    return topk_accuracy(class_scores(model, fs, classes, text, k, device), y, (1, 5))


@torch.no_grad()
def evaluate_gzsl(model: nn.Module, seen_fs: FeatureSet, unseen_fs: FeatureSet, seen: Sequence[str],
                  unseen: Sequence[str], text: ClassText, k: int, calibration: float = 0.0,
                  device: str = "cpu") -> tuple[dict[str, float], dict[str, np.ndarray]]:
    """GZSL: held-out seen-class videos and unseen-class videos, both scored over
    seen ∪ unseen. Returns the metrics at ``calibration`` and the per-video margins
    (:func:`actionhub.evaluation.metrics.gzsl_margins`) from which any calibration can be re-evaluated."""
    classes = list(seen) + list(unseen)
    mask = np.arange(len(classes)) < len(seen)
    parts = [gzsl_margins(class_scores(model, fs, classes, text, k, device), label_indices(fs, classes), mask)
             for fs in (seen_fs, unseen_fs)]
    m = {key: np.concatenate([p[key] for p in parts]) for key in parts[0]}
    return gzsl_accuracy_from_margins(m, calibration), m


