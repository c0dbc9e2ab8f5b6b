"""The generalised zero-shot (GZSL) hold-out: a deterministic share of each seen class's
training videos is kept out of training and scored over seen + unseen classes."""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from actionhub.engine.inputs import RunInputs
from actionhub.features import FeatureSet
from actionhub.utils.errors import UserError

__all__ = ["GZSL_HOLDOUT", "GZSL_RULE", "holdout_seen"]

GZSL_HOLDOUT = 0.2
GZSL_RULE = ("per seen class, the floor(fraction * n) videos with the smallest SHA-1 of their video id "
             "are held out of training and scored over seen + unseen classes")


def holdout_seen(inp: RunInputs, fraction: float = GZSL_HOLDOUT) -> RunInputs:
    """Inputs for a GZSL run: a deterministic ``fraction`` of each seen class's training
    videos moves from ``train`` to ``seen_test`` (see :data:`GZSL_RULE`).

    The choice depends only on the video ids, not on their order or a seed, so every
    method and rerun holds out the same videos. Classes with a single video keep it.
    """
    import hashlib

    if not 0.0 < fraction < 1.0:
        raise UserError(f"the GZSL hold-out fraction must lie in (0, 1), got {fraction}")
    tr = inp.train
    labels = tr.labels.astype(str)
    keys = np.array([hashlib.sha1(str(v).encode()).hexdigest() for v in tr.videos])
    order = np.lexsort((np.arange(len(tr)), keys, labels))           # by class, then hash
    cls_sorted = labels[order]
    starts = np.flatnonzero(np.r_[True, cls_sorted[1:] != cls_sorted[:-1]])
    counts = np.diff(np.r_[starts, len(order)])
    rank = np.arange(len(order)) - np.repeat(starts, counts)        # rank within the class
    n_hold = np.floor(fraction * counts).astype(np.int64)
    held = np.zeros(len(tr), bool)
    held[order] = rank < np.repeat(n_hold, counts)
    if not held.any():
        raise UserError(f"no seen-class video could be held out for GZSL (fraction {fraction}, "
                        f"{len(tr)} training videos): GZSL needs several videos per seen class")

    def part(mask: np.ndarray) -> FeatureSet:
        idx = np.flatnonzero(mask)
        return FeatureSet(np.asarray(tr.features[idx]), tr.labels[idx], tr.videos[idx], tr.source, dict(tr.meta))

    info = {**inp.data_info, "gzsl_holdout": {"fraction": fraction, "rule": GZSL_RULE, "num_held_out": int(held.sum())}}
    return replace(inp, train=part(~held), seen_test=part(held), data_info=info)


