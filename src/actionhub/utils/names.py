"""Class names: the matching key, the human-readable text of a name, and its word tokens.

Benchmarks, feature stores and class text files spell the same class differently
("ApplyEyeMakeup", "apply eye makeup", "Apply_Eye_Makeup"); every module matches names
through :func:`normalize_name` so they agree.
"""
from __future__ import annotations

import re
from typing import Sequence


def normalize_name(name: str) -> str:
    """Matching key for class names: lower case, letters and digits only.

    ``"Apply Eye-Makeup"`` -> ``"applyeyemakeup"``; ``"HandstandPushups"`` and
    ``"hand stand pushups"`` both give ``"handstandpushups"``.
    """
    return "".join(ch for ch in str(name).lower() if ch.isalnum())


#: characters a file-system-safe video id replaces by ``_`` (``actionhub extract``'s ids; the
#: matching of published video lists, :mod:`actionhub.features.listed`, does the same)
UNSAFE_ID_CHARS = re.compile(r"[^\w.\-+=,@()\[\]]", re.UNICODE)


def listing(shown: Sequence[str], total: int | None = None) -> str:
    """A short list for a message: ``"a, b, c and 7 more"`` -- the ``shown`` items, then how many
    of ``total`` (default: as many as shown) were left out."""
    more = (len(shown) if total is None else total) - len(shown)
    return ", ".join(shown) + (f" and {more} more" if more > 0 else "")


def text_name(class_name: str) -> str:
    """Human-readable text of a class name, for a text encoder.

    UCF101 CamelCase is split (``"ApplyEyeMakeup"`` -> ``"apply eye makeup"``), HMDB51
    underscores become spaces (``"brush_hair"`` -> ``"brush hair"``); names that already contain
    spaces (Kinetics) are returned unchanged.
    """
    if " " in class_name:
        return class_name
    if "_" in class_name:
        return class_name.replace("_", " ")
    if class_name != class_name.lower():
        return " ".join(tokenize(class_name))
    return class_name


# Split points inside CamelCase words: "ApplyEyeMakeup" -> "Apply Eye Makeup", "YoYo" -> "Yo Yo",
# "TVShow" -> "TV Show", "Mp3Player" -> "Mp3 Player".
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_POSSESSIVE = re.compile(r"['\u2019]s\b")
_TOKEN = re.compile(r"[^\W_]+")  # runs of letters/digits; underscores and punctuation separate


def tokenize(text: str) -> list[str]:
    """Lower-cased word tokens of ``text``.

    CamelCase is split (``"ApplyEyeMakeup"`` -> ``["apply", "eye", "makeup"]``), underscores and
    punctuation separate tokens (``"brush_hair"`` -> ``["brush", "hair"]``,
    ``"near-vertical"`` -> ``["near", "vertical"]``) and a possessive ``'s`` is dropped
    (``"person's head"`` -> ``["person", "head"]``).
    """
    text = _CAMEL.sub(" ", text)
    text = _POSSESSIVE.sub("", text)
    return _TOKEN.findall(text.lower())
