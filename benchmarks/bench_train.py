"""Training and evaluation throughput of CoCo on a Kinetics-ZSAR-sized SYNTHETIC set.

212,577 training videos x 2048-d features (TSM-sized), 400 seen / 160 unseen classes,
768-d class text features (BERT-sized), batch 512, CIM on. Prints samples/s.
The accuracy it reaches is meaningless (synthetic); only the speed is measured.

    .venv/bin/python benchmarks/bench_train.py [--epochs 1] [--device cpu]
"""
from __future__ import annotations

import argparse
import platform
import tempfile
import time
from dataclasses import replace

import numpy as np
import torch

from actionhub.config import OptimConfig, TrainConfig
from actionhub.demo.synthetic import SyntheticSpec, SyntheticWorld
from actionhub.engine.evaluate import evaluate
from actionhub.engine.inputs import RunInputs
from actionhub.engine.trainer import train_run
from actionhub.features import FeatureSet
from actionhub.models.coco.model import CoCo

N_TRAIN, N_TEST, D_V, D_T = 212_577, 14_125, 2048, 768


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--train-videos", type=int, default=N_TRAIN)
    a = ap.parse_args()

    seen = [f"seen_{i:03d}" for i in range(400)]
    unseen = [f"unseen_{i:03d}" for i in range(160)]
    world = SyntheticWorld(seen + unseen, SyntheticSpec(visual_dim=D_V, text_dim=D_T, descriptions_per_class=100))
    t0 = time.perf_counter()
    per_class = -(-a.train_videos // len(seen))
    full = world.videos(seen, per_class, seed=1, tag="bench-train")
    keep = np.sort(np.random.default_rng(0).choice(len(full), a.train_videos, replace=False))
    train = FeatureSet(np.ascontiguousarray(full.features[keep]), full.labels[keep], full.videos[keep], full.source, full.meta)
    del full
    test = world.videos(unseen, -(-N_TEST // len(unseen)), seed=2, tag="bench-test")
    text = world.class_text()
    print(f"generated SYNTHETIC data in {time.perf_counter() - t0:.1f}s: train {train.features.shape}, "
          f"test {test.features.shape}, text dim {text.dim}")

    inp = RunInputs(benchmark="synthetic-kinetics-zsar-sized", split=0, seen=seen, val=(), unseen=unseen,
                    train=train, test=test, text=text, data_info={"synthetic": True})
    cfg = TrainConfig(optim=replace(OptimConfig(), epochs=a.epochs), device=a.device)
    with tempfile.TemporaryDirectory() as td:
        t0 = time.perf_counter()
        rec = train_run(cfg, inp, td, progress=True)
        wall = time.perf_counter() - t0
    n = len(train) * a.epochs
    print(f"train: {n:,} samples in {wall:.1f}s (incl. final test evaluation) -> {n / wall:,.0f} samples/s")

    model = CoCo(D_V, D_T, cfg.model).to(a.device)
    reps = 3
    t0 = time.perf_counter()
    for _ in range(reps):
        evaluate(model, test, unseen, text, cfg.model.k, a.device)
    ev = time.perf_counter() - t0
    print(f"evaluate: {len(test) * reps:,} videos x {len(unseen)} classes in {ev:.2f}s -> {len(test) * reps / ev:,.0f} videos/s")
    print(f"machine: {platform.processor() or platform.machine()}, torch threads {torch.get_num_threads()}, device {a.device}")
    print(f"(SYNTHETIC data; test top-1 {rec['metrics']['test']['top1']:.1f} is not a result)")


if __name__ == "__main__":
    main()
