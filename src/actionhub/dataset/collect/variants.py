"""Word variants learned from a caption corpus's own vocabulary: compounds and agent nouns.

A query word matches more than its lemma (:class:`QueryPlan`, used by
:meth:`actionhub.dataset.collect.local.BM25Index.candidates`): **compounds, both ways** ("pushups" for "push up";
"skijet" for a caption holding "jet" and "ski") and **agent and derived nouns** ("pitcher" -> pitch, "bowler" ->
bowling, "cricketer" -> cricket, "cellist" -> cello, "gymnast" -> gymnastics), never a word that is a verb in its
own right ("shower" is not "show"). The corpus's index supplies the words (never a list), lemminflect tells verbs
from nouns; plain lemmas, plurals and verb forms are what the index already holds (``riding`` -> ride).
Docs: docs/dataset.md#which-captions-match
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping, Optional, Sequence

import numpy as np

__all__ = ["derived_forms", "QueryPlan", "plan_query", "VariantMatching", "run_plan", "relaxed", "remap_plan",
           "plan_terms", "plan_holds", "union_best",
           "union_sum", "intersect"]

MIN_PART = 2  # shortest part of a compound ("up" in "pushup")
MIN_SPLIT_WORD = 5  # shortest query word that is tried as two corpus words


def _pos(word: str) -> dict:
    from actionhub.dataset.vocab import lemminflect_module  # noqa: PLC0415

    return lemminflect_module().getAllLemmas(word)


def _stems(term: str) -> list[tuple[str, str]]:
    """``(stem, kind)`` readings of ``term`` as a derived noun (kind: what the stem must be)."""
    out: list[tuple[str, str]] = []
    if term.endswith("er") and len(term) >= 5:
        base = term[:-2]
        out += [(base, "verb"), (term[:-1], "verb"), (base, "noun")]  # pitch-er, div-er, cricket-er
        if len(base) >= 3 and base[-1] == base[-2]:  # swimm-er -> swim
            out.append((base[:-1], "verb"))
    elif term.endswith("ist") and len(term) >= 6:  # cell-ist -> cello, guitar-ist, flut-ist -> flute
        base = term[:-3]
        out += [(base, "noun"), (base + "o", "noun"), (base + "e", "noun")]
    return out


def _verb_compound(word: str) -> bool:
    """A word lemminflect does not know that ends in a verb after an English word ("skydive")."""
    return any("VERB" in _pos(word[i:]) and _pos(word[:i]) for i in range(3, len(word) - 2))


def derived_forms(vocab: Sequence[str]) -> dict[str, list[str]]:
    """``{word: [corpus terms derived from it]}`` over the terms of a corpus vocabulary.

    ``derived_forms(["pitcher", "shower", "cellist", "fencer", "gymnast"])`` ->
    ``{"pitch": ["pitcher"], "cello": ["cellist"], "fence": ["fencer"], "fencing": ["fencer"],
    "gymnastics": ["gymnast"]}`` ("shower" is a verb itself; "-ics" names the discipline of a noun
    ending in "-ist"/"-ast": "gymnast" -> gymnastics).
    """
    from actionhub.dataset.vocab import GERUND_SPORTS, lemminflect_module  # noqa: PLC0415

    lm = lemminflect_module()
    known = set(vocab)
    out: dict[str, list[str]] = {}
    for term in vocab:
        if not term.isalpha() or len(term) < 5:
            continue
        if term.endswith(("ist", "ast")):  # gymnast -> gymnastics, acrobat(ics) is rare enough
            out.setdefault(term + "ics", []).append(term)
        if not (term.endswith("er") or term.endswith("ist")):
            continue
        pos = _pos(term)
        if "VERB" in pos or ("NOUN" not in pos and pos):  # a verb in its own right: "shower", "hammer"
            continue
        for stem, kind in _stems(term):
            if len(stem) < 3:
                continue
            stem_pos = _pos(stem)
            if kind == "verb" and ("VERB" in stem_pos or (not stem_pos and (stem in known or _verb_compound(stem)))):
                out.setdefault(stem, []).append(term)
                ing = (lm.getInflection(stem, "VBG") or (stem + "ing",))[0]
                if ing in GERUND_SPORTS:  # bowler -> bowling, fencer -> fencing
                    out.setdefault(ing, []).append(term)
            elif kind == "noun" and "NOUN" in stem_pos and (term.endswith("ist") or len(stem) >= 5):
                out.setdefault(stem, []).append(term)
    return {w: list(dict.fromkeys(ts)) for w, ts in out.items()}


@dataclass(frozen=True)
class QueryPlan:
    """How a query matches, in term ids of one index.

    ``segmentations``: the ways to read the query; each is a list of *units* that must all be
    present (``match="all"``); a unit is a list of *alternatives*, any of which will do; an
    alternative is a list of *term sets* that must all be present; a term set is a list of term
    ids, any of which will do. ``words``: the query's content words; ``missing``: those no
    alternative can find in the corpus.
    """

    words: tuple[str, ...]
    segmentations: tuple[tuple[tuple[tuple[tuple[int, ...], ...], ...], ...], ...]
    missing: tuple[str, ...]

    @property
    def complete(self) -> bool:
        return bool(self.words) and not self.missing


def plan_query(words: Sequence[str], term_id: Mapping[str, int], derived: Mapping[str, Sequence[str]]) -> QueryPlan:
    """The :class:`QueryPlan` of a query's content words (lemmas, stop words removed)."""
    words = tuple(words)

    def term_set(word: str) -> tuple[int, ...]:
        ids = [term_id[word]] if word in term_id else []
        ids += [term_id[t] for t in derived.get(word, ()) if t in term_id]
        return tuple(dict.fromkeys(ids))

    def unit(word: str) -> tuple[tuple[tuple[int, ...], ...], ...]:
        alts: list[tuple[tuple[int, ...], ...]] = []
        own = term_set(word)
        if own:
            alts.append((own,))
        if len(word) >= MIN_SPLIT_WORD and word.isalpha():  # "skijet" = "ski" + "jet", also "jetski"
            for i in range(MIN_PART, len(word) - MIN_PART + 1):
                a, b = word[:i], word[i:]
                if a in term_id and b in term_id:
                    sa, sb = term_set(a), term_set(b)
                    alts.append((sa, sb))
                    if b + a in term_id:
                        alts.append(((term_id[b + a],),))
        return tuple(dict.fromkeys(alts))

    units = [unit(w) for w in words]
    missing = tuple(w for w, u in zip(words, units, strict=True) if not u)
    # adjacent words written as one corpus word: "breast stroke" ~ "breaststroke"
    joins = [i for i in range(len(words) - 1) if words[i].isalpha() and words[i + 1].isalpha()
             and term_set(words[i] + words[i + 1])]  # "sky dive": "skydive", or "skydiver" only
    segs = []
    for mask in range(1 << len(joins)):
        chosen = [joins[j] for j in range(len(joins)) if mask >> j & 1]
        if any(b - a < 2 for a, b in zip(chosen, chosen[1:], strict=False)):  # overlapping joins
            continue
        seg, i = [], 0
        while i < len(words):
            if i in chosen:
                joined = words[i] + words[i + 1]
                seg.append(((term_set(joined),),))
                i += 2
            else:
                seg.append(units[i])
                i += 1
        segs.append(tuple(seg))
    if missing and any(all(seg) for seg in segs):  # a word found nowhere, joined away ("skate board")
        missing = ()
    return QueryPlan(words, tuple(segs), missing)


