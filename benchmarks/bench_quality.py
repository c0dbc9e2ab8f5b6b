"""Quality of the descriptions a benchmark's classes get, on labelled captions (SYNTHETIC by default).

Runs the README chain with each command's defaults -- ``vocab build`` -> ``collect --provider
local`` -> ``rank`` -> the per-class lists of ``text-features`` -- on a labelled caption corpus and
scores every class's first 10 descriptions against the labels:

* covered: classes with at least one correct description in their top 10, out of the classes with
  at least one true caption in the corpus;
* precision@10: correct / kept among a class's first 10 (fewer when fewer are kept), averaged over
  the classes that keep any;
* mostly wrong: classes whose kept top 10 is more than half wrong.

By default the corpus is the SYNTHETIC one of ``quality_corpus.py`` (UCF101 classes), both
phrasing families: ``A`` (the one the rankers were tuned on) and ``B`` (held out), and with
``--families A,B,C`` family ``C`` of ``quality_corpus_c.py`` (stock-footage titles, written after the
tuning; its first faults led to general rules since, docs/dataset.md#9). Bring your own
with ``--corpus FILE``: a CSV/JSONL/Parquet with ``videoid``, ``name`` (the caption) and
``label`` (the benchmark class the caption shows, empty for none)::

    .venv/bin/python benchmarks/bench_quality.py                     # both SYNTHETIC families, every ranker
    .venv/bin/python benchmarks/bench_quality.py --corpus mine.csv --rankers default
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))


def read_labelled(path: Path):
    """``(ids, captions, labels)`` of a labelled corpus file."""
    from actionhub.dataset.collect.local import read_corpus  # noqa: PLC0415

    ids, caps = read_corpus(path, "videoid", "name")
    _, labels = read_corpus(path, "videoid", "label") if _has_label(path) else (None, None)
    return ids, caps, labels


def _has_label(path: Path) -> bool:
    import pyarrow.csv as pcsv  # noqa: PLC0415
    import pyarrow.parquet as pq  # noqa: PLC0415

    if path.suffix == ".parquet":
        return "label" in pq.read_schema(path).names
    if path.suffix in (".csv", ".tsv"):
        return "label" in pcsv.open_csv(path).schema.names
    return True


def run_chain(corpus: Path, work: Path, benchmark: str, ranker: str, datasets: list[str] | None,
              k: int = 10) -> tuple[dict[str, list[str]], dict]:
    """The README chain with defaults; ``{class: [video ids of its first k descriptions]}`` and timings."""
    from actionhub.dataset.collect import collect  # noqa: PLC0415
    from actionhub.dataset.collect.local import LocalProvider  # noqa: PLC0415
    from actionhub.dataset.vocab import SOURCE_DATASETS, build_vocabulary  # noqa: PLC0415
    from actionhub.protocols import get_benchmark  # noqa: PLC0415
    from actionhub.text.build import class_rows, match_classes  # noqa: PLC0415
    from actionhub.text.ranking import rank_descriptions  # noqa: PLC0415

    times = {}
    t = time.perf_counter()
    vocab = build_vocabulary(datasets or SOURCE_DATASETS)
    queries = [q.query for q in vocab]
    store = work / "store"
    if not store.exists():
        collect(queries, LocalProvider(corpus, cache_dir=work), store, progress=False)
    times["collect"] = time.perf_counter() - t
    t = time.perf_counter()
    topk = work / f"topk-{ranker}.parquet"
    kw = {} if ranker == "default" else {"ranker": ranker}
    rank_descriptions(store, topk, progress=False, cache=work / "cache", **kw)
    times["rank"] = time.perf_counter() - t
    import pyarrow.parquet as pq  # noqa: PLC0415

    table = pq.read_table(topk)
    bench = get_benchmark(benchmark)
    actions = table.column("action").combine_chunks().unique().drop_null().to_pylist()
    matches, _ = match_classes(bench.classes, actions)
    rows = class_rows(table, matches, bench.classes, k)
    vids = table.column("video_id").to_pylist()
    scores = table.column("score").to_pylist()
    return {c: [(vids[i], scores[i]) for i in r] for c, r in zip(bench.classes, rows, strict=True)}, times


def score(per_class: dict[str, list[str]], label_of: dict[str, str], classes: list[str]) -> dict:
    """Coverage, precision@10 and the mostly-wrong classes (see the module docstring)."""
    present = {lab for lab in label_of.values() if lab}
    with_true = [c for c in classes if c in present]
    covered, precisions, mostly_wrong, missed = [], [], [], []
    for c in classes:
        got = [v for v, _ in per_class.get(c, [])[:10]]
        correct = sum(1 for v in got if label_of.get(v) == c)
        if got:
            precisions.append(correct / len(got))
            if correct * 2 < len(got):
                mostly_wrong.append(f"{c} ({correct}/{len(got)})")
        if c in present:
            (covered if correct else missed).append(c)
    return {"classes_with_true": len(with_true), "covered": len(covered),
            "coverage": len(covered) / max(1, len(with_true)),
            "precision_at_10": float(np.mean(precisions)) if precisions else 0.0,
            "classes_kept": len(precisions), "mostly_wrong": mostly_wrong, "missed": missed}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", type=Path, help="labelled corpus (videoid, name, label); default: the SYNTHETIC "
                                                "families")
    ap.add_argument("--families", default="A,B", help="SYNTHETIC phrasing families to run: A (tuned on), B, C "
                    "(held out; C: stock-footage titles, quality_corpus_c.py) (default: A,B)")
    ap.add_argument("--benchmark", default="ucf101")
    ap.add_argument("--rankers", default="glove,minilm,minilm-agent",
                    help="comma-separated rankers ('default': rank's default)")
    ap.add_argument("--datasets", nargs="+", help="vocab build --datasets (default: the seven sources)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--show", metavar="CLASSES", help="print these classes' top 10 with their labels (comma-separated, "
                                                        "or 'all')")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    from actionhub.protocols import get_benchmark  # noqa: PLC0415

    classes = list(get_benchmark(a.benchmark).classes)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        corpora = []
        if a.corpus:
            corpora.append((a.corpus.name, a.corpus))
        else:
            import pyarrow.csv as pcsv  # noqa: PLC0415
            from quality_corpus import generate  # noqa: PLC0415
            from quality_corpus_c import generate as generate_c  # noqa: PLC0415

            for fam in a.families.split(","):
                path = Path(tmp) / f"family{fam}.csv"
                pcsv.write_csv(generate_c(seed=a.seed) if fam == "C" else generate(fam, seed=a.seed), path)
                label = {"B": " (held out)", "C": " (stock titles)"}.get(fam, "")
                corpora.append((f"SYNTHETIC family {fam}{label}", path))
        for name, path in corpora:
            ids, caps, labels = read_labelled(path)
            label_of = ({} if labels is None else
                        dict(zip(ids.to_pylist(), [x or "" for x in labels.to_pylist()], strict=True)))
            text_of = dict(zip(ids.to_pylist(), caps.to_pylist(), strict=True))
            work = Path(tmp) / name.replace(" ", "_").replace("(", "").replace(")", "")
            work.mkdir()
            for ranker in a.rankers.split(","):
                per_class, times = run_chain(path, work, a.benchmark, ranker, a.datasets)
                s = score(per_class, label_of, classes)
                s.update(corpus=name, ranker=ranker, seconds={k: round(v, 1) for k, v in times.items()})
                results.append(s)
                if a.show:
                    for c in (a.show.split(",") if a.show != "all" else classes):
                        got = per_class.get(c, [])[:10]
                        n_true = sum(1 for lab in label_of.values() if lab == c)
                        print(f"== {c} ({ranker}, {name}; {n_true} true captions in the corpus)")
                        for v, sc in got:
                            print(f"   {sc:+.3f} {'+' if label_of.get(v) == c else '-'} {text_of[v][:90]}  "
                                  f"[{label_of.get(v)}]")
    if a.json:
        print(json.dumps(results, indent=1))
        return
    print(f"description quality, {a.benchmark} classes; {platform.machine()}, {os.cpu_count()} CPU(s)")
    print("| corpus | ranker | covered (>= 1 correct in top 10) | precision@10 | mostly wrong | rank s |")
    print("|---|---|---|---|---|---|")
    for s in results:
        print(f"| {s['corpus']} | {s['ranker']} | {s['covered']}/{s['classes_with_true']} ({100 * s['coverage']:.1f} "
              "%) "
              f"| {s['precision_at_10']:.3f} | {len(s['mostly_wrong'])} | {s['seconds']['rank']} |")
    for s in results:
        if s["mostly_wrong"] or s["missed"]:
            print(f"{s['corpus']} / {s['ranker']}: mostly wrong: {', '.join(s['mostly_wrong']) or '-'}; "
                  f"missed: {', '.join(s['missed']) or '-'}")


if __name__ == "__main__":
    main()
