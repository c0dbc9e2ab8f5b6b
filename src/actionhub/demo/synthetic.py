"""SYNTHETIC features for demos, tests and benchmarks (never real results).

Each class has a latent ``s_c`` built from shared "concept" atoms; videos and text are two random linear views of it:

    video  x = (s_c + sigma_v * e) @ A + noise                   (N, D_v)
    AD     t = (s_c * w_ad + sigma_ad * e) @ B                     (C, D_t)   one per class
    desc   d_r = (s_c * w_desc + sigma_d(r) * e) @ B               (k, D_t)   rank r = 0 most relevant

``w_ad``/``w_desc`` weigh opposite halves of the latent (``view_overlap``), so their fusion knows
more than either; everything here carries ``"synthetic": true``. Docs: docs/recipes.md#how-the-demo-uses-them
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from actionhub.features import FeatureSet
from actionhub.text.class_text import ClassText

SYNTHETIC_NOTE = "SYNTHETIC features (actionhub.demo.synthetic): not a benchmark result"


@dataclass
class SyntheticSpec:
    visual_dim: int = 256
    text_dim: int = 128
    latent_dim: int = 48
    num_concepts: int = 96
    concepts_per_class: int = 3
    sigma_video: float = 1.5
    sigma_ad: float = 0.6
    sigma_desc: float = 4.0
    view_overlap: float = 0.25
    descriptions_per_class: int = 200
    seed: int = 0


class SyntheticWorld:
    """A fixed random world over ``classes``: latents, and the video/text views."""

    def __init__(self, classes: Sequence[str], spec: SyntheticSpec | None = None, latent: np.ndarray | None = None):
        """latent: optional (C, latent_dim) class latents to use instead of random concept mixtures."""
        self.spec = spec or SyntheticSpec()
        sp = self.spec
        self.classes = list(classes)
        self._pos = {c: i for i, c in enumerate(self.classes)}
        rng = np.random.default_rng(sp.seed)
        atoms = rng.normal(size=(sp.num_concepts, sp.latent_dim))
        picks = np.stack([rng.choice(sp.num_concepts, sp.concepts_per_class, replace=False) for _ in self.classes])
        lat = atoms[picks].sum(axis=1) + 0.5 * rng.normal(size=(len(self.classes), sp.latent_dim))
        if latent is not None:
            if latent.shape != (len(self.classes), sp.latent_dim):
                raise ValueError(f"latent must have shape ({len(self.classes)}, {sp.latent_dim}), got {latent.shape}")
            lat = np.asarray(latent, dtype=np.float64)
        self.latent = (lat / np.linalg.norm(lat, axis=1, keepdims=True) * np.sqrt(sp.latent_dim)).astype(np.float32)
        self.A = (rng.normal(size=(sp.latent_dim, sp.visual_dim)) / np.sqrt(sp.latent_dim)).astype(np.float32)
        self.B = (rng.normal(size=(sp.latent_dim, sp.text_dim)) / np.sqrt(sp.latent_dim)).astype(np.float32)
        self._class_text: ClassText | None = None

    def videos(self, classes: Sequence[str], per_class: int, seed: int, tag: str = "syn") -> FeatureSet:
        """``per_class`` SYNTHETIC videos of each class: FeatureSet with (len*per_class, D_v)."""
        sp = self.spec
        rng = np.random.default_rng([sp.seed, seed])
        idx = np.array([self._pos[c] for c in classes], dtype=np.int64).repeat(per_class)
        z = self.latent[idx] + sp.sigma_video * rng.normal(size=(len(idx), sp.latent_dim)).astype(np.float32)
        x = z @ self.A + 0.1 * rng.normal(size=(len(idx), sp.visual_dim)).astype(np.float32)
        labels = np.array([self.classes[i] for i in idx], dtype=object)
        videos = np.array([f"{tag}_{seed}_{j:06d}" for j in range(len(idx))], dtype=object)
        return FeatureSet(x.astype(np.float32), labels, videos, source=f"synthetic:{tag}",
                          meta={"synthetic": True, "dim": sp.visual_dim, "backbone": "synthetic"})

    def class_text(self) -> ClassText:
        """SYNTHETIC AD and ranked description features for every class (built once)."""
        if self._class_text is None:
            self._class_text = self._make_class_text()
        return self._class_text

    def _make_class_text(self) -> ClassText:
        sp = self.spec
        rng = np.random.default_rng([sp.seed, 7])
        C, L, R = len(self.classes), sp.latent_dim, sp.descriptions_per_class
        w_ad = np.where(np.arange(L) < L // 2, 1.0, sp.view_overlap).astype(np.float32)
        w_desc = w_ad[::-1].copy()
        ad = (self.latent * w_ad + sp.sigma_ad * rng.normal(size=(C, L)).astype(np.float32)) @ self.B
        # Noise grows with rank: the top-ranked descriptions are the most relevant.
        sig = sp.sigma_desc * (1.0 + 3.0 * (np.arange(R) / max(1, R - 1)) ** 2)
        noise = rng.normal(size=(C, R, L)).astype(np.float32) * sig[None, :, None].astype(np.float32)
        desc = ((self.latent[:, None, :] * w_desc + noise) @ self.B).reshape(C * R, sp.text_dim)
        offsets = np.arange(C + 1, dtype=np.int64) * R
        return ClassText(self.classes, ad.astype(np.float32), desc.astype(np.float32), offsets,
                         meta={"synthetic": True, "encoder": "synthetic", "note": SYNTHETIC_NOTE})

    @classmethod
    def around_text(cls, classes: Sequence[str], text_features: np.ndarray, spec: SyntheticSpec | None = None
                    ) -> "SyntheticWorld":
        """A world whose class latents are the top principal components of real class
        text features (C, D): SYNTHETIC videos of classes that are close in text are close
        in video too, so training on them with the real text features is a meaningful
        smoke test of the text side (the videos are still not real)."""
        sp = spec or SyntheticSpec()
        x = np.asarray(text_features, dtype=np.float64)
        x = x - x.mean(axis=0)
        u, s, _ = np.linalg.svd(x, full_matrices=False)
        k = min(sp.latent_dim, u.shape[1])
        lat = np.zeros((len(x), sp.latent_dim))
        lat[:, :k] = u[:, :k] * s[:k]
        return cls(classes, sp, latent=lat)
