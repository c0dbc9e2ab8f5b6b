"""ALE baseline: bilinear compatibility with a weighted approximate ranking loss.

Akata et al., CVPR 2013 / TPAMI 2016 (WSABIE-style ranking, Weston et al. 2011)::

    F(x, y) = theta(x)^T W phi(y),   r = #{y != y_n : Delta(y_n, y) + F(x_n, y) - F(x_n, y_n) > 0}
    l(x_n, y_n) = sum_{y} (beta_r / r) * max(0, Delta(y_n, y) + F(x_n, y) - F(x_n, y_n)),  beta_r = sum_{i<=r} 1/i

with ``Delta = delta`` for ``y != y_n`` else 0, ``0/0 = 0``, ``theta(x) = x~``, ``phi(y) = s_y``
(:mod:`actionhub.models.baselines.common`); ``r`` is counted exactly over all classes, vectorised
over the batch (the original samples it); the rank weights are constants. Docs: docs/baselines.md#methods
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from actionhub.models.baselines.common import BilinearModel, margin_violations


@dataclass
class AleParams:
    delta: float = 1.0    # Delta(y_n, y) for y != y_n

    def validate(self) -> None:
        if self.delta <= 0:
            raise ValueError(f"delta must be positive, got {self.delta}")


def rank_weights(r: Tensor, num_classes: int) -> Tensor:
    """r: (N,) int number of violating classes -> (N,) ``beta_r / r`` (0 where r = 0)."""
    harmonic = torch.cumsum(1.0 / torch.arange(1, num_classes + 1, dtype=torch.float32, device=r.device), 0)
    beta = torch.where(r > 0, harmonic[(r - 1).clamp(min=0)], torch.zeros((), device=r.device))
    return beta / r.clamp(min=1).to(beta.dtype)


def ale_loss(f: Tensor, y: Tensor, delta: float) -> Tensor:
    """f: (N, C), y: (N,) -> scalar: batch mean of the rank-weighted hinge loss above."""
    h = margin_violations(f, y, delta)                 # (N, C), 0 at the true class
    r = (h > 0).sum(dim=1)                             # (N,)
    w = rank_weights(r, f.shape[1]).detach()
    return (w * h.sum(dim=1)).mean()


class Ale(BilinearModel):
    """ALE: ``F(x, c) = x~^T W s_c`` trained with :func:`ale_loss`."""

    def objective(self, f: Tensor, y: Tensor, x: Tensor, s: Tensor) -> dict[str, Tensor]:
        return {"loss": ale_loss(f, y, self.params.delta)}
