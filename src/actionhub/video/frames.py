"""Per-frame features of a batch of videos: every frame of every video preprocessed, run through
an image network in batches of ``frame_batch`` frames, and split back per video. Shared by the
frame backbones of :mod:`actionhub.video.backbones` and the CLIP backbone of
:mod:`actionhub.video.hf_clip`."""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
import torch

__all__ = ["frames_to_features", "mean_over_time"]


@torch.inference_mode()
def frames_to_features(videos: Sequence[np.ndarray], preprocess: Callable[[np.ndarray], torch.Tensor],
                       frame_features: Callable[[torch.Tensor], torch.Tensor], frame_batch: int,
                       device: str) -> list[torch.Tensor]:
    """``B`` videos ``(T_i, H_i, W_i, 3)`` uint8 -> one ``(T_i, D)`` float32 CPU tensor per video:
    ``frame_features(preprocess(frames))``, ``frame_batch`` frames at a time on ``device``."""
    if not videos:
        return []
    counts = [int(v.shape[0]) for v in videos]
    x = torch.cat([preprocess(v) for v in videos])
    out = [frame_features(x[i:i + frame_batch].to(device)).float().cpu() for i in range(0, x.shape[0], frame_batch)]
    return list(torch.cat(out).split(counts))


def mean_over_time(per_video: Sequence[torch.Tensor], dim: int) -> np.ndarray:
    """``B`` tensors ``(T_i, D)`` -> ``(B, D)`` float32: each video's frames averaged."""
    if not per_video:
        return np.zeros((0, dim), np.float32)
    return torch.stack([f.mean(0) for f in per_video]).numpy().astype(np.float32, copy=False)
