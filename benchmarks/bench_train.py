"""Training and evaluation throughput of CoCo on a Kinetics-ZSAR-sized SYNTHETIC set.

212,577 training videos x 2048-d features (TSM-sized), 400 seen / 160 unseen classes,
768-d class text features (BERT-sized), batch 512, CIM on. Prints samples/s.
The accuracy it reaches is meaningless (synthetic); only the speed is measured.

``--load`` prints the thread table of docs/training.md#threads instead: training samples/s with 1
thread, 2 threads spinning while they wait (torch's default before ActionHub set a wait policy)
and ``--threads auto``, on a quiet machine and with a CPU hog beside it (each in a fresh process,
since torch reads the wait policy when it starts).

    .venv/bin/python benchmarks/bench_train.py [--epochs 1] [--device cpu] [--threads auto]
    .venv/bin/python benchmarks/bench_train.py --load [--train-videos 25600] [--repeat 2]
"""
from __future__ import annotations

import argparse
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import replace

import numpy as np

#: the environment as the user started this script (importing actionhub changes OMP_WAIT_POLICY)
ENV = dict(os.environ)

import actionhub  # noqa: E402, F401 - before torch, as the CLI does: it sets OMP_WAIT_POLICY=PASSIVE unless set

# isort: split
import torch  # noqa: E402 - after the environment is saved and actionhub set the wait policy

from actionhub.config import OptimConfig, TrainConfig  # noqa: E402
from actionhub.demo.synthetic import SyntheticSpec, SyntheticWorld  # noqa: E402
from actionhub.engine.evaluate import evaluate  # noqa: E402
from actionhub.engine.inputs import RunInputs  # noqa: E402
from actionhub.engine.trainer import train_run  # noqa: E402
from actionhub.features import FeatureSet  # noqa: E402
from actionhub.models.coco.model import CoCo  # noqa: E402

N_TRAIN, N_TEST, D_V, D_T = 212_577, 14_125, 2048, 768
#: (label, --threads, OMP_WAIT_POLICY) of the --load table's columns
SETTINGS = (("1 thread", "1", None), ("2 threads, spinning", "2", "ACTIVE"), ("auto", "auto", None))


def measure(a: argparse.Namespace) -> None:
    seen = [f"seen_{i:03d}" for i in range(400)]
    unseen = [f"unseen_{i:03d}" for i in range(160)]
    world = SyntheticWorld(seen + unseen, SyntheticSpec(visual_dim=D_V, text_dim=D_T, descriptions_per_class=100))
    t0 = time.perf_counter()
    per_class = -(-a.train_videos // len(seen))
    full = world.videos(seen, per_class, seed=1, tag="bench-train")
    keep = np.sort(np.random.default_rng(0).choice(len(full), a.train_videos, replace=False))
    train = FeatureSet(np.ascontiguousarray(full.features[keep]), full.labels[keep], full.videos[keep], full.source,
                       full.meta)
    del full
    test = world.videos(unseen, -(-N_TEST // len(unseen)), seed=2, tag="bench-test")
    text = world.class_text()
    print(f"generated SYNTHETIC data in {time.perf_counter() - t0:.1f}s: train {train.features.shape}, "
          f"test {test.features.shape}, text dim {text.dim}")

    inp = RunInputs(benchmark="synthetic-kinetics-zsar-sized", split=0, seen=seen, val=(), unseen=unseen,
                    train=train, test=test, text=text, data_info={"synthetic": True})
    cfg = TrainConfig(optim=replace(OptimConfig(), epochs=a.epochs, val_classes=0), device=a.device)
    with tempfile.TemporaryDirectory() as td:
        t0 = time.perf_counter()
        rec = train_run(cfg, inp, td, progress=not a.no_progress, threads=a.threads)
        wall = time.perf_counter() - t0
    n = len(train) * a.epochs
    print(f"train: {n:,} samples in {wall:.1f}s (incl. final test evaluation) -> {n / wall:,.0f} samples/s")
    print(f"steps: {n / rec['seconds']['steps']:,.0f} samples/s ({rec['threads']['threads']} threads: "
          f"{rec['threads']['why']}; wait {rec['threads']['wait']})")
    if a.steps_only:
        return
    model = CoCo(D_V, D_T, cfg.model).to(a.device)
    reps = 3
    t0 = time.perf_counter()
    for _ in range(reps):
        evaluate(model, test, unseen, text, cfg.model.k, a.device)
    ev = time.perf_counter() - t0
    print(f"evaluate: {len(test) * reps:,} videos x {len(unseen)} classes in {ev:.2f}s -> "
          f"{len(test) * reps / ev:,.0f} videos/s")
    print(f"machine: {platform.processor() or platform.machine()}, torch threads {torch.get_num_threads()}, "
          f"device {a.device}")
    print(f"(SYNTHETIC data; test top-1 {rec['metrics']['test']['top1']:.1f} is not a result)")


def thread_table(a: argparse.Namespace) -> None:
    """The --load table: each setting in a fresh process, quiet and beside a CPU hog."""
    print(f"training samples/s, {a.train_videos:,} SYNTHETIC Kinetics-sized videos, batch 512, "
          f"{os.cpu_count()} CPUs ({platform.processor() or platform.machine()})")
    rows: dict[tuple[str, bool], list[float]] = {}
    for _ in range(a.repeat):
        for label, threads, policy in SETTINGS:
            for load in (False, True):
                env = {k: v for k, v in ENV.items() if k not in ("OMP_NUM_THREADS", "OMP_WAIT_POLICY")}
                env.update({"OMP_WAIT_POLICY": policy} if policy else {})
                cmd = [sys.executable, __file__, "--train-videos", str(a.train_videos), "--threads", threads,
                       "--no-progress", "--steps-only"]
                hog = subprocess.Popen([sys.executable, "-c", "while True: pass"]) if load else None
                try:
                    out = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True).stdout
                finally:
                    if hog is not None:
                        hog.kill()
                        hog.wait()
                rate = float(re.search(r"steps: ([\d,]+) samples/s", out).group(1).replace(",", ""))
                rows.setdefault((label, load), []).append(rate)
                print(f"  {label:22s} {'with a CPU hog' if load else 'quiet':14s} {rate:8,.0f} samples/s", flush=True)
    print("\n| threads | quiet | with a CPU hog |\n|---|---|---|")
    for label, _, _ in SETTINGS:
        print(f"| {label} | {np.median(rows[(label, False)]):,.0f} | {np.median(rows[(label, True)]):,.0f} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--train-videos", type=int, default=N_TRAIN)
    ap.add_argument("--threads", default="auto", help="N or auto (default)")
    ap.add_argument("--load", action="store_true", help="print the thread table: 1 / 2 spinning / auto threads, "
                                                         "quiet and with a CPU hog beside")
    ap.add_argument("--repeat", type=int, default=1, help="with --load: measurements per cell (the median is shown)")
    ap.add_argument("--no-progress", action="store_true")
    ap.add_argument("--steps-only", action="store_true", help=argparse.SUPPRESS)   # a cell of --load
    a = ap.parse_args()
    if a.load:
        thread_table(a)
    else:
        measure(a)


if __name__ == "__main__":
    main()
