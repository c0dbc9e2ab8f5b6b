"""DEVISE baseline: a linear map trained with a hinge rank loss.

Frome et al., "DeViSE: A Deep Visual-Semantic Embedding Model", NIPS 2013, Eq. (1)::

    loss(x, y) = sum_{j != y} max(0, margin - t_y^T M v(x) + t_j^T M v(x))

Here ``v(x) = x~`` and ``t_j = s_j`` (:mod:`actionhub.models.baselines.common`), so
``t_j^T M v(x) = x~^T W s_j`` with ``W = M^T: (D_v, D_t)``; batch mean; the run's Adam schedule,
whose weight decay is the only regulariser.
Docs: docs/baselines.md#methods
"""
from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor

from actionhub.models.baselines.common import BilinearModel, margin_violations


@dataclass
class DeviseParams:
    margin: float = 0.1   # DeViSE's margin (the paper used 0.1)

    def validate(self) -> None:
        if self.margin <= 0:
            raise ValueError(f"margin must be positive, got {self.margin}")


def devise_loss(f: Tensor, y: Tensor, margin: float) -> Tensor:
    """f: (N, C) compatibilities, y: (N,) -> scalar: batch mean of the summed hinge rank loss."""
    return margin_violations(f, y, margin).sum(dim=1).mean()


class Devise(BilinearModel):
    """DEVISE: ``F(x, c) = x~^T W s_c`` trained with :func:`devise_loss`."""

    def objective(self, f: Tensor, y: Tensor, x: Tensor, s: Tensor) -> dict[str, Tensor]:
        return {"loss": devise_loss(f, y, self.params.margin)}
