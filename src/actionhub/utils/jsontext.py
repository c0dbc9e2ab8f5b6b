"""JSON from files anyone may have written: nesting deeper than Python can parse is malformed JSON.

``json.loads`` of a line nested 100,000 deep raises ``RecursionError`` (not a ``ValueError``), which
would abort a whole import or check. :func:`loads` and :func:`load` raise ``json.JSONDecodeError``
instead, so every reader's handling of malformed JSON (a recorded skip, a one-line refusal) applies.
:func:`deep_lines` finds the lines of a JSONL file that could nest deeper than a limit (vectorised;
for readers in C that would crash on them). Standard library and numpy only.
"""
from __future__ import annotations

import json
import os
from typing import IO, Any, Union

__all__ = ["loads", "load", "deep_lines", "MAX_DEPTH"]

#: the nesting depth a JSON value may have in the files ActionHub reads (Python's own parser
#: gives up near its recursion limit, 1,000; pyarrow's reader crashes far beyond it)
MAX_DEPTH = 500
_CHUNK = 1 << 26


def _too_deep(text: Any) -> json.JSONDecodeError:
    doc = text if isinstance(text, str) else ""
    return json.JSONDecodeError("nested too deeply to parse (more than Python's recursion limit)", doc, 0)


def loads(text: Union[str, bytes]) -> Any:
    """``json.loads``; a value nested too deeply to parse is a ``json.JSONDecodeError``."""
    try:
        return json.loads(text)
    except RecursionError:
        raise _too_deep(text) from None


def load(fh: IO[str]) -> Any:
    """``json.load``; a value nested too deeply to parse is a ``json.JSONDecodeError``."""
    return loads(fh.read())


def deep_lines(path: Union[str, "os.PathLike[str]"], limit: int = MAX_DEPTH) -> list[int]:
    """Line numbers (1-based) of ``path`` whose JSON may nest deeper than ``limit``: lines holding more
    than ``limit`` opening brackets (``[`` or ``{``; an upper bound of the depth) that Python's parser
    cannot read. Reads the file in chunks; the common file (no such line) costs one vectorised pass."""
    import numpy as np  # noqa: PLC0415

    suspects: list[int] = []
    line0, carry = 1, 0   # the line the chunk starts on; its openers seen in earlier chunks
    with open(path, "rb") as fh:
        while True:
            chunk = fh.read(_CHUNK)
            if not chunk:
                break
            a = np.frombuffer(chunk, np.uint8)
            nl = np.flatnonzero(a == 10)
            opens = np.cumsum((a == 91) | (a == 123), dtype=np.int64)
            ends = np.concatenate([nl, [len(a) - 1]])   # the last piece runs on into the next chunk
            at_end = opens[ends]
            per_line = np.diff(np.concatenate([[0], at_end]))
            per_line[0] += carry
            suspects += [int(line0 + i) for i in np.flatnonzero(per_line[:-1] > limit)]
            carry = int(per_line[-1])
            line0 += len(nl)
    if carry > limit:
        suspects.append(line0)
    if not suspects:
        return []
    wanted, deep = set(suspects), []
    with open(path, "rb") as fh:   # the few suspects: their true depth, brackets in strings left out
        for i, line in enumerate(fh, 1):
            if i in wanted and _depth(line) > limit:
                deep.append(i)
    return deep


def _depth(line: bytes) -> int:
    """The nesting depth of the brackets of one JSON line outside strings."""
    depth = best = 0
    in_str = esc = False
    for b in line:
        if in_str:
            if esc:
                esc = False
            elif b == 92:
                esc = True
            elif b == 34:
                in_str = False
        elif b == 34:
            in_str = True
        elif b in (91, 123):
            depth += 1
            best = max(best, depth)
        elif b in (93, 125):
            depth -= 1
    return best
