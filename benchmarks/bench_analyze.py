"""`actionhub analyze descriptions` (Fig. 6) on a SYNTHETIC store of ``--n`` descriptions.

The store: the 1,216 queries of `actionhub vocab build`, ``n / 1216`` generated descriptions each
(:func:`actionhub.demo.descriptions.synthetic_descriptions`: name + GloVe-neighbour words + Zipf
filler; not real text), written once and reused (``--workdir``). Then the analysis end to end,
as the CLI runs it, twice: centres from the first 100 descriptions of each action (the default)
and from every description (``--per-action 0``: every row tokenised and averaged).

    .venv/bin/python benchmarks/bench_analyze.py [--n 1000000]

Every figure here is the speed of the machinery on SYNTHETIC text.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import time
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=1_000_000, help="descriptions in the SYNTHETIC store (default: 1M)")
    ap.add_argument("--workdir", type=Path, default=Path("runs/bench_analyze"))
    a = ap.parse_args()

    from actionhub.dataset.analysis_report import analyze_descriptions
    from actionhub.dataset.store import Store
    from actionhub.dataset.vocab import build_vocabulary
    from actionhub.dataset.wordvec import WordVectors
    from actionhub.demo.descriptions import write_synthetic_store

    a.workdir.mkdir(parents=True, exist_ok=True)
    actions = [q.query for q in build_vocabulary().queries]
    per_action = max(1, a.n // len(actions))
    store = a.workdir / f"store_{a.n}"
    t0 = time.perf_counter()
    wv = WordVectors.glove_6b_50d()
    glove_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    write_synthetic_store(store, actions, wv=wv, per_action=per_action)
    rows = len(Store(store))
    print(f"SYNTHETIC store {store}: {rows:,} descriptions of {len(actions):,} actions "
          f"({time.perf_counter() - t0:.1f} s to build or reuse); GloVe loaded in {glove_s:.1f} s")
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPU(s)")
    results = {"n": rows, "actions": len(actions), "runs": {}}
    for k in (100, 0):
        t0 = time.perf_counter()
        rec = analyze_descriptions(store, a.workdir / f"fig6_{a.n}_k{k}", per_action=k, word_vectors=wv,
                                   progress=False)
        wall = time.perf_counter() - t0
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6
        s = rec["summary"]
        run = {"wall_s": round(wall, 1), "rows_per_s": round(rows / wall), **rec["seconds"],
               "peak_rss_gb_so_far": round(rss, 2), "descriptions_used": s["descriptions_used"],
               "nearest_agree": round(s["nearest_agree"], 4), "mean_overlap": round(s["mean_overlap"], 4)}
        results["runs"][f"per_action_{k}"] = run
        print(f"--per-action {k}: {wall:.1f} s ({run['rows_per_s']:,} rows/s; vectors {rec['seconds']['vectors']} s, "
              f"neighbours + files {rec['seconds']['neighbours_and_files']} s), {s['descriptions_used']:,} "
              f"descriptions averaged, peak RSS so far {rss:.2f} GB; nearest agree {100 * s['nearest_agree']:.1f}%, "
              f"top-5 overlap {100 * s['mean_overlap']:.1f}% [SYNTHETIC]")
    out = a.workdir / f"bench_analyze_{a.n}.json"
    out.write_text(json.dumps(results, indent=1))
    print(f"wrote {out} (SYNTHETIC store)")


if __name__ == "__main__":
    main()
