"""`actionhub serve` on a SYNTHETIC store of ``--n`` descriptions: how long the one-time index takes, and how
fast the pages answer once it is built (over HTTP, against a real server on 127.0.0.1).

The store: the 1,216 queries of `actionhub vocab build`, ``n / 1216`` generated descriptions each
(:func:`actionhub.demo.descriptions.write_synthetic_store`; not real text), written once and reused
(``--workdir``). Timed: opening the app index (built on the first run, then reused), and ``--repeat``
requests of each page: the overview (statistics and Fig. 4/5 computed on its first request, then cached),
an action's first and a later page, full-text search, the action-name search.

    .venv/bin/python benchmarks/bench_serve.py [--n 1000000]

Every figure here is the speed of the machinery on SYNTHETIC text.
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
import urllib.parse
import urllib.request
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=1_000_000, help="descriptions in the SYNTHETIC store (default: 1M)")
    ap.add_argument("--workdir", type=Path, default=Path("runs/bench_serve"))
    ap.add_argument("--repeat", type=int, default=5, help="requests per page (default: 5)")
    a = ap.parse_args()

    from actionhub.app import make_state
    from actionhub.app.server import create_app, running
    from actionhub.dataset.store import Store
    from actionhub.dataset.vocab import build_vocabulary
    from actionhub.demo.descriptions import write_synthetic_store

    a.workdir.mkdir(parents=True, exist_ok=True)
    actions = [q.query for q in build_vocabulary().queries]
    store = a.workdir / f"store_{a.n}"
    t0 = time.perf_counter()
    write_synthetic_store(store, actions, per_action=max(1, a.n // len(actions)))
    rows = len(Store(store))
    print(f"SYNTHETIC store {store}: {rows:,} descriptions of {len(actions):,} actions "
          f"({time.perf_counter() - t0:.1f} s to build or reuse)")
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPU(s); "
          f"load average {os.getloadavg()[0]:.1f}")
    t0 = time.perf_counter()
    state = make_state([store], say=print, progress=False)
    print(f"app index opened in {time.perf_counter() - t0:.1f} s ({state.stores[0].folder})")
    action = actions[len(actions) // 2]
    q = urllib.parse.quote
    pages = [("overview", "/store/0"), ("action, first page", f"/store/0/action?name={q(action)}"),
             ("action, page 10 of 25-row pages", f"/store/0/action?name={q(action)}&page=10&per=25"),
             ("full-text search (every word)", "/store/0/search?q=" + q(" ".join(action.split()[:2]))),
             ("full-text search (any word)", "/store/0/search?q=man%20dog%20water&match=any"),
             ("action names", "/store/0/actions?q=play")]
    with running(create_app(state)) as url:
        print(f"| page | first request | median of {a.repeat} more | bytes |")
        print("|---|---|---|---|")
        for name, path in pages:
            times, size = [], 0
            for _ in range(a.repeat + 1):
                t0 = time.perf_counter()
                with urllib.request.urlopen(url + path, timeout=600) as r:
                    size = len(r.read())
                times.append(time.perf_counter() - t0)
            print(f"| {name} | {times[0] * 1000:,.0f} ms | {statistics.median(times[1:]) * 1000:,.0f} ms | {size:,} |")
    print("(SYNTHETIC store: generated descriptions, not real text)")


if __name__ == "__main__":
    main()
