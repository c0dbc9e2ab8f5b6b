"""DEM baseline: embed the class text into the visual space, least squares, nearest neighbour.

Zhang, Xiang, Gong, CVPR 2017, Eq. (1) (one semantic modality), ``f1`` the ReLU::

    L(W1, W2) = 1/N sum_i || v_i - f1(W2 f1(W1 y_i)) ||^2 + lambda (||W1||^2 + ||W2||^2)
    y^ = argmin_j || v - f1(W2 f1(W1 y_j)) ||^2      (nearest class in the visual space)

Here ``v_i = x~``, ``y_j = s_j`` (:mod:`actionhub.models.baselines.common`); scores are
``-||x~ - phi(s_j)||^2``. The output ReLU suits the paper's non-negative CNN features, not centred
ones, so it is off by default (``output_relu=true`` restores it). Docs: docs/baselines.md#methods
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from actionhub.config import ModelConfig
from actionhub.models.baselines.common import BaselineModel


@dataclass
class DemParams:
    hidden: int = 1024          # width of the hidden layer (W1: D_t -> hidden, W2: hidden -> D_v)
    lam: float = 1e-3           # lambda: L2 weight of ||W1||^2 + ||W2||^2
    output_relu: bool = False   # the paper's f1 at the output (only for non-negative features)

    def validate(self) -> None:
        if self.hidden < 1 or self.lam < 0:
            raise ValueError(f"hidden must be >= 1 and lam >= 0, got {self}")


def dem_loss(x: Tensor, emb: Tensor, y: Tensor, weights: list[Tensor], lam: float) -> Tensor:
    """x: (N, D_v) visual features, emb: (C, D_v) embedded classes, y: (N,) ->
    scalar ``mean_i ||x_i - emb_{y_i}||^2 + lam * sum ||W||^2``."""
    data = ((x - emb[y]) ** 2).sum(dim=1).mean()
    return data + lam * sum((w ** 2).sum() for w in weights)


class Dem(BaselineModel):
    """DEM: a two-layer text -> visual MLP ``phi`` trained with :func:`dem_loss`."""

    def __init__(self, visual_dim: int, text_dim: int, cfg: ModelConfig, params: DemParams):
        super().__init__(visual_dim, text_dim, cfg, params)
        self.fc1 = nn.Linear(text_dim, params.hidden)
        self.fc2 = nn.Linear(params.hidden, visual_dim)

    def embed(self, s: Tensor) -> Tensor:
        """s: (C, D_t) class embeddings -> (C, D_v) points in the visual space."""
        out = self.fc2(torch.relu(self.fc1(s)))
        return torch.relu(out) if self.params.output_relu else out

    def class_embeddings(self, ad: Tensor, vc: Tensor) -> Tensor:
        return self.embed(self.class_text(ad, vc))

    def compatibility(self, x: Tensor, s: Tensor) -> Tensor:
        """x~: (N, D_v), s: (C, D_t) -> (N, C) negative squared distances in the visual space."""
        return -torch.cdist(x, self.embed(s)) ** 2

    @torch.no_grad()
    def scores(self, x: Tensor, class_emb: Tensor) -> Tensor:
        return -torch.cdist(self.prep_video(x), class_emb) ** 2

    def forward(self, x: Tensor, ad: Tensor, vc: Tensor, targets: Tensor | None = None,
                pool_ad: Tensor | None = None, pool_vc: Tensor
                | None = None) -> tuple[Tensor, dict[str, Tensor] | None]:
        xt, emb = self.prep_video(x), self.embed(self.class_text(ad, vc))
        f = -torch.cdist(xt, emb) ** 2
        if targets is None:
            return f, None
        return f, {"loss": dem_loss(xt, emb, targets, [self.fc1.weight, self.fc2.weight], self.params.lam)}
