"""CLIP-family video backbones through Hugging Face ``transformers`` (no torchvision needed).

``hf-clip:MODEL`` (:class:`HfClipBackbone`): each sampled frame's projected image embedding
(``get_image_features``), L2-normalised, averaged over frames; D = ``projection_dim``.
``hf-xclip:MODEL`` (:class:`HfXClipBackbone`): the frames are cut into ``max(1, T // num_frames)``
consecutive chunks, each resampled to ``num_frames`` (repeating frames when short); one
``get_video_features`` embedding per clip, L2-normalised, averaged over clips (``segments:8`` gives
one 8-frame clip). MODEL is a Hub id or a ``save_pretrained`` folder; frames are preprocessed in
torch as its image processor says (:func:`actionhub.video.transforms.from_hf_processor`).
Docs: docs/clip.md#coco-on-clip--x-clip-features
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from actionhub.utils.errors import UserError
from actionhub.utils.hf import load_model, pooled, processor_config
from actionhub.video.frames import frames_to_features, mean_over_time
from actionhub.video.transforms import ImageTransform, from_hf_processor

__all__ = ["HfClipBackbone", "HfXClipBackbone", "clip_chunks"]


def _transform(kind: str, arg: str, source: str, local: bool, error: type[Exception]) -> ImageTransform:
    cfg = processor_config(kind, arg, source, local, error)
    try:
        return from_hf_processor(cfg, source=f"{source}/preprocessor_config.json")
    except ValueError as e:
        raise error(f"{kind}:{arg}: {e}") from None


class HfClipBackbone:
    """``hf-clip:MODEL``: L2-normalised CLIP image embeddings of the frames, averaged over time.

    Follows the :class:`actionhub.video.backbones.Backbone` contract; ``error`` is the exception
    raised when the model cannot be loaded (the registry passes ``BackboneUnavailable``).
    """

    kind = "hf-clip"

    def __init__(self, arg: str, device: str = "cpu", frame_batch: int = 64, error: type[Exception] = UserError):
        self.model, self.source, local = load_model(self.kind, arg, error, device)
        self.transform = _transform(self.kind, arg, self.source, local, error)
        self.name = f"{self.kind}:{arg}"
        self.dim = int(self.model.config.projection_dim)
        self.device = device
        self.frame_batch = frame_batch

    @property
    def short_side(self) -> int | None:
        return self.transform.short_side

    def preprocess(self, frames: np.ndarray) -> torch.Tensor:
        """uint8 ``(T, H, W, 3)`` -> ``(T, 3, h, w)`` as the model's image processor prepares them."""
        return self.transform(frames)

    def encode(self, videos: Sequence[np.ndarray]) -> np.ndarray:
        """``B`` videos ``(T_i, H_i, W_i, 3)`` uint8 -> ``(B, D)``: mean of the frames' unit embeddings."""
        per_video = frames_to_features(videos, self.preprocess, self.frame_features, self.frame_batch, self.device)
        return mean_over_time(per_video, self.dim)

    def frame_features(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, 3, h, w)`` preprocessed frames -> ``(N, D)`` unit-length image embeddings."""
        return F.normalize(pooled(self.model.get_image_features(pixel_values=x)).float(), dim=-1)

    def meta(self) -> dict[str, Any]:
        return {"backbone": self.name, "dim": self.dim, "model": self.source,
                "model_class": type(self.model).__name__, "preprocess": self.transform.meta(),
                "feature": "projected CLIP image embedding (get_image_features), L2-normalised per frame",
                "temporal_pooling": "mean"}


def clip_chunks(num_frames: int, clip_len: int) -> list[np.ndarray]:
    """Frame indices of the clips cut from ``num_frames`` sampled frames (module docstring):
    ``max(1, num_frames // clip_len)`` consecutive chunks, each resampled to ``clip_len`` evenly
    spaced indices.

    >>> [c.tolist() for c in clip_chunks(4, 8)]
    [[0, 0, 1, 1, 2, 2, 3, 3]]
    """
    if num_frames < 1 or clip_len < 1:
        raise ValueError(f"need at least one frame and a positive clip length, got {num_frames}, {clip_len}")
    n = max(1, num_frames // clip_len)
    out = []
    for chunk in np.array_split(np.arange(num_frames), n):
        pos = (np.arange(clip_len) + 0.5) * len(chunk) / clip_len - 0.5
        out.append(chunk[np.clip(np.round(pos), 0, len(chunk) - 1).astype(np.int64)])
    return out


class HfXClipBackbone(HfClipBackbone):
    """``hf-xclip:MODEL``: one L2-normalised X-CLIP video embedding per clip, averaged over clips."""

    kind = "hf-xclip"

    def __init__(self, arg: str, device: str = "cpu", frame_batch: int = 64, error: type[Exception] = UserError):
        super().__init__(arg, device, frame_batch, error)
        self.clip_len = int(getattr(self.model.config.vision_config, "num_frames", 8) or 8)

    @torch.inference_mode()
    def encode(self, videos: Sequence[np.ndarray]) -> np.ndarray:
        """``B`` videos ``(T_i, H_i, W_i, 3)`` uint8 -> ``(B, D)``: mean of the clips' unit embeddings."""
        if not videos:
            return np.zeros((0, self.dim), np.float32)
        clips, owner = [], []
        for i, v in enumerate(videos):
            x = self.preprocess(v)                                  # (T, 3, h, w)
            for idx in clip_chunks(int(x.shape[0]), self.clip_len):
                clips.append(x[torch.from_numpy(idx)])              # (clip_len, 3, h, w)
                owner.append(i)
        per_pass = max(1, self.frame_batch // self.clip_len)
        emb = torch.cat([self.clip_features(torch.stack(clips[j:j + per_pass]).to(self.device)).float().cpu()
                         for j in range(0, len(clips), per_pass)])  # (n_clips, D)
        owner_t = torch.tensor(owner)
        out = torch.zeros(len(videos), self.dim).index_add_(0, owner_t, emb)
        out /= torch.bincount(owner_t, minlength=len(videos)).clamp(min=1).unsqueeze(1).float()
        return out.numpy().astype(np.float32, copy=False)

    def clip_features(self, x: torch.Tensor) -> torch.Tensor:
        """``(n, clip_len, 3, h, w)`` -> ``(n, D)`` unit-length X-CLIP video embeddings."""
        return F.normalize(pooled(self.model.get_video_features(pixel_values=x)).float(), dim=-1)

    def frame_features(self, x: torch.Tensor) -> torch.Tensor:  # pragma: no cover - X-CLIP encodes clips
        raise NotImplementedError("X-CLIP encodes clips of frames, not single frames: use encode()")

    def meta(self) -> dict[str, Any]:
        return {**super().meta(), "frames_per_clip": self.clip_len,
                "feature": "X-CLIP video embedding (get_video_features) per clip of frames_per_clip frames, "
                           "L2-normalised",
                "temporal_pooling": "mean over clips (consecutive chunks of the sampled frames)"}
