"""The space in which ``predict`` scores videos against action names, and explains the scores.

A :class:`ScoringSpace` holds, for the C actions being scored, everything a score and its
explanation need: how a video's feature becomes a point of the space, the action embeddings, and
the embedding of every description kept for an action (its top-k, most relevant first). One space
per method:

* a trained checkpoint (:func:`checkpoint_space`): the model's own scores (Eq. 16-17), for CoCo
  ``v . (alpha z_l + (1 - alpha) z_c)``; a description's similarity is the model's score for a class
  whose whole text is that description (for CoCo ``v . norm(W_t d)``); for CoCo the two terms of the
  sum are the shares of the score from the definition (AD, ``alpha v . z_l``) and from the
  descriptions (VC, ``(1 - alpha) v . z_c``);
* ``--zero-shot clip`` (:func:`clip_space`, scores by :func:`zero_shot_clip_scores`): the cosine of a
  CLIP / X-CLIP video embedding and the same model's text embedding of the action (its name or
  definition, averaged with its descriptions when it has some);
* ``--zero-shot conse`` (:func:`conse_space`): the same cosine in the text encoder's space, the video
  placed there by ConSE from its ImageNet class probabilities.

:meth:`ScoringSpace.scores` gives ``(N, C)`` scores; :meth:`ScoringSpace.explain` the ``n``
descriptions of given actions closest to each video, with their similarity.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np

__all__ = ["ScoringSpace", "checkpoint_space", "clip_space", "conse_space", "zero_shot_clip_scores",
           "zero_shot_class_embeddings", "unit"]


def unit(x: np.ndarray) -> np.ndarray:
    """Rows of ``x (N, D)`` scaled to unit length (zero rows stay zero)."""
    x = np.asarray(x, dtype=np.float32)
    return x / np.clip(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12, None)


def zero_shot_class_embeddings(ad: np.ndarray, vc: np.ndarray | None = None) -> np.ndarray:
    """``(C, D)`` unit action embeddings of the training-free methods: ``unit(ad)`` (the name or
    definition), or ``unit(unit(ad) + unit(vc))`` with descriptions (``vc``: the mean of each action's
    top-k description features; an action without any has ``vc = ad``, so it keeps ``unit(ad)``)."""
    return unit(ad) if vc is None else unit(unit(ad) + unit(vc))


def zero_shot_clip_scores(video: np.ndarray, class_emb: np.ndarray) -> np.ndarray:
    """``--zero-shot clip`` scores: cosine of video features ``(N, D)`` (a CLIP / X-CLIP backbone's) and
    action embeddings ``(C, D)`` of the same model's text tower (:func:`zero_shot_class_embeddings`)
    -> ``(N, C)``."""
    return unit(video) @ unit(class_emb).T


@dataclass
class ScoringSpace:
    """What scores and explains C actions (module docstring).

    to_space: video features ``(N, F)`` -> ``(N, d)`` points; classes: ``(C, d)``, scores are
    ``to_space(x) @ classes.T``; descriptions: ``(M, d)``, action ``j`` owning rows
    ``offsets[j]:offsets[j+1]`` (``texts`` the same rows' text); parts: ``(C, d)`` AD and VC terms of
    ``classes`` (their sum), or None; description_score: ``(N, d)`` points x description rows -> ``(N, m)``
    similarities (default: the dot product with ``descriptions``); score: points -> ``(N, C)`` scores
    (default: the dot product with ``classes``); cannot_explain: why this space has no explanations.
    """

    feature_dim: int
    to_space: Callable[[np.ndarray], np.ndarray]
    classes: np.ndarray
    descriptions: np.ndarray
    offsets: np.ndarray
    texts: Sequence[str]
    parts: tuple[np.ndarray, np.ndarray] | None = None
    description_score: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None
    score: Callable[[np.ndarray], np.ndarray] | None = None
    cannot_explain: str | None = None

    def scores(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(points (N, d), scores (N, C))`` of video features ``x (N, F)``."""
        v = self.to_space(np.asarray(x, dtype=np.float32))
        return v, (self.score(v) if self.score is not None else v @ self.classes.T)

    def explain(self, v: np.ndarray, actions: np.ndarray, n: int) -> list[list[dict[str, Any]]]:
        """For each video ``i`` (point ``v[i]``) and action ``actions[i, t]``: the ``n`` descriptions of that
        action closest to the video, ``{"description", "similarity"}`` best first, and, where the space has
        them, ``from_ad`` / ``from_vc``: the two terms of its score. Returns ``out[i][t]`` dicts
        ``{"descriptions": [...], ("from_ad", "from_vc")}``."""
        out: list[list[dict[str, Any]]] = []
        wanted = np.unique(actions)
        rows = {int(j): np.arange(self.offsets[j], self.offsets[j + 1]) for j in wanted}
        allrows = np.concatenate([rows[int(j)] for j in wanted]) if len(wanted) else np.zeros(0, np.int64)
        sims = self._similarity(v, allrows)                     # (N, m) over the descriptions of wanted actions
        col = {}
        at = 0
        for j in wanted:
            col[int(j)] = np.arange(at, at + len(rows[int(j)]))
            at += len(rows[int(j)])
        for i in range(len(v)):
            per = []
            for j in actions[i]:
                c = col[int(j)]
                s = sims[i, c]
                best = np.argsort(-s, kind="stable")[:n]
                rec: dict[str, Any] = {"descriptions": [
                    {"description": self.texts[int(rows[int(j)][b])], "similarity": round(float(s[b]), 4)}
                    for b in best]}
                if self.parts is not None:
                    rec["from_ad"] = round(float(v[i] @ self.parts[0][j]), 4)
                    rec["from_vc"] = round(float(v[i] @ self.parts[1][j]), 4)
                per.append(rec)
            out.append(per)
        return out

    def _similarity(self, v: np.ndarray, rows: np.ndarray) -> np.ndarray:
        if not len(rows):
            return np.zeros((len(v), 0), np.float32)
        if self.description_score is not None:
            return self.description_score(v, rows)
        return v @ self.descriptions[rows].T


def _segments(ct: Any, names: Sequence[str], k: int) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Description features of ``names`` in that order (each action's first ``k``), their offsets and texts."""
    idx = ct.indices(names)
    texts_all = ct.meta.get("description_texts") or [""] * len(ct.desc)
    feats, texts, offsets = [], [], [0]
    for i in idx:
        lo = int(ct.desc_offsets[i])
        hi = min(int(ct.desc_offsets[i + 1]), lo + k)
        feats.append(ct.desc[lo:hi])
        texts.extend(texts_all[lo:hi])
        offsets.append(offsets[-1] + hi - lo)
    desc = np.concatenate(feats) if feats else np.zeros((0, ct.dim), np.float32)
    return desc, np.asarray(offsets, np.int64), texts


def clip_space(ct: Any, names: Sequence[str], k: int, with_descriptions: bool) -> ScoringSpace:
    """``--zero-shot clip``: video features of a CLIP-family backbone scored against the class text ``ct``
    (the same model's text tower)."""
    ad, vc, _ = ct.select(names, k)
    desc, offsets, texts = _segments(ct, names, k)
    return ScoringSpace(ct.dim, unit, zero_shot_class_embeddings(ad, vc if with_descriptions else None),
                        unit(desc), offsets, texts)


def conse_space(head: Any, ct: Any, names: Sequence[str], k: int, with_descriptions: bool) -> ScoringSpace:
    """``--zero-shot conse``: ImageNet class probabilities ``(N, 1000)`` placed in the text space by ConSE
    (:func:`actionhub.video.conse.conse_embedding`) and compared with the action embeddings there."""
    from actionhub.video.conse import conse_embedding  # noqa: PLC0415

    ad, vc, _ = ct.select(names, k)
    desc, offsets, texts = _segments(ct, names, k)
    labels = head.label_embeddings()
    return ScoringSpace(int(labels.shape[0]), lambda p: conse_embedding(p, labels, head.top_t),
                        zero_shot_class_embeddings(ad, vc if with_descriptions else None), unit(desc), offsets, texts)


def checkpoint_space(model: Any, ct: Any, names: Sequence[str], k: int, feature_dim: int,
                     device: str = "cpu") -> ScoringSpace:
    """A trained model's own space (module docstring). For CoCo the points are the projected videos of
    Eq. 1 and the AD/VC parts are given; for a baseline the points are the video features themselves,
    scores are ``model.scores`` and a description's similarity is the model's score for that description
    alone (a GCN's class embedding depends on the other classes: no description has a score of its own,
    so its space cannot explain)."""
    import torch  # noqa: PLC0415

    from actionhub.models.baselines.gcn import Gcn  # noqa: PLC0415
    from actionhub.models.coco.model import CoCo  # noqa: PLC0415

    ad, vc, _ = ct.select(names, k)
    desc, offsets, texts = _segments(ct, names, k)

    def tensor(a: np.ndarray) -> Any:
        return torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32)).to(device)

    def array(a: Any) -> np.ndarray:
        return a.float().cpu().numpy()

    with torch.no_grad():
        emb = model.class_embeddings(tensor(ad), tensor(vc))
        if isinstance(model, CoCo):
            z_l, z_c = model.class_features(tensor(ad), tensor(vc))
            fused = array(emb)
            if z_l is not None and z_c is not None:
                alpha = float(model.cfg.alpha)
                parts = (alpha * array(z_l), (1 - alpha) * array(z_c))
            else:   # the ad-only or vc-only ablation: all of the score comes from one branch
                parts = (fused, np.zeros_like(fused)) if z_l is not None else (np.zeros_like(fused), fused)
            d_emb = array(model.encode_text(tensor(desc))) if len(desc) else np.zeros((0, fused.shape[1]), np.float32)

            def to_space(x: np.ndarray) -> np.ndarray:
                with torch.no_grad():
                    return array(model.encode_video(tensor(x)))

            return ScoringSpace(feature_dim, to_space, fused, d_emb, offsets, texts, parts)

    def score(x: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return array(model.scores(tensor(x), emb))

    def description_score(x: np.ndarray, rows: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            d = tensor(desc[rows])
            return array(model.scores(tensor(x), model.class_embeddings(d, d)))

    why = (f"a {type(model).__name__} class embedding depends on every other class, so a single description has "
           "no score of its own") if isinstance(model, Gcn) else None
    return ScoringSpace(feature_dim, lambda x: np.asarray(x, np.float32), np.zeros((len(names), 0)),
                        desc, offsets, texts, None, description_score, score, why)
