"""The public entry points for scripts and notebooks: train one run, summarise runs, open a
store -- the same code paths as ``actionhub train`` / ``evaluate`` (the CLI calls these).

``import actionhub`` exposes them lazily (see ``actionhub.__all__``)::

    import actionhub as ah
    run = ah.train("ucf101", 0, features="feats.npz", text_features="text.npz", out="runs/s0",
                   recipe="table3/coco-ucf101", epochs=5)
    ah.evaluate([run], out="results.json")

How a run's settings are assembled, lowest to highest precedence: the paper's defaults
(:class:`~actionhub.config.TrainConfig`), then the recipe (or ``config``), then ``method``,
then the keyword overrides (config fields by name). ``method_params`` are merged over the
recipe's when the method is the recipe's.
"""
from __future__ import annotations

import math
import operator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Sequence

from actionhub.config import TrainConfig, with_overrides
from actionhub.recipes import Recipe, RecipeError, load_recipe
from actionhub.utils.errors import UserError

if TYPE_CHECKING:  # pragma: no cover
    from actionhub.dataset.store import Store
    from actionhub.engine.inputs import RunInputs
    from actionhub.features import FeatureSet
    from actionhub.protocols import Benchmark
    from actionhub.text.class_text import ClassText

__all__ = ["train", "evaluate", "open_store", "resolve_run", "ResolvedRun", "run_inputs"]

PathLike = str | Path
_UNSET = object()


@dataclass(frozen=True)
class ResolvedRun:
    """Everything about a run but its data: the benchmark, the final config, the method's
    parameters, and the recipe it came from (with what the caller overrode)."""

    benchmark: "Benchmark"
    config: TrainConfig
    method_params: dict[str, Any]
    recipe: Recipe | None = None
    recipe_record: dict[str, Any] | None = None

    @property
    def synthetic(self) -> bool:
        """The run draws SYNTHETIC features from the recipe's ``[data]`` world."""
        return self.recipe is not None and self.recipe.synthetic is not None


