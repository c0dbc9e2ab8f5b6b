"""What the demo runs: the protocols and splits, and the SYNTHETIC inputs of each run (real class
lists and splits, generated video and text features)."""
from __future__ import annotations

from actionhub.demo.synthetic import SYNTHETIC_NOTE, SyntheticSpec, SyntheticWorld
from actionhub.engine.inputs import RunInputs
from actionhub.protocols import get_benchmark

# (benchmark, splits, synthetic videos per seen class, per val/unseen class)
DEMO_PLAN = (
    ("ucf101", (0, 1, 2), 24, 12),
    ("hmdb51", (0, 1, 2), 24, 12),
    ("kinetics-zsar", (0, 1, 2), 12, 8),
)


def demo_world(bench_name: str) -> SyntheticWorld:
    """The SYNTHETIC world of a benchmark's demo runs (the report reuses it)."""
    return SyntheticWorld(get_benchmark(bench_name).classes, SyntheticSpec(seed=0))


def synthetic_inputs(bench_name: str, split: int, world: SyntheticWorld, n_seen: int, n_eval: int) -> RunInputs:
    """RunInputs of one split of a real protocol with SYNTHETIC features."""
    bench = get_benchmark(bench_name)
    sp = bench.split(split)
    train = world.videos(sp.seen, n_seen, seed=1000 + split, tag=f"{bench_name}-train")
    test = world.videos(sp.unseen, n_eval, seed=2000 + split, tag=f"{bench_name}-test")
    val = world.videos(sp.val, n_eval, seed=3000 + split, tag=f"{bench_name}-val") if sp.val else None
    return RunInputs(
        benchmark=bench.name, split=split, seen=sp.seen, val=sp.val, unseen=sp.unseen,
        train=train, test=test, val_set=val, text=world.class_text(),
        select_epoch_on_val=bench.select_epoch_on_val,
        data_info={"features": f"synthetic:{bench_name}", "eval_features": f"synthetic:{bench_name}",
                   "text_features": "synthetic", "cim_pool": "unseen classes of the split",
                   "synthetic": True, "note": SYNTHETIC_NOTE},
    )
