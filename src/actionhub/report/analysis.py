"""What the qualitative figures show, computed from a trained model and its inputs.

* Fig. 11: class visual features (mean of a class's projected video features, Eq. 1) and
  class semantic features (Eq. 17) of a few classes, embedded in 2-D with t-SNE.
* Fig. 12: the top-5 classes of the backward-pass attention (Eq. 12) of chosen unseen
  classes. The figure needs the class itself among the backward keys, so the cycle runs
  with the split's unseen classes in the role of ``z^s`` and the seen classes as the pool
  (:func:`actionhub.models.coco.losses.cycle_reconstruct` with the roles of Eq. 11-12 swapped);
  a model whose classes keep their semantics puts most weight on the class itself.
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


@torch.no_grad()
def class_features(model: Any, inp: RunInputs, classes: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """(visual (C, d), semantic (C, d)), both L2-normalised, for a CoCo-family ``model``.

    visual: mean of the projected, normalised video features of each class (Eq. 1);
    semantic: the class semantic feature p_j (Eq. 17) of the model's class text setting.
    """
    model.eval()
    vis = []
    for c in classes:
        x = torch.as_tensor(_videos_of(inp, c), dtype=torch.float32)
        vis.append(model.encode_video(x).mean(dim=0))
    ad, vc, _ = select_text(inp.text, list(classes), model.cfg.k)
    sem = model.class_embeddings(torch.from_numpy(ad), torch.from_numpy(vc))
    return F.normalize(torch.stack(vis), dim=-1).numpy(), F.normalize(sem, dim=-1).numpy()


def alignment(visual: np.ndarray, semantic: np.ndarray) -> dict[str, float]:
    """visual, semantic: (C, d) unit rows -> how well each class's two features match:
    ``own_cos`` (mean cosine with its own semantic feature) and ``top1`` (% of classes whose
    visual feature is nearest to their own semantic feature among the C)."""
    sim = visual @ semantic.T
    return {"own_cos": float(np.diag(sim).mean()), "top1": 100.0 * float((sim.argmax(axis=1) == np.arange(len(sim))).mean())}


def tsne_2d(visual: np.ndarray, semantic: np.ndarray, seed: int = 0) -> np.ndarray:
    """(C, d) + (C, d) -> (2C, 2) t-SNE of the visual rows then the semantic rows (cosine metric)."""
    try:
        from sklearn.manifold import TSNE
    except ImportError:  # pragma: no cover - exercised only without the extra
        raise ImportError("the t-SNE figure needs scikit-learn: `pip install scikit-learn` "
                          "(or `pip install 'actionhub[plot]'`)") from None
    pts = np.concatenate([visual, semantic]).astype(np.float64)
    perplexity = float(max(2, min(5, len(pts) // 3)))
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