def plan_holds(plan: QueryPlan, terms: set[int]) -> bool:
    """Does a caption whose terms are ``terms`` (term ids) match ``plan`` as a whole (``match="all"``)?"""
    return any(all(any(all(any(t in terms for t in ts) for ts in alt) for alt in unit) for unit in seg)
               for seg in plan.segmentations if all(seg))


Posting = tuple[np.ndarray, np.ndarray]  # sorted doc ids (int64), weights (float32)


def _runs(parts: list[Posting]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The parts' docs and weights merged in doc order (a stable sort, linear on sorted runs) and
    where each distinct doc starts."""
    docs = np.concatenate([p[0] for p in parts]).astype(np.int64, copy=False)
    w = np.concatenate([p[1] for p in parts])
    order = np.argsort(docs, kind="stable")  # a doc's weights stay in part order
    docs, w = docs[order], w[order]
    return docs, w, np.flatnonzero(np.r_[True, docs[1:] != docs[:-1]])


def union_best(parts: list[Posting]) -> Posting:
    """Docs in any part; a doc's weight is its best one."""
    parts = [p for p in parts if p[0].size]
    if not parts:
        return np.zeros(0, np.int64), np.zeros(0, np.float32)
    if len(parts) == 1:
        return parts[0]
    docs, w, starts = _runs(parts)
    return docs[starts], np.maximum.reduceat(w, starts)


def intersect(parts: list[Posting]) -> Posting:
    """Docs in every part; weights summed (the shortest list first, as BM25 conjunctions do)."""
    if not parts:
        return np.zeros(0, np.int64), np.zeros(0, np.float32)
    parts = sorted(parts, key=lambda p: p[0].size)
    docs, sc = parts[0][0].astype(np.int64), parts[0][1].astype(np.float32)
    for other_docs, other_w in parts[1:]:
        if not docs.size:
            break
        pos = np.searchsorted(other_docs, docs)
        ok = pos < other_docs.size
        ok[ok] = other_docs[pos[ok]] == docs[ok]
        docs, sc = docs[ok], sc[ok] + other_w[pos[ok]]
    return docs, sc


def union_sum(parts: list[Posting]) -> Posting:
    """Docs in any part; weights summed in part order, in float64 (BM25 of a disjunction)."""
    parts = [p for p in parts if p[0].size]
    if not parts:
        return np.zeros(0, np.int64), np.zeros(0, np.float32)
    docs, w, starts = _runs(parts)
    return docs[starts], np.add.reduceat(w.astype(np.float64), starts).astype(np.float32)


def run_plan(plan: QueryPlan, posting: Callable[[int], Any], match: str, df: Optional[np.ndarray] = None) -> Posting:
    """Documents matching ``plan`` (sorted ids) and their BM25 scores: a term set takes its best
    term's weight, an alternative the sum of its sets, a unit its best alternative; ``match="all"``
    needs every unit of a segmentation (scores summed), ``"any"`` one of them; the best
    segmentation counts. ``posting(t)``: a :class:`bm25.Posting`; ``df``: the corpus-wide document
    frequency of every term, so every index (and every segment of one) adds a plain query's terms
    in the same order, rarest first, and gives the same scores bit for bit."""
    from actionhub.dataset.collect import bm25  # noqa: PLC0415

    if len(plan.segmentations) == 1 and all(len(u) == 1 and len(u[0]) == 1 and len(u[0][0]) == 1
                                            for u in plan.segmentations[0]):  # plain words: weights on demand
        terms = [u[0][0][0] for u in plan.segmentations[0]]
        if df is not None:
            terms = sorted(terms, key=lambda t: df[t])
        return bm25.combine([posting(t) for t in terms], match)
    cache: dict[int, Posting] = {}

    def post(t: int) -> Posting:
        if t not in cache:
            p = posting(t)
            cache[t] = (np.asarray(p.docs, np.int64), np.asarray(p.weight(None), np.float32))
        return cache[t]

    results = []
    for seg in plan.segmentations:
        if match == "all" and not all(seg):
            continue
        unit_postings = []
        for unit in seg:
            alts = [intersect([union_best([post(t) for t in ts]) for ts in alt]) for alt in unit]
            unit_postings.append(union_best(alts))
        results.append(intersect(unit_postings) if match == "all" else union_sum(unit_postings))
    return union_best(results)


def relaxed(index: Any, query: str, part: Optional[Callable[[str, Posting], Posting]] = None) -> Posting:
    """Documents of ``index`` holding all but one of the content words of ``query`` (a query of two
    words or more; its full matches included), with their BM25 scores: the ``"all"`` candidates of
    each query made of all but one of its words, united (scores summed). ``part(sub_query, posting)``,
    when given, narrows each of those before the union."""
    words = index.plan(query).words
    if len(words) < 2:
        return np.zeros(0, np.int64), np.zeros(0, np.float32)
    subs = [" ".join(words[:i] + words[i + 1:]) for i in range(len(words))]
    return union_sum([index.candidates(q, "all") if part is None else part(q, index.candidates(q, "all"))
                      for q in subs])


def remap_plan(plan: QueryPlan, new_id: Callable[[int], int]) -> QueryPlan:
    """``plan`` with every term id ``t`` replaced by ``new_id(t)`` (a plan sent to another index's
    numbering: a segment's, or positions in a list of terms)."""
    segs = tuple(tuple(tuple(tuple(tuple(new_id(t) for t in ts) for ts in alt) for alt in unit) for unit in seg)
                 for seg in plan.segmentations)
    return QueryPlan(plan.words, segs, plan.missing)


def plan_terms(plan: QueryPlan) -> list[int]:
    """Every term id ``plan`` uses, once, in order of appearance."""
    return list(dict.fromkeys(t for seg in plan.segmentations for unit in seg for alt in unit for ts in alt
                              for t in ts))


class VariantMatching:
    """How an index matches queries through word variants, shared by the in-memory and the
    out-of-core BM25 index. The index provides ``vocab``, ``term_id`` and :meth:`query_words`."""

    vocab: list[str]
    term_id: Mapping[str, int]
    _derived: Optional[dict[str, list[str]]] = None

    def query_words(self, query: str) -> list[str]:  # pragma: no cover - each index says how
        raise NotImplementedError

    @property
    def derived(self) -> dict[str, list[str]]:
        """``{word: [agent/derived nouns of it in this corpus]}`` (:func:`derived_forms`), built once."""
        if self._derived is None:
            self._derived = derived_forms(self.vocab)
        return self._derived

    def plan(self, query: str) -> QueryPlan:
        """How ``query`` matches in this corpus: its content words with their compounds and derived forms."""
        return plan_query(self.query_words(query), self.term_id, self.derived)

    def query_plan(self, query: str, match: str) -> Optional[QueryPlan]:
        """The query's plan, or None when it matches nothing under ``match``."""
        from actionhub.dataset.collect import bm25  # noqa: PLC0415

        bm25.check_match(match)
        plan = self.plan(query)
        if not plan.segmentations or (match == "all" and not plan.complete):
            return None
        return plan

    def query_terms(self, query: str) -> tuple[list[int], bool]:
        """Term ids of the query's content words found in the corpus as they are, and whether the
        query can match as a whole (every word found, itself or through a variant)."""
        plan = self.plan(query)
        return [self.term_id[t] for t in plan.words if t in self.term_id], plan.complete

    def relaxed(self, query: str) -> Posting:
        """Documents holding all but one of the content words of ``query`` (:func:`relaxed`)."""
        return relaxed(self, query)
