"""The text encoder contract (:class:`TextEncoder`) and its error type."""
from __future__ import annotations

from typing import Sequence

import numpy as np

from actionhub.utils.errors import UserError

DEFAULT_ENCODER = "minilm"


class TextEncoderError(UserError):
    """An encoder that cannot be found or loaded, or a broken cache; the message says how to fix it."""


class TextEncoder:
    """A frozen sentence encoder.

    Attributes:
        spec: the registry spec it was loaded from (``"minilm"``, ``"bert:bert-base-uncased"``).
        id: cache key of the encoder: its kind, model and a fingerprint of local weights.
        dim: feature dimensionality D.
        normalized: whether :meth:`encode` returns unit-length rows.
    """

    spec: str = ""
    id: str = ""
    dim: int = 0
    normalized: bool = False

    def encode(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        """``(len(texts), D)`` float32 features, one row per text in input order."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}(spec={self.spec!r}, dim={self.dim}, normalized={self.normalized})"
