"""What every baseline shares: input preprocessing, the class embedding, the interface.

Inputs as CoCo's: video features ``x: (N, D_v)``, class text AD and VC ``(C, D_t)``. Class embedding
``s_c = normalize(alpha * normalize(AD_c) + (1 - alpha) * normalize(VC_c))``, ``(D_t,)`` (Eq. 17 on the raw text;
``"ad"``/``"vc"``: one part); video features ``x~ = normalize(x - mu)``, ``mu: (D_v,)`` the mean training feature.
A baseline is a :class:`torch.nn.Module` with CoCo's ``class_embeddings(ad, vc)`` and ``scores(x, emb)``;
iterative ones train through ``forward``, one-shot ones ``fit_once`` (:mod:`actionhub.models.fitting`).

Docs: docs/baselines.md#methods, docs/baselines.md#the-method-registry-and-the-baseline-interface
"""
from __future__ import annotations

import dataclasses
import logging
from typing import Any, Mapping

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from actionhub.config import ModelConfig, annotation_type
from actionhub.models.fitting import FitData, Fitting
from actionhub.utils.errors import UserError

log = logging.getLogger(__name__)

MEAN_CHUNK = 65536


class MethodParamError(UserError):
    """A ``--method-param`` that the method does not have or that does not parse."""


def fuse_class_text(ad: Tensor, vc: Tensor, class_text: str, alpha: float) -> Tensor:
    """ad, vc: (C, D_t) raw text features -> (C, D_t) unit class embeddings ``s_c`` (see module doc)."""
    a, v = F.normalize(ad, dim=-1), F.normalize(vc, dim=-1)
    if class_text == "ad":
        return a
    if class_text == "vc":
        return v
    return F.normalize(alpha * a + (1.0 - alpha) * v, dim=-1)


def feature_mean(features: np.ndarray) -> np.ndarray:
    """(N, D) possibly memory-mapped -> (D,) float64 mean, read in chunks."""
    n = features.shape[0]
    if n == 0:
        raise ValueError("cannot centre features of an empty training set")
    total = np.zeros(features.shape[1], np.float64)
    for i in range(0, n, MEAN_CHUNK):
        total += np.asarray(features[i : i + MEAN_CHUNK], dtype=np.float64).sum(axis=0)
    return total / n


def parse_params(cls: type, overrides: Mapping[str, Any] | None, method: str) -> Any:
    """A ``cls`` dataclass instance from ``{"name": value}`` (values may be strings from the CLI)."""
    fields = {f.name: f for f in dataclasses.fields(cls)}
    kw: dict[str, Any] = {}
    for key, value in (overrides or {}).items():
        name = key.replace("-", "_")
        if name not in fields:
            raise MethodParamError(f"method {method!r} has no parameter {key!r}; it has: {', '.join(fields) or 'none'}")
        typ = annotation_type(fields[name].type)
        try:
            if typ is bool and isinstance(value, str):
                if value.lower() not in ("1", "0", "true", "false", "on", "off", "yes", "no"):
                    raise ValueError(value)
                value = value.lower() in ("1", "true", "on", "yes")
            kw[name] = typ(value)
        except (TypeError, ValueError):
            raise MethodParamError(f"method {method!r}: parameter {name}={value!r} "
                                   f"is not a valid {typ.__name__}") from None
    params = cls(**kw)
    check = getattr(params, "validate", None)
    if check is not None:
        try:
            check()
        except ValueError as e:
            raise MethodParamError(f"method {method!r}: {e}") from None
    return params


