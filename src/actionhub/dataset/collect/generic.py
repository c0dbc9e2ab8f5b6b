"""Queries too generic to mean an action in a given corpus ("close", "empty"), found from the corpus.

In stock footage "close" is mostly the "close" of "Close-up of ...", "empty" the adjective of "empty road".
:func:`generic_queries` flags a one-word query whose word is in at least :data:`MIN_SHARE` of the captions (and
:data:`MIN_COUNT`) and, in a sample of them, is mostly one fixed phrase (followed by the same word in at least
:data:`PHRASE_SHARE` of its uses: "close" -> "up") or an adjective (fewer than :data:`VERB_SHARE` of its uses are
verb forms). ``collect --generic fix`` (the default) keeps only the captions where the word is a verb form and
leaves out a word without verb forms; ``drop`` leaves out every flagged query, ``keep`` searches them as they are.
Docs: docs/dataset.md#generic-one-word-queries
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

__all__ = ["MIN_SHARE", "MIN_COUNT", "PHRASE_SHARE", "VERB_SHARE", "GENERIC_MODES", "GenericQuery",
           "verb_forms", "generic_queries", "verb_form_pattern", "BOILERPLATE_SHARE", "PHRASE_MIN_COUNT",
           "COOCCUR_SHARE", "ARTICLES", "PhraseWord", "phrase_words", "phrase_pattern"]

MIN_SHARE = 0.005  # of all captions
MIN_COUNT = 20
PHRASE_SHARE = 0.6
VERB_SHARE = 0.15
SAMPLE = 20_000  # captions read per word
BOILERPLATE_SHARE = 0.01  # a fixed phrase in a longer query's word: in at least this share of all captions
PHRASE_SAMPLE = 200_000  # captions read, spread over the corpus, for the words of longer queries
PHRASE_MIN_COUNT = 50  # ... and in at least this many of the captions read
COOCCUR_SHARE = 0.2  # ... and at most this share of the captions holding it hold another word of the query
ARTICLES = frozenset({"a", "an", "the"})  # never half of a fixed phrase: "the beach", "ride a" are grammar
GENERIC_MODES = ("fix", "drop", "keep")


@dataclass(frozen=True)
class GenericQuery:
    """A flagged query: its word, why, the evidence and the fix."""

    query: str
    reason: str  # "phrase" or "adjective"
    captions: int  # captions holding the word
    share: float  # share of the uses behind the reason (the phrase, or the non-verb uses)
    phrase: str  # the fixed phrase ("close up") or ""
    fix: str  # "verb forms: closing|closes" or "leave out"

    def to_json(self) -> dict:
        return {"query": self.query, "reason": self.reason, "captions": self.captions, "share": round(self.share, 3),
                "phrase": self.phrase, "fix": self.fix}

    def describe(self) -> str:
        why = (f"{100 * self.share:.0f} % of its uses are '{self.phrase}'" if self.reason == "phrase" else
               f"an adjective in {100 * self.share:.0f} % of its uses")
        return f"{self.query!r}: in {self.captions:,} captions, {why}; {self.fix}"


def verb_forms(word: str) -> list[str]:
    """The "-ing" and third-person forms of a verb (lemminflect), [] for a word that is no verb."""
    from actionhub.dataset.vocab import lemminflect_module  # noqa: PLC0415

    lm = lemminflect_module()
    if "VERB" not in lm.getAllLemmas(word):
        return []
    forms = [f for tag in ("VBG", "VBZ") for f in (lm.getInflection(word, tag) or ())]
    return list(dict.fromkeys(f for f in forms if f != word))


def verb_form_pattern(forms: Sequence[str]) -> str:
    """A case-insensitive RE2 pattern matching any of ``forms`` as a whole word."""
    return phrase_pattern(forms)


def phrase_pattern(*words: Sequence[str]) -> str:
    """A case-insensitive RE2 pattern of a phrase of whole words, each given as its spellings
    (``phrase_pattern(["shot", "shots"], ["on"])``), separated by anything but letters and digits."""
    return r"(?i)(^|[^\pL\pN])" + r"[^\pL\pN]+".join("(" + "|".join(w) + ")" for w in words) + r"([^\pL\pN]|$)"


class _Sample:
    """Sampled captions of an index, tokenised: ``parent`` (the caption of each token), ``codes`` (its
    word), ``vocab`` (the distinct words) and their ``lemmas``."""

    def __init__(self, index, docs: np.ndarray):
        import pyarrow.compute as pc  # noqa: PLC0415

        from actionhub.dataset.vocab import lemmatize_word  # noqa: PLC0415
        from actionhub.dataset.wordvec import arrow_tokenize  # noqa: PLC0415

        toks = arrow_tokenize(index.documents(np.asarray(docs, np.int64))[1])
        self.parent = np.asarray(pc.list_parent_indices(toks).to_numpy(zero_copy_only=False))
        enc = pc.dictionary_encode(pc.list_flatten(toks))
        self.vocab = enc.dictionary.to_pylist()
        self.codes = np.asarray(enc.indices.to_numpy(zero_copy_only=False))
        self.lemmas = np.array([lemmatize_word(t, first=True) if t else "" for t in self.vocab], dtype=object)

    def uses(self, word: str) -> np.ndarray:
        """Positions of the tokens whose lemma is ``word``."""
        return np.flatnonzero((self.lemmas == word)[self.codes]) if self.codes.size else np.zeros(0, np.int64)


def generic_queries(queries: Sequence[str], index) -> list[GenericQuery]:
    """The one-word ``queries`` that are too generic in the corpus of ``index`` (the local
    provider's :class:`~actionhub.dataset.collect.diskindex.DiskBM25Index`: ``plan``, ``term_id``,
    ``term_docs`` and ``documents``)."""
    from actionhub.dataset.vocab import lemminflect_module  # noqa: PLC0415

    n = index.num_docs
    need = max(MIN_COUNT, MIN_SHARE * n)
    out = []
    for q in dict.fromkeys(queries):
        terms = index.plan(q).words
        if len(terms) != 1 or terms[0] not in index.term_id:
            continue
        word = terms[0]
        docs = index.term_docs(index.term_id[word])
        if docs.size < need:
            continue
        sample = _Sample(index, docs[:SAMPLE])
        parent, codes, vocab = sample.parent, sample.codes, sample.vocab
        at = sample.uses(word)
        if not at.size:
            continue
        nxt = at + 1
        ok = nxt < codes.size
        ok[ok] = parent[nxt[ok]] == parent[at[ok]]
        forms = verb_forms(word)
        surface = np.array(vocab, dtype=object)[codes[at]]
        verb_share = float(np.isin(surface, forms).mean()) if forms else 0.0
        phrase_share, phrase = 0.0, ""
        if ok.any():
            follow, counts = np.unique(codes[nxt[ok]], return_counts=True)
            top = int(np.argmax(counts))
            phrase_share, phrase = float(counts[top] / at.size), f"{word} {vocab[follow[top]]}"
        fix = f"verb forms only: {'|'.join(forms)}" if forms else "left out (no verb forms)"
        if phrase_share >= PHRASE_SHARE and verb_share < PHRASE_SHARE:
            out.append(GenericQuery(q, "phrase", int(docs.size), phrase_share, phrase, fix))
        elif "ADJ" in lemminflect_module().getAllLemmas(word) and verb_share < VERB_SHARE:
            out.append(GenericQuery(q, "adjective", int(docs.size), 1.0 - verb_share, "", fix))
    return out


@dataclass(frozen=True)
class PhraseWord:
    """A word of a longer query that the corpus mostly uses in one fixed phrase with a word the query
    does not hold: "shot" of "cricket shot" in "shot on RED", "up" of "push up" in "close up"."""

    query: str
    word: str
    phrase: str  # "shot on", "close up"
    forms: tuple[str, ...]  # the word as written in the captions ("shot", "shots")
    other: str  # the phrase's other word, as written
    before: bool  # the other word comes first ("close" of "close up")
    share: float  # of the word's uses in the sample
    captions: int  # captions holding the word

    def to_json(self) -> dict:
        return {"query": self.query, "reason": "phrase word", "captions": self.captions, "share": round(self.share, 3),
                "phrase": self.phrase, "fix": f"'{self.word}' not counted in '{self.phrase}'", "word": self.word}

    def describe(self) -> str:
        return (f"{self.query!r}: {100 * self.share:.0f} % of the uses of {self.word!r} ({self.captions:,} captions) "
                f"are '{self.phrase}'; a caption holding it only there matches as relaxed")

    def pattern(self) -> str:
        """A case-insensitive RE2 pattern of the phrase as a whole (its occurrences are set aside)."""
        return phrase_pattern([self.other], self.forms) if self.before else phrase_pattern(self.forms, [self.other])


def phrase_words(queries: Sequence[str], index) -> dict[str, list[PhraseWord]]:
    """``{query: [PhraseWord]}`` for the queries of two words or more whose words are mostly one fixed
    phrase in the corpus of ``index``: followed (or preceded) by the same word, not one of the query's
    own words or their derived forms, in at least :data:`PHRASE_SHARE` of the word's uses; that phrase in
    at least :data:`BOILERPLATE_SHARE` (and :data:`PHRASE_MIN_COUNT`) of the captions of an evenly spread
    sample, and beside another word of the query in at most :data:`COOCCUR_SHARE` of them (boilerplate,
    "shot on RED"; not the way the action is written, "jumping on trampoline"). An article is never
    the other word of a phrase ("the beach", "ride a": grammar, however frequent)."""
    n = index.num_docs
    words_of = {q: index.plan(q).words for q in dict.fromkeys(queries)}
    words_of = {q: ws for q, ws in words_of.items() if len(ws) >= 2}
    need = max(MIN_COUNT, BOILERPLATE_SHARE * n)
    common = {w for ws in words_of.values() for w in ws
              if w in index.term_id and index.term_docs(index.term_id[w]).size >= need}
    if not common or not n:
        return {}
    docs = np.unique(np.linspace(0, n - 1, min(n, PHRASE_SAMPLE)).astype(np.int64))
    sample = _Sample(index, docs)
    parent, codes, vocab, lemmas = sample.parent, sample.codes, sample.vocab, sample.lemmas
    derived = index.derived
    held: dict[str, np.ndarray] = {}

    def captions_with(word: str) -> np.ndarray:  # (sampled captions,) bool: holds the word or a derived form
        if word not in held:
            forms = set(derived.get(word, ()))
            hit = (lemmas == word) | np.array([v in forms for v in vocab], bool)
            held[word] = np.zeros(docs.size, bool)
            held[word][parent[hit[codes]]] = True
        return held[word]

    out: dict[str, list[PhraseWord]] = {}
    for w in sorted(common):
        at = sample.uses(w)
        if not at.size:
            continue
        forms = tuple(sorted({vocab[c] for c in np.unique(codes[at])}))
        sides = []
        for before, nb in ((False, at + 1), (True, at - 1)):
            ok = (nb >= 0) & (nb < codes.size)
            ok[ok] = parent[nb[ok]] == parent[at[ok]]
            follow, counts = np.unique(codes[nb[ok]], return_counts=True)
            sides.append((before, follow[np.argsort(-counts, kind="stable")], np.sort(counts)[::-1], at[ok],
                          codes[nb[ok]]))
        for q, ws in words_of.items():
            if w not in ws:
                continue
            own = set(ws) | {t for x in ws for t in derived.get(x, ())}
            best = None
            for before, follow, counts, where, nbs in sides:
                for c, k in zip(follow, counts, strict=True):
                    if vocab[c] and lemmas[c] not in own and vocab[c] not in own and vocab[c] not in ARTICLES:
                        if best is None or k > best[2]:
                            best = (before, vocab[c], int(k), np.unique(parent[where[nbs == c]]))
                        break
            if best is None:
                continue
            before, other, k, holding = best
            share = k / at.size
            if share < PHRASE_SHARE or holding.size < max(PHRASE_MIN_COUNT, BOILERPLATE_SHARE * docs.size):
                continue
            beside = np.zeros(holding.size, bool)
            for x in ws:
                if x != w:
                    beside |= captions_with(x)[holding]
            if beside.mean() <= COOCCUR_SHARE:
                phrase = f"{other} {w}" if before else f"{w} {other}"
                out.setdefault(q, []).append(PhraseWord(q, w, phrase, forms, other, before, share,
                                                        int(index.term_docs(index.term_id[w]).size)))
    return out
