"""Class names as prompts, the class text of CLIP-style zero-shot: each class name is put into
one or more templates (``"a video of a person {name}."``) and the class feature is CLIP's prompt
ensemble -- every template's text embedding L2-normalised, averaged, the mean L2-normalised again
(Radford et al., ICML 2021).

:func:`build_prompt_class_text` returns an ordinary :class:`~actionhub.text.class_text.ClassText`
whose AD rows are those prompt features (and whose descriptions, when given, are the ActionHub
descriptions as for any class text file), so every method reads it like any other; its meta
records the templates under ``"prompts"`` (and the first as ``"definition_template"``, the text a
trained run's ``predict`` encodes new action names with). ``actionhub text-features --prompt
TEMPLATE`` builds it.
"""
from __future__ import annotations

import string
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from actionhub.text.base import DEFAULT_ENCODER, TextEncoder
from actionhub.text.build import TextFeatError, build_benchmark_class_text, build_class_text, save_class_text
from actionhub.text.class_text import ClassText
from actionhub.text.encode import encode_texts
from actionhub.utils.lock import locks_output
from actionhub.utils.names import text_name

__all__ = ["DEFAULT_PROMPT", "PROMPT_ENSEMBLE", "check_prompts", "prompt_texts", "prompt_ensemble",
           "build_prompt_class_text", "build_benchmark_prompt_text"]

#: the template of the video-CLIP papers' zero-shot rows
DEFAULT_PROMPT = "a video of a person {name}."
PROMPT_ENSEMBLE = "mean of the templates' L2-normalised text embeddings, L2-normalised (CLIP's prompt ensemble)"


def check_prompts(templates: Sequence[str]) -> list[str]:
    """The templates, each checked: it must hold ``{name}`` and no other field."""
    templates = [str(t) for t in templates]
    if not templates:
        raise TextFeatError("no prompt template given; e.g. --prompt 'a video of a person {name}.'")
    for t in templates:
        try:
            fields = {f for _, f, _, _ in string.Formatter().parse(t) if f is not None}
        except ValueError as e:
            raise TextFeatError(f"bad prompt template {t!r}: {e}") from None
        if "name" not in fields:
            raise TextFeatError(f"the prompt template {t!r} has no {{name}}: every class would get the same text; "
                                "write the class name's place as {name}, e.g. 'a video of a person {name}.'")
        other = sorted(fields - {"name"})
        if other:
            raise TextFeatError(f"the prompt template {t!r} uses {', '.join('{' + f + '}' for f in other)}; a prompt "
                                "template has only {name} (for definitions use --template '{name}: {definition}')")
    if len(set(templates)) != len(templates):
        raise TextFeatError(f"a prompt template is given twice: {templates}")
    return templates


def prompt_texts(classes: Sequence[str], template: str) -> list[str]:
    """``template`` filled with each class's text name (``ApplyEyeMakeup`` -> ``apply eye makeup``)."""
    return [template.format(name=text_name(c)) for c in classes]


def prompt_ensemble(embeddings: Sequence[np.ndarray]) -> np.ndarray:
    """``T`` arrays ``(C, D)`` (one per template) -> ``(C, D)``: the mean of the L2-normalised rows,
    L2-normalised (CLIP's prompt ensemble; one template gives its normalised embeddings)."""
    def unit(x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, np.float64)
        return x / np.clip(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12, None)

    return unit(np.mean([unit(e) for e in embeddings], axis=0)).astype(np.float32)


def build_prompt_class_text(
    classes: Sequence[str],
    templates: Sequence[str] = (DEFAULT_PROMPT,),
    descriptions: Any = None,
    encoder: str | TextEncoder = DEFAULT_ENCODER,
    k: int = 100,
    **kwargs: Any,
) -> ClassText:
    """A class text file whose AD rows are the prompt ensemble of ``templates`` for each class, and
    whose descriptions are the top-k of ``descriptions`` (as :func:`build_class_text`)."""
    templates = check_prompts(templates)
    ct = build_class_text(classes, {}, descriptions, encoder, k, template=templates[0], **kwargs)
    return _ensemble(ct, list(classes), templates, encoder, kwargs)


@locks_output("out", folder=False, what="output file")
def build_benchmark_prompt_text(
    benchmark: str,
    out: str | Path | None,
    templates: Sequence[str] = (DEFAULT_PROMPT,),
    descriptions: str | Path | None = None,
    encoder: str = DEFAULT_ENCODER,
    k: int = 100,
    overwrite: bool = False,
    **kwargs: Any,
) -> ClassText:
    """:func:`build_prompt_class_text` for every class of ``benchmark``, saved to ``out`` when given
    (as :func:`~actionhub.text.build.build_benchmark_class_text` saves: an existing file only with
    ``overwrite``, never over ``descriptions``)."""
    from actionhub.utils.outputs import check_new_file, check_no_overlap  # noqa: PLC0415

    templates = check_prompts(templates)
    if out is not None:
        check_no_overlap({"--out": out}, {"--descriptions": descriptions if isinstance(descriptions, (str, Path))
                                          else None})
        check_new_file(out, overwrite)   # under the output's lock (the decorator), before any work
    ct = build_benchmark_class_text(benchmark, None, descriptions, encoder, k, template=templates[0], **kwargs)
    ct = _ensemble(ct, list(ct.classes), templates, encoder, kwargs)
    if out is not None:
        save_class_text(ct, out)
    return ct


def _ensemble(ct: ClassText, classes: list[str], templates: list[str], encoder: str | TextEncoder,
              kwargs: dict[str, Any]) -> ClassText:
    """``ct`` with its AD rows replaced by the prompt ensemble of ``templates`` (the first one's
    embeddings are ``ct.ad``), and the templates recorded in its meta."""
    enc_kw = {key: kwargs[key] for key in ("cache", "batch_size", "backend", "progress") if key in kwargs}
    embeddings = [ct.ad] + [encode_texts(prompt_texts(classes, t), encoder, desc="encoding prompts", **enc_kw)
                            for t in templates[1:]]
    ct.ad = prompt_ensemble(embeddings)
    ct.meta.update({"prompts": templates, "prompt_ensemble": PROMPT_ENSEMBLE})
    return ct
