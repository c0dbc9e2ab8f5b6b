"""Throughput of `actionhub rank` on a SYNTHETIC description store.

Generates ``--n`` (default 1,000,000) SYNTHETIC descriptions for ``--actions`` actions: random
word sequences drawn (Zipf-like) from the GloVe 6B vocabulary, with the action's own words
sprinkled in, written as a Parquet store in a temporary directory. It then times
:func:`actionhub.dataset.rank.rank_store` end to end (read, tokenise, score, top-k, fetch the kept
texts, write topk.parquet) and prints descriptions/s. The word vectors are loaded before
the clock starts. Run by hand::

    .venv/bin/python benchmarks/bench_rank.py [--n 1000000] [--k 100]

The descriptions are SYNTHETIC (meaningless text): the figure measures speed only.
"""
from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from actionhub.dataset.rank import rank_store
from actionhub.dataset.store import Store
from actionhub.dataset.wordvec import WordVectors


def synthetic_store(path: Path, n: int, num_actions: int, wv: WordVectors, seed: int = 0,
                    rows_per_part: int = 250_000) -> None:
    """Write ``n`` SYNTHETIC descriptions, each listed by one action, into a description store at ``path``."""
    rng = np.random.default_rng(seed)
    vocab = np.array(list(wv.vocab)[:30000], dtype=object)
    words = pa.array(vocab, pa.string())
    zipf = 1.0 / np.arange(1, len(vocab) + 1)
    zipf /= zipf.sum()
    common = np.array([w for w in vocab[100:3000] if w.isalpha()], dtype=object)
    names = [" ".join(rng.choice(common, size=rng.integers(1, 4))) for _ in range(num_actions)]
    store = Store(path, create=True, note="SYNTHETIC: bench_rank")
    for part, lo in enumerate(range(0, n, rows_per_part)):
        m = min(rows_per_part, n - lo)
        lengths = rng.integers(5, 30, size=m)  # words per description
        offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int32)
        idx = rng.choice(len(vocab), size=int(offsets[-1]), p=zipf)
        text = pc.binary_join(pa.ListArray.from_arrays(pa.array(offsets), words.take(pa.array(idx))), " ")
        action = rng.integers(0, num_actions, size=m)
        table = pa.table({
            "action": pa.array(np.asarray(names, dtype=object)[action], pa.string()),
            "provider": pa.array(["synthetic"] * m, pa.string()),
            "video_id": pa.array([f"syn{lo + i}" for i in range(m)], pa.string()),
            "description": text,
            "num_sentences": pa.array(np.ones(m, np.int32)),
            "collected_at": pa.array(["SYNTHETIC"] * m, pa.string()),
        })
        with store.lock():
            store.add(table)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=1_000_000, help="number of SYNTHETIC descriptions")
    ap.add_argument("--actions", type=int, default=1211, help="number of actions")
    ap.add_argument("--k", type=int, default=100)
    ap.add_argument("--batch-size", type=int, default=1 << 17)
    ap.add_argument("--repeat", type=int, default=2, help="timed runs (the best is reported)")
    a = ap.parse_args()
    wv = WordVectors.glove_6b_50d()
    with tempfile.TemporaryDirectory() as tmp:
        store = Path(tmp) / "store"
        t = time.perf_counter()
        synthetic_store(store, a.n, a.actions, wv)
        print(f"generated {a.n:,} SYNTHETIC descriptions for {a.actions} actions in "
              f"{time.perf_counter() - t:.1f} s ({sum(f.stat().st_size for f in store.rglob('*.parquet')) / 1e6:.0f} "
              "MB Parquet)")
        best = None
        for _ in range(a.repeat):
            t = time.perf_counter()
            rep = rank_store(store, Path(tmp) / "topk.parquet", k=a.k, word_vectors=wv,
                             batch_size=a.batch_size, progress=False)
            secs = time.perf_counter() - t
            best = secs if best is None else min(best, secs)
            print(f"  run: {secs:.2f} s, {a.n / secs:,.0f} descriptions/s, kept {rep.num_selected:,} rows")
    print(f"rank_store on {a.n:,} SYNTHETIC descriptions, {os.cpu_count()} CPU(s): "
          f"{a.n / best:,.0f} descriptions/s (best of {a.repeat}; target >= 50,000)")


if __name__ == "__main__":
    main()
