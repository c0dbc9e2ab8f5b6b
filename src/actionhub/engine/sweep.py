"""Hyper-parameter sweeps: a grid of training runs over splits, every run saved.

``actionhub sweep --param k=10,50,100 --param class-text=vc,ad+vc --splits 0,1,2 ...`` trains every point of
the grid (the Cartesian product of the ``--param`` lists) on every split through
:func:`actionhub.engine.trainer.train_run` into ``SWEEP_DIR/runs/split<i>/<point>/``, indexed in
``SWEEP_DIR/sweep.json``. Rerunning skips finished runs and resumes the others; a failed run is recorded.

Docs: docs/baselines.md#sweeps
"""
from __future__ import annotations

import itertools
import logging
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from actionhub.config import ConfigError, TrainConfig, config_field_names, field_type, with_overrides
from actionhub.engine.inputs import RunInputs
from actionhub.engine.trainer import train_run
from actionhub.evaluation.metrics import round_metrics
from actionhub.evaluation.sweeps import SWEEP_FORMAT, SweepError, format_sweep, load_sweep  # noqa: F401 - re-exported
from actionhub.utils import jsontext
from actionhub.utils.device import check_device
from actionhub.utils.errors import UserError
from actionhub.utils.io import atomic_write_json
from actionhub.utils.lock import locks_output
from actionhub.utils.rundir import RunDir
from actionhub.utils.runinfo import now

log = logging.getLogger(__name__)

SWEEPABLE = sorted(n.replace("_", "-") for n in config_field_names() if n != "device")


def _convert(name: str, raw: str) -> Any:
    key = name.replace("-", "_")
    if key == "method":
        from actionhub.models.registry import get_method

        return get_method(raw).name
    typ = field_type(key)
    if typ is bool:
        low = raw.lower()
        if low in ("on", "true", "yes", "1"):
            return True
        if low in ("off", "false", "no", "0"):
            return False
        raise SweepError(f"--param {name}: {raw!r} is not on/off")
    try:
        return typ(raw)
    except ValueError:
        raise SweepError(f"--param {name}: {raw!r} is not a valid {typ.__name__}") from None


def parse_param(spec: str) -> tuple[str, list[Any]]:
    """``"k=10,50"`` -> ``("k", [10, 50])``; ``"cim=on,off"`` -> ``("cim", [True, False])``.

    Names are config fields written with dashes (``class-text``, ``weight-decay``) or
    ``method``; values are converted to the field's type and checked by the config.
    """
    name, sep, values = spec.partition("=")
    name = name.strip().replace("_", "-")
    if not sep or not values.strip():
        raise SweepError(f"--param expects NAME=V1,V2,..., got {spec!r}")
    if name not in SWEEPABLE:
        raise SweepError(f"--param {name}: not a sweepable setting; choose from {', '.join(SWEEPABLE)}")
    vals = [_convert(name, v.strip()) for v in values.split(",") if v.strip()]
    if len(set(map(str, vals))) != len(vals):
        raise SweepError(f"--param {name}: repeated values in {values!r}")
    return name, vals


def expand_grid(params: Sequence[tuple[str, Sequence[Any]]]) -> list[dict[str, Any]]:
    """Cartesian product of the parameter lists, in the order given: ``[{name: value}, ...]``."""
    names = [n for n, _ in params]
    if len(set(names)) != len(names):
        raise SweepError(f"a parameter is given twice: {names}")
    return [dict(zip(names, combo, strict=True)) for combo in itertools.product(*(v for _, v in params))]


def apply_point(cfg: TrainConfig, point: Mapping[str, Any]) -> TrainConfig:
    """``cfg`` with the grid point's values set (and validated)."""
    try:
        return with_overrides(cfg, point)
    except ConfigError as e:
        raise SweepError(f"grid point {dict(point)}: {e}") from None


def _fmt(value: Any) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def point_name(point: Mapping[str, Any]) -> str:
    """Directory name of a grid point, e.g. ``k=10_class-text=ad+vc_cim=off``."""
    return "_".join(f"{n}={_fmt(v)}" for n, v in point.items()) or "base"


def _done(run_dir: Path, cfg: TrainConfig, method_params: Mapping[str, Any] | None, benchmark: str,
          split: int) -> dict[str, Any] | None:
    """The done run of this grid point in ``run_dir`` (:meth:`RunDir.done`; another run there is a
    RunDirError), found without loading any data."""
    from actionhub.models.registry import get_method

    planned = {"config": get_method(cfg.method).config_record(cfg, method_params), "benchmark": benchmark,
               "split": split}
    return RunDir(run_dir).done(planned)


