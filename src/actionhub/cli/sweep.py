"""`actionhub sweep`: a grid of training runs (k, alpha, class text, CIM, ...) over splits."""
from __future__ import annotations

import argparse
from pathlib import Path

from actionhub.cli.common import CliError, add_config_flags, add_progress_flag, config_from_args
from actionhub.cli.train import add_data_flags, add_method_flags


def run(a: argparse.Namespace) -> int:
    from actionhub.engine.gzsl import holdout_seen
    from actionhub.engine.inputs import build_inputs
    from actionhub.engine.sweep import format_sweep, parse_param, run_sweep
    from actionhub.models.registry import get_method, parse_method_params
    from actionhub.protocols import get_benchmark

    cfg = config_from_args(a)
    params = [parse_param(p) for p in a.param]
    method_params = parse_method_params(a.method_param)
    get_method(cfg.method).make_params(method_params)
    try:
        bench = get_benchmark(a.benchmark)
        splits = [int(s) for s in a.splits.split(",") if s.strip()]
        for s in splits:
            bench.split(s)
    except ValueError as e:
        raise CliError(f"--splits {a.splits}: {e}") from None

    def make_inputs(split: int):
        inp = build_inputs(bench, split, features=a.features, text_features=a.text_features,
                           eval_features=a.eval_features, video_list=a.video_list,
                           eval_video_list=a.eval_video_list, labels=a.labels, eval_labels=a.eval_labels,
                           cim_pool=a.cim_pool)
        return holdout_seen(inp, a.gzsl_holdout) if a.gzsl else inp

    data = {"features": str(a.features), "eval_features": str(a.eval_features or a.features),
            "text_features": str(a.text_features), "cim_pool": str(a.cim_pool) if a.cim_pool else None,
            "gzsl_holdout": a.gzsl_holdout if a.gzsl else None}
    index = run_sweep(cfg, params, splits, make_inputs, a.out, benchmark=bench.name, data=data,
                      method_params=method_params, calibration=a.calibration, progress=not a.no_progress,
                      say=print)
    print()
    print(format_sweep(index))
    failed = [r for r in index["runs"] if r["status"] != "finished"]
    print(f"\nwrote {Path(a.out) / 'sweep.json'}" + (f"; {len(failed)} run(s) failed (see sweep.json)" if failed else ""))
    return 1 if failed else 0


def register(sub: argparse._SubParsersAction) -> None:
    s = sub.add_parser("sweep", help="train a grid of settings over splits (ablations, Fig. 8-10)",
                       description="Train every combination of the --param lists on every split, one run "
                                   "directory each, and index them in SWEEP_DIR/sweep.json. Rerun the same "
                                   "command to resume: finished runs are skipped.")
    add_data_flags(s, split=False)
    s.add_argument("--param", action="append", required=True, metavar="NAME=V1,V2,...",
                   help="a setting and its values, e.g. k=10,50,100,200 | alpha=0.1,0.3,0.5,0.7,0.9 | "
                        "class-text=ad,vc,ad+vc | cim=on,off | method=coco,eszsl; repeat for a grid")
    s.add_argument("--splits", default="0", help="comma-separated split indices (default: 0)")
    s.add_argument("--out", required=True, type=Path, help="sweep directory (rerun the same command to resume)")
    add_progress_flag(s)
    add_method_flags(s)
    add_config_flags(s)
    s.set_defaults(func=run)
