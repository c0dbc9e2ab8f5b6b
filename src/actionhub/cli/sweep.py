"""`actionhub sweep`: a grid of training runs (k, alpha, class text, CIM, ...) over splits."""
from __future__ import annotations

import argparse
from pathlib import Path

from actionhub.cli.common import (
    CliError,
    add_config_flags,
    add_progress_flag,
    add_recipe_flag,
    add_threads_flag,
    config_overrides,
)
from actionhub.cli.train import add_data_flags, add_method_flags


def run(a: argparse.Namespace) -> int:
    from actionhub.api import check_out_off_inputs, check_split, resolve_run, run_inputs
    from actionhub.engine.sweep import format_sweep, parse_param, run_sweep
    from actionhub.models.registry import parse_method_params

    check_out_off_inputs(a.out, features=a.features, text_features=a.text_features, eval_features=a.eval_features,
                         video_list=a.video_list, eval_video_list=a.eval_video_list, labels=a.labels,
                         eval_labels=a.eval_labels, cim_pool=a.cim_pool)

    params = [parse_param(p) for p in a.param]
    run = resolve_run(a.benchmark, recipe=a.config, method=a.method,
                      method_params=parse_method_params(a.method_param) or None, overrides=config_overrides(a))
    if a.splits is not None:
        try:
            splits = [int(s) for s in a.splits.split(",") if s.strip()]
        except ValueError:
            raise CliError(f"--splits {a.splits}: give comma-separated split indices, e.g. 0,1,2") from None
    else:
        splits = list(run.recipe.splits) if run.recipe is not None and run.recipe.splits else [0]
    for s in splits:
        check_split(run, s)

    def make_inputs(split: int):
        return run_inputs(run, split, features=a.features, text_features=a.text_features,
                          eval_features=a.eval_features, video_list=a.video_list, eval_video_list=a.eval_video_list,
                          labels=a.labels, eval_labels=a.eval_labels, cim_pool=a.cim_pool, gzsl=a.gzsl,
                          gzsl_holdout=a.gzsl_holdout)

    if run.synthetic and a.features is None:
        data = {"synthetic": True, "features": f"synthetic:{run.benchmark.name}",
                "gzsl_holdout": a.gzsl_holdout if a.gzsl else None}
    else:
        data = {"features": str(a.features), "eval_features": str(a.eval_features or a.features),
                "text_features": str(a.text_features), "cim_pool": str(a.cim_pool) if a.cim_pool else None,
                "gzsl_holdout": a.gzsl_holdout if a.gzsl else None}
    if run.recipe is not None:
        data["recipe"] = run.recipe.name
    index = run_sweep(run.config, params, splits, make_inputs, a.out, benchmark=run.benchmark.name, data=data,
                      method_params=run.method_params, calibration=a.calibration, progress=not a.no_progress,
                      threads=a.threads, say=print)
    print()
    print(format_sweep(index))
    failed = [r for r in index["runs"] if r["status"] != "finished"]
    print(f"\nwrote {Path(a.out) / 'sweep.json'}"
          + (f"; {len(failed)} run(s) failed (see sweep.json)" if failed else ""))
    return 1 if failed else 0


def register(sub: argparse._SubParsersAction) -> None:
    s = sub.add_parser("sweep", help="train a grid of settings over splits (ablations, Fig. 8-10)",
                       description="Train every combination of the --param lists on every split, one run "
                                   "directory each, and index them in SWEEP_DIR/sweep.json. Rerun the same "
                                   "command to resume: finished runs are skipped.")
    add_recipe_flag(s)
    add_data_flags(s, split=False)
    s.add_argument("--param", action="append", required=True, metavar="NAME=V1,V2,...",
                   help="a setting and its values, e.g. k=10,50,100,200 | alpha=0.1,0.3,0.5,0.7,0.9 | "
                        "class-text=ad,vc,ad+vc | cim=on,off | method=coco,eszsl; repeat for a grid")
    s.add_argument("--splits", help="comma-separated split indices (default: the recipe's splits with --config, "
                                    "else 0)")
    s.add_argument("--out", required=True, type=Path, help="sweep directory (rerun the same command to resume)")
    add_progress_flag(s)
    add_threads_flag(s)
    add_method_flags(s)
    add_config_flags(s)
    s.set_defaults(func=run)
