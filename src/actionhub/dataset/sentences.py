"""Sentences per description, counted by one vectorised rule (Fig. 5's sentence counts).

Every run of ``.``, ``!`` or ``?`` (optionally followed by closing quotes/brackets) that is followed by
white space or the end of the text ends a sentence, and trailing text without a terminator is one
more sentence. Decimal points ("3.5") do not count; abbreviations followed by a space ("e.g. ",
"Mr. ") do. Docs: docs/dataset.md#3-the-store
"""
from __future__ import annotations

from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["count_sentences"]

_SENTENCE_END = r"[.!?]+['\")\]]*(\s|$)"
_ENDS_WITH_TERMINATOR = r"[.!?]['\")\]]*$"


def count_sentences(texts: Any) -> pa.Array:
    """Sentences per text (int32), vectorised; see the module docstring for the rule.

    ``texts``: a pyarrow string array or chunked array, or a sequence of str (None counts 0).
    ``"A man runs. He jumps"`` -> 2, ``"Slow motion."`` -> 1, ``"3.5 km run"`` -> 1, ``""`` -> 0.
    """
    if isinstance(texts, pa.ChunkedArray):
        texts = texts.combine_chunks()
    if not isinstance(texts, pa.Array):
        texts = pa.array(list(texts), type=pa.string())
    t = pc.utf8_trim_whitespace(pc.fill_null(texts, ""))
    ends = pc.count_substring_regex(t, _SENTENCE_END)
    nonempty = pc.greater(pc.utf8_length(t), 0)
    trailing = pc.and_(nonempty, pc.invert(pc.match_substring_regex(t, _ENDS_WITH_TERMINATOR)))
    return pc.cast(pc.add(ends, pc.cast(trailing, pa.int32())), pa.int32())
