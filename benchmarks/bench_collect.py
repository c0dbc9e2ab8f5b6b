"""End-to-end `actionhub collect --provider local` on a SYNTHETIC WebVid-style corpus, against a
plain scipy BM25 on the same corpus, in one run.

1. The queries: the 1,216 of `actionhub vocab build`.
2. The corpus (``--n`` captions, default 1M): every caption is one of those queries followed by
   6-24 Zipf-drawn GloVe words (:mod:`actionhub.demo.synthcaptions`); written once as CSV and
   reused (``--workdir``): one file up to 10M captions, else (or with ``--shard-rows``) a folder of
   CSV shards of that many rows, holding the same rows.
3. Reference: a plain scipy BM25 -- tokenise, CSR term weights, then per query the dense sum of
   its term columns and a top-``--per-query`` partial sort -- that only scores and selects (it holds
   the whole corpus in memory: ``--no-baseline`` above 10M captions).
4. The real path, in a subprocess (its own peak RSS): ``actionhub collect --provider local
   --per-query 3000 --match M`` into a fresh store with a fresh index cache: reading the corpus,
   indexing it out of core within ``--memory-gb`` (default: the collector's own default), searching,
   writing the store and the resume state. ``--backend dask --workers W`` runs it on a local Dask
   cluster (a ``dask scheduler`` and W single-threaded ``dask worker`` processes started here; their
   peak RSS is reported too).
5. Coverage from the store: actions with 0 / < 100 / >= per-query descriptions, and the
   agreement of each action's count with ``min(per-query, captions holding every / any content
   word)``, counted independently with plain (non-lemmatised) tokens, a block of the corpus at a time.
6. ``--kill-test``: the same collection killed with SIGKILL once its first part file exists,
   rerun, and compared with the uninterrupted store, action by action.

    .venv/bin/python benchmarks/bench_collect.py [--n 1000000] [--match all any] [--kill-test]
        [--shard-rows N] [--memory-gb G] [--backend inprocess|dask --workers 2] [--no-baseline]

Every corpus here is SYNTHETIC: the figures are speed and coverage of the machinery, not
retrieval quality.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

COLLECT = "import sys; from actionhub.cli import main; sys.exit(main(sys.argv[1:]))"


def read_captions(files: list[Path]) -> pa.Array:
    import pyarrow.csv as pcsv

    opts = pcsv.ConvertOptions(column_types={"videoid": pa.string(), "name": pa.string()})
    return pa.chunked_array([pcsv.read_csv(f, convert_options=opts).column("name").combine_chunks()
                             for f in files]).combine_chunks()


def caption_blocks(files: list[Path], block_bytes: int = 128 << 20):
    """The corpus's captions a block at a time (bounded memory at 50M captions)."""
    import pyarrow.csv as pcsv

    opts = pcsv.ConvertOptions(include_columns=["name"], column_types={"name": pa.string()})
    for f in files:
        for batch in pcsv.open_csv(f, read_options=pcsv.ReadOptions(block_size=block_bytes), convert_options=opts):
            yield batch.column(0)


