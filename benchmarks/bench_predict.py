"""`actionhub predict` at scale, on SYNTHETIC data: descriptions on the fly, pre-extracted features, decoding.

(a) ``--part a``: class text for ``--actions`` (20) new action names from a SYNTHETIC WebVid-style caption
    corpus of ``--n`` captions (:mod:`actionhub.demo.synthcaptions`) whose BM25 index is cached (built
    first if it is not, and timed apart): queries as ``vocab`` builds them, the ``local`` provider's
    search, ``rank``'s ranking, the top ``--k`` (100) encoded with MiniLM. Run end to end in a fresh
    Python process (interpreter start and imports included), once with an empty encoded-text cache and
    once with the cache that run filled.
(b) ``--part b``: ``predict --features`` over ``--features`` (50,000) ``.npy`` files of ``--dim`` (512)
    random floats, as ``extract`` lays them out, scored for ``--classes`` (400) actions by a CoCo model
    with random weights (the scores are meaningless; the throughput is what is measured), written to
    ``--out preds.parquet``. Twice: first with the files dropped from the page cache (read from disk),
    then from the page cache.
(c) ``--part c``: the decoding path against ``actionhub extract`` on the same ``--videos`` SYNTHETIC clips
    (EfficientNet-Lite0, ``--sampling``): extract's videos/s, then predict's with a random CoCo model on
    the same backbone, with the next batch decoded in a second thread and without (``DECODE_AHEAD``).

Everything here is SYNTHETIC (generated captions, random features and weights): the figures are speed,
never accuracy. Work files go to ``--workdir`` (reused between runs: the corpus, its index, the
feature files, the clips).

    .venv/bin/python benchmarks/bench_predict.py [--part a b c] [--n 1000000] [--threads 1]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

PART_A = r"""
import json, sys, time
t0 = time.perf_counter()
import torch
if {threads}:
    torch.set_num_threads({threads})
from actionhub.dataset.describe import describe_actions
from actionhub.text.build import build_class_text
names = json.loads(sys.argv[1])
t1 = time.perf_counter()
d = describe_actions(names, corpus=sys.argv[2], k={k})
t2 = time.perf_counter()
ct = build_class_text(names, {{n: n for n in names}}, d.table, "minilm", {k}, cache=sys.argv[3], progress=False)
t3 = time.perf_counter()
print(json.dumps({{"imports": t1 - t0, **{{"describe_" + s: v for s, v in d.seconds.items()}}, "describe": t2 - t1,
                  "encode": t3 - t2, "descriptions": int(ct.num_descriptions().sum()),
                  "without": d.without, "index_from_cache": d.index_from_cache}}))
