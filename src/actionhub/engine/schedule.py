"""The optimisation schedule: linear warm-up then cosine annealing (paper Sec. 5.2), and the
seeded shuffle of each epoch (so a resumed run replays exactly the batches it would have seen)."""
from __future__ import annotations

import math

import numpy as np
import torch

__all__ = ["lr_factor", "epoch_batches"]


def lr_factor(step: int, total: int, warmup: int) -> float:
    """Linear warm-up for ``warmup`` steps, then cosine annealing to 0 at ``total``."""
    if warmup > 0 and step < warmup:
        return (step + 1) / warmup
    if total <= warmup:
        return 1.0
    progress = (step - warmup) / max(1, total - warmup)
    return 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))


def epoch_batches(n: int, batch_size: int, seed: int) -> list[np.ndarray]:
    g = torch.Generator().manual_seed(seed)
    perm = torch.randperm(n, generator=g).numpy()
    # Sorted indices inside a batch read memory-mapped features sequentially.
    return [np.sort(perm[i : i + batch_size]) for i in range(0, n, batch_size)]