def plain_bm25(files: list[Path], queries: list[str], k: int, k1: float = 1.2, b: float = 0.75) -> dict:
    """The reference: scipy BM25 over plain lower-case word tokens, any-word match, top-k per query."""
    import scipy.sparse as sp

    t0, c0 = time.perf_counter(), time.process_time()
    caps = read_captions(files)
    toks = pc.split_pattern_regex(pc.utf8_lower(caps), r"[^a-z0-9]+")
    flat = pc.list_flatten(toks)
    enc = pc.dictionary_encode(flat)
    term = enc.indices.to_numpy(zero_copy_only=False).astype(np.int32)
    doc = pc.list_parent_indices(toks).to_numpy(zero_copy_only=False).astype(np.int32)
    vocab = {w: i for i, w in enumerate(enc.dictionary.to_pylist())}
    n, v = len(caps), len(vocab)
    tf = sp.csr_matrix((np.ones(term.size, np.float32), (doc, term)), shape=(n, v))
    tf.sum_duplicates()
    dl = np.asarray(tf.sum(axis=1)).ravel()
    df = np.bincount(tf.indices, minlength=v)
    idf = np.log1p((n - df + 0.5) / (df + 0.5)).astype(np.float32)
    rows = np.repeat(np.arange(n), np.diff(tf.indptr))
    f = tf.data
    tf.data = (idf[tf.indices] * f * (k1 + 1) / (f + k1 * (1 - b + b * dl[rows] / dl.mean()))).astype(np.float32)
    w = tf.tocsc()
    t_index = time.perf_counter() - t0
    t1 = time.perf_counter()
    selected = 0
    for q in queries:
        ids = [vocab[x] for x in q.lower().split() if x in vocab]
        if not ids:
            continue
        s = np.asarray(w[:, ids].sum(axis=1)).ravel()
        cand = np.flatnonzero(s > 0)
        if cand.size > k:
            cand = cand[np.argpartition(-s[cand], k - 1)[:k]]
        selected += cand.size
    t_query = time.perf_counter() - t1
    return {"index_s": round(t_index, 2), "query_s": round(t_query, 2), "total_s": round(t_index + t_query, 2),
            "cpu_s": round(time.process_time() - c0, 1), "selected": int(selected)}


def match_counts(files: list[Path], queries: list[str]) -> dict[str, dict[str, int]]:
    """Per query, the captions holding every / any of its content words, counted independently of
    the index: same tokeniser and lemmas, but sets of caption ids per word instead of BM25 postings,
    a block of captions at a time (counts of disjoint blocks add up)."""
    from actionhub.dataset.vocab import lemmatize_word, stop_words
    from actionhub.dataset.wordvec import arrow_tokenize, tokenize

    stops = stop_words()
    terms_of = {q: list(dict.fromkeys(lemmatize_word(t, first=True) for t in tokenize(q) if t and t not in stops))
                for q in queries}
    out = {q: {"all": 0, "any": 0} for q in queries}
    for caps in caption_blocks(files):
        toks = arrow_tokenize(caps)
        flat = pc.list_flatten(toks)
        doc = pc.list_parent_indices(toks).to_numpy(zero_copy_only=False)
        enc = pc.dictionary_encode(flat)
        lemma_of = [None if (not w or w in stops) else lemmatize_word(w, first=True)
                    for w in enc.dictionary.to_pylist()]
        lemma_id = {lm: i for i, lm in enumerate(sorted({x for x in lemma_of if x}))}
        word_to_lemma = np.array([lemma_id[x] if x else -1 for x in lemma_of], np.int64)
        codes = word_to_lemma[enc.indices.to_numpy(zero_copy_only=False)]
        keep = codes >= 0
        codes, doc = codes[keep], doc[keep]
        order = np.argsort(codes, kind="stable")
        bounds = np.searchsorted(codes[order], np.arange(len(lemma_id) + 1))
        for q in queries:
            ids = [lemma_id.get(t, -1) for t in terms_of[q]]
            sets = [np.unique(doc[order[bounds[i]:bounds[i + 1]]]) for i in ids if i >= 0]
            every = np.zeros(0, np.int64)
            if sets and len(sets) == len(ids):
                every = sets[0]
                for other in sets[1:]:
                    every = np.intersect1d(every, other, assume_unique=True)
            out[q]["all"] += int(every.size)
            out[q]["any"] += int(np.unique(np.concatenate(sets)).size) if sets else 0
    return out


# A small launcher process runs the command and reports the command's own peak RSS: Linux carries
# a process's peak RSS across fork + exec, so a child forked straight from this (large) process
# would report this process's memory as its own.
LAUNCH = """
import os, subprocess, sys
proc = subprocess.Popen(sys.argv[2:])
_, status, usage = os.wait4(proc.pid, 0)
with open(sys.argv[1], "w") as f:
    f.write(f"{usage.ru_maxrss} {usage.ru_utime + usage.ru_stime}")
sys.exit(os.waitstatus_to_exitcode(status) if os.waitstatus_to_exitcode(status) >= 0 else 128)
"""


