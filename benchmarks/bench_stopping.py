"""A user's default `actionhub train` on a 300/100-class benchmark with one video feature per class
(SYNTHETIC, built from random class prototypes): wall time, where training stopped and why, the
selected step, val and test top-1, the share of evaluations -- quiet, and with a CPU hog beside it.

The benchmark is a user JSON benchmark (400 classes: 300 seen, 100 unseen; no val classes, so 20 %
of the seen ones are carved), 2048-d video features (TSM-sized) and 768-d class text with 20
descriptions a class (BERT-sized). Class c has a random prototype z_c ~ N(0, I_64); its video is
(z_c + 1.5 e) A, its definition (z_c + 1.5 e) B and its descriptions (z_c + 3 e) B, with fixed
random A (64 x 2048), B (64 x 768). Every run is the CLI with all defaults, in a fresh process, as
a user starts it. ``--baseline-src`` runs another checkout's ``src`` (e.g. the code before early
stopping) the same way, for comparison. Figures: docs/training.md.

    .venv/bin/python benchmarks/bench_stopping.py [--threads auto,1] [--load] [--baseline-src DIR] [--repeat 2]
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

L, D_V, D_T, DESCRIPTIONS = 64, 2048, 768, 20
SRC = Path(__file__).resolve().parents[1] / "src"
#: the environment as the user started this script (importing actionhub here changes it)
ENV = dict(os.environ)


def build(out: Path, seed: int = 0) -> None:
    """The benchmark file, features and class text (SYNTHETIC) into ``out``."""
    sys.path.insert(0, str(SRC))
    from actionhub.features import FeatureSet, save_features
    from actionhub.text.class_text import ClassText

    rng = np.random.default_rng(seed)
    classes = [f"c{i:03d}" for i in range(400)]
    z = rng.normal(size=(400, L))
    a, b = rng.normal(size=(L, D_V)) / np.sqrt(L), rng.normal(size=(L, D_T)) / np.sqrt(L)
    x = (z + 1.5 * rng.normal(size=z.shape)) @ a
    ad = (z + 1.5 * rng.normal(size=z.shape)) @ b
    desc = ((z[:, None, :] + 3.0 * rng.normal(size=(400, DESCRIPTIONS, L))) @ b).reshape(-1, D_T)
    meta = {"synthetic": True}
    save_features(out / "feats.npz", FeatureSet(x.astype(np.float32), np.array(classes, dtype=object),
                                                np.array([f"v{i:03d}" for i in range(400)], dtype=object),
                                                source="prototypes", meta=meta))
    ClassText(classes, ad.astype(np.float32), desc.astype(np.float32), np.arange(401) * DESCRIPTIONS,
              meta=meta).save(out / "text.npz")
    (out / "bench.json").write_text(json.dumps({"name": "prototypes-300-100", "source": "SYNTHETIC prototypes",
                                                "splits": [{"seen": classes[:300], "val": [],
                                                            "unseen": classes[300:]}]}))


def train(data: Path, out: Path, src: Path, threads: str, load: bool) -> dict:
    """One default `actionhub train` in a fresh process (with a CPU hog beside it when ``load``)."""
    cli = "import sys; from actionhub.cli import main; sys.exit(main(sys.argv[1:]))"
    args = ["train", "--benchmark", str(data / "bench.json"), "--split", "0", "--features", str(data / "feats.npz"),
            "--text-features", str(data / "text.npz"), "--out", str(out), "--no-progress"]
    env = {**ENV, "PYTHONPATH": str(src)}
    if src == SRC:
        args += ["--threads", threads]
    elif threads != "auto":   # older code has no --threads ("auto": torch's default): the variable does it
        env["OMP_NUM_THREADS"] = threads
    hog = subprocess.Popen([sys.executable, "-c", "while True: pass"]) if load else None
    try:
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", cli, *args], env=env, check=True, capture_output=True, text=True)
        wall = time.perf_counter() - t0
    finally:
        if hog is not None:
            hog.kill()
            hog.wait()
    rec = json.loads((out / "run.json").read_text())
    secs = rec.get("seconds", {})
    return {"wall": wall, "steps": rec["steps_done"], "selected": rec["selected_step"],
            "val": rec["metrics"]["val"]["top1"], "test": rec["metrics"]["test"]["top1"],
            "eval_share": (secs["evaluation"] + secs["checkpoints"]) / rec["train_seconds"] if secs else None,
            "threads": rec.get("threads", {}).get("threads", "?"), "stop": rec["stop_reason"].split(":")[0]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", default="auto,1", help="comma-separated --threads values (default: auto,1)")
    ap.add_argument("--load", action="store_true", help="also run each with a CPU hog beside it")
    ap.add_argument("--baseline-src", type=Path, help="another checkout's src/ to compare with (run the same way)")
    ap.add_argument("--repeat", type=int, default=1)
    a = ap.parse_args()
    print("SYNTHETIC prototypes: the accuracies show where selection lands, not real accuracy")
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs")
    print(f"{'code':9s} {'threads':>7s} {'load':>5s} {'wall s':>7s} {'steps':>5s} {'sel.step':>8s} {'val':>6s} "
          f"{'test':>6s} {'eval+ckpt':>9s}  stop")
    with tempfile.TemporaryDirectory() as td:
        data = Path(td) / "data"
        data.mkdir()
        build(data)
        codes = [("this", SRC)] + ([("baseline", a.baseline_src.resolve())] if a.baseline_src else [])
        for _ in range(a.repeat):
            for load in ([False, True] if a.load else [False]):
                for name, src in codes:
                    for threads in a.threads.split(","):
                        r = train(data, Path(td) / f"run-{name}-{threads}-{load}", src, threads, load)
                        share = f"{100 * r['eval_share']:8.1f}%" if r["eval_share"] is not None else f"{'-':>9s}"
                        print(f"{name:9s} {threads:>7s} {'hog' if load else '-':>5s} {r['wall']:7.1f} {r['steps']:5d} "
                              f"{r['selected']:8d} {r['val']:6.1f} {r['test']:6.1f} {share}  {r['stop']}", flush=True)


if __name__ == "__main__":
    main()
