"""The regression targets of the GCN baseline (:mod:`actionhub.models.baselines.gcn`): the seen
classes' classifier weights from a file, matched by class name (:func:`load_targets`), or the mean
centred, unit training feature of each seen class (:func:`class_mean_targets`)."""
from __future__ import annotations

import logging
from importlib import resources
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from actionhub.models.baselines.common import MEAN_CHUNK, MethodParamError
from actionhub.utils.names import listing, normalize_name
from actionhub.utils.textfile import read_text_file

__all__ = ["load_targets", "class_mean_targets", "target_class_names"]

log = logging.getLogger(__name__)


def target_class_names(spec: str) -> tuple[list[str], str]:
    """The class of each target row: from a file (one name a line) or the name of a label list
    shipped with ActionHub (``kinetics400`` ...). Returns ``(names, where they came from)``."""
    if not spec:
        raise MethodParamError("method 'gcn': targets=FILE.npy needs the class of each row: add "
                               "--method-param targets_classes=FILE.txt (one class name a line, in row order) "
                               "or targets_classes=kinetics400 (a label list shipped with ActionHub)")
    path = Path(spec)
    lists = resources.files("actionhub").joinpath("data", "labels")
    shipped = sorted(p.name[:-4] for p in lists.iterdir() if p.name.endswith(".txt"))
    if path.is_file():
        text, where = read_text_file(path, "targets_classes file"), str(path)
    elif spec in shipped:
        text, where = lists.joinpath(f"{spec}.txt").read_text(encoding="utf-8"), \
            f"actionhub label list {spec} (data/labels/{spec}.txt)"
    else:
        raise MethodParamError(f"method 'gcn': targets_classes={spec!r} is neither a file nor a shipped label list; "
                               f"write one class name a line to a file, or use one of: {', '.join(shipped)}")
    return [ln.strip() for ln in text.splitlines() if ln.strip()], where


def load_targets(path: str, classes_spec: str, seen: Sequence[str],
                 visual_dim: int) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """Classifier weights of the seen classes from ``path`` (.npy, (rows, D_v)) whose rows are
    the classes named by ``classes_spec`` (:func:`target_class_names`); matched by name.

    Returns ``(targets (S, D_v), positions of those S classes in seen (S,), info)``. Seen classes
    without a row are left out of the loss (logged); none matching is an error."""
    p = Path(path)
    if not p.is_file():
        raise MethodParamError(f"method 'gcn': targets file {p} not found; pass the .npy of the seen classes' "
                               "classifier weights (e.g. ER's datasets/Kinetics/zsl220/KG/pretsm.k400.fc.weight.npy)")
    try:
        w = np.load(p, allow_pickle=False)
    except (OSError, ValueError) as e:
        raise MethodParamError(f"method 'gcn': cannot read targets {p} as a .npy array: {e}") from None
    if w.ndim != 2 or not np.issubdtype(w.dtype, np.floating):
        raise MethodParamError(f"method 'gcn': targets {p} must be a 2-D float array (classes, dim), got "
                               f"{w.dtype} {w.shape}")
    if w.shape[1] != visual_dim:
        raise MethodParamError(f"method 'gcn': targets {p} have dimension {w.shape[1]} but the video features "
                               f"have {visual_dim}; the targets must be classifier weights in the features' own "
                               "space (the TSM Kinetics-400 classifier is 2048-d, for TSM features)")
    names, where = target_class_names(classes_spec)
    if len(names) != len(w):
        raise MethodParamError(f"method 'gcn': targets {p} have {len(w)} rows but targets_classes ({where}) "
                               f"names {len(names)} classes; they must name the class of every row, in order")
    row_of = {normalize_name(n): i for i, n in enumerate(names)}
    pos, rows, missing = [], [], []
    for j, c in enumerate(seen):
        r = row_of.get(normalize_name(c))
        if r is None:
            missing.append(c)
        else:
            pos.append(j)
            rows.append(r)
    if not rows:
        raise MethodParamError(f"method 'gcn': none of the {len(seen)} seen classes is named in targets_classes "
                               f"({where}); check the class order file (e.g. {listing(list(seen)[:3])})")
    if missing:
        log.warning("gcn: %d seen class(es) have no target row and are left out of the loss: %s",
                    len(missing), listing(missing[:10], len(missing)))
    info = {"kind": "classifier weights", "file": str(p), "rows": int(len(w)), "classes": where,
            "seen_with_target": len(rows), "seen_without_target": missing}
    return np.asarray(w[rows], np.float32), np.asarray(pos, np.int64), info


def class_mean_targets(features: np.ndarray, y: np.ndarray, num_classes: int,
                       mu: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean of ``normalize(x - mu)`` per class. features: (N, D) (may be memory-mapped),
    y: (N,) in [0, num_classes), mu: (D,) -> (means of the classes with videos (S, D), their indices (S,))."""
    sums = np.zeros((num_classes, features.shape[1]), np.float64)
    for i in range(0, features.shape[0], MEAN_CHUNK):
        xb = np.asarray(features[i : i + MEAN_CHUNK], np.float64) - mu
        xb /= np.maximum(np.linalg.norm(xb, axis=1, keepdims=True), 1e-12)
        np.add.at(sums, y[i : i + MEAN_CHUNK], xb)
    counts = np.bincount(y, minlength=num_classes)
    have = np.flatnonzero(counts)
    return (sums[have] / counts[have, None]).astype(np.float32), have.astype(np.int64)
