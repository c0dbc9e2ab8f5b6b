"""The in-memory view of pre-extracted features: :class:`FeatureSet` (features, labels and video
ids of N videos) and :class:`FeatureError`, raised for every problem a user's feature files can have."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable

import numpy as np

from actionhub.utils.errors import UserError

__all__ = ["FeatureSet", "FeatureError"]


class FeatureError(UserError):
    """A problem with a user's feature store; the message names the file and the fix."""


# --------------------------------------------------------------------------- FeatureSet


@dataclass
class FeatureSet:
    """Pre-extracted features of N videos.

    Attributes:
        features: ``(N, D)`` float32; may be a read-only :class:`numpy.memmap`.
        labels: ``(N,)`` object array of class names (canonical when loaded with ``classes``).
        videos: ``(N,)`` object array of video ids (row numbers as strings when the
            store records none).
        source: the path the set was loaded from.
        meta: what the store records about itself, e.g. ``{"backbone": "tsm", "dim": 2048}``.
    """

    features: np.ndarray
    labels: np.ndarray
    videos: np.ndarray
    source: str = ""
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.features.ndim != 2:
            raise FeatureError(f"{self.source or 'FeatureSet'}: features must be (N, D), got shape "
                               f"{self.features.shape}")
        n = self.features.shape[0]
        if len(self.labels) != n or len(self.videos) != n:
            raise FeatureError(
                f"{self.source or 'FeatureSet'}: {n} feature rows but {len(self.labels)} labels "
                f"and {len(self.videos)} video ids; all three must have one entry per video"
            )

    @property
    def dim(self) -> int:
        """Feature dimension D."""
        return int(self.features.shape[1])

    def __len__(self) -> int:
        return int(self.features.shape[0])

    @property
    def classes(self) -> list[str]:
        """Distinct labels in order of first appearance."""
        _, first = np.unique(self.labels.astype(str), return_index=True)
        return [str(self.labels[i]) for i in np.sort(first)]

    def subset(self, classes: Iterable[str]) -> "FeatureSet":
        """The rows whose label is in ``classes``, in their original order.

        Features are fancy-indexed, so the result holds an in-memory ``(M, D)`` copy
        even when this set is memory-mapped.
        """
        wanted = np.asarray([str(c) for c in classes], dtype=str)
        keep = np.flatnonzero(np.isin(self.labels.astype(str), wanted))
        return FeatureSet(
            features=np.asarray(self.features[keep]),
            labels=self.labels[keep],
            videos=self.videos[keep],
            source=self.source,
            meta=dict(self.meta),
        )