def resolve_run(
    benchmark: str | None = None,
    *,
    recipe: str | Path | Recipe | None = None,
    config: TrainConfig | None = None,
    method: str | None = None,
    method_params: Mapping[str, Any] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> ResolvedRun:
    """Assemble and check a run's settings (see the module docstring for the precedence)
    before any data is loaded. Every problem is a :class:`UserError` saying what to change."""
    from actionhub.models.registry import get_method
    from actionhub.protocols import get_benchmark

    if config is not None and recipe is not None:
        raise UserError("pass either config= (a TrainConfig) or recipe=, not both; override single settings "
                        "by name instead, e.g. train(..., recipe='table2/coco', epochs=20)")
    if config is not None and not isinstance(config, TrainConfig):
        raise UserError(f"config must be an actionhub.TrainConfig, got {type(config).__name__}")
    r = load_recipe(recipe) if recipe is not None else None
    base = config or (r.config() if r else TrainConfig())
    given = dict(overrides or {})
    if method is not None:
        given["method"] = method
    cfg = with_overrides(base, given)
    recipe_method = (r.method or "coco") if r else None
    params: dict[str, Any] = dict(r.method_params) if r and cfg.method == recipe_method else {}
    params.update(method_params or {})
    try:
        get_method(cfg.method).make_params(params)  # a bad parameter fails before any data is loaded
    except UserError as e:
        where = f"{r.path}: [method_params]: " if r and r.method_params and not method_params else ""
        raise type(e)(f"{where}{e}") from None
    name = benchmark or (r.benchmark if r else None)
    if name is None:
        raise UserError("no benchmark: pass one (--benchmark; `actionhub benchmarks list`) or a recipe that names one")
    bench = get_benchmark(name)
    record = None
    if r is not None:
        changed = {k: v for k, v in given.items() if r.settings.get(k, _UNSET) != v}
        if method_params:
            changed["method_params"] = dict(method_params)
        if bench.name != r.benchmark and r.benchmark is not None:
            changed["benchmark"] = bench.name
        record = r.record(changed)
    return ResolvedRun(bench, cfg, params, r, record)


def check_split(run: ResolvedRun, split: int | None) -> int:
    """``split`` checked against the benchmark and, when the run is the recipe's benchmark,
    against the recipe's ``splits`` (a recipe reproduces its paper row on those splits only)."""
    if split is None:
        hint = f" (the recipe lists {list(run.recipe.splits)})" if run.recipe and run.recipe.splits else ""
        raise UserError(f"no split: pass the split index to train (--split){hint}")
    try:
        if isinstance(split, bool):
            raise TypeError
        split = operator.index(split)
    except TypeError:
        raise UserError(f"split must be an int, got {split!r}") from None
    try:
        run.benchmark.split(split)
    except ValueError as e:
        raise UserError(str(e)) from None
    r = run.recipe
    if r is not None and r.splits is not None and r.benchmark == run.benchmark.name and split not in r.splits:
        raise RecipeError(f"split {split} is not one of the splits of recipe {r.name} ({_ranges(r.splits)}); "
                          f"pick one of them, or train without the recipe (or with a copy that lists split {split})")
    return split


def _ranges(splits: Iterable[int]) -> str:
    s = sorted(splits)
    return f"{s[0]}-{s[-1]}" if s == list(range(s[0], s[-1] + 1)) and len(s) > 2 else ", ".join(map(str, s))


def run_inputs(
    run: ResolvedRun,
    split: int,
    *,
    features: PathLike | "FeatureSet" | None = None,
    text_features: PathLike | "ClassText" | None = None,
    eval_features: PathLike | "FeatureSet" | None = None,
    video_list: PathLike | None = None,
    eval_video_list: PathLike | None = None,
    labels: PathLike | None = None,
    eval_labels: PathLike | None = None,
    cim_pool: PathLike | None = None,
    gzsl: bool = False,
    gzsl_holdout: float = 0.2,
) -> "RunInputs":
    """The inputs of one split: from the given files (or in-memory FeatureSet/ClassText), or --
    for a SYNTHETIC recipe given no features -- from the recipe's generated world."""
    from actionhub.engine.gzsl import holdout_seen
    from actionhub.engine.inputs import build_inputs

    files = {"text_features": text_features, "eval_features": eval_features, "video_list": video_list,
             "eval_video_list": eval_video_list, "labels": labels, "eval_labels": eval_labels, "cim_pool": cim_pool}
    if run.synthetic and features is None:
        from actionhub.demo.plan import recipe_inputs

        given = [k for k, v in files.items() if v is not None]
        if given:
            raise UserError(f"recipe {run.recipe.name} draws SYNTHETIC features, so {', '.join(given)} cannot be "
                            "used alone: pass features (--features) and text_features too to train on files")
        inp = recipe_inputs(run.recipe, split, benchmark=run.benchmark.name)
    else:
        missing = [n for n, v in (("features", features), ("text_features", text_features)) if v is None]
        if missing:
            raise UserError(f"no {' and no '.join(missing)}: pass "
                            + " and ".join(f"{m}= (--{m.replace('_', '-')})" for m in missing)
                            + ", or a recipe with [data] features = \"synthetic\"")
        inp = build_inputs(run.benchmark, split, features=features, **files)
    return holdout_seen(inp, gzsl_holdout) if gzsl else inp


def train(
    benchmark: str | None = None,
    split: int | None = None,
    *,
    out: PathLike,
    features: PathLike | "FeatureSet" | None = None,
    text_features: PathLike | "ClassText" | None = None,
    config: TrainConfig | None = None,
    method: str | None = None,
    recipe: str | Path | Recipe | None = None,
    method_params: Mapping[str, Any] | None = None,
    eval_features: PathLike | "FeatureSet" | None = None,
    video_list: PathLike | None = None,
    eval_video_list: PathLike | None = None,
    labels: PathLike | None = None,
    eval_labels: PathLike | None = None,
    cim_pool: PathLike | None = None,
    gzsl: bool = False,
    gzsl_holdout: float = 0.2,
    calibration: float = 0.0,
    progress: bool = True,
    threads: int | str = "auto",
    log: str | Sequence[str] | None = None,
    **overrides: Any,
) -> dict[str, Any]:
    """Train one run of ``benchmark`` split ``split`` into ``out`` and return its run record
    (run.json as a dict, plus ``run_dir`` and ``reused``; ``status`` is ``finished``, or ``diverged``
    when the training loss stopped being a number -- then ``error`` says where and why). Rerunning
    with the same arguments resumes or returns the finished run (``reused`` True). ``out`` is locked
    while the call runs (a second writer is refused, naming the holder) and a folder holding another
    run is refused before any data is loaded, naming the settings that differ.

    Args:
        benchmark: protocol name (``list_benchmarks()``); default: the recipe's.
        split: split index (0-based); required. With a recipe on its own benchmark it must be
            one of the recipe's ``splits``.
        out: the run directory.
        features, text_features: files (as for ``actionhub train``) or an in-memory
            :class:`~actionhub.features.FeatureSet` / :class:`~actionhub.text.ClassText`; not
            needed for a SYNTHETIC recipe (``[data] features = "synthetic"``).
        config: a full :class:`~actionhub.config.TrainConfig` (instead of a recipe).
        method: ``coco`` (default), ``er-vse`` or a baseline; overrides the recipe's.
        recipe: a packaged recipe name (``table2/coco``; ``list_recipes()``) or a TOML file.
        method_params: the method's own hyper-parameters (``--method-param``).
        eval_features, video_list, eval_video_list, labels, eval_labels, cim_pool: as the
            ``actionhub train`` flags of the same names.
        gzsl, gzsl_holdout, calibration: generalised zero-shot evaluation (docs/baselines.md).
        progress: progress bars.
        threads: torch's CPU threads, ``N`` or ``"auto"`` (docs/training.md#threads).
        log: ``"tensorboard"``: write the training curves to ``out/tb`` as the run trains.
        **overrides: config fields by name, e.g. ``epochs=20, k=50, class_text="ad", cim=False``.
    """
    from actionhub.engine.tensorboard import check_loggers
    from actionhub.engine.trainer import train_run
    from actionhub.engine.validate import check_device
    from actionhub.utils.lock import output_lock
    from actionhub.utils.rundir import RunDir
    from actionhub.utils.threads import check_threads

    run = resolve_run(benchmark, recipe=recipe, config=config, method=method, method_params=method_params,
                      overrides=overrides)
    split = check_split(run, split)
    check_device(run.config.device)
    if not math.isfinite(calibration):
        raise UserError(f"calibration must be a finite number, got {calibration} (--calibration)")
    if gzsl and not 0.0 < gzsl_holdout < 1.0:
        raise UserError(f"the GZSL hold-out share must lie in (0, 1), got {gzsl_holdout} (--gzsl-holdout)")
    try:
        threads = check_threads(threads)
    except ValueError as e:
        raise UserError(f"{e} (--threads)") from None
    loggers = check_loggers([log] if isinstance(log, str) else log or ())
    # The run directory is locked and checked before any data is loaded (cheap refusals first).
    with output_lock(out, folder=True, what="run directory"):
        rundir = RunDir(out)
        rundir.holds(_planned_record(run, split, features, text_features, eval_features, cim_pool))
        before = rundir.finished_at()
        inp = run_inputs(run, split, features=features, text_features=text_features, eval_features=eval_features,
                         video_list=video_list, eval_video_list=eval_video_list, labels=labels,
                         eval_labels=eval_labels, cim_pool=cim_pool, gzsl=gzsl, gzsl_holdout=gzsl_holdout)
        rec = train_run(run.config, inp, out, progress=progress, method_params=run.method_params,
                        calibration=calibration, recipe=run.recipe_record, threads=threads, loggers=loggers)
    reused = before is not None and rec.get("finished_at") == before
    return {**rec, "run_dir": str(out), "reused": reused}


def _planned_record(run: ResolvedRun, split: int, features: Any, text_features: Any, eval_features: Any,
                    cim_pool: Any) -> dict[str, Any]:
    """What run.json will record of the settings (config, benchmark, split, data paths), known
    before any data is loaded: compared with a run directory's run.json to refuse another run early."""
    from actionhub.engine.inputs import data_paths
    from actionhub.models.registry import get_method

    rec: dict[str, Any] = {"config": get_method(run.config.method).config_record(run.config, run.method_params),
                           "benchmark": run.benchmark.name, "split": split}
    if isinstance(features, (str, Path)):
        paths = (str, Path)
        data = data_paths(features, eval_features, str(text_features) if isinstance(text_features, paths) else None,
                          cim_pool)
        if eval_features is not None and not isinstance(eval_features, paths):
            data.pop("eval_features")   # in memory: not known before loading
        if data["text_features"] is None:
            data.pop("text_features")
        rec["data"] = data
    return rec


def evaluate(
    runs: PathLike | Mapping[str, Any] | Iterable[PathLike | Mapping[str, Any]],
    out: PathLike | None = None,
    *,
    benchmark: str | None = None,
    gzsl: bool = False,
    calibration: float | None = None,
) -> dict[str, Any]:
    """The results summary of finished runs -- what ``actionhub evaluate`` writes: per-split
    top-1/top-5 and mean ± std over splits per (benchmark, method, variant), with the exact
    protocol of every row. ``runs``: run directories or the records :func:`train` returns (one or
    many); ``out``: also write it there as JSON. See
    :func:`actionhub.evaluation.results.evaluate_runs` for ``benchmark``, ``gzsl``, ``calibration``."""
    from actionhub.evaluation.results import evaluate_runs
    from actionhub.utils.io import atomic_write_json

    if isinstance(runs, (str, Path, Mapping)):
        runs = [runs]
    summary = evaluate_runs(runs, benchmark=benchmark, gzsl=gzsl, calibration=calibration)
    if out is not None:
        atomic_write_json(out, summary)
    return summary


def open_store(path: PathLike, *, create: bool = False) -> "Store":
    """The description store at ``path`` (:class:`actionhub.dataset.store.Store`); ``create``
    makes an empty one when missing."""
    from actionhub.dataset.store import Store

    return Store(path, create=create)
