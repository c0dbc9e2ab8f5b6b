"""What the qualitative figures show, computed from a trained model and its inputs.

* Fig. 11: projected features of individual videos (a seeded sample, up to ``per_class`` a class)
  and the class semantic features (Eq. 17), embedded together by t-SNE, and how well each video
  lands on its own class (:func:`video_alignment`); class means would hide what differs.
* Fig. 12: the top-5 classes of the backward cycle attention (Eq. 12) of unseen classes, run with
  the roles of Eq. 11-12 swapped (unseen as ``z^s``, seen as the pool) so that the class itself is
  among the keys (:func:`actionhub.models.coco.losses.cycle_reconstruct`).

Docs: docs/baselines.md#report
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from actionhub.engine.evaluate import select_text
from actionhub.engine.inputs import RunInputs
from actionhub.models.coco.losses import cycle_reconstruct


def pick_classes(inp: RunInputs, n_seen: int = 5, n_unseen: int = 5, seed: int = 0) -> list[str]:
    """``n_seen`` seen and ``n_unseen`` unseen classes of the split, drawn with ``seed``."""
    rng = np.random.default_rng(seed)
    seen = [inp.seen[i] for i in sorted(rng.choice(len(inp.seen), min(n_seen, len(inp.seen)), replace=False))]
    unseen = [inp.unseen[i] for i in sorted(rng.choice(len(inp.unseen), min(n_unseen, len(inp.unseen)), replace=False))]
    return seen + unseen


def _videos_of(inp: RunInputs, cls: str) -> np.ndarray:
    parts = [fs for fs in (inp.train, inp.seen_test, inp.test, inp.val_set) if fs is not None]
    rows = [np.asarray(fs.features[np.flatnonzero(fs.labels.astype(str) == cls)]) for fs in parts]
    rows = [r for r in rows if len(r)]
    if not rows:
        raise ValueError(f"no videos of class {cls!r} in the run's inputs")
    return np.concatenate(rows)


def sample_videos(inp: RunInputs, classes: Sequence[str], per_class: int = 25,
                  seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Up to ``per_class`` videos of each class, drawn without replacement with ``seed``.

    A class's videos are all its videos in the run's inputs (training videos for a seen
    class, test or val videos for an unseen one). Returns ``(features (N, D) float32,
    labels (N,) int64 indices into classes)``, classes in the given order.
    """
    if per_class < 1:
        raise ValueError(f"per_class must be at least 1, got {per_class}")
    rng = np.random.default_rng(seed)
    feats, labels = [], []
    for i, c in enumerate(classes):
        x = _videos_of(inp, c)
        idx = np.sort(rng.choice(len(x), min(per_class, len(x)), replace=False))
        feats.append(np.asarray(x[idx], dtype=np.float32))
        labels.append(np.full(len(idx), i, dtype=np.int64))
    return np.concatenate(feats), np.concatenate(labels)


