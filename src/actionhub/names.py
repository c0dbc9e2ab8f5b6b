"""Class names: the matching key and the human-readable text of a name.

Benchmarks, feature stores and class text files spell the same class differently
("ApplyEyeMakeup", "apply eye makeup", "Apply_Eye_Makeup"); every module matches names
through :func:`normalize_name` so they agree.
"""
from __future__ import annotations

from actionhub.wordvec import tokenize


def normalize_name(name: str) -> str:
    """Matching key for class names: lower case, letters and digits only.

    ``"Apply Eye-Makeup"`` -> ``"applyeyemakeup"``; ``"HandstandPushups"`` and
    ``"hand stand pushups"`` both give ``"handstandpushups"``.
    """
    return "".join(ch for ch in str(name).lower() if ch.isalnum())


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
