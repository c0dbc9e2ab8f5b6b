"""Our scipy BM25 index against bm25s and tantivy, side by side, on one SYNTHETIC WebVid-style corpus.

The ``local`` provider searches a caption corpus with its own index
(:class:`actionhub.dataset.collect.local.BM25Index`: Arrow tokenising, stop words dropped, every
distinct word lemmatised, posting lists in a scipy CSR). This script measures it next to two
well-kept libraries, so the choice between them rests on figures:

* ``actionhub``: ``BM25Index.build`` from the captions, then per query ``candidates(query, match)``
  and the partial sort of ``top_order`` (what ``LocalProvider`` does); ``match="all"`` (every content
  word) and ``match="any"`` (at least one);
* ``bm25s`` (``pip install bm25s[stem]``): ``bm25s.tokenize`` with its defaults (lower case,
  ``\\b\\w\\w+\\b`` tokens, its English stop-word list) and the PyStemmer English (Snowball) stemmer it
  recommends when installed; ``BM25(k1=1.2, b=0.75)`` (its default Lucene variant; k1 set to ours).
  ``any`` is its ``retrieve``; it has no conjunctive query, so ``all`` is emulated here: the dense
  per-term score vectors of ``get_scores_from_ids``, a document kept only where every term scores;
* ``tantivy`` (``pip install tantivy``): an index in a temporary directory, one text field with the
  default English analyser ``en_stem`` (lower case, Snowball English stemmer, no stop-word removal,
  other options at their defaults) and a fast ``row`` field for the corpus row; the query parsed
  with ``conjunction_by_default=True`` (every word required: AND) for ``all`` and False (OR) for
  ``any``; tantivy's BM25 has k1 = 1.2, b = 0.75.

Each engine runs in its own subprocess (its peak RSS and CPU time come from ``os.wait4``): it reads
the corpus (:func:`actionhub.dataset.collect.local.read_corpus`, the same for all, not in the
build time), builds its index once, runs the queries at top-``--k`` for each match mode, and writes
the index to disk once to measure its size (for ``actionhub``, the provider's on-disk segment,
:mod:`actionhub.dataset.collect.segment`: its postings and terms, without the captions it also
keeps). The parent compares each engine's top-k sets with ours
for the same mode (mean Jaccard; also split into queries whose whole match set fits in k, where a
difference means a different set of matching captions -- tokenisation, stemming vs lemmas, stop
words -- and queries cut at k, where it also reflects ranking: length normalisation, ties).

    .venv/bin/python benchmarks/bench_bm25_libraries.py [--n 1000000] [--corpus CSV] [--queries CSV]
        [--engines actionhub bm25s tantivy] [--match all any] [--k 3000] [--workdir runs/bench_bm25]

Without ``--corpus``/``--queries`` the SYNTHETIC corpus
(:func:`actionhub.demo.synthcaptions.write_synthetic_corpus`) and the queries of
``actionhub vocab build`` are written to ``--workdir`` once and reused. An engine whose package is
not installed is skipped, saying so. Every corpus here is SYNTHETIC: the figures are speed, memory
and agreement of the engines, never retrieval quality.
"""
from __future__ import annotations

import argparse
import datetime
import importlib.util
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ENGINES = ("actionhub", "bm25s", "tantivy")
PACKAGE = {"actionhub": "actionhub", "bm25s": "bm25s", "tantivy": "tantivy"}
SYNTHETIC = "SYNTHETIC corpus (actionhub.demo.synthcaptions): query + Zipf-drawn GloVe words; not real captions"


def dir_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in Path(path).rglob("*") if f.is_file())


