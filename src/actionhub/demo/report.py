"""The demo's report: baselines, ablation sweeps and the full report on the demo's
SYNTHETIC runs (see :mod:`actionhub.demo.run`).

Given the demo directory (CoCo runs in ``<demo>/runs/<bench>_split<i>``) and the demo's plan
(``[report]`` of ``plan.toml``, :mod:`actionhub.demo.plan`) it trains, on exactly the same
synthetic inputs and with the same epochs and batch size:

* every baseline of the plan on every demo benchmark and split
  (``<demo>/report_runs/baselines/<method>/<bench>_split<i>``);
* GZSL runs of CoCo and every baseline on the plan's sweep recipe and split
  (``report_runs/gzsl/...``);
* the plan's ablation sweeps on that one split, to stay within minutes on a laptop
  (``report_runs/sweeps/<name>``; the packaged plan: class text x CIM (Table 4, Fig. 10,
  the models of Fig. 11-12), k for VC-only and AD+VC (Fig. 8), alpha (Fig. 9));

then renders ``<demo>/report/report.md`` and its figures. Finished runs are reused, so
a second call only re-renders.
"""
from __future__ import annotations

import logging
import time
from dataclasses import replace
from pathlib import Path
from typing import Callable

from actionhub.config import TrainConfig
from actionhub.demo.plan import DemoPlan, load_plan, recipe_inputs, recipe_world
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


def demo_report(demo_dir: str | Path, plan: str | Path | DemoPlan | None = None,
                say: Callable[[str], None] = print, progress: bool = False) -> Path:
    """Train the baselines and ablations of ``plan`` (default: the packaged demo plan) on the
    demo's SYNTHETIC inputs and render the report into ``<demo_dir>/report/``. Returns the
    path of report.md."""
    t0 = time.perf_counter()
    root = Path(demo_dir)
    plan = plan if isinstance(plan, DemoPlan) else load_plan(plan)
    extra = root / "report_runs"
    cache: dict[tuple[str, int], RunInputs] = {}
    worlds: dict[str, SyntheticWorld] = {}

    def inputs(bench: str, split: int) -> RunInputs:
        recipe = plan.recipe_for(bench)
        if bench not in worlds:
            worlds[bench] = recipe_world(recipe)
        if (bench, split) not in cache:
            cache[(bench, split)] = recipe_inputs(recipe, split, worlds[bench])
        return cache[(bench, split)]

    main_dirs: list[Path] = []
    base_cfg: dict[str, TrainConfig] = {}
    for recipe in plan.runs:
        bench = recipe.benchmark
        for split in recipe.splits:
            run_dir = root / "runs" / f"{bench}_split{split}"
            if not (run_dir / "run.json").exists():
                raise UserError(f"{run_dir} not found: run `actionhub demo --out {root}` first")
            rec = load_run(run_dir)
            p = rec["protocol"]   # videos of val classes carved from the seen ones were training videos
            n_train = p["num_train_videos"] + (p["num_val_videos"] if "validation" in p else 0)
            if n_train != len(inputs(bench, split).train):
                raise UserError(f"{run_dir} was trained on other synthetic inputs than this version of the demo "
                                "makes; rerun `actionhub demo` into a fresh --out directory")
            base_cfg.setdefault(bench, TrainConfig.from_dict(rec["config"]))
            main_dirs.append(run_dir)

    benches = [r.benchmark for r in plan.runs]
    if plan.baselines:
        say(f"baselines on {', '.join(benches)} (SYNTHETIC):")
    for method in plan.baselines:
        t_m = time.perf_counter()
        accs = []
        for recipe in plan.runs:
            bench = recipe.benchmark
            for split in recipe.splits:
                cfg = replace(base_cfg[bench], method=method)
                run_dir = extra / "baselines" / method / f"{bench}_split{split}"
                rec = train_run(cfg, inputs(bench, split), run_dir, progress=progress)
                accs.append(f"{bench} {split}: {rec['metrics']['test']['top1']:.1f}")
                main_dirs.append(run_dir)
        say(f"  {method_title(method)} top-1 [{'; '.join(accs)}] ({time.perf_counter() - t_m:.1f}s) [SYNTHETIC]")

    sweep_dirs = []
    notes = ["SYNTHETIC demo: every run uses generated features on the real class lists and splits "
             "(`actionhub demo`); baselines use the same inputs, epochs and batch size as CoCo."]
    if plan.sweep_recipe is not None:
        sb, ss = plan.sweep_recipe.benchmark, plan.sweep_split
        say(f"GZSL on {sb} split {ss} (20% of each seen class held out, SYNTHETIC):")
        g_inp = holdout_seen(inputs(sb, ss))
        for method in ("coco",) + plan.baselines:
            cfg = replace(base_cfg[sb], method=method)
            run_dir = extra / "gzsl" / method / f"{sb}_split{ss}"
            rec = train_run(cfg, g_inp, run_dir, progress=progress)
            g = rec["metrics"]["gzsl"]
            say(f"  {method_title(method)}: seen {g['acc_seen']:.1f}  unseen {g['acc_unseen']:.1f}  "
                f"H {g['h']:.1f} [SYNTHETIC]")
            main_dirs.append(run_dir)

        for name, params in plan.sweeps.items():
            say(f"sweep {name} on {sb} split {ss} (SYNTHETIC):")
            out = extra / "sweeps" / name
            run_sweep(base_cfg[sb], params, [ss], lambda s: inputs(sb, s), out,
                      benchmark=sb, data={"synthetic": True, "features": f"synthetic:{sb}"},
                      progress=progress, say=say)
            sweep_dirs.append(out)
        notes.append(f"Ablation sweeps (Table 4, Fig. 8-12) and GZSL use {sb} split {ss} only "
                     f"({base_cfg[sb].optim.epochs} epochs) to keep the demo within minutes; the method table uses "
                     "every demo split.")

    train_s = time.perf_counter() - t0
    say("rendering the report:")
    path = build_report(main_dirs + sweep_dirs, root / "report",
                        inputs_for=lambda rec: inputs(rec["benchmark"], rec["split"]), notes=notes, say=say,
                        reported=True, overwrite=True)   # a rerun re-renders it from the reused runs
    say(f"report: {path} (training {train_s:.0f}s, total {time.perf_counter() - t0:.0f}s)")
    return path
