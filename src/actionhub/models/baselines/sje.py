"""SJE baseline: structured joint embedding, a structured SVM on a bilinear compatibility.

Akata, Reed, Walter, Lee, Schiele, CVPR 2015, Eq. (2)-(3)::

    F(x, y)     = theta(x)^T W phi(y)
    l(x_n, y_n) = max_{y in Y} ( Delta(y_n, y) + F(x_n, y) - F(x_n, y_n) )

``Delta = delta`` for ``y != y_n``, 0 otherwise (so ``l >= 0``): only the most violating class is
penalised. ``theta(x) = x~``, ``phi(y) = s_y`` (:mod:`actionhub.models.baselines.common`); one
output embedding, batch mean, Adam. Docs: docs/baselines.md#methods
"""
from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor

from actionhub.models.baselines.common import BilinearModel, margin_violations


@dataclass
class SjeParams:
    delta: float = 1.0    # Delta(y_n, y) for y != y_n

    def validate(self) -> None:
        if self.delta <= 0:
            raise ValueError(f"delta must be positive, got {self.delta}")


def sje_loss(f: Tensor, y: Tensor, delta: float) -> Tensor:
    """f: (N, C), y: (N,) -> scalar: batch mean of ``max(0, max_{j != y} delta + f_j - f_y)``."""
    return margin_violations(f, y, delta).max(dim=1).values.mean()


class Sje(BilinearModel):
    """SJE: ``F(x, c) = x~^T W s_c`` trained with :func:`sje_loss`."""

    def objective(self, f: Tensor, y: Tensor, x: Tensor, s: Tensor) -> dict[str, Tensor]:
        return {"loss": sje_loss(f, y, self.params.delta)}
