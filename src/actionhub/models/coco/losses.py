"""CoCo losses as pure functions of tensors (paper Eq. 3-15).

* ``v: (N, d)`` video features of a batch, projected and L2-normalised (Eq. 1).
* ``z_l: (C, d)`` AD class features and ``z_c: (C, d)`` VC class features (the projected mean of
  the top-k description features), projected and normalised (Eq. 2, 5-6).
* ``y: (N,)`` int64 labels of the C seen classes; ``tau``: temperature (cosines are divided by it).

The paper writes the contrastive losses as sums over the batch; here they are means (the same
optimum; the sum only rescales the learning rate with the batch size).
Docs: docs/architecture.md#where-each-equation-of-the-paper-lives
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def similarity_logits(v: Tensor, z: Tensor, tau: float) -> Tensor:
    """``p_ij / tau`` of Eq. 4, 8 and 14.

    v: (N, d), z: (C, d) -> (N, C) with entry ``v_i . z_j / tau``.
    """
    return v @ z.t() / tau


def contrastive_loss(v: Tensor, z: Tensor, y: Tensor, tau: float) -> Tensor:
    """Standard contrastive (softmax cross-entropy) alignment loss, Eq. 3 and Eq. 7.

    v: (N, d), z: (C, d), y: (N,) -> scalar mean over the N videos of
    ``-log softmax_j(v_i . z_j / tau)[y_i]``.
    With ``z = z_l`` this is L_l (class-level alignment); with ``z = z_c`` it is L_c
    (instance-level alignment with ActionHub descriptions).
    """
    return F.cross_entropy(similarity_logits(v, z, tau), y)


def fuse(z_l: Tensor, z_c: Tensor, alpha: float) -> Tensor:
    """Class semantic feature, Eq. 10 and Eq. 17: ``z = alpha * z_l + (1 - alpha) * z_c``.

    z_l: (C, d), z_c: (C, d) -> (C, d). Not re-normalised, exactly as the paper writes it:
    ``v . z_j = alpha * cos(v, z_l_j) + (1 - alpha) * cos(v, z_c_j)``.
    """
    return alpha * z_l + (1.0 - alpha) * z_c


def attend(query: Tensor, keys: Tensor, tau: float) -> tuple[Tensor, Tensor]:
    """Attention read-out used by both passes of the cycle (Eq. 11 and Eq. 12).

    query: (S, d), keys: (M, d) -> (out (S, d), weights (S, M)) where
    ``weights = softmax_m(query . keys_m / tau)`` and ``out = weights @ keys``.
    """
    weights = torch.softmax(query @ keys.t() / tau, dim=1)
    return weights @ keys, weights


def cycle_reconstruct(z_s: Tensor, z_u: Tensor, tau: float) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Seen -> unseen -> seen cycle reconstruction (Eq. 11-12).

    z_s: (S, d) seen class semantic features, z_u: (M, d) unseen (or any other pool)
    class semantic features. Returns ``(x_f (S, d), x_b (S, d), attn_f (S, M), attn_b (S, S))``:
    the forward features reconstructed from the unseen space, the cycle features mapped
    back onto the seen space, and both attention maps (Fig. 12 shows rows of ``attn_b``).
    """
    x_f, attn_f = attend(z_s, z_u, tau)
    x_b, attn_b = attend(x_f, z_s, tau)
    return x_f, x_b, attn_f, attn_b


def cycle_loss(v: Tensor, z_s: Tensor, z_u: Tensor, y: Tensor, tau: float) -> Tensor:
    """Cycle-consistency loss L_cycle, Eq. 13-14.

    v: (N, d), z_s: (S, d), z_u: (M, d), y: (N,) -> scalar: the contrastive loss of the
    videos against the cycle features ``x_b`` of the seen classes.
    """
    _, x_b, _, _ = cycle_reconstruct(z_s, z_u, tau)
    return contrastive_loss(v, x_b, y, tau)


def coco_loss(
    v: Tensor,
    z_l: Tensor | None,
    z_c: Tensor | None,
    y: Tensor,
    *,
    tau: float,
    alpha: float,
    gamma: float,
    z_u: Tensor | None = None,
) -> dict[str, Tensor]:
    """Overall CoCo objective, Eq. 9 and Eq. 15: ``L = L_l + L_c + gamma * L_cycle``.

    v: (N, d); z_l, z_c: (C, d) or None to drop that term (the AD-only / VC-only
    ablations of Table 4); y: (N,); z_u: (M, d) fused class semantic features of the
    unseen pool, or None to switch the Cross-action Invariance Mining module off.
    ``alpha`` fuses the seen classes for the cycle (Eq. 10); with one of z_l/z_c
    missing the other is used alone.
    Returns a dict with ``loss`` (the total) and each term that was computed
    (``l_l``, ``l_c``, ``l_cycle``), all scalars.
    """
    if z_l is None and z_c is None:
        raise ValueError("coco_loss needs at least one of z_l (AD) and z_c (VC)")
    out: dict[str, Tensor] = {}
    total = v.new_zeros(())
    if z_l is not None:
        out["l_l"] = contrastive_loss(v, z_l, y, tau)
        total = total + out["l_l"]
    if z_c is not None:
        out["l_c"] = contrastive_loss(v, z_c, y, tau)
        total = total + out["l_c"]
    if z_u is not None and gamma != 0.0:
        z_s = z_l if z_c is None else z_c if z_l is None else fuse(z_l, z_c, alpha)
        out["l_cycle"] = cycle_loss(v, z_s, z_u, y, tau)
        total = total + gamma * out["l_cycle"]
    out["loss"] = total
    return out
