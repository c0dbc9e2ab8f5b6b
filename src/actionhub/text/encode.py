"""Encoding many texts through the cache: repeated texts are encoded once, cached ones not
at all (a fully cached run never loads the model), the rest in chunks -- in this process or on
a Dask cluster -- written to the cache as they finish so an interrupted run keeps its work."""
from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from actionhub.text.base import DEFAULT_ENCODER, TextEncoder, TextEncoderError
from actionhub.text.cache import TextCache, open_cache, text_hashes
from actionhub.text.encoders import encoder_id, get_encoder

__all__ = ["encode_texts", "SHARD_FLUSH_ROWS"]

log = logging.getLogger(__name__)

SHARD_FLUSH_ROWS = 16384  # rows buffered before a cache shard is written


def _encode_chunk(item: tuple[str, list[str], int]) -> tuple[str, Any]:
    """Worker function (in-process or on Dask): encode one chunk; errors come back as data."""
    spec, texts, batch_size = item
    try:
        return "ok", get_encoder(spec).encode(texts, batch_size)
    except Exception as e:  # noqa: BLE001 - reported by the caller with the chunk's context
        return "error", f"{type(e).__name__}: {e}"


def encode_texts(
    texts: Sequence[str],
    encoder: str | TextEncoder = DEFAULT_ENCODER,
    *,
    cache: TextCache | str | Path | bool = True,
    batch_size: int = 64,
    chunk_size: int | None = None,
    backend: Any = None,
    progress: bool = True,
    desc: str = "encoding",
) -> np.ndarray:
    """``(len(texts), D)`` float32 features of ``texts`` from ``encoder``, through the cache.

    Repeated texts are encoded once; cached ones are not encoded at all (and when nothing is
    missing the model is never loaded). Missing texts are encoded in chunks of ``chunk_size``
    (default ``16 * batch_size``) -- in this process, or on ``backend`` (an
    :mod:`actionhub.utils.parallel` backend such as Dask; then ``encoder`` must be a spec string or an
    encoder with a ``spec``, and each worker loads the model once). Finished chunks are written
    to the cache as they come, every :data:`SHARD_FLUSH_ROWS` rows, so an interrupted run keeps
    what it encoded.
    """
    from actionhub.utils.progress import library_bars, progress_bar  # noqa: PLC0415

    if isinstance(texts, str):
        raise TypeError("encode_texts() takes a list of texts, not a single string")
    texts = list(texts)
    bad = [i for i, t in enumerate(texts) if not isinstance(t, str)]
    if bad:
        raise TextEncoderError(f"texts must be strings; item(s) {bad[:5]} are {type(texts[bad[0]]).__name__}")
    spec = encoder.spec if isinstance(encoder, TextEncoder) else str(encoder)
    ident = encoder.id if isinstance(encoder, TextEncoder) else encoder_id(spec)
    store = open_cache(cache, ident)

    unique = list(dict.fromkeys(texts))
    where = {t: i for i, t in enumerate(unique)}
    inverse = np.fromiter((where[t] for t in texts), dtype=np.int64, count=len(texts))
    hashes = text_hashes(unique)
    found, cached = store.get(hashes) if store is not None else (np.zeros(len(unique), bool), None)
    missing = np.flatnonzero(~found)
    dim = store.dim if store is not None and found.any() else None
    if isinstance(encoder, TextEncoder):
        dim = encoder.dim
    results: dict[int, np.ndarray] = {}

    if len(missing):
        chunk = chunk_size or 16 * batch_size
        chunks = [missing[i:i + chunk] for i in range(0, len(missing), chunk)]
        n_batches = sum(math.ceil(len(c) / batch_size) for c in chunks)
        log.info("%s: %d text(s), %d cached, %d to encode with %s", desc, len(unique), int(found.sum()), len(missing),
                 spec)
        pending: list[int] = []

        def flush() -> None:
            if store is not None and pending:
                idx = np.concatenate([chunks[c] for c in pending])
                store.put(hashes[idx], np.concatenate([results[c] for c in pending]))
            pending.clear()

        try:
            with progress_bar(enabled=progress, total=n_batches, desc=desc, unit="batch") as bar:
                if backend is None or getattr(backend, "name", "") == "inprocess":
                    with library_bars(progress):
                        enc = encoder if isinstance(encoder, TextEncoder) else get_encoder(spec)
                    stream = ((c, ("ok", enc.encode([unique[i] for i in idx], batch_size)))
                              for c, idx in enumerate(chunks))
                else:
                    items = [(spec, [unique[i] for i in idx], batch_size) for idx in chunks]
                    stream = backend.map(_encode_chunk, items)
                for c, (status, value) in stream:
                    if status != "ok":
                        raise TextEncoderError(f"encoding chunk {c} ({len(chunks[c])} texts) with {spec} failed: "
                                               f"{value}")
                    value = np.asarray(value, dtype=np.float32)
                    if value.shape[0] != len(chunks[c]):
                        raise TextEncoderError(f"encoder {spec} returned {value.shape[0]} rows for {len(chunks[c])} "
                                               "texts")
                    results[c] = value
                    pending.append(c)
                    if sum(len(chunks[p]) for p in pending) >= SHARD_FLUSH_ROWS:
                        flush()
                    bar.update(math.ceil(len(chunks[c]) / batch_size))
        finally:
            flush()
        dim = next(iter(results.values())).shape[1]

    if dim is None:  # no texts at all and nothing cached: the model tells its dimension
        with library_bars(progress):
            dim = get_encoder(spec).dim
    out = np.empty((len(unique), dim), np.float32)
    if found.any():
        if cached.shape[1] != dim:
            raise TextEncoderError(f"text cache {store.dir} holds {cached.shape[1]}-d vectors but {spec} gives "
                                   f"{dim}-d; delete that directory to rebuild it")
        out[found] = cached
    for c, value in results.items():
        out[chunks[c]] = value
    return out[inverse]