@torch.no_grad()
def video_and_class_features(model: Any, inp: RunInputs, classes: Sequence[str],
                             videos: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(visual (N, d), semantic (C, d)), both L2-normalised, for a CoCo-family ``model``.

    videos: (N, D) raw video features (:func:`sample_videos`); visual: their projected,
    normalised features (the per-video term of Eq. 1); semantic: the class semantic feature
    p_j (Eq. 17) of each of ``classes`` in the model's class text setting.
    """
    model.eval()
    vis = model.encode_video(torch.as_tensor(videos, dtype=torch.float32))
    ad, vc, _ = select_text(inp.text, list(classes), model.cfg.k)
    sem = model.class_embeddings(torch.from_numpy(ad), torch.from_numpy(vc))
    return F.normalize(vis, dim=-1).numpy(), F.normalize(sem, dim=-1).numpy()


def video_alignment(visual: np.ndarray, labels: np.ndarray, semantic: np.ndarray,
                    seen: np.ndarray | None = None) -> dict[str, float]:
    """How well individual videos land on their own class among the C shown.

    visual: (N, d) unit rows, labels: (N,) indices into C, semantic: (C, d) unit rows,
    seen: optional (C,) bool marking seen classes. Returns ``num_videos``; ``own_cos``
    (mean cosine of a video with its own class semantic feature); ``other_cos`` (mean
    cosine with the C - 1 other classes); ``top1`` (% of videos whose nearest semantic
    feature among the C is their own class; chance is 100 / C); with ``seen``, ``top1_seen``
    and ``top1_unseen`` over the videos of seen / unseen classes (NaN when there are none).
    """
    labels = np.asarray(labels, dtype=np.int64)
    sim = np.asarray(visual, dtype=np.float64) @ np.asarray(semantic, dtype=np.float64).T   # (N, C)
    n, c = sim.shape
    if n == 0 or c < 2:
        raise ValueError(f"video_alignment needs videos and at least 2 classes, got {n} videos, {c} classes")
    own = sim[np.arange(n), labels]
    other = (sim.sum(axis=1) - own) / (c - 1)
    hit = sim.argmax(axis=1) == labels
    out = {"num_videos": int(n), "own_cos": float(own.mean()), "other_cos": float(other.mean()),
           "top1": 100.0 * float(hit.mean())}
    if seen is not None:
        is_seen = np.asarray(seen, dtype=bool)[labels]
        for name, mask in (("top1_seen", is_seen), ("top1_unseen", ~is_seen)):
            out[name] = 100.0 * float(hit[mask].mean()) if mask.any() else float("nan")
    return out


def tsne_2d(visual: np.ndarray, semantic: np.ndarray, seed: int = 0) -> np.ndarray:
    """(N, d) + (C, d) -> (N + C, 2): one t-SNE (cosine metric, PCA init, seeded, so the
    same inputs give the same layout) of the visual rows then the semantic rows."""
    try:
        from sklearn.manifold import TSNE
    except ImportError:  # pragma: no cover - exercised only without the extra
        raise ImportError("the t-SNE figure needs scikit-learn: `pip install scikit-learn` "
                          "(or `pip install 'actionhub[plot]'`)") from None
    from threadpoolctl import threadpool_limits  # a dependency of scikit-learn

    pts = np.concatenate([visual, semantic]).astype(np.float64)
    if len(pts) < 3:
        raise ValueError(f"t-SNE needs at least 3 points, got {len(pts)}")
    perplexity = float(max(1.0, min(30.0, (len(pts) - 1) / 3)))
    # A few hundred points need one thread; OpenMP threads on a busy machine made it 10x slower.
    with threadpool_limits(limits=1):
        return TSNE(n_components=2, perplexity=perplexity, init="pca", metric="cosine", random_state=seed,
                    max_iter=1000).fit_transform(pts)


@torch.no_grad()
def cycle_neighbours(model: Any, inp: RunInputs, queries: Sequence[str], top: int = 5) -> list[dict[str, Any]]:
    """Top-``top`` backward-attention neighbours (Eq. 12) of each query among the unseen classes.

    Returns one dict per query: ``class``, ``neighbours`` [(class, weight)], ``self_weight``
    and ``self_rank`` (1 = the class attends most to itself).
    """
    model.eval()
    unseen, seen = list(inp.unseen), list(inp.seen)
    k = model.cfg.k
    ad_u, vc_u, _ = select_text(inp.text, unseen, k)
    ad_s, vc_s, _ = select_text(inp.text, seen, k)
    z_u = model.class_embeddings(torch.from_numpy(ad_u), torch.from_numpy(vc_u))
    z_s = model.class_embeddings(torch.from_numpy(ad_s), torch.from_numpy(vc_s))
    _, _, _, attn_b = cycle_reconstruct(z_u, z_s, model.cfg.tau)       # (U, U)
    out = []
    for q in queries:
        i = unseen.index(q)
        row = attn_b[i].numpy()
        order = np.argsort(-row, kind="stable")
        out.append({"class": q, "neighbours": [(unseen[j], float(row[j])) for j in order[:top]],
                    "self_weight": float(row[i]), "self_rank": int(np.flatnonzero(order == i)[0]) + 1})
    return out
