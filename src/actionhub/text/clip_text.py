"""CLIP-family text encoders through Hugging Face ``transformers``: ``hf-clip:MODEL`` and
``hf-xclip:MODEL``, the text towers matching the ``hf-clip:`` / ``hf-xclip:`` video backbones.

A text's feature is the projected text embedding (``get_text_features``), not re-normalised
(``normalized`` is False); D = ``projection_dim``. The context is 77 tokens: longer texts are cut
to 76 tokens plus end-of-text, and each :meth:`ClipTextEncoder.encode` that cuts warns how many.
X-CLIP's text is returned **without** its video-conditioned prompt: class text is computed once
per class, independent of any video (Eq. 2-6), so scores with it are not X-CLIP's own prompted
logits (those are usually a little higher).
Docs: docs/clip.md#what-the-text-encoders-return
"""
from __future__ import annotations

import logging
from typing import Any, Sequence

import numpy as np

from actionhub.text.base import TextEncoder, TextEncoderError
from actionhub.text.hub import identify
from actionhub.utils.hf import load_model, load_tokenizer, pooled

__all__ = ["ClipTextEncoder", "load_clip_text"]

log = logging.getLogger(__name__)

#: upper bound on tokenizer.model_max_length values that mean "no limit"
_NO_LIMIT = 100_000


class ClipTextEncoder(TextEncoder):
    """The projected text embedding of a CLIP / X-CLIP model (see the module docstring)."""

    def __init__(self, tokenizer: Any, model: Any, spec: str, ident: str) -> None:
        self.tokenizer = tokenizer
        self.model = model.eval()
        self.spec = spec
        self.id = ident
        self.dim = int(model.config.projection_dim)
        self.normalized = False
        limit = int(getattr(model.config.text_config, "max_position_embeddings", 77) or 77)
        tok = int(getattr(tokenizer, "model_max_length", limit) or limit)
        self.max_length = min(limit, tok) if tok < _NO_LIMIT else limit

    def token_counts(self, texts: Sequence[str]) -> np.ndarray:
        """Tokens of each text with the start and end tokens, before truncation."""
        if not texts:
            return np.zeros(0, np.int64)
        ids = self.tokenizer(list(texts), add_special_tokens=True, truncation=False, verbose=False)["input_ids"]
        return np.fromiter((len(x) for x in ids), np.int64, len(ids))

    def encode(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        import torch  # noqa: PLC0415

        texts = list(texts)
        out = np.zeros((len(texts), self.dim), np.float32)
        if not texts:
            return out
        counts = self.token_counts(texts)
        long = np.flatnonzero(counts > self.max_length)
        if long.size:
            first = texts[int(long[0])]
            log.warning("%s: %d of %d texts are longer than the model's %d-token context and were truncated "
                        "(longest: %d tokens; e.g. %r)", self.spec, long.size, len(texts), self.max_length,
                        int(counts.max()), first[:80] + ("..." if len(first) > 80 else ""))
        order = np.argsort(-counts, kind="stable")  # similar lengths share a batch
        for lo in range(0, len(texts), max(1, batch_size)):
            idx = order[lo:lo + batch_size]
            enc = self.tokenizer([texts[i] for i in idx], padding=True, truncation=True,
                                 max_length=self.max_length, return_tensors="pt")
            with torch.inference_mode():
                emb = pooled(self.model.get_text_features(input_ids=enc["input_ids"],
                                                          attention_mask=enc["attention_mask"]))
            out[idx] = emb.float().cpu().numpy()
        return out


def load_clip_text(kind: str, arg: str) -> ClipTextEncoder:
    """``kind`` is ``hf-clip`` or ``hf-xclip``; ``arg`` a Hub model id or a ``save_pretrained`` folder."""
    model, source, local = load_model(kind, arg, TextEncoderError)
    tokenizer = load_tokenizer(kind, arg, source, local, TextEncoderError)
    return ClipTextEncoder(tokenizer, model, f"{kind}:{arg}", identify(kind, arg))
