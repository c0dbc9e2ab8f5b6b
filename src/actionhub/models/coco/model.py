"""CoCo: frozen features in, learned projections, class scores out (paper Sec. 4, 5.2).

The visual and text backbones are frozen and run offline (their features are inputs),
so the learnable part is the fully-connected layer of each encoder: one visual
projection and one text projection shared by the AD and VC branches (Sec. 5.2: "we
share the parameters between the semantic encoders F_s^l and F_s^c").
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from actionhub.config import ModelConfig
from actionhub.models.coco import losses
from actionhub.models.fitting import Fitting


class CoCo(Fitting, nn.Module):
    """Projection heads and the CoCo objective, trained in the trainer's step loop.

    visual_dim: D_v of the video features; text_dim: D_t of the class text features.
    """

    def __init__(self, visual_dim: int, text_dim: int, cfg: ModelConfig | None = None):
        super().__init__()
        self.cfg = cfg or ModelConfig()
        self.cfg.validate()
        self.visual_dim, self.text_dim = visual_dim, text_dim
        self.visual = nn.Linear(visual_dim, self.cfg.dim)   # F_v's learnable FC
        self.text = nn.Linear(text_dim, self.cfg.dim)       # shared F_s^l / F_s^c FC

    # ---------------------------------------------------------------- encoders
    def encode_video(self, x: Tensor) -> Tensor:
        """x: (N, D_v) frozen video features -> v: (N, d) unit vectors (Eq. 1)."""
        return F.normalize(self.visual(x), dim=-1)

    def encode_text(self, t: Tensor) -> Tensor:
        """t: (C, D_t) frozen text features -> (C, d) unit vectors (Eq. 2, 5-6)."""
        return F.normalize(self.text(t), dim=-1)

    def class_features(self, ad: Tensor, vc: Tensor) -> tuple[Tensor | None, Tensor | None]:
        """ad, vc: (C, D_t) -> (z_l, z_c), each (C, d) or None when the ablation
        (``class_text``) drops that branch."""
        ct = self.cfg.class_text
        z_l = self.encode_text(ad) if ct in ("ad", "ad+vc") else None
        z_c = self.encode_text(vc) if ct in ("vc", "ad+vc") else None
        return z_l, z_c

    def class_embeddings(self, ad: Tensor, vc: Tensor) -> Tensor:
        """p_j of Eq. 17: ad, vc (C, D_t) -> (C, d) fused class semantic features."""
        z_l, z_c = self.class_features(ad, vc)
        if z_l is None:
            return z_c
        if z_c is None:
            return z_l
        return losses.fuse(z_l, z_c, self.cfg.alpha)

    # ----------------------------------------------------------------- forward
    def forward(
        self,
        x: Tensor,
        ad: Tensor,
        vc: Tensor,
        targets: Tensor | None = None,
        pool_ad: Tensor | None = None,
        pool_vc: Tensor | None = None,
    ) -> tuple[Tensor, dict[str, Tensor] | None]:
        """Scores and (when ``targets`` is given) the losses.

        x: (N, D_v) video features; ad, vc: (C, D_t) class text features of the classes
        to score (the seen classes in training); targets: (N,) labels into those C;
        pool_ad, pool_vc: (M, D_t) text features of the cycle pool (the unseen classes,
        Eq. 11), used only when the CIM module is on.
        Returns ``(logits (N, C) = v . p_j / tau, losses dict or None)``.
        """
        v = self.encode_video(x)
        z_l, z_c = self.class_features(ad, vc)
        p = z_c if z_l is None else z_l if z_c is None else losses.fuse(z_l, z_c, self.cfg.alpha)
        logits = losses.similarity_logits(v, p, self.cfg.tau)
        if targets is None:
            return logits, None
        z_u = None
        if self.cfg.cim and pool_ad is not None:
            z_u = self.class_embeddings(pool_ad, pool_vc if pool_vc is not None else pool_ad)
        out = losses.coco_loss(
            v, z_l, z_c, targets, tau=self.cfg.tau, alpha=self.cfg.alpha, gamma=self.cfg.gamma, z_u=z_u
        )
        return logits, out

    @torch.no_grad()
    def scores(self, x: Tensor, class_emb: Tensor) -> Tensor:
        """Eq. 16 scores: x (N, D_v), class_emb (C, d) from :meth:`class_embeddings` -> (N, C)."""
        return self.encode_video(x) @ class_emb.t()
