"""The public entry points for scripts and notebooks: train one run, summarise runs, open a
store -- the same code paths as ``actionhub train`` / ``evaluate`` (the CLI calls these).

``import actionhub`` exposes them lazily (see ``actionhub.__all__``). How a run's settings are
assembled, lowest to highest precedence: the paper's defaults (:class:`~actionhub.config.TrainConfig`),
then the recipe (or ``config``), then ``method``, then the keyword overrides (config fields by name).
``method_params`` are merged over the recipe's when the method is the recipe's.

Docs: README.md#use-from-python, docs/recipes.md#precedence-flags-over-the-file.
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
from actionhub.utils.types import PathLike

if TYPE_CHECKING:  # pragma: no cover
    from actionhub.dataset.store import Store
    from actionhub.engine.inputs import RunInputs
    from actionhub.features import FeatureSet
    from actionhub.protocols import Benchmark
    from actionhub.text.class_text import ClassText

__all__ = ["train", "evaluate", "open_store", "resolve_run", "ResolvedRun", "run_inputs"]

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
    if r is not None and r.training_free:
        raise RecipeError(f"recipe {r.name} is training-free (method {r.method}): there is nothing to train; run it "
                          f"with `actionhub evaluate --zero-shot clip --config {r.name} --features F --text-features "
                          "T` "
                          "(actionhub.evaluate(zero_shot='clip', recipe=...))")
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
    check_out_off_inputs(out, features=features, text_features=text_features, eval_features=eval_features,
                         video_list=video_list, eval_video_list=eval_video_list, labels=labels,
                         eval_labels=eval_labels, cim_pool=cim_pool)
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


def check_out_off_inputs(out: PathLike, **files: Any) -> None:
    """Refuse a run or sweep folder ``out`` that is, holds or lies inside one of the data ``files``
    (given by field name: ``features=...``; in-memory data is skipped), naming its flag."""
    from actionhub.utils.outputs import check_no_overlap

    check_no_overlap({"--out": out}, {"--" + k.replace("_", "-"): v for k, v in files.items()
                                      if isinstance(v, (str, Path))})


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
    runs: PathLike | Mapping[str, Any] | Iterable[PathLike | Mapping[str, Any]] | None = None,
    out: PathLike | None = None,
    *,
    benchmark: str | None = None,
    gzsl: bool = False,
    calibration: float | None = None,
    overwrite: bool = False,
    zero_shot: str | None = None,
    features: PathLike | "FeatureSet" | None = None,
    text_features: PathLike | "ClassText" | Iterable[PathLike | "ClassText"] | None = None,
    recipe: str | Path | Recipe | None = None,
    splits: Iterable[int] | None = None,
    class_text: str | None = None,
    k: int | None = None,
    alpha: float | None = None,
    backbone: str | None = None,
    video_list: PathLike | None = None,
    labels: PathLike | None = None,
) -> dict[str, Any]:
    """The results summary of finished runs -- what ``actionhub evaluate`` writes: per-split
    top-1/top-5 and mean ± std over splits per (benchmark, method, variant), with the exact
    protocol of every row. ``runs``: run directories or the records :func:`train` returns (one or
    many); ``out``: also write it there as JSON (an existing file only with ``overwrite``). See
    :func:`actionhub.evaluation.results.evaluate_runs` for ``benchmark``, ``gzsl``, ``calibration``.

    With ``zero_shot="clip"`` (``evaluate --zero-shot clip``) nothing is trained and no ``runs``
    are given: every split of ``benchmark`` is scored training-free in the joint space of the
    CLIP / X-CLIP model that made ``features`` and ``text_features`` (one file, or several: one
    row each), :mod:`actionhub.engine.zeroshot`; rows have method ``clip-zs``. ``class_text``
    (``ad``, ``vc``, ``ad+vc``), ``k`` and ``alpha`` pick the text (default: the recipe's, else
    ``ad``, 100, 0.5); ``splits`` (default: all, or the recipe's); ``backbone`` only for stores
    that do not record theirs; ``video_list``, ``labels`` as for ``train``."""
    import json

    from actionhub.evaluation.results import evaluate_runs, summarize
    from actionhub.utils.io import json_default
    from actionhub.utils.outputs import check_no_overlap, staged_file

    if zero_shot is None:
        given = [n for n, v in (("features", features), ("text_features", text_features), ("recipe", recipe),
                                ("splits", splits), ("class_text", class_text), ("k", k), ("alpha", alpha),
                                ("backbone", backbone), ("video_list", video_list), ("labels", labels))
                                if v is not None]
        if given:
            raise UserError(f"{', '.join(given)} apply to a training-free evaluation: add zero_shot='clip' "
                            "(--zero-shot clip), or drop them to summarise runs")
        if runs is None:
            raise UserError("nothing to evaluate: pass runs (--runs RUN_DIR ...) or zero_shot='clip' "
                            "(--zero-shot clip)")
        if isinstance(runs, (str, Path, Mapping)):
            runs = [runs]
        inputs = {"--runs": [r for r in runs if isinstance(r, (str, Path))]}

        def compute() -> dict[str, Any]:
            return evaluate_runs(runs, benchmark=benchmark, gzsl=gzsl, calibration=calibration)
    else:
        if runs is not None:
            raise UserError("a training-free evaluation (--zero-shot) scores features, not runs: drop runs (--runs)")
        if gzsl or calibration is not None:
            raise UserError("--gzsl/--calibration apply to trained runs, not to --zero-shot")
        texts = text_features if isinstance(text_features, (list, tuple)) else [text_features]
        inputs = {"--features": features if isinstance(features, (str, Path)) else None,
                  "--text-features": [t for t in texts if isinstance(t, (str, Path))]}

        def compute() -> dict[str, Any]:
            return summarize(_zero_shot_records(zero_shot, benchmark, features, text_features, recipe, splits,
                                                class_text, k, alpha, backbone, video_list, labels))
    if out is None:
        return compute()
    check_no_overlap({"--out": out}, inputs)
    with staged_file(out, overwrite=overwrite) as tmp:   # refused before the work when it exists
        summary = compute()
        tmp.write_text(json.dumps(summary, indent=2, ensure_ascii=False, default=json_default) + "\n",
                       encoding="utf-8")
    return summary


def _zero_shot_records(method: str, benchmark: str | None, features: Any, text_features: Any, recipe: Any,
                       splits: Iterable[int] | None, class_text: str | None, k: int | None, alpha: float | None,
                       backbone: str | None, video_list: Any, labels: Any) -> list[dict[str, Any]]:
    """The run records of ``evaluate(zero_shot=...)``: settings from the call, else the recipe, else the defaults."""
    from actionhub.engine.zeroshot import check_method, zero_shot_records
    from actionhub.recipes import ZERO_SHOT_TEXTS

    check_method(method)
    r = load_recipe(recipe) if recipe is not None else None
    if r is not None and not r.training_free:
        raise RecipeError(f"recipe {r.name} trains method {r.method or 'coco'}: run it with `actionhub train --config "
                          f"{r.name}`; --zero-shot takes a training-free recipe (`actionhub recipes list`)")
    model = dict(r.model) if r else {}
    name = benchmark or (r.benchmark if r else None)
    if name is None:
        raise UserError("no benchmark: pass one (--benchmark; `actionhub benchmarks list`) or a recipe that names one")
    if splits is None and r is not None and r.splits is not None and r.benchmark == name:
        splits = r.splits
    missing = [n for n, v in (("features", features), ("text_features", text_features)) if v is None]
    if missing:
        raise UserError("no " + " and no ".join(missing) + ": pass "
                        + " and ".join(f"{m}= (--{m.replace('_', '-')})" for m in missing))
    texts = list(text_features) if isinstance(text_features, (list, tuple)) else [text_features]
    want = r.zero_shot.get("text") if r else None
    if want is not None:
        from actionhub.text.class_text import ClassText, load_class_text

        texts = [t if isinstance(t, ClassText) else load_class_text(t) for t in texts]
        for t in texts:
            kind = "names" if t.meta.get("prompts") else "definitions"
            if kind != want:
                how = ("`actionhub text-features --prompt 'a video of a person {name}.' ...`" if want == "names"
                       else "`actionhub text-features` without --prompt")
                raise RecipeError(f"recipe {r.name} evaluates class text of kind {want!r} "
                                  f"({', '.join(ZERO_SHOT_TEXTS)}) "
                                  f"but {t.meta.get('path', 'the class text')} holds {kind}; build it with {how}")
    return zero_shot_records(
        name, features, texts, method=method, splits=None if splits is None else list(splits),
        class_text=class_text or model.get("class_text", "ad"), k=k if k is not None else model.get("k", 100),
        alpha=alpha if alpha is not None else model.get("alpha", 0.5), backbone=backbone, video_list=video_list,
        labels=labels)


def open_store(path: PathLike, *, create: bool = False) -> "Store":
    """The description store at ``path`` (:class:`actionhub.dataset.store.Store`); ``create``
    makes an empty one when missing."""
    from actionhub.dataset.store import Store

    return Store(path, create=create)
