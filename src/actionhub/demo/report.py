"""The demo's report: baselines, ablation sweeps and the full report on the demo's
SYNTHETIC runs (see :mod:`actionhub.demo.run`).

Given the demo directory (CoCo runs in ``<demo>/runs/<bench>_split<i>``) it trains, on
exactly the same synthetic inputs and with the same epochs and batch size:

* every baseline on every demo benchmark and split
  (``<demo>/report_runs/baselines/<method>/<bench>_split<i>``);
* GZSL runs of every method on kinetics-zsar split 0 (``report_runs/gzsl/...``);
* the ablation sweeps on kinetics-zsar split 0 only, to stay within minutes on a laptop
  (``report_runs/sweeps/{class_text_cim,k,alpha}``): class text x CIM (Table 4, Fig. 10,
  the models of Fig. 11-12), k for VC-only and AD+VC (Fig. 8), alpha (Fig. 9);

then renders ``<demo>/report/report.md`` and its figures. Finished runs are reused, so
a second call only re-renders.
"""
from __future__ import annotations

import logging
import time
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable

from actionhub.config import TrainConfig
from actionhub.demo.plan import DEMO_PLAN, demo_world, synthetic_inputs
from actionhub.demo.synthetic import SyntheticWorld
from actionhub.engine.gzsl import holdout_seen
from actionhub.engine.inputs import RunInputs
from actionhub.engine.sweep import run_sweep
from actionhub.engine.trainer import train_run
from actionhub.evaluation.results import load_run
from actionhub.report.build import build_report
from actionhub.report.tables import method_title
from actionhub.utils.errors import UserError

log = logging.getLogger(__name__)

DEMO_BASELINES = ("devise", "ale", "sje", "dem", "eszsl", "er-vse")
SWEEP_BENCHMARK, SWEEP_SPLIT = "kinetics-zsar", 0
DEMO_SWEEPS: dict[str, list[tuple[str, list[Any]]]] = {
    "class_text_cim": [("class-text", ["ad", "vc", "ad+vc"]), ("cim", [True, False])],
    "k": [("k", [5, 10, 25, 50, 100, 200]), ("class-text", ["vc", "ad+vc"])],
    "alpha": [("alpha", [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9])],
}


def demo_report(demo_dir: str | Path, say: Callable[[str], None] = print, progress: bool = False) -> Path:
    """Train the baselines and ablations on the demo's SYNTHETIC inputs and render the
    report into ``<demo_dir>/report/``. Returns the path of report.md."""
    t0 = time.perf_counter()
    root = Path(demo_dir)
    extra = root / "report_runs"
    cache: dict[tuple[str, int], RunInputs] = {}
    worlds: dict[str, SyntheticWorld] = {}
    plan = {b: (splits, n_seen, n_eval) for b, splits, n_seen, n_eval in DEMO_PLAN}

    def inputs(bench: str, split: int) -> RunInputs:
        if bench not in worlds:
            worlds[bench] = demo_world(bench)
        if (bench, split) not in cache:
            _, n_seen, n_eval = plan[bench]
            cache[(bench, split)] = synthetic_inputs(bench, split, worlds[bench], n_seen, n_eval)
        return cache[(bench, split)]

    main_dirs: list[Path] = []
    base_cfg: dict[str, TrainConfig] = {}
    for bench, (splits, _, _) in plan.items():
        for split in splits:
            run_dir = root / "runs" / f"{bench}_split{split}"
            if not (run_dir / "run.json").exists():
                raise UserError(f"{run_dir} not found: run `actionhub demo --out {root}` first")
            rec = load_run(run_dir)
            if rec["protocol"]["num_train_videos"] != len(inputs(bench, split).train):
                raise UserError(f"{run_dir} was trained on other synthetic inputs than this version of the demo "
                                "makes; rerun `actionhub demo` into a fresh --out directory")
            base_cfg.setdefault(bench, TrainConfig.from_dict(rec["config"]))
            main_dirs.append(run_dir)

    say(f"baselines on {', '.join(plan)} (SYNTHETIC):")
    for method in DEMO_BASELINES:
        t_m = time.perf_counter()
        accs = []
        for bench, (splits, _, _) in plan.items():
            for split in splits:
                cfg = replace(base_cfg[bench], method=method)
                run_dir = extra / "baselines" / method / f"{bench}_split{split}"
                rec = train_run(cfg, inputs(bench, split), run_dir, progress=progress)
                accs.append(f"{bench} {split}: {rec['metrics']['test']['top1']:.1f}")
                main_dirs.append(run_dir)
        say(f"  {method_title(method)} top-1 [{'; '.join(accs)}] ({time.perf_counter() - t_m:.1f}s) [SYNTHETIC]")

    say(f"GZSL on {SWEEP_BENCHMARK} split {SWEEP_SPLIT} (20% of each seen class held out, SYNTHETIC):")
    g_inp = holdout_seen(inputs(SWEEP_BENCHMARK, SWEEP_SPLIT))
    for method in ("coco",) + DEMO_BASELINES:
        cfg = replace(base_cfg[SWEEP_BENCHMARK], method=method)
        run_dir = extra / "gzsl" / method / f"{SWEEP_BENCHMARK}_split{SWEEP_SPLIT}"
        rec = train_run(cfg, g_inp, run_dir, progress=progress)
        g = rec["metrics"]["gzsl"]
        say(f"  {method_title(method)}: seen {g['acc_seen']:.1f}  unseen {g['acc_unseen']:.1f}  H {g['h']:.1f} [SYNTHETIC]")
        main_dirs.append(run_dir)

    sweep_dirs = []
    for name, params in DEMO_SWEEPS.items():
        say(f"sweep {name} on {SWEEP_BENCHMARK} split {SWEEP_SPLIT} (SYNTHETIC):")
        out = extra / "sweeps" / name
        run_sweep(base_cfg[SWEEP_BENCHMARK], params, [SWEEP_SPLIT], lambda s: inputs(SWEEP_BENCHMARK, s), out,
                  benchmark=SWEEP_BENCHMARK, data={"synthetic": True, "features": f"synthetic:{SWEEP_BENCHMARK}"},
                  progress=progress, say=say)
        sweep_dirs.append(out)

    train_s = time.perf_counter() - t0
    epochs = base_cfg[SWEEP_BENCHMARK].optim.epochs
    notes = [
        "SYNTHETIC demo: every run uses generated features on the real class lists and splits "
        "(`actionhub demo`); baselines use the same inputs, epochs and batch size as CoCo.",
        f"Ablation sweeps (Table 4, Fig. 8-12) and GZSL use {SWEEP_BENCHMARK} split {SWEEP_SPLIT} only "
        f"({epochs} epochs) to keep the demo within minutes; the method table uses every demo split.",
    ]
    say("rendering the report:")
    path = build_report(main_dirs + sweep_dirs, root / "report",
                        inputs_for=lambda rec: inputs(rec["benchmark"], rec["split"]), notes=notes, say=say)
    say(f"report: {path} (training {train_s:.0f}s, total {time.perf_counter() - t0:.0f}s)")
    return path
