"""How relevant a description is to an action, with a frozen sentence encoder (the ``minilm`` rankers).

The paper's averaged word vectors (:mod:`actionhub.dataset.rank`) favour captions that name the action's
objects ("Kayak on the shore"). Here MiniLM compares a description with the action prompt "a person {name}"
(``rel``), with the action's object prompts (``obj``) and with :data:`SOMEONE` against :data:`NOTHING`
(``gen``); the agent signal ``rel - obj + 0.5 gen`` says how much more it shows someone doing the action
than the action's things at rest. Every text goes through the encoded-text cache.

Docs: docs/text.md#the-agent-signal
"""
from __future__ import annotations

import re
from typing import Mapping, Sequence

import numpy as np

__all__ = ["PERSON_TEMPLATES", "OBJECT_TEMPLATES", "action_names", "ActionPrompts"]

PERSON_TEMPLATES = ("a person {}",)
OBJECT_TEMPLATES = ("an empty {}, no people", "{} equipment lying unused", "a {} with nobody around")
#: the same question without the action: anyone doing anything, or things and places
SOMEONE = ("a person doing something", "people doing an activity", "someone in action")
NOTHING = ("an object", "a landscape with nobody", "things lying around", "an empty place")
GENERIC_WEIGHT = 0.5
_NOT_PAREN = re.compile(r"\((not|no|except)\b[^)]*\)", re.IGNORECASE)


def action_names(action: str, vocab=None, aliases: Sequence[str] = ()) -> list[str]:
    """The names an action goes by: itself, the source names its vocabulary query merges
    (``"PlayingGuitar"`` -> ``"playing guitar"``; "(not ...)" parentheticals dropped, other
    brackets removed) and ``aliases``; lower case, each once."""
    from actionhub.utils.names import text_name  # noqa: PLC0415

    names = [action]
    q = vocab.lookup(action) if vocab is not None else None
    if q is not None:
        for s in q.sources:
            names.append(re.sub(r"[()]", " ", _NOT_PAREN.sub(" ", text_name(s.name))))
    names += list(aliases)
    return list(dict.fromkeys(" ".join(n.lower().split()) for n in names if n and n.strip()))


def _mean_unit(rows: np.ndarray, groups: list[list[int]]) -> np.ndarray:
    out = np.stack([rows[g].mean(axis=0) for g in groups]).astype(np.float32)
    norm = np.linalg.norm(out, axis=1, keepdims=True)
    return out / np.maximum(norm, 1e-12)


class ActionPrompts:
    """The mean action prompt and mean object prompt of every action, unit length: ``person``
    ``(A, D)`` and ``object`` ``(A, D)``, rows in the order of ``actions``."""

    def __init__(self, actions: Sequence[str], names: Mapping[str, Sequence[str]], encoder: str = "minilm",
                 cache=True, batch_size: int = 64):
        from actionhub.text.encode import encode_texts  # noqa: PLC0415

        self.actions = list(actions)
        person = [[t.format(n) for n in names[a] for t in PERSON_TEMPLATES] for a in self.actions]
        objects = [[t.format(n) for n in names[a] for t in OBJECT_TEMPLATES] for a in self.actions]
        texts = list(dict.fromkeys([t for group in person + objects for t in group] + list(SOMEONE + NOTHING)))
        where = {t: i for i, t in enumerate(texts)}
        vecs = encode_texts(texts, encoder, cache=cache, batch_size=batch_size, progress=False)
        vecs = vecs / np.maximum(np.linalg.norm(vecs, axis=1, keepdims=True), 1e-12)
        self.person = _mean_unit(vecs, [[where[t] for t in g] for g in person])
        self.object = _mean_unit(vecs, [[where[t] for t in g] for g in objects])
        self.someone, self.nothing = _mean_unit(vecs, [[where[t] for t in SOMEONE], [where[t] for t in NOTHING]])

    def scores(self, vecs: np.ndarray, action_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(rel, obj, gen)`` ``(n,)`` float32 of unit description vectors ``vecs`` ``(n, D)`` against
        the prompts of their actions ``action_ids`` ``(n,)`` (indices into ``actions``)."""
        rel = np.einsum("ij,ij->i", vecs, self.person[action_ids]).astype(np.float32)
        obj = np.einsum("ij,ij->i", vecs, self.object[action_ids]).astype(np.float32)
        gen = (vecs @ self.someone - vecs @ self.nothing).astype(np.float32)
        return rel, obj, gen

    @staticmethod
    def agent(rel: np.ndarray, obj: np.ndarray, gen: np.ndarray) -> np.ndarray:
        """Someone doing the action rather than its things at rest: ``rel - obj + 0.5 gen``."""
        return rel - obj + GENERIC_WEIGHT * gen
