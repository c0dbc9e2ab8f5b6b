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
           "verb_forms", "generic_queries", "verb_form_pattern"]

MIN_SHARE = 0.005  # of all captions
MIN_COUNT = 20
PHRASE_SHARE = 0.6
VERB_SHARE = 0.15
SAMPLE = 20_000  # captions read per word
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
    return r"(?i)(^|[^\pL\pN])(" + "|".join(forms) + r")([^\pL\pN]|$)"


def generic_queries(queries: Sequence[str], index) -> list[GenericQuery]:
    """The one-word ``queries`` that are too generic in the corpus of ``index`` (the local
    provider's :class:`~actionhub.dataset.collect.diskindex.DiskBM25Index`: ``plan``, ``term_id``,
    ``term_docs`` and ``documents``)."""
    import pyarrow.compute as pc  # noqa: PLC0415

    from actionhub.dataset.vocab import lemmatize_word, lemminflect_module  # noqa: PLC0415
    from actionhub.dataset.wordvec import arrow_tokenize  # noqa: PLC0415

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
        sample = index.documents(np.asarray(docs[:SAMPLE], np.int64))[1]
        toks = arrow_tokenize(sample)
        flat = pc.list_flatten(toks)
        parent = np.asarray(pc.list_parent_indices(toks).to_numpy(zero_copy_only=False))
        enc = pc.dictionary_encode(flat)
        vocab = enc.dictionary.to_pylist()
        codes = np.asarray(enc.indices.to_numpy(zero_copy_only=False))
        is_word = np.array([bool(t) and lemmatize_word(t) == word for t in vocab], bool)
        at = np.flatnonzero(is_word[codes]) if codes.size else np.zeros(0, np.int64)
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
