"""``clip-zs``: training-free zero-shot scoring in a video-language model's own joint space.

The video feature of a CLIP / X-CLIP backbone and the class text of the same model's text tower
live in one space, so a video is scored against a class by their cosine, with nothing learned.
The class embedding is the paper's Eq. 17 taken in that space:

    p_j = normalize(alpha * normalize(z_j^l) + (1 - alpha) * normalize(z_j^c))

with ``z^l`` the class's AD row (its name prompts or ``"name: definition"``) and ``z^c`` the mean
of its top-k description embeddings (Eq. 6, :meth:`actionhub.text.class_text.ClassText.vc`);
``alpha = 1`` is the name (or definition) alone, ``alpha = 0`` the descriptions alone. The score of
video ``i`` for class ``j`` is ``cos(x_i, p_j)`` (Eq. 16 without the learned projections).
"""
from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor

__all__ = ["TITLE", "SUMMARY", "class_embeddings", "scores"]

TITLE = "CLIP zero-shot"
SUMMARY = ("training-free: cosine between the backbone's video embedding and the same model's class text "
           "embedding, alpha-fused with the top-k description embeddings (Eq. 17 in the joint space)")


def class_embeddings(ad: Tensor, vc: Tensor, alpha: float) -> Tensor:
    """ad: (C, D) AD rows, vc: (C, D) top-k description means -> (C, D) unit class embeddings
    ``normalize(alpha * normalize(ad) + (1 - alpha) * normalize(vc))``; ``alpha`` in [0, 1]."""
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must lie in [0, 1], got {alpha}")
    return F.normalize(alpha * F.normalize(ad, dim=-1) + (1.0 - alpha) * F.normalize(vc, dim=-1), dim=-1)


def scores(x: Tensor, emb: Tensor) -> Tensor:
    """x: (N, D) video embeddings, emb: (C, D) class embeddings -> (N, C) cosine similarities."""
    return F.normalize(x, dim=-1) @ F.normalize(emb, dim=-1).T
