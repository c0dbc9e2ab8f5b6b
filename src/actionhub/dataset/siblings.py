"""Sibling queries: one query's words inside another's ("push up" in "wall push up").

:func:`overlaps` finds, among a set of queries, every *general* query whose words (lemmas, compounds split)
are all in a *more specific* one; ``rank`` then keeps the specific query's captions out of the general one
(or ranks them last), ``vocab overlaps`` and ``stats`` list the pairs. Particles (:data:`PARTICLES`) and
light verbs (:func:`light_verbs`) do not make a query more specific.

Docs: docs/text.md#sibling-queries
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Iterable, Sequence

__all__ = ["PARTICLES", "LIGHT_VERB_MIN_QUERIES", "Overlap", "query_words", "light_verbs", "overlaps",
           "specific_of", "format_overlaps"]

#: particles kept in queries (``data/stopwords_en.txt``): they never make a query more specific
PARTICLES = frozenset({"up", "down", "off", "out", "over", "back", "away", "around", "through", "under"})
#: a first word starting at least this many multi-word queries names a way of doing, not an action
LIGHT_VERB_MIN_QUERIES = 5


@dataclass(frozen=True)
class Overlap:
    """``general``'s words are all in ``specific``'s; ``extra``: the words that make it specific."""

    general: str
    specific: str
    extra: tuple[str, ...]

    def to_json(self) -> dict:
        return {"general": self.general, "specific": self.specific, "extra": list(self.extra)}


def _english(w: str) -> bool:
    from actionhub.dataset.vocab import lemminflect_module  # noqa: PLC0415

    return len(w) >= 3 and bool(lemminflect_module().getAllLemmas(w))


def query_words(query: str, known: Iterable[str] = ()) -> list[str]:
    """The words of ``query`` in order, a word that is two words split into them: two words of the
    ``known`` queries (or particles), or -- for a word that is not English itself -- two English
    words (``query_words("wall pushup", {"push", "up"}) == ["wall", "push", "up"]``,
    ``query_words("skijet") == ["ski", "jet"]``; "massage" stays whole)."""
    known = set(known) | PARTICLES

    def split(w: str) -> tuple[str, str] | None:
        if len(w) < 5:
            return None
        parts = [(w[:i], w[i:]) for i in range(2, len(w) - 1)]
        found = next(((a, b) for a, b in parts if a in known and b in known), None)
        if found is None and not _english(w):
            found = next(((a, b) for a, b in parts if (a in known or _english(a)) and (b in known or _english(b))),
                         None)
        return found

    out: list[str] = []
    for w in query.split():
        parts = split(w)
        out += list(parts) if parts else [w]
    return out


def light_verbs(queries: Sequence[str], minimum: int = LIGHT_VERB_MIN_QUERIES) -> frozenset[str]:
    """First words that start at least ``minimum`` of the multi-word ``queries`` ("play", "ride")."""
    counts = Counter(q.split()[0] for q in queries if len(q.split()) > 1)
    return frozenset(w for w, n in counts.items() if n >= minimum)


def overlaps(queries: Sequence[str], light: Iterable[str] | None = None) -> list[Overlap]:
    """Every (general, specific) pair of ``queries`` where the general query's words are all in the
    specific one's and the extra words make it a kind of the general action (see the module doc).
    Sorted by general query, then specific."""
    qs = list(dict.fromkeys(q.strip() for q in queries if q and q.strip()))
    known = {w for q in qs for w in q.split()}
    light = light_verbs(qs) if light is None else frozenset(light)
    words = {q: query_words(q, known) for q in qs}
    by_word: dict[str, set[str]] = {}
    for q, ws in words.items():
        for w in set(ws):
            by_word.setdefault(w, set()).add(q)
    out = []
    for g in qs:
        gw = set(words[g])
        if not gw:
            continue
        candidates = set.intersection(*(by_word[w] for w in gw)) - {g}
        for s in sorted(candidates):
            sw = words[s]
            extra = [w for w in sw if w not in gw]
            if not extra or set(sw) == gw:
                continue  # the same words in another order: not more specific
            if all(w in PARTICLES for w in extra):
                continue
            if sw[0] in light and all(w in PARTICLES or w == sw[0] for w in extra):
                continue
            out.append(Overlap(g, s, tuple(extra)))
    return sorted(out, key=lambda o: (o.general, o.specific))


def specific_of(pairs: Iterable[Overlap]) -> dict[str, list[str]]:
    """``{general: [its more specific queries]}``."""
    out: dict[str, list[str]] = {}
    for o in pairs:
        out.setdefault(o.general, []).append(o.specific)
    return out


def format_overlaps(pairs: Sequence[Overlap], limit: int | None = None) -> list[str]:
    """One line per general query: ``push up < handstand pushup, wall pushup``."""
    groups = specific_of(pairs)
    lines = [f"{g} < {', '.join(s)}" for g, s in groups.items()]
    return lines if limit is None else lines[:limit]