@locks_output("out_dir", folder=True, what="sweep folder")
def run_sweep(
    base: TrainConfig,
    params: Sequence[tuple[str, Sequence[Any]]],
    splits: Sequence[int],
    make_inputs: Callable[[int], RunInputs],
    out_dir: str | Path,
    *,
    benchmark: str,
    data: Mapping[str, Any] | None = None,
    method_params: Mapping[str, Any] | None = None,
    calibration: float = 0.0,
    progress: bool = True,
    threads: int | str = "auto",
    say: Callable[[str], None] = log.info,
) -> dict[str, Any]:
    """Train every grid point of ``params`` on every split; return (and write) the index.

    make_inputs: split -> RunInputs, called at most once per split and only when a run
    of that split still has to train. data: what the inputs are (paths), recorded in
    sweep.json; a sweep directory refuses a second sweep on other data or benchmark.
    threads: torch's CPU threads for every run (:mod:`actionhub.utils.threads`).
    """
    out = Path(out_dir)
    grid = expand_grid(params)
    configs = [apply_point(base, p) for p in grid]   # validates every point before any training
    from actionhub.models.registry import get_method

    for cfg in configs:
        get_method(cfg.method).make_params(method_params)   # --method-param must fit every method of the grid
    for device in sorted({cfg.device for cfg in configs}):
        check_device(device)
    index_path = out / "sweep.json"
    data = dict(data or {})
    runs: dict[tuple[int, str], dict[str, Any]] = {}
    created = now()
    if index_path.exists():
        old = jsontext.loads(index_path.read_text())
        if old.get("benchmark") != benchmark or old.get("data") != data:
            raise SweepError(f"{out} holds a sweep on {old.get('benchmark')!r} with data {old.get('data')}; "
                             "use another --out directory for a sweep on other data")
        created = old.get("created_at", created)
        runs = {(r["split"], r["name"]): r for r in old.get("runs", [])}
    names = {n for n, _ in params}
    index: dict[str, Any] = {
        "format": SWEEP_FORMAT, "benchmark": benchmark, "method": base.method,
        "params": {n: [_fmt(v) for v in vals] for n, vals in params},
        "splits": list(splits), "base_config": base.to_dict(), "method_params": dict(method_params or {}),
        "data": data, "created_at": created,
    }

    def write() -> None:
        index["updated_at"] = now()
        index["runs"] = sorted(runs.values(), key=lambda r: (r["split"], r["name"]))
        atomic_write_json(index_path, index)

    out.mkdir(parents=True, exist_ok=True)
    total, done_count = len(grid) * len(splits), 0
    for split in splits:
        inputs: RunInputs | None = None
        for point, cfg in zip(grid, configs, strict=True):
            name = point_name(point)
            run_dir = out / "runs" / f"split{split}" / name
            entry = {"split": split, "name": name, "params": {n: _fmt(v) for n, v in point.items()},
                     "varied": sorted(names), "run_dir": str(run_dir.relative_to(out))}
            try:
                rec = _done(run_dir, cfg, method_params, benchmark, split)
                if rec is None:
                    if inputs is None:
                        inputs = make_inputs(split)
                        inputs = replace(inputs, data_info={**inputs.data_info, "sweep": str(out)})
                    rec = train_run(cfg, inputs, run_dir, progress=progress, method_params=method_params,
                                    calibration=calibration, threads=threads)
                if rec.get("status") != "finished":   # diverged: its reason, no metrics
                    raise UserError(rec.get("error") or f"status {rec.get('status')}")
                m = rec["metrics"]["test"]
                metrics = {"top1": m["top1"], "top5": m["top5"]}
                if "gzsl" in rec["metrics"]:
                    metrics["gzsl_h"] = rec["metrics"]["gzsl"]["h"]
                val_top1 = val_score(rec)
                if val_top1 is not None:
                    metrics["val_top1"] = val_top1
                entry.update(status="finished", metrics=round_metrics(metrics),
                             synthetic=bool(rec["data"].get("synthetic")))
            except UserError as e:
                entry.update(status="failed", error=str(e))
                log.error("sweep run %s split %d failed: %s", name, split, e)
            runs[(split, name)] = entry
            done_count += 1
            status = (f"top-1 {entry['metrics']['top1']:.1f}" + (" [SYNTHETIC]" if entry["synthetic"] else "")
                      if entry["status"] == "finished" else f"FAILED: {entry['error']}")
            say(f"  [{done_count}/{total}] split {split} {name}: {status}")
            # this grid's runs in grid order (ties go to the first point; a resumed sweep.json may
            # also hold runs of an earlier grid)
            index["selected_on_val"] = select_on_val(runs[(s, point_name(p))] for s in splits for p in grid
                                                     if (s, point_name(p)) in runs)
            write()
    return index


def val_score(rec: Mapping[str, Any]) -> float | None:
    """The val-class top-1 of a finished run: its own val metrics, or (after a refit) the
    selection run's; None when the run had no validation classes."""
    if "val" in rec.get("metrics", {}):
        return rec["metrics"]["val"]["top1"]
    return rec.get("protocol", {}).get("validation", {}).get("val_top1")


def select_on_val(entries: Any) -> dict[str, Any]:
    """Per split, the grid point with the best val-class top-1 (ties: the first in grid order)
    and its test top-1 -- the hyper-parameters chosen without looking at the unseen classes."""
    best: dict[int, dict[str, Any]] = {}
    for e in entries:
        v = e.get("metrics", {}).get("val_top1") if e.get("status") == "finished" else None
        if v is not None and (e["split"] not in best or v > best[e["split"]]["val_top1"]):
            best[e["split"]] = {"point": e["name"], "val_top1": v, "test_top1": e["metrics"]["top1"]}
    return {str(s): b for s, b in sorted(best.items())}
