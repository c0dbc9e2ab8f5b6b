"""The text side: frozen text encoders, the encoded-text cache, and class text features.

:mod:`~actionhub.text.base` (the encoder contract), :mod:`~actionhub.text.encoders` (the
registry), :mod:`~actionhub.text.hub` (local, packaged and Hub weights, offline rules),
:mod:`~actionhub.text.cache` (encoded texts on disk), :mod:`~actionhub.text.encode`
(:func:`encode_texts`, optionally on Dask), :mod:`~actionhub.text.class_text` (the class text file,
Eq. 2, 5, 6) and :mod:`~actionhub.text.build` (building it).
Importing this package loads no model and no deep-learning library.

Docs: docs/text.md#ranking-descriptions-and-building-class-text-features
"""
from actionhub.text.base import DEFAULT_ENCODER, TextEncoder, TextEncoderError
from actionhub.text.build import build_benchmark_class_text, build_class_text
from actionhub.text.cache import TextCache, cache_root, default_cache_dir, open_cache, text_hashes
from actionhub.text.class_text import ClassText, ClassTextError, load_class_text
from actionhub.text.encode import encode_texts
from actionhub.text.encoders import (
                                     ENCODERS,
                                     encoder_id,
                                     get_encoder,
                                     list_encoders,
                                     load_encoder,
                                     minilm_path,
                                     register_encoder,
)

__all__ = [
    "DEFAULT_ENCODER",
    "TextEncoder",
    "TextEncoderError",
    "ENCODERS",
    "register_encoder",
    "list_encoders",
    "encoder_id",
    "load_encoder",
    "get_encoder",
    "minilm_path",
    "TextCache",
    "text_hashes",
    "cache_root",
    "default_cache_dir",
    "open_cache",
    "encode_texts",
    "ClassText",
    "ClassTextError",
    "load_class_text",
    "build_class_text",
    "build_benchmark_class_text",
]
