"""How much optimisation each method gets, and needs, on the shipped protocols' sizes (SYNTHETIC).

For splits the size of the reference check (300 training videos: one class prototype per seen
class, 300 seen / 100 unseen), of an HMDB51 split (26 seen classes x 133 videos, 25 unseen) and
of a UCF101 split (51 x 131, 50 unseen), it trains CoCo (with and without CIM), DEM and ALE for
several step budgets -- the old default (10 epochs at batch 512), fixed step counts, and the
auto schedule (``max(10 epochs, min_steps)``) -- on SYNTHETIC features
(:mod:`actionhub.demo.synthetic`), with 20 % of the seen classes carved for validation. It prints
per run: steps, the cycle loss of the first and last epoch (CoCo with CIM), the selected step,
val-class and unseen-class top-1, and seconds. Kinetics-ZSAR (212,577 training videos) is only
scheduled: 10 epochs already exceed the floor there.

The accuracies are SYNTHETIC (generated features): they show how far training gets with each
budget, not how well any method does on real video. Figures: docs/training.md.

    .venv/bin/python benchmarks/bench_schedule.py [--budgets old,300,auto,3000] [--methods coco,dem,ale]
"""
from __future__ import annotations

import argparse
import tempfile
import time
from dataclasses import replace

import torch

from actionhub.config import ModelConfig, OptimConfig, TrainConfig
from actionhub.demo.synthetic import SyntheticSpec, SyntheticWorld
from actionhub.engine.inputs import RunInputs
from actionhub.engine.schedule import plan_schedule
from actionhub.engine.trainer import train_run

#: name -> (seen classes, videos per seen class, unseen classes, test videos per unseen class)
SIZES = {
    "300-video split": (300, 1, 100, 3),
    "HMDB51-sized split": (26, 133, 25, 40),
    "UCF101-sized split": (51, 131, 50, 40),
}
KINETICS_TRAIN = 212_577


def inputs(size: str, seed: int = 0) -> RunInputs:
    n_seen, per, n_unseen, per_test = SIZES[size]
    seen = [f"s{i:03d}" for i in range(n_seen)]
    unseen = [f"u{i:03d}" for i in range(n_unseen)]
    world = SyntheticWorld(seen + unseen, SyntheticSpec(visual_dim=128, text_dim=64, descriptions_per_class=50,
                                                        seed=seed))
    return RunInputs(benchmark="synthetic", split=0, seen=seen, val=(), unseen=unseen,
                     train=world.videos(seen, per, seed=1), test=world.videos(unseen, per_test, seed=2),
                     text=world.class_text(), data_info={"synthetic": True, "features": f"synthetic:{size}"})


def config(method: str, budget: str) -> TrainConfig:
    model = ModelConfig(dim=128, k=20, cim=method != "coco-no-cim")
    optim = OptimConfig()   # the defaults: auto schedule, 20 % val classes, patience 10
    if budget == "old":
        optim = replace(optim, epochs=10)
    elif budget != "auto":
        optim = replace(optim, steps=int(budget))
    return TrainConfig(model=model, optim=optim, method="coco" if method.startswith("coco") else method)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--budgets", default="old,300,auto", help="old (10 epochs), auto, or step counts")
    ap.add_argument("--methods", default="coco,coco-no-cim,dem,ale")
    ap.add_argument("--sizes", default=",".join(SIZES))
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    print("SYNTHETIC features: figures show how far training gets, not real accuracy")
    oc = OptimConfig()
    for size in [*a.sizes.split(","), "Kinetics-ZSAR"]:
        n = KINETICS_TRAIN if size == "Kinetics-ZSAR" else SIZES[size][0] * SIZES[size][1]
        carved = n if size == "Kinetics-ZSAR" else n - round(0.2 * SIZES[size][0]) * SIZES[size][1]
        old, auto = plan_schedule(carved, replace(oc, epochs=10)), plan_schedule(carved, oc)
        print(f"{size}: {carved} training videos -> old default {old.total_steps} steps, auto {auto.total_steps} "
              f"({auto.rule})")
    print()
    print(f"{'split':20s} {'method':12s} {'budget':>6s} {'steps':>6s} {'l_cycle first->last':>20s} "
          f"{'sel.step':>8s} {'val top1':>8s} {'test top1':>9s} {'sec':>6s}  stop")
    for size in a.sizes.split(","):
        inp = inputs(size)
        for method in a.methods.split(","):
            for budget in a.budgets.split(","):
                t0 = time.perf_counter()
                with tempfile.TemporaryDirectory() as d:
                    rec = train_run(config(method, budget), inp, d, progress=False)
                h = rec["history"]
                cyc = (f"{h[0]['l_cycle']:.2f} -> {h[-1]['l_cycle']:.2f}" if h and "l_cycle" in h[0] else "-")
                print(f"{size:20s} {method:12s} {budget:>6s} {rec['steps_done']:6d} {cyc:>20s} "
                      f"{rec['selected_step']:8d} {rec['metrics']['val']['top1']:8.1f} "
                      f"{rec['metrics']['test']['top1']:9.1f} {time.perf_counter() - t0:6.1f}  "
                      f"{'early stop' if rec['stop_reason'].startswith('early') else 'schedule'}", flush=True)


if __name__ == "__main__":
    main()
