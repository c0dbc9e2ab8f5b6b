"""What the demo runs, read from files: a plan directory (default: the packaged recipes
``configs/demo/``) holds ``plan.toml`` and the recipes it lists, each one protocol with its splits
and ``[data] features = "synthetic"`` (real class lists and splits, SYNTHETIC features).
``plan.toml`` says which recipes the demo trains, which one gets the real class text, what the
report adds (baselines, GZSL, sweeps) and what the quick default runs (``[quick]``).

``actionhub train --config configs/demo/ucf101.toml --split 0 --out DIR`` trains exactly the
demo's run of that split: both build their inputs with :func:`recipe_inputs`.

Docs: docs/recipes.md#how-the-demo-uses-them (the keys of ``plan.toml``).
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from actionhub.config import config_field_names
from actionhub.demo.synthetic import SYNTHETIC_NOTE, SyntheticSpec, SyntheticWorld
from actionhub.engine.inputs import RunInputs
from actionhub.protocols import get_benchmark
from actionhub.recipes import PLAN_FILE, RECIPE_DIR, Recipe, RecipeError, load_recipe, read_toml

#: The packaged demo plan (``configs/demo/`` in a checkout).
DEMO_PLAN_DIR = RECIPE_DIR / "demo"

_PLAN_KEYS = ("description", "runs", "real_text", "report", "quick")
_REPORT_KEYS = ("baselines", "sweep_recipe", "sweep_split", "sweeps")
_QUICK_KEYS = ("splits", "baselines", "sweeps")


@dataclass(frozen=True)
class DemoPlan:
    """The demo's plan (see the module docstring).

    runs: the SYNTHETIC recipes trained in step 1 (one per benchmark);
    real_text: the recipe whose first split gets the real MiniLM class text (None: skipped);
    baselines: methods the report trains on every run's inputs;
    sweep_recipe, sweep_split: where GZSL runs and sweeps are trained;
    sweeps: sweep name -> [(setting, values), ...] (``actionhub sweep --param`` names).
    """

    path: Path
    description: str
    runs: tuple[Recipe, ...]
    real_text: Recipe | None = None
    baselines: tuple[str, ...] = ()
    sweep_recipe: Recipe | None = None
    sweep_split: int = 0
    sweeps: dict[str, list[tuple[str, list[Any]]]] = field(default_factory=dict)
    quick_splits: int | None = None
    quick_baselines: tuple[str, ...] | None = None
    quick_sweeps: dict[str, list[tuple[str, list[Any]]]] = field(default_factory=dict)

    def quick(self) -> "DemoPlan":
        """The plan as ``actionhub demo`` runs it by default: ``[quick]`` keeps the first ``splits``
        splits of every recipe, its own ``baselines`` and smaller grids of the named sweeps; a plan
        without ``[quick]`` runs whole."""
        n = self.quick_splits

        def cut(r: Recipe | None) -> Recipe | None:
            return replace(r, splits=r.splits[:n]) if r is not None and n else r

        return replace(self, runs=tuple(cut(r) for r in self.runs), real_text=cut(self.real_text),
                       sweep_recipe=cut(self.sweep_recipe), sweeps={**self.sweeps, **self.quick_sweeps},
                       baselines=self.baselines if self.quick_baselines is None else self.quick_baselines,
                       quick_splits=None, quick_baselines=None, quick_sweeps={})

    def recipe_for(self, benchmark: str) -> Recipe:
        for r in self.runs:
            if r.benchmark == benchmark:
                return r
        raise RecipeError(f"{self.path}: no recipe of the plan runs {benchmark!r}")


def load_plan(path: str | Path | None = None) -> DemoPlan:
    """The plan in ``path`` (a directory holding ``plan.toml``, or that file); default the packaged one."""
    p = Path(path) if path is not None else DEMO_PLAN_DIR
    file = p / PLAN_FILE if p.is_dir() else p
    if not file.is_file():
        raise RecipeError(f"demo plan {file} not found: pass a directory holding {PLAN_FILE} and its recipes "
                          f"(the packaged plan is {DEMO_PLAN_DIR})")
    raw = read_toml(file)
    where = f"{file}: "
    unknown = [k for k in raw if k not in _PLAN_KEYS]
    if unknown:
        raise RecipeError(f"{where}unknown key {unknown[0]!r}; a plan holds {', '.join(_PLAN_KEYS)}")
    report = raw.get("report", {})
    unknown = [k for k in report if k not in _REPORT_KEYS]
    if unknown:
        raise RecipeError(f"{where}unknown key {unknown[0]!r} in [report]; valid keys: {', '.join(_REPORT_KEYS)}")

    def recipe(name: Any, key: str) -> Recipe:
        if not isinstance(name, str):
            raise RecipeError(f"{where}{key} must name a recipe of {file.parent}, got {name!r}")
        if not (file.parent / f"{name}.toml").is_file():
            raise RecipeError(f"{where}{key}: no recipe {name}.toml in {file.parent}")
        r = load_recipe(file.parent / f"{name}.toml")
        if r.synthetic is None or r.benchmark is None or r.splits is None:
            raise RecipeError(f"{r.path}: a demo recipe needs benchmark, splits and a [data] features = "
                              "\"synthetic\" section")
        return r

    names = raw.get("runs")
    if not isinstance(names, list) or not names:
        raise RecipeError(f"{where}runs must list the recipes the demo trains, e.g. runs = [\"ucf101\"]")
    runs = tuple(recipe(n, "runs") for n in names)
    benches = [r.benchmark for r in runs]
    if len(set(benches)) != len(benches):
        raise RecipeError(f"{where}runs: one recipe per benchmark, got {benches}")
    sweeps = _sweeps(report.get("sweeps", {}), f"{where}[report.sweeps")
    baselines = _names(report.get("baselines", []), f"{where}[report] baselines")
    sweep_split = report.get("sweep_split", 0)
    if not isinstance(sweep_split, int) or isinstance(sweep_split, bool):
        raise RecipeError(f"{where}[report] sweep_split must be a split index, got {sweep_split!r}")
    sweep_recipe = None
    if report.get("sweep_recipe") is not None:
        sweep_recipe = dict(zip(names, runs, strict=True)).get(report["sweep_recipe"])
        if sweep_recipe is None:
            raise RecipeError(f"{where}[report] sweep_recipe must be one of runs {names}, got "
                              f"{report['sweep_recipe']!r}")
        if sweep_split not in sweep_recipe.splits:
            raise RecipeError(f"{where}[report] sweep_split {sweep_split} is not one of {sweep_recipe.path.name}'s "
                              f"splits {list(sweep_recipe.splits)}")
    elif report.get("sweeps") or baselines:
        raise RecipeError(f"{where}[report] needs sweep_recipe (the recipe GZSL runs and sweeps train on)")
    return DemoPlan(path=file, description=str(raw.get("description", "")), runs=runs,
                    real_text=recipe(raw["real_text"], "real_text") if raw.get("real_text") else None,
                    baselines=tuple(baselines), sweep_recipe=sweep_recipe, sweep_split=sweep_split, sweeps=sweeps,
                    **_quick(raw.get("quick", {}), sweeps, sweep_split, where))


def _quick(quick: dict[str, Any], sweeps: dict[str, Any], sweep_split: int, where: str) -> dict[str, Any]:
    """The ``[quick]`` section as :class:`DemoPlan` fields, checked."""
    unknown = [k for k in quick if k not in _QUICK_KEYS]
    if unknown:
        raise RecipeError(f"{where}unknown key {unknown[0]!r} in [quick]; valid keys: {', '.join(_QUICK_KEYS)}")
    n = quick.get("splits")
    if n is not None and (not isinstance(n, int) or isinstance(n, bool) or n < 1 or sweep_split >= n):
        raise RecipeError(f"{where}[quick] splits must be a count >= 1 that keeps sweep_split {sweep_split}, got {n!r}")
    quick_sweeps = _sweeps(quick.get("sweeps", {}), f"{where}[quick.sweeps")
    if set(quick_sweeps) - set(sweeps):
        raise RecipeError(f"{where}[quick.sweeps] may only make sweeps of [report.sweeps] smaller; "
                          f"{sorted(set(quick_sweeps) - set(sweeps))} are not there")
    baselines = quick.get("baselines")
    return {"quick_splits": n, "quick_sweeps": quick_sweeps,
            "quick_baselines": None if baselines is None else tuple(_names(baselines, f"{where}[quick] baselines"))}


def _names(value: Any, where: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(b, str) for b in value):
        raise RecipeError(f"{where} must be a list of method names")
    return value


def _sweeps(table: Any, where: str) -> dict[str, list[tuple[str, list[Any]]]]:
    """``[report.sweeps.NAME]`` tables: NAME -> [(setting, values), ...], checked."""
    sweeps: dict[str, list[tuple[str, list[Any]]]] = {}
    for name, grid in table.items():
        if not isinstance(grid, dict) or not all(isinstance(v, list) and v for v in grid.values()):
            raise RecipeError(f"{where}.{name}] maps each setting to a list of values")
        bad = [k for k in grid if k.replace("-", "_") not in config_field_names() or k == "device"]
        if bad:
            raise RecipeError(f"{where}.{name}]: {bad[0]!r} is not a setting; valid: "
                              f"{', '.join(n.replace('_', '-') for n in config_field_names() if n != 'device')}")
        sweeps[name] = [(k, list(v)) for k, v in grid.items()]
    return sweeps


def recipe_world(recipe: Recipe, benchmark: str | None = None) -> SyntheticWorld:
    """The SYNTHETIC world of a synthetic recipe: its seed, over the real classes of ``benchmark``
    (default: the recipe's)."""
    if recipe.synthetic is None:
        raise RecipeError(f"{recipe.path} has no [data] features = \"synthetic\" section")
    return SyntheticWorld(get_benchmark(benchmark or recipe.benchmark).classes,
                          SyntheticSpec(seed=recipe.synthetic.seed))


def recipe_inputs(recipe: Recipe, split: int, world: SyntheticWorld | None = None,
                  benchmark: str | None = None) -> RunInputs:
    """RunInputs of one split of a SYNTHETIC recipe (``benchmark`` defaults to the recipe's);
    pass ``world`` (from :func:`recipe_world`) to reuse it across splits."""
    bench = benchmark or recipe.benchmark
    world = world or recipe_world(recipe, bench)
    data = recipe.synthetic
    return synthetic_inputs(bench, split, world, data.videos_per_seen_class, data.videos_per_eval_class)


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