class BaselineModel(Fitting, nn.Module):
    """Shared parts of every baseline: preprocessing buffers and the CoCo-like interface.

    visual_dim: D_v; text_dim: D_t; cfg: the run's ModelConfig (``class_text``, ``alpha``
    and ``k`` choose the class embedding; the CoCo-only fields are ignored); params: the
    method's own hyper-parameter dataclass.
    """

    closed_form = False

    def __init__(self, visual_dim: int, text_dim: int, cfg: ModelConfig, params: Any):
        super().__init__()
        self.cfg, self.params = cfg, params
        self.visual_dim, self.text_dim = visual_dim, text_dim
        self.register_buffer("x_mean", torch.zeros(visual_dim))

    def set_mean(self, features: np.ndarray) -> None:
        """Fix ``mu`` from the training features (N, D_v)."""
        self.x_mean.copy_(torch.from_numpy(feature_mean(features)).to(self.x_mean))

    def prepare(self, data: FitData) -> None:
        """Before training: fix ``mu`` from the run's training features."""
        self.set_mean(data.train_x)

    def prep_video(self, x: Tensor) -> Tensor:
        """x: (N, D_v) -> (N, D_v) centred unit vectors ``x~``."""
        return F.normalize(x - self.x_mean, dim=-1)

    def class_text(self, ad: Tensor, vc: Tensor) -> Tensor:
        """ad, vc: (C, D_t) -> (C, D_t) class embeddings ``s_c``.

        The text is frozen, so the result for the same two tensors (the seen classes,
        passed every training step) is kept instead of recomputed."""
        last = getattr(self, "_s_cache", None)
        if last is not None and last[0] is ad and last[1] is vc:
            return last[2]
        s = fuse_class_text(ad, vc, self.cfg.class_text, self.cfg.alpha)
        self._s_cache = (ad, vc, s)
        return s

    def compatibility(self, x: Tensor, s: Tensor) -> Tensor:
        """F(x, c) for x~: (N, D_v), s: (C, D_t) -> (N, C). Implemented by each method."""
        raise NotImplementedError

    def objective(self, f: Tensor, y: Tensor, x: Tensor, s: Tensor) -> dict[str, Tensor]:
        """The method's training loss from F (N, C), labels (N,), x~ and s. Returns ``{"loss": ...}``."""
        raise NotImplementedError

    def class_embeddings(self, ad: Tensor, vc: Tensor) -> Tensor:
        """ad, vc: (C, D_t) -> what :meth:`scores` compares videos with (defaults to ``s``)."""
        return self.class_text(ad, vc)

    @torch.no_grad()
    def scores(self, x: Tensor, class_emb: Tensor) -> Tensor:
        """x: (N, D_v) raw features, class_emb from :meth:`class_embeddings` -> (N, C)."""
        return self.compatibility(self.prep_video(x), class_emb)

    def forward(self, x: Tensor, ad: Tensor, vc: Tensor, targets: Tensor | None = None,
                pool_ad: Tensor | None = None, pool_vc: Tensor
                | None = None) -> tuple[Tensor, dict[str, Tensor] | None]:
        """Same signature as :meth:`actionhub.models.coco.model.CoCo.forward`; the pool is ignored."""
        xt, s = self.prep_video(x), self.class_text(ad, vc)
        f = self.compatibility(xt, s)
        if targets is None:
            return f, None
        return f, self.objective(f, targets, xt, s)


class BilinearModel(BaselineModel):
    """Bilinear compatibility ``F(x, c) = x~^T W s_c`` with W: (D_v, D_t) (DEVISE, ALE, SJE, ESZSL)."""

    def __init__(self, visual_dim: int, text_dim: int, cfg: ModelConfig, params: Any, init_std: float = 0.01):
        super().__init__(visual_dim, text_dim, cfg, params)
        self.W = nn.Parameter(init_std * torch.randn(visual_dim, text_dim))

    def compatibility(self, x: Tensor, s: Tensor) -> Tensor:
        """x~: (N, D_v), s: (C, D_t) -> (N, C) = x~ W s^T."""
        return x @ (s @ self.W.t()).t()

    def class_embeddings(self, ad: Tensor, vc: Tensor) -> Tensor:
        """(C, D_v): ``W s_c`` for each class, so scores are one matrix product."""
        return self.class_text(ad, vc) @ self.W.t()

    @torch.no_grad()
    def scores(self, x: Tensor, class_emb: Tensor) -> Tensor:
        return self.prep_video(x) @ class_emb.t()


def margin_violations(f: Tensor, y: Tensor, margin: float) -> Tensor:
    """f: (N, C) compatibilities, y: (N,) -> (N, C) hinge terms ``max(0, margin + f_j - f_y)``
    for every class j != y, and 0 at j = y."""
    true = f.gather(1, y[:, None])
    h = torch.clamp(margin + f - true, min=0.0)
    return h.scatter(1, y[:, None], 0.0)
