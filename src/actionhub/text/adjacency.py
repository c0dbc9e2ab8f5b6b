"""Which of two queries a caption writes as one phrase: "handstand push ups against wall" is a
handstand push-up that also holds the words of "wall push up", scattered.

When two actions, neither of whose words hold the other's, both list a caption as their own, and it
holds one query's words side by side (in order, compounds split: "push-ups", "pushups") but not
the other's, the caption goes to that one (:func:`adjacent_claims`, used by ``actionhub rank``). Queries
of one word are not compared: any caption holding the word "writes it as one phrase".
Docs: docs/text.md#1-relevance-ranking-actionhub-rank
"""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

__all__ = ["caption_lemmas", "holds_as_phrase", "adjacent_claims"]


def caption_lemmas(text: str) -> list[str]:
    """The lemmas of a caption's words, in order (stop words kept: they break a phrase)."""
    from actionhub.dataset.vocab import lemmatize_word  # noqa: PLC0415
    from actionhub.dataset.wordvec import tokenize  # noqa: PLC0415

    return [lemmatize_word(t, first=True) for t in tokenize(text) if t]


def holds_as_phrase(lemmas: Sequence[str], words: Sequence[str]) -> bool:
    """Do consecutive ``lemmas`` of a caption spell the query ``words`` (in order, written as one
    word or several)? ``holds_as_phrase(["do", "wall", "push", "up"], ["wall", "push", "up"])`` is
    True; ``["push", "up", "against", "wall"]`` and ``["jump", "high"]`` for ``["high", "jump"]`` False."""
    if not words:
        return False
    spellings = {"".join(words)}
    size = len("".join(words))
    for i in range(len(lemmas)):
        joined = ""
        for j in range(i, min(len(lemmas), i + len(words))):
            joined += lemmas[j]
            if len(joined) >= size:
                if joined in spellings:
                    return True
                break
    return False


def adjacent_claims(texts: Sequence[str], group: np.ndarray, names: Sequence[str],
                    listed: Sequence[np.ndarray], claimed_by: np.ndarray,
                    may_claim: Callable[[int, int], bool] | None = None) -> np.ndarray:
    """``claimed_by`` ``(n,)`` (the action claiming each caption ``texts[i]`` of action ``group[i]``,
    -1: none; indices into ``names``) with the phrase rule applied: a caption its own query writes as
    one phrase (:func:`holds_as_phrase`) is not claimed by an action that does not; one that it does
    not write as a phrase goes to an action among ``listed[i]`` (those listing it as their own) or
    the claimant that does, where ``may_claim(a, b)`` lets ``b`` claim from ``a`` (default: all;
    ``rank`` passes :func:`~actionhub.text.ranking.competing_actions`: no paraphrase takes from another).
    Pairs where one query's words hold the other's are left to the sibling rule."""
    from actionhub.dataset.siblings import query_words  # noqa: PLC0415

    known = {w for a in names for w in a.split()}
    words: dict[int, frozenset[str]] = {}
    order: dict[int, list[str]] = {}

    def words_of(a: int) -> frozenset[str]:
        if a not in words:
            order[a] = query_words(names[a], known)
            words[a] = frozenset(order[a])
        return words[a]

    out = np.asarray(claimed_by, np.int64).copy()
    for i, (text, others) in enumerate(zip(texts, listed, strict=True)):
        mine = int(group[i])
        if len(words_of(mine)) < 2:
            continue
        pool = {int(b) for b in others} | ({int(out[i])} if out[i] >= 0 else set())
        rivals = [b for b in pool if len(words_of(b)) >= 2 and (may_claim is None or may_claim(mine, b))
                  and not (words_of(b) <= words_of(mine) or words_of(mine) <= words_of(b))]
        if not rivals:
            continue
        lemmas = caption_lemmas(text)
        phrase = [b for b in rivals if holds_as_phrase(lemmas, order[b])]
        if holds_as_phrase(lemmas, order[mine]):
            if out[i] in rivals and out[i] not in phrase:
                out[i] = -1
        elif phrase and out[i] not in phrase:
            out[i] = max(phrase, key=lambda b: (len(order[b]), -b))
    return out
