"""Throughput of `actionhub rank` on a SYNTHETIC description store.

Generates ``--n`` (default 1,000,000) SYNTHETIC descriptions for ``--actions`` actions: random
word sequences drawn (Zipf-like) from the GloVe 6B vocabulary, with the action's own words
sprinkled in, written as a Parquet store in a temporary directory. It then times
:func:`actionhub.dataset.rank.rank_store` end to end (read, tokenise, score, top-k, fetch the kept
texts, write topk.parquet) and prints descriptions/s. The word vectors are loaded before
the clock starts. In the same run it times the obvious scikit-learn pipeline as an anchor
(``--anchor``, on by default): read the store, ``CountVectorizer`` over the GloVe vocabulary ->
counts @ GloVe -> cosine with the action name's vector -> top k per action (``pip install
scikit-learn``; not the ranker, a yardstick for it). ``--ranker minilm-agent`` (or ``minilm``) times
the sentence-encoder rankers of :func:`actionhub.text.ranking.rank_descriptions` instead, twice:
the first run encodes (``--candidates`` per action), the second reads the encoded-text cache.
``--limit-actions N`` ranks the descriptions of the first N actions only (a part of the store, to
extrapolate from when the whole does not fit the time at hand). Run by hand::

    .venv/bin/python benchmarks/bench_rank.py [--n 1000000] [--k 100]
    .venv/bin/python benchmarks/bench_rank.py --ranker minilm-agent --no-anchor --repeat 2

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

from actionhub.dataset.rank import rank_store, topk_per_group
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
    for lo in range(0, n, rows_per_part):
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


def sklearn_anchor(store: Path, wv: WordVectors, k: int) -> int:
    """The scikit-learn yardstick: CountVectorizer -> GloVe mean -> cosine -> top ``k`` per action; rows kept."""
    from sklearn.feature_extraction.text import CountVectorizer  # noqa: PLC0415

    t = Store(store).read(["action", "description"])
    actions = t.column("action").to_numpy(zero_copy_only=False)
    names, group = np.unique(actions, return_inverse=True)
    cv = CountVectorizer(vocabulary=wv.vocab, token_pattern=r"(?u)\b\w+\b", lowercase=True, dtype=np.float32)
    emb = cv.transform(t.column("description").to_pylist()) @ wv.vectors
    emb /= np.maximum(np.linalg.norm(emb, axis=1, keepdims=True), 1e-12)
    act = cv.transform(list(names)) @ wv.vectors
    act /= np.maximum(np.linalg.norm(act, axis=1, keepdims=True), 1e-12)
    score = np.einsum("ij,ij->i", emb, act[group])
    rows, _, _ = topk_per_group(group.astype(np.int64), score, k)
    return len(rows)


def limited_store(store: Path, out: Path, n_actions: int) -> int:
    """A copy of ``store`` holding the descriptions of its first ``n_actions`` actions; their number."""
    import pyarrow.compute as pc  # noqa: PLC0415

    src = Store(store)
    t = src.read()
    keep = sorted(set(t.column("action").to_pylist()))[:n_actions]
    t = t.filter(pc.is_in(t.column("action"), value_set=pa.array(keep, pa.string())))
    dst = Store(out, create=True, note="SYNTHETIC: bench_rank (part)")
    with dst.lock():
        dst.add(t.select(["action", "provider", "video_id", "description", "num_sentences", "collected_at"]))
    return t.num_rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=1_000_000, help="number of SYNTHETIC descriptions")
    ap.add_argument("--actions", type=int, default=1211, help="number of actions")
    ap.add_argument("--k", type=int, default=100)
    ap.add_argument("--batch-size", type=int, default=1 << 17)
    ap.add_argument("--repeat", type=int, default=2, help="timed runs (the best is reported)")
    ap.add_argument("--ranker", default="glove", help="glove (rank_store, default), minilm or minilm-agent")
    ap.add_argument("--candidates", type=int, default=None, help="MiniLM rankers: descriptions encoded per action")
    ap.add_argument("--limit-actions", type=int, default=None, help="rank the first N actions' descriptions only")
    ap.add_argument("--no-anchor", dest="anchor", action="store_false", help="skip the scikit-learn anchor")
    a = ap.parse_args()
    wv = WordVectors.glove_6b_50d()
    with tempfile.TemporaryDirectory() as tmp:
        store = Path(tmp) / "store"
        t = time.perf_counter()
        synthetic_store(store, a.n, a.actions, wv)
        print(f"generated {a.n:,} SYNTHETIC descriptions for {a.actions} actions in "
              f"{time.perf_counter() - t:.1f} s ({sum(f.stat().st_size for f in store.rglob('*.parquet')) / 1e6:.0f} "
              "MB Parquet)")
        n = a.n
        if a.limit_actions:
            n = limited_store(store, Path(tmp) / "part", a.limit_actions)
            store = Path(tmp) / "part"
            print(f"ranking the descriptions of {a.limit_actions} actions only: {n:,}")
        best = None
        for i in range(a.repeat):
            load = os.getloadavg()[0]
            t = time.perf_counter()
            if a.ranker == "glove":
                rep = rank_store(store, Path(tmp) / "topk.parquet", k=a.k, word_vectors=wv,
                                 batch_size=a.batch_size, progress=False, overwrite=True)
            else:
                from actionhub.text.ranking import DEFAULT_CANDIDATES, rank_descriptions  # noqa: PLC0415

                rep = rank_descriptions(store, Path(tmp) / "topk.parquet", k=a.k, ranker=a.ranker, word_vectors=wv,
                                        candidates=a.candidates or DEFAULT_CANDIDATES, cache=Path(tmp) / "cache",
                                        batch_size=a.batch_size, progress=False, overwrite=True)
            secs = time.perf_counter() - t
            best = secs if best is None else min(best, secs)
            what = "" if a.ranker == "glove" else (" (encoding)" if i == 0 else " (encoded texts cached)")
            print(f"  {a.ranker} run{what}: {secs:.2f} s, {n / secs:,.0f} descriptions/s, kept {rep.num_selected:,} "
                  f"rows; load average {load:.1f} -> {os.getloadavg()[0]:.1f}")
        if a.anchor:
            load = os.getloadavg()[0]
            t = time.perf_counter()
            kept = sklearn_anchor(store, wv, a.k)
            anchor = time.perf_counter() - t
            print(f"  scikit-learn anchor (CountVectorizer -> GloVe -> cosine -> top-k): {anchor:.2f} s, "
                  f"{n / anchor:,.0f} descriptions/s, kept {kept:,} rows; load average {load:.1f} -> "
                  f"{os.getloadavg()[0]:.1f}")
    print(f"{a.ranker} on {n:,} SYNTHETIC descriptions, {os.cpu_count()} CPU(s): "
          f"{n / best:,.0f} descriptions/s (best of {a.repeat}; target >= 50,000 for glove)"
          + (f"; {anchor / best:.1f}x the scikit-learn anchor" if a.anchor else ""))


if __name__ == "__main__":
    main()
