"""Text encoding throughput (sentences/s) on this machine's CPU, and what the cache saves.

Encodes (1) the 620 Kinetics-ZSAR class definitions as `actionhub text-features` does
("<name>: <definition>", real text) and (2) ``--n`` SYNTHETIC stock-footage-style descriptions
(random template sentences, labelled synthetic: they measure speed only), with the encoder
``--encoder`` (default: the offline MiniLM). The model is loaded before the clock starts.
Then it reruns (2) through :func:`actionhub.text.encode_texts` with an empty cache and again
with the filled cache, to show a rerun encodes nothing. Run by hand::

    .venv/bin/python benchmarks/bench_encode.py [--n 2000] [--batch-size 64] [--encoder minilm] [--threads N]
"""
from __future__ import annotations

import argparse
import os
import tempfile
import time

import numpy as np

from actionhub.protocols import get_benchmark
from actionhub.text import TextCache, encode_texts, get_encoder
from actionhub.text.build import definition_texts

SUBJECTS = ["A young woman", "Two men", "A little girl", "An old man", "A group of friends", "A chef", "A surfer"]
VERBS = ["is riding a horse", "dances", "plays the guitar", "runs", "cooks pasta", "rides a wave", "climbs a rock wall",
         "jumps into a pool", "reads a book", "paints a wall"]
PLACES = ["on the beach at sunset", "in a modern kitchen", "in the park", "on a mountain trail", "in slow motion",
          "in a city street at night", "near the lake", "indoors"]
EXTRAS = ["", " 4K footage.", " Aerial view.", " Close up shot of the hands.", " Shot on a handheld camera."]


def synthetic_descriptions(n: int, seed: int = 0) -> list[str]:
    """``n`` distinct SYNTHETIC descriptions (template sentences with a serial number)."""
    rng = np.random.default_rng(seed)
    return [f"{rng.choice(SUBJECTS)} {rng.choice(VERBS)} {rng.choice(PLACES)}.{rng.choice(EXTRAS)} Clip {i}."
            for i in range(n)]


def timed(fn):
    t = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--encoder", default="minilm")
    ap.add_argument("--n", type=int, default=2000, help="number of SYNTHETIC descriptions")
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--threads", type=int, help="torch CPU threads (default: torch's; 1 is faster on a busy machine)")
    a = ap.parse_args()
    import torch

    if a.threads:
        torch.set_num_threads(a.threads)
    enc, load_s = timed(lambda: get_encoder(a.encoder))
    print(f"encoder {a.encoder}: {enc.dim}-d, loaded in {load_s:.1f} s; {os.cpu_count()} CPU(s), "
          f"torch threads {torch.get_num_threads()}, load average {os.getloadavg()[0]:.1f}")
    bench = get_benchmark("kinetics-zsar")
    defs = definition_texts(bench.classes, bench.definitions)
    enc.encode(defs[:8], a.batch_size)  # warm-up
    _, s = timed(lambda: enc.encode(defs, a.batch_size))
    print(f"  {len(defs)} Kinetics-ZSAR definitions (mean {np.mean([len(d) for d in defs]):.0f} chars): "
          f"{len(defs) / s:,.0f} sentences/s")
    texts = synthetic_descriptions(a.n)
    _, s = timed(lambda: enc.encode(texts, a.batch_size))
    print(f"  {len(texts)} SYNTHETIC descriptions (mean {np.mean([len(t) for t in texts]):.0f} chars): "
          f"{len(texts) / s:,.0f} sentences/s")
    encoded = []  # texts that reach the model, counted on the loaded encoder that encode_texts reuses
    raw_encode = enc.encode
    enc.encode = lambda batch, batch_size=64: (encoded.extend(batch), raw_encode(batch, batch_size))[1]
    with tempfile.TemporaryDirectory() as tmp:
        first, s1 = timed(lambda: encode_texts(texts, a.encoder, cache=tmp, batch_size=a.batch_size, progress=False))
        n1 = len(encoded)
        more = texts + synthetic_descriptions(a.n // 10, seed=1)
        again, s2 = timed(lambda: encode_texts(more, a.encoder, cache=tmp, batch_size=a.batch_size, progress=False))
        n2 = len(encoded) - n1
        cache = TextCache(tmp, enc.id)
        assert np.allclose(first, again[:len(texts)])
        print(f"cache: first run {s1:.1f} s, {n1} texts encoded; rerun with {len(more) - len(texts)} new texts "
              f"added: {s2:.1f} s, {n2} texts encoded ({len(cache)} entries now in {cache.dir.name})")


if __name__ == "__main__":
    main()
