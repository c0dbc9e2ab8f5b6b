"""ESZSL baseline: the closed-form bilinear model of Romera-Paredes & Torr.

Romera-Paredes, Torr, ICML 2015, Eq. (1)-(5), with ``X: (d, m)`` the training features as columns,
``Y: (m, z)`` in {-1, 1}, ``S: (a, z)`` the class embeddings as columns and ``V: (d, a)``::

    min_V ||X^T V S - Y||_F^2 + gamma ||V S||_F^2 + lambda ||X^T V||_F^2 + gamma*lambda ||V||_F^2
    V = (X X^T + gamma I)^-1  X Y S^T  (S S^T + lambda I)^-1                       (closed form)

scored by ``argmax_c x~^T V s_c`` (``V`` is the bilinear ``W: (D_v, D_t)``); single shot, (gamma, lambda) chosen
from ``grid`` x ``grid`` by val top-1. Docs: docs/baselines.md#eszsl-the-closed-form
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np
import torch
from torch import Tensor

from actionhub.models.baselines.common import MEAN_CHUNK, BilinearModel
from actionhub.models.fitting import FitData, Refit

log = logging.getLogger(__name__)


@dataclass
class EszslParams:
    gamma: float = 1.0        # weight of ||V S||^2 (used when no val selection happens)
    lam: float = 1.0          # lambda: weight of ||X^T V||^2
    select_on_val: bool = True
    grid: str = "0.001,0.01,0.1,1,10,100,1000"   # candidate values for both gamma and lambda

    def validate(self) -> None:
        if self.gamma < 0 or self.lam < 0:
            raise ValueError(f"gamma and lam must be >= 0, got {self.gamma}, {self.lam}")
        vals = self.grid_values()
        if not vals or any(v < 0 for v in vals):
            raise ValueError(f"grid must be comma-separated non-negative numbers, got {self.grid!r}")

    def grid_values(self) -> list[float]:
        try:
            return [float(v) for v in self.grid.split(",") if v.strip()]
        except ValueError:
            return []


def targets_pm1(y: np.ndarray, num_classes: int) -> np.ndarray:
    """y: (N,) -> Y: (N, C) with +1 at the true class and -1 elsewhere."""
    out = -np.ones((len(y), num_classes))
    out[np.arange(len(y)), y] = 1.0
    return out


def eszsl_statistics(x: np.ndarray, y: np.ndarray, s: np.ndarray, prep: Any = None) -> tuple[np.ndarray, np.ndarray]:
    """x: (N, D_v), y: (N,), s: (C, D_t) -> ``(X X^T (D_v, D_v), X Y S^T (D_v, D_t))``, float64.

    ``prep`` maps a chunk of raw rows to the rows used (e.g. centring); chunks keep
    memory bounded for memory-mapped stores.
    """
    s = np.asarray(s, np.float64)
    d = x.shape[1]
    gram, xys = np.zeros((d, d)), np.zeros((d, s.shape[1]))
    s_sum = s.sum(axis=0)
    for i in range(0, x.shape[0], MEAN_CHUNK):
        xb = np.asarray(x[i : i + MEAN_CHUNK], np.float64)
        if prep is not None:
            xb = prep(xb)
        gram += xb.T @ xb
        xys += xb.T @ (2.0 * s[y[i : i + MEAN_CHUNK]] - s_sum)
    return gram, xys


def eszsl_solve(gram: np.ndarray, xys: np.ndarray, s: np.ndarray, gamma: float, lam: float) -> np.ndarray:
    """``V = (X X^T + gamma I)^-1 X Y S^T (S S^T + lambda I)^-1``.

    gram: X X^T (D_v, D_v); xys: X Y S^T (D_v, D_t); s: (C, D_t) rows s_c (S = s^T).
    Returns V: (D_v, D_t).
    """
    s = np.asarray(s, np.float64)
    a = gram + gamma * np.eye(gram.shape[0])
    b = s.T @ s + lam * np.eye(s.shape[1])
    left = np.linalg.solve(a, xys)                  # (X X^T + gamma I)^-1 X Y S^T
    return np.linalg.solve(b, left.T).T             # ... (S S^T + lambda I)^-1, b symmetric


def eszsl_fit(x: np.ndarray, y: np.ndarray, s: np.ndarray, gamma: float, lam: float) -> np.ndarray:
    """Closed-form V (D_v, D_t) from features x: (N, D_v) (rows), labels y: (N,), s: (C, D_t)."""
    gram, xys = eszsl_statistics(x, y, s)
    return eszsl_solve(gram, xys, s, gamma, lam)


def eszsl_objective(v: np.ndarray, x: np.ndarray, y: np.ndarray, s: np.ndarray, gamma: float, lam: float) -> float:
    """The objective above for V: (D_v, D_t), x: (N, D_v), y: (N,), s: (C, D_t)."""
    X, S = np.asarray(x, np.float64).T, np.asarray(s, np.float64).T
    Y = targets_pm1(y, S.shape[1])
    return float(((X.T @ v @ S - Y) ** 2).sum() + gamma * ((v @ S) ** 2).sum()
                 + lam * ((X.T @ v) ** 2).sum() + gamma * lam * (v ** 2).sum())


def eszsl_grid_search(gram: np.ndarray, xys: np.ndarray, s: np.ndarray, x_val: np.ndarray, y_val: np.ndarray,
                      s_val: np.ndarray, grid: list[float]) -> tuple[float, float, list[dict[str, float]]]:
    """(gamma, lambda) from ``grid`` x ``grid`` with the best val top-1.

    x_val: (N_v, D_v) prepared val features, y_val: (N_v,) into s_val: (C_v, D_t).
    Returns ``(gamma, lam, table)`` with the val top-1 (%) of every grid point.
    """
    s = np.asarray(s, np.float64)
    ex, ux = np.linalg.eigh(gram)
    es, us = np.linalg.eigh(s.T @ s)
    m = ux.T @ xys @ us                              # V = ux (m / ((ex+g)(es+l))) us^T
    p = np.asarray(x_val, np.float64) @ ux           # (N_v, D_v)
    q = us.T @ np.asarray(s_val, np.float64).T       # (D_t, C_v)
    table, best = [], (-1.0, grid[0], grid[0])
    for g in grid:
        for lam in grid:
            scaled = m / np.outer(ex + g, es + lam)
            acc = 100.0 * float(((p @ (scaled @ q)).argmax(axis=1) == y_val).mean())
            table.append({"gamma": g, "lam": lam, "val_top1": acc})
            if acc > best[0]:
                best = (acc, g, lam)
    return best[1], best[2], table


class Eszsl(BilinearModel):
    """ESZSL: ``F(x, c) = x~^T V s_c`` with V from the closed form (``W`` holds V)."""

    closed_form = True
    one_shot = True

    def __init__(self, *args: Any, **kw: Any):
        super().__init__(*args, init_std=0.0, **kw)

    @torch.no_grad()
    def fit_once(self, data: FitData) -> dict[str, Any]:
        """Solve on the run's data, choosing (gamma, lambda) on its val classes where it has them."""
        val = None
        if data.select_on_val:
            xv, yv = data.val_set()
            val = (xv, yv, self.class_text(*data.text(data.val)))
        fit = self.fit(data.train_x, data.train_y, self.class_text(*data.text(data.seen)), val=val)
        chosen = "; hyper-parameters chosen on val" if fit.get("selected_on") == "val" else ""
        return {"fit": fit, "epoch_selection": f"none (closed form{chosen})", "selected_epoch": None,
                "stop_reason": "closed form: solved once"}

    @classmethod
    def refit(cls, selection: Mapping[str, Any]) -> Refit:
        """Solve again on all seen classes with the (gamma, lambda) chosen on val."""
        chosen = {k: selection["fit"][k] for k in ("gamma", "lam") if k in selection.get("fit", {})}
        return Refit(info={"chosen": chosen}, method_params={**chosen, "select_on_val": False} if chosen else {})

    def _prep_np(self, xb: np.ndarray) -> np.ndarray:
        mu = self.x_mean.detach().cpu().numpy().astype(np.float64)
        xc = xb - mu
        return xc / np.maximum(np.linalg.norm(xc, axis=1, keepdims=True), 1e-12)

    def fit(self, x: np.ndarray, y: np.ndarray, s: Tensor,
            val: tuple[np.ndarray, np.ndarray, Tensor] | None = None) -> dict[str, Any]:
        """Solve for V. x: (N, D_v) raw training features, y: (N,), s: (C, D_t) seen class
        embeddings; val: optional (raw features, labels, class embeddings) of the val
        classes for choosing (gamma, lambda). Returns what was done, for the run record."""
        p = self.params
        s_np = s.detach().cpu().numpy().astype(np.float64)
        gram, xys = eszsl_statistics(x, y, s_np, prep=self._prep_np)
        info: dict[str, Any] = {"solver": "closed form"}
        gamma, lam = p.gamma, p.lam
        if val is not None and p.select_on_val:
            xv, yv, sv = val
            gamma, lam, table = eszsl_grid_search(gram, xys, s_np, self._prep_np(np.asarray(xv, np.float64)), yv,
                                                  sv.detach().cpu().numpy(), p.grid_values())
            info["grid"] = table
            info["selected_on"] = "val"
            log.info("ESZSL: gamma=%g lambda=%g chosen on val", gamma, lam)
        v = eszsl_solve(gram, xys, s_np, gamma, lam)
        self.W.data.copy_(torch.from_numpy(v).to(self.W))
        info.update({"gamma": gamma, "lam": lam})
        return info

    def objective(self, f: Tensor, y: Tensor, x: Tensor, s: Tensor) -> dict[str, Tensor]:
        """Data term of the objective on a batch (for monitoring; training is closed form)."""
        target = 2.0 * torch.nn.functional.one_hot(y, f.shape[1]).to(f) - 1.0
        return {"loss": ((f - target) ** 2).sum(dim=1).mean()}