def rss_gb() -> float:
    """Peak RSS of this process so far, GB (ru_maxrss is KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 ** 2


def read_queries(path: Path) -> list[str]:
    import pyarrow as pa
    import pyarrow.csv as pcsv

    t = pcsv.read_csv(path, convert_options=pcsv.ConvertOptions(include_columns=["query"],
                                                                column_types={"query": pa.string()}))
    return t.column("query").to_pylist()


# ---------------------------------------------------------------- engines (each runs in a child)

def run_actionhub(caps, queries: list[str], k: int, modes: list[str], tmp: Path) -> dict:
    from actionhub.dataset.collect.local import BM25Index, top_order
    from actionhub.dataset.vocab import lemmatize_word, stop_words
    from actionhub.dataset.wordvec import tokenize

    t0 = time.perf_counter()
    index = BM25Index.build(caps)
    build_s = time.perf_counter() - t0
    out = {"build_s": build_s, "rss_after_build_gb": rss_gb(), "modes": {}}
    for mode in modes:
        res, matches, tied = [], [], 0
        t1 = time.perf_counter()
        for q in queries:  # = LocalProvider.ranked: candidates, then a partial sort of the best k
            docs, sc = index.candidates(q, mode)
            order = top_order(sc, k)
            res.append(docs[order[:k]])
            matches.append(int(docs.size))
            if docs.size > k:  # does the cut at k fall inside a run of equal scores?
                last = sc[order[k - 1]]
                tied += int(np.count_nonzero(sc == last) > np.count_nonzero(sc[order[:k]] == last))
        out["modes"][mode] = {"query_s": time.perf_counter() - t1, "results": res, "matches": matches,
                              "queries_cut_inside_a_tie": tied}
    stops = stop_words()
    out["terms"] = [list(dict.fromkeys(lemmatize_word(t, first=True) for t in tokenize(q) if t and t not in stops))
                    for q in queries]
    # on disk: the index segment the provider keeps (postings and terms; the captions it also stores
    # for its results are left out, as the other engines store none)
    import pyarrow as pa
    import pyarrow.parquet as pq

    from actionhub.dataset.collect.local import TEXT
    from actionhub.dataset.collect.segment import build_segment

    shard = tmp / "captions.parquet"
    pq.write_table(pa.table({"videoid": pa.array(np.arange(len(caps)).astype(str)), "name": caps}), shard)
    t2 = time.perf_counter()
    seg = build_segment(shard, tmp / "index.seg", TEXT, "videoid", "name", None, 1 << 40)
    out["save_s"] = time.perf_counter() - t2
    out["disk_bytes"] = sum(a["length"] * np.dtype(a["dtype"]).itemsize for name, a in seg["arrays"].items()
                            if not name.startswith(("ids_", "caps_")))
    out["analysis"] = ("Arrow tokeniser (lower case, letters+digits), ActionHub stop words dropped, "
                       f"lemmatised (actionhub.dataset.vocab rules); {len(index.vocab):,} terms")
    return out


def run_bm25s(caps, queries: list[str], k: int, modes: list[str], tmp: Path) -> dict:
    import bm25s
    from bm25s.selection import topk
    from bm25s.stopwords import STOPWORDS_EN

    try:
        import Stemmer  # PyStemmer, bm25s's [stem] extra

        stemmer, stem_name = Stemmer.Stemmer("english"), "PyStemmer English (Snowball)"
    except ImportError:
        stemmer, stem_name = None, "none (PyStemmer not installed)"
    t0 = time.perf_counter()
    texts = caps.to_pylist()
    tokens = bm25s.tokenize(texts, stopwords="en", stemmer=stemmer, show_progress=False)
    del texts
    retriever = bm25s.BM25(k1=1.2, b=0.75)
    retriever.index(tokens, show_progress=False)
    del tokens
    build_s = time.perf_counter() - t0
    out = {"build_s": build_s, "rss_after_build_gb": rss_gb(), "modes": {}}
    n = retriever.scores["num_docs"]
    for mode in modes:
        t1 = time.perf_counter()
        qtok = bm25s.tokenize(queries, stopwords="en", stemmer=stemmer, return_ids=False, show_progress=False)
        res: list[np.ndarray] = [np.zeros(0, np.int64)] * len(queries)
        matches: list[int | None] = [None] * len(queries)
        if mode == "any":  # its own batch retrieval; a query without a known word gets nothing
            known = [i for i, t in enumerate(qtok) if retriever.get_tokens_ids(t)]
            docs, scores = retriever.retrieve([qtok[i] for i in known], k=min(k, n), show_progress=False)
            for row, i in enumerate(known):
                res[i] = docs[row][scores[row] > 0].astype(np.int64)
        else:  # emulated conjunction: every query term must score
            for i, t in enumerate(qtok):
                terms = list(dict.fromkeys(t))
                ids = retriever.get_tokens_ids(terms)
                if not terms or len(ids) < len(terms):
                    matches[i] = 0
                    continue
                per = [retriever.get_scores_from_ids([j]) for j in ids]
                every = np.logical_and.reduce([p > 0 for p in per])
                s = np.where(every, np.sum(per, axis=0), 0).astype(np.float32)
                sc, ix = topk(s, min(k, n), backend="numpy", sorted=True)
                res[i] = np.asarray(ix)[np.asarray(sc) > 0].astype(np.int64)
                matches[i] = int(every.sum())
        out["modes"][mode] = {"query_s": time.perf_counter() - t1, "results": res, "matches": matches}
    out["terms"] = bm25s.tokenize(queries, stopwords="en", stemmer=stemmer, return_ids=False, show_progress=False)
    d = tmp / "bm25s"
    t2 = time.perf_counter()
    retriever.save(str(d))
    out["save_s"] = time.perf_counter() - t2
    out["disk_bytes"] = dir_bytes(d)
    out["analysis"] = (f"bm25s.tokenize defaults (lower case, \\b\\w\\w+\\b: 1-character words dropped), its "
                       f"English stop words ({len(STOPWORDS_EN)}), stemmer {stem_name}; "
                       f"{len(retriever.vocab_dict):,} terms; 'all' emulated on dense per-term scores")
    out["stemmer"] = stem_name
    return out


def run_tantivy(caps, queries: list[str], k: int, modes: list[str], tmp: Path) -> dict:
    import tantivy

    t0 = time.perf_counter()
    sb = tantivy.SchemaBuilder()
    sb.add_text_field("text", tokenizer_name="en_stem")
    sb.add_integer_field("row", fast=True)
    schema = sb.build()
    d = tmp / "tantivy"
    d.mkdir()
    index = tantivy.Index(schema, path=str(d))
    writer = index.writer()  # defaults: 128 MB heap, threads chosen by tantivy
    for i, text in enumerate(caps.to_pylist()):
        writer.add_document(tantivy.Document(text=text, row=i))
    writer.commit()
    writer.wait_merging_threads()
    index.reload()
    searcher = index.searcher()
    build_s = time.perf_counter() - t0
    out = {"build_s": build_s, "rss_after_build_gb": rss_gb(), "segments": searcher.num_segments, "modes": {}}
    for mode in modes:
        res, matches = [], []
        t1 = time.perf_counter()
        for q in queries:
            query = index.parse_query(q, ["text"], conjunction_by_default=(mode == "all"))
            hits = searcher.search(query, limit=k, count=True)
            addrs = [a for _, a in hits.hits]
            res.append(np.asarray(searcher.fast_field_values("row", addrs), np.int64) if addrs
                       else np.zeros(0, np.int64))
            matches.append(int(hits.count))
        out["modes"][mode] = {"query_s": time.perf_counter() - t1, "results": res, "matches": matches}
    analyzer = (tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple()).filter(tantivy.Filter.remove_long(40))
                .filter(tantivy.Filter.lowercase()).filter(tantivy.Filter.stemmer("english")).build())
    out["terms"] = [list(dict.fromkeys(analyzer.analyze(q))) for q in queries]
    out["save_s"] = 0.0  # the index is written while it is built
    out["disk_bytes"] = dir_bytes(d)
    out["analysis"] = ("tantivy en_stem (simple tokeniser, lower case, Snowball English stemmer, stop words kept), "
                       "field with positions (default); query parser AND/OR")
    return out


RUNNERS = {"actionhub": run_actionhub, "bm25s": run_bm25s, "tantivy": run_tantivy}


def child(engine: str, corpus: Path, queries_csv: Path, k: int, modes: list[str], out_dir: Path) -> None:
    from actionhub.dataset.collect.local import read_corpus

    t0 = time.perf_counter()
    _, caps = read_corpus(corpus)
    read_s = time.perf_counter() - t0
    queries = read_queries(queries_csv)
    base = rss_gb()
    tmp = Path(tempfile.mkdtemp(prefix=f"bm25-{engine}-", dir=out_dir))
    try:
        r = RUNNERS[engine](caps, queries, k, modes, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    arrays = {}
    for mode, m in r["modes"].items():
        res = m.pop("results")
        arrays[f"offsets_{mode}"] = np.cumsum([0] + [len(x) for x in res])
        arrays[f"ids_{mode}"] = np.concatenate(res) if res else np.zeros(0, np.int64)
    np.savez(out_dir / f"{engine}.npz", **arrays)
    r.update(read_s=read_s, rss_after_read_gb=base, docs=len(caps), queries=len(queries))
    (out_dir / f"{engine}.json").write_text(json.dumps(r))


# ---------------------------------------------------------------- parent

def run_engine(engine: str, a: argparse.Namespace, corpus: Path, queries_csv: Path) -> dict | None:
    """The engine in a subprocess; its report plus wall time, peak RSS and CPU time from wait4."""
    for f in (a.workdir / f"{engine}.json", a.workdir / f"{engine}.npz"):
        f.unlink(missing_ok=True)
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", engine, "--corpus", str(corpus),
           "--queries", str(queries_csv), "--k", str(a.k), "--workdir", str(a.workdir), "--match", *a.match]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        print(f"{engine}: the subprocess failed (exit {code}); left out of the table", file=sys.stderr)
        return None
    r = json.loads((a.workdir / f"{engine}.json").read_text())
    with np.load(a.workdir / f"{engine}.npz") as z:
        r["lists"] = {m: np.split(z[f"ids_{m}"], z[f"offsets_{m}"][1:-1]) for m in a.match}
    r.update(wall_s=wall, peak_rss_gb=usage.ru_maxrss / 1024 ** 2, cpu_s=usage.ru_utime + usage.ru_stime)
    return r


def agreement(ours: list[np.ndarray], theirs: list[np.ndarray], k: int, our_terms: list, their_terms: list,
              queries: list[str]) -> dict:
    """Mean Jaccard of the top-k sets per query, overall and split by whether our match set was
    complete (< k: the whole set of matching captions) or cut at k (ranking matters)."""
    jac = np.empty(len(ours))
    for i, (x, y) in enumerate(zip(ours, theirs, strict=True)):
        union = np.union1d(x, y).size
        jac[i] = np.intersect1d(x, y).size / union if union else 1.0
    complete = np.array([len(x) < k for x in ours])
    same_count = np.array([len(a) == len(b) for a, b in zip(our_terms, their_terms, strict=True)])
    worst = np.argsort(jac, kind="stable")[:3]

    def mean(mask: np.ndarray) -> float | None:
        return round(float(jac[mask].mean()), 4) if mask.any() else None

    return {"mean_jaccard": round(float(jac.mean()), 4), "identical_sets": int((jac == 1.0).sum()),
            "complete": {"queries": int(complete.sum()), "mean_jaccard": mean(complete)},
            "cut_at_k": {"queries": int((~complete).sum()), "mean_jaccard": mean(~complete)},
            "same_number_of_query_terms": {"queries": int(same_count.sum()), "mean_jaccard": mean(same_count)},
            "different_number_of_query_terms": {"queries": int((~same_count).sum()), "mean_jaccard": mean(~same_count)},
            "worst": [{"query": queries[i], "jaccard": round(float(jac[i]), 3), "ours": len(ours[i]),
                       "theirs": len(theirs[i]), "our_terms": our_terms[i], "their_terms": their_terms[i]}
                      for i in worst]}


def versions() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version()}
    for p in ("numpy", "scipy", "pyarrow", "bm25s", "PyStemmer", "tantivy"):
        try:
            out[p] = version(p)
        except PackageNotFoundError:
            out[p] = None
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=1_000_000, help="captions in the SYNTHETIC corpus (default: 1M)")
    ap.add_argument("--corpus", type=Path, help="an existing SYNTHETIC corpus CSV (default: written to --workdir)")
    ap.add_argument("--queries", type=Path, help="queries CSV of `actionhub vocab build` (default: built)")
    ap.add_argument("--engines", nargs="+", default=list(ENGINES), choices=ENGINES)
    ap.add_argument("--match", nargs="+", default=["all", "any"], choices=["all", "any"])
    ap.add_argument("--k", type=int, default=3000, help="results per query (default: 3000, as --per-query)")
    ap.add_argument("--workdir", type=Path, default=Path("runs/bench_bm25"))
    ap.add_argument("--child", choices=ENGINES, help=argparse.SUPPRESS)
    a = ap.parse_args()
    a.workdir.mkdir(parents=True, exist_ok=True)
    if a.child:
        child(a.child, a.corpus, a.queries, a.k, a.match, a.workdir)
        return

    queries_csv = a.queries
    if queries_csv is None:
        from actionhub.dataset.vocab import build_vocabulary

        queries_csv = a.workdir / "queries.csv"
        if not queries_csv.exists():
            build_vocabulary().save(queries_csv)
    queries = read_queries(queries_csv)
    corpus = a.corpus
    if corpus is None:
        corpus = a.workdir / f"webvid_synthetic_{a.n}.csv"
        if not corpus.exists():
            from actionhub.demo.synthcaptions import write_synthetic_corpus

            write_synthetic_corpus(corpus, a.n, queries)
    machine = f"{platform.machine()}, {os.cpu_count()} CPU(s)"
    print(f"{SYNTHETIC}\ncorpus {corpus}; {len(queries):,} queries ({queries_csv}); top-{a.k:,}; machine {machine}")

    runs: dict[str, dict] = {}
    for engine in a.engines:
        if importlib.util.find_spec(PACKAGE[engine]) is None:
            print(f"{engine}: not installed (pip install {engine}); skipped")
            continue
        print(f"{engine}: building and querying in a subprocess ...", flush=True)
        r = run_engine(engine, a, corpus, queries_csv)
        if r is not None:
            runs[engine] = r
    if not runs:
        sys.exit("no engine ran")
    ref = runs.get("actionhub")
    n_docs = next(iter(runs.values()))["docs"]

    rows, results = [], {}
    for engine, r in runs.items():
        for mode in a.match:
            m = r["modes"][mode]
            lists = r["lists"][mode]
            row = {"engine": engine, "match": mode, "build_s": round(r["build_s"], 1),
                   "query_s": round(m["query_s"], 1),
                   "total_s": round(r["build_s"] + m["query_s"], 1), "peak_rss_gb": round(r["peak_rss_gb"], 2),
                   "disk_mb": round(r["disk_bytes"] / 1e6, 1), "returned": int(sum(len(x) for x in lists))}
            if ref is not None:
                row["vs_actionhub"] = agreement(ref["lists"][mode], lists, a.k, ref["terms"], r["terms"], queries)
            rows.append(row)
        results[engine] = {key: r[key] for key in r if key not in ("lists", "modes", "terms")}
        results[engine]["modes"] = {mode: {key: v for key, v in r["modes"][mode].items() if key != "matches"}
                                    for mode in a.match}
        for mode in a.match:
            mt = r["modes"][mode]["matches"]
            results[engine]["modes"][mode]["matches_total"] = None if None in mt else int(sum(mt))

    head = ["engine", "match", "build s", f"{len(queries):,} queries s", "total s", "peak RSS GB", "on disk MB",
            "returned", f"Jaccard@{a.k} vs ours", "identical", "complete / cut"]
    table = [head]
    for row in rows:
        v = row.get("vs_actionhub")
        jc = ("-" if v is None else f"{v['mean_jaccard']:.3f}")
        ident = "-" if v is None else f"{v['identical_sets']}/{len(queries)}"
        split = "-" if v is None else " / ".join("-" if v[g]["mean_jaccard"] is None else f"{v[g]['mean_jaccard']:.3f}"
                                                 for g in ("complete", "cut_at_k"))
        table.append([row["engine"], row["match"], f"{row['build_s']:.1f}", f"{row['query_s']:.1f}",
                      f"{row['total_s']:.1f}",
                      f"{row['peak_rss_gb']:.2f}", f"{row['disk_mb']:.0f}", f"{row['returned']:,}", jc, ident, split])
    widths = [max(len(r[i]) for r in table) for i in range(len(head))]
    lines = ["| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |" for r in table]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    date = datetime.date.today().isoformat()
    title = (f"SYNTHETIC corpus, {n_docs:,} captions, {len(queries):,} queries, top-{a.k:,}; {machine}; {date}")
    print("\n" + title + "\n" + "\n".join(lines))
    if ref is not None:
        print(f"\n'complete / cut': mean Jaccard over the queries whose whole match set fits in {a.k:,} "
              "(differences = which captions match: tokenisation, stems vs lemmas, stop words) / over the "
              "queries cut at k (also ranking: length normalisation, ties).")
        for mode in a.match:
            print(f"  ours, match={mode}: {ref['modes'][mode]['queries_cut_inside_a_tie']} of "
                  f"{sum(len(x) >= a.k for x in ref['lists'][mode])} cut queries have their cut inside a run of equal "
                  "scores")
    for engine, r in runs.items():
        print(f"{engine}: {r['analysis']}; corpus read {r['read_s']:.1f} s (not in build), CPU {r['cpu_s']:.0f} s "
              f"for {r['wall_s']:.0f} s wall")
        for row in rows:
            v = row.get("vs_actionhub")
            if row["engine"] != engine or v is None or engine == "actionhub":
                continue
            same, diff = v["same_number_of_query_terms"], v["different_number_of_query_terms"]
            print(f"  match={row['match']}: {same['queries']} queries analysed to as many terms as ours "
                  f"(Jaccard {same['mean_jaccard']}), {diff['queries']} to a different number (Jaccard "
                  f"{diff['mean_jaccard']}); "
                  "worst: " + "; ".join(f"{w['query']!r} {w['jaccard']} (ours {w['our_terms']} {w['ours']}, "
                                        f"theirs {w['their_terms']} {w['theirs']})" for w in v["worst"]))
    out = a.workdir / f"bench_bm25_libraries_{n_docs}.json"
    out.write_text(json.dumps({"data": SYNTHETIC, "date": date, "machine": machine, "corpus": str(corpus),
                               "docs": n_docs, "queries": len(queries), "k": a.k, "versions": versions(),
                               "table": "\n".join([title, *lines]), "rows": rows, "engines": results}, indent=1))
    print(f"wrote {out} (SYNTHETIC corpus)")


if __name__ == "__main__":
    main()