def run_collect(args: list[str], kill_when: Path | None = None) -> tuple[int, float, float, float]:
    """Run the CLI in a subprocess; returns (exit status, wall seconds, peak RSS of the CLI in GiB,
    its CPU seconds: user + system)."""
    import tempfile

    rss_file = Path(tempfile.mkstemp(suffix=".rss")[1])
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", LAUNCH, str(rss_file), sys.executable, "-c", COLLECT, *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if kill_when is not None:
        while proc.poll() is None and not any(kill_when.glob("part-*.parquet")):
            time.sleep(0.05)
        for child in _children(proc.pid):
            os.kill(child, signal.SIGKILL)
    out, err = proc.communicate()
    wall = time.perf_counter() - t0
    code = proc.returncode
    if code not in (0, 128):
        print(out.decode(), err.decode(), file=sys.stderr)
    try:
        maxrss, cpu = (rss_file.read_text() or "0 0").split()
    finally:
        rss_file.unlink(missing_ok=True)
    return code, wall, int(maxrss) / 1024 ** 2, float(cpu)  # KiB -> GiB


def _children(pid: int) -> list[int]:
    try:
        return [int(x) for x in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def per_action_lists(store: Path) -> dict[str, list[str]]:
    from actionhub.dataset.store import Store

    t = Store(store).read(["action", "rank", "video_id"])
    acts = t.column("action").to_pylist()
    vids = t.column("video_id").to_pylist()
    out: dict[str, list[str]] = {}
    for a, v in zip(acts, vids, strict=True):
        out.setdefault(a, []).append(v)
    return out


def write_corpus(workdir: Path, n: int, shard_rows: int, queries: list[str]) -> list[Path]:
    """The SYNTHETIC corpus as one CSV (``shard_rows`` >= n) or a folder of CSV shards; written once."""
    from actionhub.demo.synthcaptions import write_synthetic_corpus

    if shard_rows >= n:
        files = [workdir / f"webvid_synthetic_{n}.csv"]
    else:
        folder = workdir / f"webvid_synthetic_{n}_shards_{shard_rows}"
        files = [folder / f"part-{k:04d}.csv" for k in range(-(-n // shard_rows))]
    t0 = time.perf_counter()
    chunk = min(1_000_000, shard_rows)
    for k, f in enumerate(files):
        if not f.exists():
            lo = k * shard_rows
            write_synthetic_corpus(f, min(shard_rows, n - lo), queries, seed=lo // chunk, start=lo, chunk=chunk)
    size = sum(f.stat().st_size for f in files)
    print(f"SYNTHETIC corpus: {n:,} captions in {len(files)} CSV file(s), {size / 1e9:.2f} GB "
          f"({time.perf_counter() - t0:.0f} s to write what was missing)")
    return files


class LocalCluster:
    """A ``dask scheduler`` and ``workers`` single-threaded ``dask worker`` processes on 127.0.0.1,
    children of this process, so their peak RSS comes from ``os.wait4`` when they stop."""

    def __init__(self, workdir: Path, workers: int):
        self.dir = workdir / "dask"
        shutil.rmtree(self.dir, ignore_errors=True)
        self.dir.mkdir(parents=True)
        sched = self.dir / "scheduler.json"
        dask = [sys.executable, "-m", "dask"]
        self.procs = [subprocess.Popen([*dask, "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                                        "--scheduler-file", str(sched)], stdout=subprocess.DEVNULL,
                                       stderr=open(self.dir / "scheduler.log", "w"))]  # noqa: SIM115
        while not sched.exists():
            time.sleep(0.1)
        for i in range(workers):
            self.procs.append(subprocess.Popen(
                [*dask, "worker", "--scheduler-file", str(sched), "--nthreads", "1", "--no-nanny", "--no-dashboard",
                 "--host", "127.0.0.1", "--memory-limit", "0", "--local-directory", str(self.dir / f"w{i}")],
                stdout=subprocess.DEVNULL, stderr=open(self.dir / f"worker{i}.log", "w")))  # noqa: SIM115
        from distributed import Client

        with Client(scheduler_file=str(sched), timeout="120s") as c:
            c.wait_for_workers(workers, timeout=300)
            self.address = c.scheduler.address

    def stop(self) -> list[tuple[float, float]]:
        """Stop everything; each worker's peak RSS (GiB) and CPU seconds."""
        used = []
        for proc in reversed(self.procs):
            proc.send_signal(signal.SIGTERM)
        for proc in self.procs[1:]:
            _, _, usage = os.wait4(proc.pid, 0)
            used.append((usage.ru_maxrss / 1024 ** 2, usage.ru_utime + usage.ru_stime))
        self.procs[0].wait()
        return used


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=1_000_000, help="captions in the SYNTHETIC corpus (default: 1M)")
    ap.add_argument("--per-query", type=int, default=3000)
    ap.add_argument("--match", nargs="+", default=["all", "any"], choices=["all", "any"])
    ap.add_argument("--workdir", type=Path, default=Path("runs/bench_collect"))
    ap.add_argument("--shard-rows", type=int, help="captions per CSV shard (default: one file up to 10M captions, "
                                                   "shards of 5M above)")
    ap.add_argument("--memory-gb", type=float, help="the collector's --memory-gb (default: its own default)")
    ap.add_argument("--backend", choices=["inprocess", "dask"], default="inprocess")
    ap.add_argument("--workers", type=int, default=2, help="dask workers of the local cluster (--backend dask)")
    ap.add_argument("--kill-test", action="store_true", help="also kill -9 a run mid-way and compare after a rerun")
    ap.add_argument("--no-baseline", action="store_true")
    a = ap.parse_args()

    from actionhub.dataset.vocab import build_vocabulary
    from actionhub.utils.memory import default_budget

    a.workdir.mkdir(parents=True, exist_ok=True)
    vocab = build_vocabulary()
    queries_csv = a.workdir / "queries.csv"
    vocab.save(queries_csv)
    queries = [q.query for q in vocab.queries]
    shard_rows = a.shard_rows or (a.n if a.n <= 10_000_000 else 5_000_000)
    files = write_corpus(a.workdir, a.n, shard_rows, queries)
    corpus = files[0] if len(files) == 1 else files[0].parent
    budget = f"--memory-gb {a.memory_gb}" if a.memory_gb else f"default --memory-gb ({default_budget() / 2 ** 30:.1f})"
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPU(s), "
          f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2 ** 30:.0f} GiB; load average "
          f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}; {len(queries)} queries, per-query {a.per_query}; "
          f"corpus SYNTHETIC, {a.n:,} captions; {budget}; backend {a.backend}")

    ref = None
    if not a.no_baseline:
        ref = plain_bm25(files, queries, a.per_query)
        print(f"plain scipy BM25 (score + select only): index {ref['index_s']} s + {len(queries)} queries "
              f"{ref['query_s']} s = {ref['total_s']} s ({ref['cpu_s']} CPU s)")
    counts = match_counts(files, queries)
    results = {"n": a.n, "queries": len(queries), "per_query": a.per_query, "files": len(files),
               "memory_gb": a.memory_gb, "default_memory_gb": default_budget() / 2 ** 30, "backend": a.backend,
               "baseline": ref, "runs": {}}
    for match in a.match:
        tag = f"{a.n}_{match}" + (f"_dask{a.workers}" if a.backend == "dask" else "")
        store = a.workdir / f"store_{tag}"
        cache = a.workdir / f"index_{tag}"
        for d in (store, cache):
            shutil.rmtree(d, ignore_errors=True)
        cli = ["collect", "--provider", "local", "--corpus", str(corpus), "--queries", str(queries_csv),
               "--out", str(store), "--per-query", str(a.per_query), "--match", match, "--index-cache", str(cache),
               "--no-progress", "--json", "--note", "SYNTHETIC: bench_collect corpus"]
        if a.memory_gb:
            cli += ["--memory-gb", str(a.memory_gb)]
        cluster = LocalCluster(a.workdir, a.workers) if a.backend == "dask" else None
        if cluster is not None:
            cli += ["--backend", "dask", "--scheduler", cluster.address]
        load = os.getloadavg()[0]
        code, wall, rss, cpu = run_collect(cli)
        workers = cluster.stop() if cluster is not None else []
        lists = per_action_lists(store)
        n_of = np.array([len(lists.get(q, [])) for q in queries])
        want = np.array([min(a.per_query, counts[q][match]) for q in queries])
        run = {"exit": code, "wall_s": round(wall, 1), "cpu_s": round(cpu, 1), "captions_per_s": round(a.n / wall),
               "queries_per_s":
               round(len(queries) / wall, 1), "peak_rss_gb": round(rss, 2),
               "worker_peak_rss_gb": [round(r, 2) for r, _ in workers],
               "worker_cpu_s": [round(c, 1) for _, c in workers],
               "load_average_at_start": round(load, 1),
               "index_gb": round(sum(f.stat().st_size for f in cache.rglob("*") if f.is_file()) / 1e9, 2),
               "actions_0": int((n_of == 0).sum()), "actions_lt_100": int((n_of < 100).sum()),
               "actions_ge_per_query": int((n_of >= a.per_query).sum()), "median": float(np.median(n_of)),
               "queries_with_matches": int((want > 0).sum()),
               "with_matches_but_none": int(((want > 0) & (n_of == 0)).sum()),
               "equal_to_min_per_query_matches": int((n_of == want).sum()),
               "within_1pct": int((np.abs(n_of - want) <= np.maximum(1, 0.01 * want)).sum()),
               "hits": int(n_of.sum())}
        if ref:
            run["ratio_to_plain_bm25"] = round(wall / ref["total_s"], 2)
            run["cpu_ratio_to_plain_bm25"] = round(cpu / ref["cpu_s"], 2)
        print(f"--match {match}: exit {code}, {wall:.1f} s wall, {cpu:.0f} CPU s ({run['captions_per_s']:,} "
              "captions/s, "
              f"{run['queries_per_s']} queries/s), peak RSS {rss:.2f} GB"
              + (f" (workers {', '.join(f'{r:.2f} GB, {c:.0f} CPU s' for r, c in workers)})" if workers else "")
              + f", index {run['index_gb']} GB on disk"
              + (f", {run['ratio_to_plain_bm25']}x the plain BM25 ({run['cpu_ratio_to_plain_bm25']}x in CPU time)"
                 if ref else ""))
        print(f"  coverage: {run['actions_0']} actions with 0, {run['actions_lt_100']} with < 100, "
              f"{run['actions_ge_per_query']} with >= {a.per_query}; median {run['median']:g}; "
              f"{run['with_matches_but_none']} of {run['queries_with_matches']} queries with matching captions got "
              "none; "
              f"{run['equal_to_min_per_query_matches']} / {len(queries)} equal min({a.per_query}, matching captions) "
              f"({run['within_1pct']} within 1%)")
        alone = a.workdir / f"store_{a.n}_{match}"
        if cluster is not None and alone.is_dir():   # the in-process store of an earlier run here
            run["identical_to_inprocess"] = per_action_lists(alone) == lists
            print(f"  per-action lists {'identical' if run['identical_to_inprocess'] else 'DIFFERENT'} to the "
                  f"in-process store {alone}")
        if a.kill_test and cluster is None:
            killed = a.workdir / f"store_{tag}_killed"
            shutil.rmtree(killed, ignore_errors=True)
            at = cli.index("--out")
            code_k, wall_k, _, _ = run_collect([*cli[:at + 1], str(killed), *cli[at + 2:]], kill_when=killed / "hits")
            code_r, wall_r, _, _ = run_collect([*cli[:at + 1], str(killed), *cli[at + 2:]])
            same = per_action_lists(killed) == lists
            run["kill_test"] = {"killed_after_s": round(wall_k, 1), "rerun_exit": code_r, "rerun_s": round(wall_r, 1),
                                "identical_per_action_lists": same}
            print(f"  kill -9 after {wall_k:.1f} s, rerun exit {code_r} in {wall_r:.1f} s: per-action lists "
                  f"{'identical' if same else 'DIFFERENT'} to the uninterrupted run")
        results["runs"][match] = run
    out = a.workdir / f"bench_collect_{a.n}{'_dask' if a.backend == 'dask' else ''}.json"
    out.write_text(json.dumps(results, indent=1))
    print(f"wrote {out} (SYNTHETIC corpus)")


if __name__ == "__main__":
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    main()