"""


def machine() -> str:
    return f"{platform.platform()}, {os.cpu_count()} CPU(s), load average {os.getloadavg()[0]:.1f}"


def part_a(a: argparse.Namespace, work: Path) -> None:
    from actionhub.dataset.collect.local import LocalProvider
    from actionhub.dataset.vocab import build_vocabulary, label_names
    from actionhub.demo.synthcaptions import write_synthetic_corpus

    corpus = work / f"corpus_{a.n}.csv"
    if not corpus.is_file():
        t0 = time.perf_counter()
        write_synthetic_corpus(corpus, a.n, [q.query for q in build_vocabulary()])
        print(f"(a) wrote the SYNTHETIC corpus {corpus} ({a.n:,} captions) in {time.perf_counter() - t0:.1f} s")
    t0 = time.perf_counter()
    prov = LocalProvider(corpus)
    state = "was cached" if prov.index_from_cache else "built now"
    index_mb = sum(f.stat().st_size for f in Path(prov.cache_path).rglob("*") if f.is_file()) / 1e6
    print(f"(a) BM25 index of {a.n:,} captions {state}: {time.perf_counter() - t0:.1f} s "
          f"({index_mb:.0f} MB: its segments hold the postings and the captions)")
    prov.close()
    del prov
    kinetics = label_names("kinetics700")
    names = [kinetics[i] for i in range(0, len(kinetics), len(kinetics) // a.actions)][:a.actions]
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    with tempfile.TemporaryDirectory() as cache:
        for label in ("empty encoded-text cache", "filled cache (rerun)"):
            t0 = time.perf_counter()
            res = subprocess.run([sys.executable, "-c", PART_A.format(k=a.k, threads=a.threads or 0),
                                  json.dumps(names), str(corpus), cache], capture_output=True, text=True, env=env)
            wall = time.perf_counter() - t0
            if res.returncode:
                raise SystemExit(res.stderr)
            r = json.loads(res.stdout.strip().splitlines()[-1])
            print(f"(a) {len(names)} actions, k={a.k}, {a.n:,}-caption SYNTHETIC corpus, {label}: end to end "
                  f"{wall:.1f} s = start + imports {r['imports']:.1f} s, queries {r['describe_queries']:.1f} s, "
                  f"search {r['describe_search']:.1f} s, rank {r['describe_rank']:.1f} s, encode "
                  f"{r['descriptions']} descriptions {r['encode']:.1f} s; index from cache: {r['index_from_cache']}"
                  + (f"; nothing found for {r['without']}" if r["without"] else ""))


def fake_run(run: Path, visual_dim: int, backbone: str, sampling: str) -> Path:
    """A CoCo run folder with RANDOM weights (throughput only), laid out as `actionhub train` leaves it."""
    import torch

    from actionhub.config import ModelConfig
    from actionhub.engine.checkpoint import save_model
    from actionhub.models.coco.model import CoCo

    run.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    cfg = ModelConfig()
    model = CoCo(visual_dim, 384, cfg)
    save_model(run / "model.pt", model, visual_dim=visual_dim, text_dim=384, model_config=cfg.__dict__,
               method="coco", method_params={}, benchmark="bench", split=0)
    (run / "run.json").write_text(json.dumps({
        "config": {"method": "coco", "model": {"k": cfg.k}},
        "data": {"synthetic": True, "note": "SYNTHETIC: random weights (bench_predict)", "visual_dim": visual_dim,
                 "text_dim": 384, "feature_meta": {"backbone": backbone, "sampling": sampling},
                 "text_meta": {"encoder": "minilm"}}}))
    return run


def part_b(a: argparse.Namespace, work: Path) -> None:
    from actionhub.dataset.vocab import build_vocabulary
    from actionhub.engine.predict import predict

    feats = work / f"features_{a.features}x{a.dim}"
    if not (feats / "index.jsonl").is_file():
        feats.mkdir(parents=True, exist_ok=True)
        rng = np.random.default_rng(0)
        t0 = time.perf_counter()
        for i in range(a.features):
            np.save(feats / f"v{i:06d}.npy", rng.standard_normal(a.dim).astype(np.float32))
        (feats / "meta.json").write_text(json.dumps({"backbone": "bench-random", "dim": a.dim, "sampling": "segments:8",
                                                     "note": "SYNTHETIC random features"}))
        (feats / "index.jsonl").write_text("".join(json.dumps({"video": f"v{i:06d}", "path": f"videos/v{i:06d}.mp4",
                                                               "label": None}) + "\n" for i in range(a.features)))
        print(f"(b) wrote {a.features:,} SYNTHETIC feature files in {time.perf_counter() - t0:.1f} s")
    run = fake_run(work / f"run_{a.dim}", a.dim, "bench-random", "segments:8")
    names = [q.query for q in build_vocabulary()][:a.classes]
    for attempt in ("files not in the page cache", "files in the page cache"):
        if attempt.startswith("files not"):
            evict(feats)
        out = work / "preds_b.parquet"
        t0 = time.perf_counter()
        res = predict(features=feats, checkpoint=run, actions=names, out=out, overwrite=True, top=5,
                      explain=a.explain, cache=work / "text_cache", progress=False)
        wall = time.perf_counter() - t0
        s = res.summary
        print(f"(b) {a.features:,} feature files x {len(names)} actions ({attempt}"
              + (f", --explain {a.explain}" if a.explain else "") + f"): {s['videos_per_second']:,.0f} videos/s "
              f"scoring (read + score + rows + parts), {s['scoring_seconds']:.1f} s; end to end {wall:.1f} s "
              f"(text, model, final file) [SYNTHETIC features, random weights]")


def evict(folder: Path) -> None:
    """Drop the files of ``folder`` from the page cache (``posix_fadvise DONTNEED``), so they are read from disk."""
    for p in folder.iterdir():
        fd = os.open(p, os.O_RDONLY)
        try:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)


def part_c(a: argparse.Namespace, work: Path) -> None:
    from actionhub.demo.synthclips import write_clip
    from actionhub.engine import predict_loop
    from actionhub.engine.predict import predict
    from actionhub.video.backbones import get_backbone
    from actionhub.video.decode import parse_sampling
    from actionhub.video.extract import extract_features

    clips = work / f"clips_{a.videos}"
    if not clips.is_dir():
        for i in range(a.videos):
            write_clip(clips / f"clip{i:04d}.mp4", 96, 320, 240)
    sampling = parse_sampling(a.sampling).name
    run = fake_run(work / f"run_1280_{sampling.replace(':', '_')}", 1280, "efficientnet-lite0", sampling)
    get_backbone("efficientnet-lite0", "cpu")   # loaded once, outside the timings
    names = ["riding a horse", "playing guitar", "eating", "running", "dancing"]
    rows = []
    for _ in range(a.repeat):
        with tempfile.TemporaryDirectory() as td:
            ex = extract_features(clips, Path(td) / "f", sampling=sampling, batch_size=a.batch_size, progress=False)
            rows.append(("extract", ex.videos_per_second))
            for ahead in (True, False):
                predict_loop.DECODE_AHEAD = ahead
                res = predict(clips, run, names, sampling=sampling, batch_size=a.batch_size,
                              out=Path(td) / f"p{ahead}.parquet", cache=work / "text_cache", progress=False)
                rows.append((f"predict, decode {'ahead' if ahead else 'inline'}", res.summary["videos_per_second"]))
    predict_loop.DECODE_AHEAD = None
    ext = np.median([v for n, v in rows if n == "extract"])
    for name in ("extract", "predict, decode ahead", "predict, decode inline"):
        vals = [v for n, v in rows if n == name]
        med = float(np.median(vals))
        print(f"(c) {a.videos} SYNTHETIC clips (96 frames, 320x240, mpeg4), {sampling}, EfficientNet-Lite0: "
              f"{name:<24} {med:6.2f} videos/s (runs: {', '.join(f'{v:.2f}' for v in vals)})"
              + (f" = {med / ext:.2f}x extract" if name != "extract" else ""))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--part", nargs="+", choices=("a", "b", "c"), default=["a", "b", "c"])
    ap.add_argument("--workdir", default="runs/bench_predict")
    ap.add_argument("--threads", type=int, help="torch CPU threads (default: torch's choice)")
    ap.add_argument("--n", type=int, default=1_000_000, help="(a) captions in the corpus (the issue asks 10,000,000)")
    ap.add_argument("--actions", type=int, default=20, help="(a) new action names")
    ap.add_argument("--k", type=int, default=100, help="(a) descriptions kept per action")
    ap.add_argument("--features", type=int, default=50_000, help="(b) feature files")
    ap.add_argument("--dim", type=int, default=512, help="(b) feature dimension")
    ap.add_argument("--classes", type=int, default=400, help="(b) actions scored")
    ap.add_argument("--explain", type=int, default=0, help="(b) --explain N")
    ap.add_argument("--videos", type=int, default=24, help="(c) clips")
    ap.add_argument("--sampling", default="segments:8", help="(c) frame sampling")
    ap.add_argument("--batch-size", type=int, default=8, help="(c) videos decoded and encoded together")
    ap.add_argument("--repeat", type=int, default=2, help="(c) repetitions (medians are printed)")
    a = ap.parse_args()
    import torch

    if a.threads:
        torch.set_num_threads(a.threads)
    work = Path(a.workdir)
    work.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    print(f"machine: {machine()}, torch threads {torch.get_num_threads()}; all data SYNTHETIC")
    for part, fn in (("a", part_a), ("b", part_b), ("c", part_c)):
        if part in a.part:
            fn(a, work)


if __name__ == "__main__":
    main()
