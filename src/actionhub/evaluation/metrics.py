"""Evaluation metrics as pure functions returning plain numbers and dicts."""
from __future__ import annotations

import math
from typing import Any, Iterable, Sequence

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


METRIC_DIGITS = 4
"""Decimals kept when metrics are written to JSON: accuracies are percentages, so 4 decimals
(44.6667) are far below the resolution of any test set (100 / num_videos)."""


def round_metrics(obj: Any, ndigits: int = METRIC_DIGITS, keep: Sequence[str] = ("calibration",)) -> Any:
    """A copy of ``obj`` (nested dicts, lists, tuples of numbers) with every float rounded to
    ``ndigits`` decimals, for writing metrics to JSON.

    ints, bools, strings and non-finite floats (NaN, inf) are returned as they are; values
    under a dict key in ``keep`` are copied unrounded (a GZSL ``calibration`` is a setting
    the user chose, not a measurement). Pure: ``obj`` is not modified.
    """
    if isinstance(obj, bool) or obj is None or isinstance(obj, (int, str)):
        return obj
    if isinstance(obj, float):
        return round(obj, ndigits) if math.isfinite(obj) else obj
    if isinstance(obj, np.floating):
        return round_metrics(float(obj), ndigits, keep)
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, dict):
        return {k: (v if k in keep else round_metrics(v, ndigits, keep)) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(round_metrics(v, ndigits, keep) for v in obj)
    return obj


# ------------------------------------------------------------------------ GZSL
# Generalised zero-shot evaluation (beyond the paper): every test video, of a seen or
# an unseen class, is scored against seen ∪ unseen classes.  Following Xian et al.
# (TPAMI 2018) accuracies are per-class means (``acc_seen``, ``acc_unseen``) and ``h`` is
# their harmonic mean; per-video accuracies are reported too.  Calibrated stacking
# (Chao et al., ECCV 2016) subtracts ``calibration`` from every seen-class score before
# the argmax.  A video's GZSL outcome for *any* calibration depends on four numbers only
# (see :func:`gzsl_margins`), which is what a run stores to re-evaluate later.


def gzsl_margins(scores: Tensor | np.ndarray, y: Tensor | np.ndarray, seen_mask: Tensor
                 | np.ndarray) -> dict[str, np.ndarray]:
    """Per-video summary of GZSL scores, sufficient for every calibration.

    scores: (N, C) over seen ∪ unseen classes; y: (N,) true class indices into C;
    seen_mask: (C,) bool, True for seen classes (at least one seen and one unseen).
    Returns arrays of length N: ``label`` (int64, = y), ``is_seen`` (bool, the true
    class is seen), ``within`` (bool, the true class has the best score within its own
    group, seen or unseen; ties count as wrong only if another class of the group scores
    strictly higher), ``margin`` (float64, best seen score - best unseen score).
    """
    s = np.asarray(scores.detach().cpu() if isinstance(scores, Tensor) else scores, dtype=np.float64)
    yy = np.asarray(y.detach().cpu() if isinstance(y, Tensor) else y, dtype=np.int64)
    seen = np.asarray(seen_mask.detach().cpu() if isinstance(seen_mask, Tensor) else seen_mask, dtype=bool)
    if s.ndim != 2 or s.shape[1] != seen.shape[0] or s.shape[0] != yy.shape[0]:
        raise ValueError(f"scores (N, C) {s.shape}, y (N,) {yy.shape} and seen_mask (C,) {seen.shape} do not fit")
    if seen.all() or not seen.any():
        raise ValueError("GZSL needs at least one seen and one unseen class")
    best_seen = np.where(seen[None, :], s, -np.inf).max(axis=1)
    best_unseen = np.where(seen[None, :], -np.inf, s).max(axis=1)
    is_seen = seen[yy]
    true_score = s[np.arange(len(yy)), yy]
    within = true_score >= np.where(is_seen, best_seen, best_unseen)
    return {"label": yy, "is_seen": is_seen, "within": within, "margin": best_seen - best_unseen}


def _group_weights(label: np.ndarray, group: np.ndarray) -> np.ndarray:
    """(N,) weight of each video in its group's per-class mean: 1 / (n_class * classes_in_group)."""
    w = np.zeros(len(label), dtype=np.float64)
    for g in (True, False):
        idx = np.flatnonzero(group == g)
        if idx.size:
            _, inv, counts = np.unique(label[idx], return_inverse=True, return_counts=True)
            w[idx] = 1.0 / (counts[inv] * len(counts))
    return w


def gzsl_accuracy_from_margins(m: dict[str, np.ndarray], calibration: float = 0.0) -> dict[str, float]:
    """GZSL metrics (%) from :func:`gzsl_margins` output at one calibration.

    A video is predicted into the seen group iff ``margin - calibration > 0`` (ties go to
    the unseen group) and is correct iff that is its true group and ``within`` holds.
    Returns ``acc_seen``, ``acc_unseen``, ``h`` (per-class means and their harmonic mean),
    ``acc_seen_videos``, ``acc_unseen_videos``, ``h_videos`` (per-video), the counts and
    the calibration used. A group without videos gets NaN accuracies.
    """
    label, is_seen, within, margin = m["label"], m["is_seen"], m["within"], m["margin"]
    pred_seen = margin - calibration > 0
    correct = within & (pred_seen == is_seen)
    w = _group_weights(label, is_seen)
    out: dict[str, float] = {}
    for name, g in (("seen", True), ("unseen", False)):
        sel = is_seen == g
        out[f"acc_{name}"] = 100.0 * float((w[sel] * correct[sel]).sum()) if sel.any() else float("nan")
        out[f"acc_{name}_videos"] = 100.0 * float(correct[sel].mean()) if sel.any() else float("nan")
    out["h"] = harmonic_mean(out["acc_seen"], out["acc_unseen"])
    out["h_videos"] = harmonic_mean(out["acc_seen_videos"], out["acc_unseen_videos"])
    out["num_seen_videos"] = int(is_seen.sum())
    out["num_unseen_videos"] = int((~is_seen).sum())
    out["calibration"] = float(calibration)
    return out


def gzsl_accuracy(scores: Tensor | np.ndarray, y: Tensor | np.ndarray, seen_mask: Tensor | np.ndarray,
                  calibration: float = 0.0) -> dict[str, float]:
    """GZSL seen/unseen accuracy and harmonic mean (%), with calibrated stacking.

    scores: (N, C) over seen ∪ unseen; y: (N,); seen_mask: (C,) bool.
    Prediction: ``argmax_c (scores[:, c] - calibration * seen_mask[c])``.
    """
    return gzsl_accuracy_from_margins(gzsl_margins(scores, y, seen_mask), calibration)


def harmonic_mean(a: float, b: float) -> float:
    """2ab / (a + b); 0 when both are 0; NaN when either is NaN."""
    if np.isnan(a) or np.isnan(b):
        return float("nan")
    return 0.0 if a + b == 0 else 2.0 * a * b / (a + b)


def seen_unseen_curve(m: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray, float]:
    """The seen-unseen accuracy curve of calibrated stacking (Chao et al. 2016).

    m: :func:`gzsl_margins` output. Sweeps the calibration from -inf (everything
    predicted seen) to +inf (everything unseen) through every margin value.
    Returns ``(acc_unseen (P,), acc_seen (P,), ausuc)``: per-class mean accuracies as
    fractions in [0, 1], and the area under the curve (acc_seen over acc_unseen).
    """
    label, is_seen, within, margin = m["label"], m["is_seen"], m["within"], m["margin"]
    if not is_seen.any() or is_seen.all():
        raise ValueError("the seen-unseen curve needs videos of both seen and unseen classes")
    w = _group_weights(label, is_seen) * within          # what each video adds when its group wins
    order = np.argsort(margin, kind="stable")
    d, ws, seen_o = margin[order], w[order], is_seen[order]
    # At calibration just below d[i], videos 0..i-1 are predicted unseen, i.. seen.
    gain_u = np.concatenate([[0.0], np.cumsum(np.where(~seen_o, ws, 0.0))])
    lose_s = np.concatenate([[0.0], np.cumsum(np.where(seen_o, ws, 0.0))])
    total_s = float(np.where(seen_o, ws, 0.0).sum())
    # Keep only positions at the end of a tie group (a calibration cannot split ties).
    keep = np.concatenate([[True], np.append(d[1:] != d[:-1], True)])
    acc_u, acc_s = gain_u[keep], total_s - lose_s[keep]
    return acc_u, acc_s, float(np.trapezoid(acc_s, acc_u) if hasattr(np, "trapezoid") else np.trapz(acc_s, acc_u))
