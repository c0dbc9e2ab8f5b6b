"""Recipes: one TOML file per experiment -- a row of the paper's Tables 2-4, or a run of the demo.

A recipe names the benchmark, its splits, the method and every setting that differs from (or
pins down) the defaults of :mod:`actionhub.config`::

    description = "CoCo (Ours) on Kinetics-ZSAR: AD+VC class text with CIM"
    paper = "Table 2, Ours: top-1 42.0 ± 1.4, top-5 71.0 ± 0.5"
    benchmark = "kinetics-zsar"
    splits = [0, 1, 2]
    method = "coco"

    [model]            # ModelConfig fields
    class_text = "ad+vc"
    cim = true
    k = 100
    alpha = 0.5

    [optim]            # OptimConfig fields
    epochs = 0         # 0: the auto schedule (docs/training.md)
    batch_size = 512

    [method_params]    # the method's own hyper-parameters (``--method-param``)

    [data]             # only for SYNTHETIC runs (the demo): generated features, no files
    features = "synthetic"
    videos_per_seen_class = 24
    videos_per_eval_class = 12
    seed = 0

A training-free recipe (``method = "clip-zs"``, run by ``actionhub evaluate --zero-shot clip
--config NAME``) sets ``[model]`` ``class_text``, ``k`` and ``alpha`` and may say in a
``[zero_shot]`` section which class text file it expects: ``text = "names"`` (built with
``text-features --prompt``) or ``"definitions"`` (the default definition template); ``train
--config`` refuses it.

Recipes ship as package data under ``actionhub/configs/`` (a checkout links them as
``configs/``) and are named by their path there without ``.toml``, e.g. ``table2/coco``.
:func:`load_recipe` takes such a name or the path of any TOML file; every unknown key is an
error naming the file and the key. Feature and class text files are never part of a recipe:
they are where a user keeps them (``--features``, ``--text-features``).

A file called ``plan.toml`` is not a recipe: it is the plan of the demo
(:mod:`actionhub.demo.plan`), which lists recipes of its directory.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from actionhub.config import (
    CLASS_TEXT_CHOICES,
    INT64_MAX,
    INT64_MIN,
    METHOD_CHOICES,
    TRAINING_FREE_METHODS,
    ConfigError,
    ModelConfig,
    OptimConfig,
    TrainConfig,
    with_overrides,
)
from actionhub.utils.errors import UserError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

__all__ = ["Recipe", "RecipeError", "SyntheticData", "RECIPE_DIR", "PLAN_FILE", "load_recipe", "list_recipes",
           "read_toml"]

#: The packaged recipes (``configs/`` in a checkout is a link to this directory).
RECIPE_DIR = Path(__file__).resolve().parent / "configs"
#: The file name reserved for the demo's plan (not a recipe).
PLAN_FILE = "plan.toml"

MAX_TOML_BYTES = 1 << 20         # a recipe is a few hundred bytes
MAX_SYNTHETIC_VIDEOS = 10_000    # per class: the demo draws tens; more only fills the memory
_TOP = {"description": str, "paper": str, "benchmark": str, "splits": list, "method": str, "device": str}
_SECTIONS = ("model", "optim", "method_params", "data", "zero_shot")
#: [zero_shot] text: which AD text the class text file must hold
ZERO_SHOT_TEXTS = ("names", "definitions")
_DATA = {"features": str, "videos_per_seen_class": int, "videos_per_eval_class": int, "seed": int}


class RecipeError(UserError):
    """A recipe that cannot be found or read; the message names the file, the key and the fix."""


@dataclass(frozen=True)
class SyntheticData:
    """The ``[data]`` section of a SYNTHETIC recipe: the generated world the run trains on
    (:class:`actionhub.demo.synthetic.SyntheticWorld` with ``seed``, over the benchmark's real
    classes and splits) and how many videos it draws per seen and per val/unseen class."""

    videos_per_seen_class: int
    videos_per_eval_class: int
    seed: int = 0


@dataclass(frozen=True)
class Recipe:
    """One parsed, checked recipe file (see the module docstring).

    name: ``table2/coco`` for a packaged recipe, else the file's path;
    model/optim: the ModelConfig/OptimConfig fields the file sets;
    method_params: the method's own hyper-parameters (checked when a run uses them);
    synthetic: the ``[data]`` section of a SYNTHETIC recipe, else None;
    content: the file as parsed (recorded with every run trained from it).
    """

    name: str
    path: Path
    description: str
    paper: str | None = None
    benchmark: str | None = None
    splits: tuple[int, ...] | None = None
    method: str | None = None
    device: str | None = None
    model: Mapping[str, Any] = field(default_factory=dict)
    optim: Mapping[str, Any] = field(default_factory=dict)
    method_params: Mapping[str, Any] = field(default_factory=dict)
    synthetic: SyntheticData | None = None
    content: Mapping[str, Any] = field(default_factory=dict)
    zero_shot: Mapping[str, Any] = field(default_factory=dict)

    @property
    def training_free(self) -> bool:
        """The recipe runs a training-free method (``actionhub evaluate --zero-shot``), not ``train``."""
        return self.method in TRAINING_FREE_METHODS

    @property
    def settings(self) -> dict[str, Any]:
        """Every config field the file sets, by name (``method``, ``device`` included; a training-free
        method is not a training config's method and is left out)."""
        out: dict[str, Any] = {**self.model, **self.optim}
        if self.method is not None and not self.training_free:
            out["method"] = self.method
        if self.device is not None:
            out["device"] = self.device
        return out

    def config(self) -> TrainConfig:
        """The paper's defaults with every setting of the file applied."""
        return with_overrides(TrainConfig(), self.settings, where=f"{self.path}: ")

    def record(self, overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """What a run trained from this recipe stores under ``"recipe"`` in run.json:
        name, path, description, paper row, the parsed file and what the caller overrode."""
        return {"name": self.name, "path": str(self.path), "description": self.description, "paper": self.paper,
                "content": dict(self.content), "overrides": dict(overrides or {})}


def read_toml(path: Path) -> dict[str, Any]:
    """A TOML file as a dict; unreadable or invalid TOML, text that is not UTF-8, nesting too deep to
    parse, a file over :data:`MAX_TOML_BYTES` and integers past 64 bits are a :class:`RecipeError`
    naming the file (and the key)."""
    try:
        if path.stat().st_size > MAX_TOML_BYTES:
            raise RecipeError(f"{path}: {path.stat().st_size:,} bytes is too large for a recipe (at most "
                              f"{MAX_TOML_BYTES:,}); is it the right file?")
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except tomllib.TOMLDecodeError as e:
        raise RecipeError(f"{path}: not valid TOML ({e}); fix the file (see docs/recipes.md)") from None
    except UnicodeDecodeError as e:
        raise RecipeError(f"{path}: not UTF-8 text (byte {e.object[e.start:e.start + 1]!r} at offset {e.start}); "
                          "save the recipe as UTF-8") from None
    except RecursionError:
        raise RecipeError(f"{path}: nested too deeply to read; a recipe holds a few flat sections "
                          "(see docs/recipes.md)") from None
    except OSError as e:
        raise RecipeError(f"{path}: cannot read it ({e.strerror})") from None
    _check_ints(data, path)
    return data


def _check_ints(data: dict[str, Any], path: Path) -> None:
    """Refuse an integer anywhere in ``data`` that does not fit in 64 bits (TOML's own limit), naming its key."""
    todo: list[tuple[str, Any]] = [("", data)]
    while todo:
        key, value = todo.pop()
        if isinstance(value, dict):
            todo += [(f"{key}.{k}" if key else str(k), v) for k, v in value.items()]
        elif isinstance(value, list):
            todo += [(f"{key}[{i}]", v) for i, v in enumerate(value)]
        elif isinstance(value, int) and not isinstance(value, bool) and not INT64_MIN <= value <= INT64_MAX:
            raise RecipeError(f"{path}: {key} = {value} does not fit in a 64-bit integer (TOML's integers are "
                              f"{INT64_MIN}..{INT64_MAX})")


def list_recipes(root: str | Path | None = None) -> list[str]:
    """Names of the recipes under ``root`` (default: the packaged ones), e.g. ``table2/coco``."""
    base = Path(root) if root is not None else RECIPE_DIR
    return sorted(p.relative_to(base).with_suffix("").as_posix() for p in base.rglob("*.toml") if p.name != PLAN_FILE)


def _name_of(path: Path) -> str:
    try:
        return path.resolve().relative_to(RECIPE_DIR).with_suffix("").as_posix()
    except ValueError:
        return str(path)


def _find(spec: str | Path) -> Path:
    path = Path(spec)
    if path.is_file():
        return path
    if path.is_dir():
        raise RecipeError(f"{path} is a directory; pass a recipe .toml file in it "
                          f"({', '.join(list_recipes(path)) or 'it holds none'})")
    # A packaged recipe by name: "table2/coco", "table2/coco.toml" or "configs/table2/coco.toml"
    # (the checkout's path, for a pip install run elsewhere).
    name = path.as_posix().removesuffix(".toml").removeprefix("configs/")
    candidate = RECIPE_DIR / f"{name}.toml"
    if ".." not in Path(name).parts and candidate.name != PLAN_FILE and candidate.is_file():
        return candidate
    raise RecipeError(f"no recipe {str(spec)!r}: it is neither a file nor a packaged recipe. Packaged recipes "
                      f"(`actionhub recipes list`): {', '.join(list_recipes())}")


def load_recipe(spec: str | Path | Recipe) -> Recipe:
    """Read and check a recipe: a packaged name (``table2/coco``) or a TOML file's path.

    Raises :class:`RecipeError` for a missing recipe (listing the packaged ones), invalid TOML,
    an unknown key (naming file and key), or a value of the wrong type or range.
    """
    if isinstance(spec, Recipe):
        return spec
    path = _find(spec)
    if path.name == PLAN_FILE:
        raise RecipeError(f"{path} is the demo's plan, not a recipe; pass one of the recipes it lists")
    raw = read_toml(path)
    where = f"{path}: "
    kw: dict[str, Any] = {}
    for key, value in raw.items():
        if key in _SECTIONS:
            if not isinstance(value, dict):
                raise RecipeError(f"{where}[{key}] must be a table (a [{key}] section)")
            continue
        if key not in _TOP:
            raise RecipeError(f"{where}unknown key {key!r}; a recipe holds {', '.join(_TOP)} and the sections "
                              f"{', '.join(f'[{s}]' for s in _SECTIONS)}")
        if not isinstance(value, _TOP[key]):
            raise RecipeError(f"{where}{key} must be a {_TOP[key].__name__}, got {value!r}")
        kw[key] = value
    if not kw.get("description", "").strip():
        raise RecipeError(f"{where}a recipe needs a description = \"...\" saying what it runs")
    if "splits" in kw:
        splits = kw["splits"]
        if not splits or not all(isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in splits):
            raise RecipeError(f"{where}splits must be a non-empty list of split indices (0-based), got {splits!r}")
        if len(set(splits)) != len(splits):
            raise RecipeError(f"{where}splits lists a split twice: {splits!r}")
        kw["splits"] = tuple(splits)
    if "method" in kw and kw["method"] not in METHOD_CHOICES + TRAINING_FREE_METHODS:
        raise RecipeError(f"{where}unknown method {kw['method']!r}; choose one of: "
                          f"{', '.join(METHOD_CHOICES + TRAINING_FREE_METHODS)}")
    if "benchmark" in kw:
        from actionhub.protocols import BENCHMARKS

        if kw["benchmark"] not in BENCHMARKS.names():
            raise RecipeError(f"{where}unknown benchmark {kw['benchmark']!r}; choose one of: "
                              f"{', '.join(BENCHMARKS.names())}")
    sections = {s: raw.get(s, {}) for s in _SECTIONS}
    for section, cls in (("model", ModelConfig), ("optim", OptimConfig)):
        known = [f for f in cls.__dataclass_fields__]
        for key in sections[section]:
            if key not in known:
                hint = " (class_text is one of " + ", ".join(CLASS_TEXT_CHOICES) + ")" if section == "model" else ""
                raise RecipeError(f"{where}unknown key {key!r} in [{section}]; valid keys: {', '.join(known)}{hint}")
    recipe = Recipe(name=_name_of(path), path=path, model=dict(sections["model"]), optim=dict(sections["optim"]),
                    method_params=dict(sections["method_params"]), synthetic=_synthetic(sections["data"], where),
                    content=raw, zero_shot=_zero_shot(sections["zero_shot"], kw.get("method"), where), **kw)
    try:
        recipe.config()  # every value has the field's type and range
    except ConfigError as e:
        raise RecipeError(str(e)) from None
    return recipe


def _synthetic(data: Mapping[str, Any], where: str) -> SyntheticData | None:
    if not data:
        return None
    for key, value in data.items():
        if key not in _DATA:
            raise RecipeError(f"{where}unknown key {key!r} in [data]; valid keys: {', '.join(_DATA)}")
        if not isinstance(value, _DATA[key]) or isinstance(value, bool):
            raise RecipeError(f"{where}[data] {key} must be a {_DATA[key].__name__}, got {value!r}")
    if data.get("features") != "synthetic":
        raise RecipeError(f"{where}[data] is for SYNTHETIC runs only: set features = \"synthetic\". Real features "
                          "and class text are files given when training (--features, --text-features)")
    missing = [k for k in ("videos_per_seen_class", "videos_per_eval_class") if k not in data]
    if missing:
        raise RecipeError(f"{where}[data] needs {' and '.join(missing)} (SYNTHETIC videos drawn per class)")
    for key in ("videos_per_seen_class", "videos_per_eval_class"):
        if not 1 <= data[key] <= MAX_SYNTHETIC_VIDEOS:
            raise RecipeError(f"{where}[data] {key} must lie in 1..{MAX_SYNTHETIC_VIDEOS:,} (SYNTHETIC videos drawn "
                              f"per class), got {data[key]:,}")
    return SyntheticData(data["videos_per_seen_class"], data["videos_per_eval_class"], data.get("seed", 0))


def _zero_shot(section: Mapping[str, Any], method: str | None, where: str) -> dict[str, Any]:
    if not section:
        return {}
    if method not in TRAINING_FREE_METHODS:
        raise RecipeError(f"{where}[zero_shot] is for training-free recipes (method = "
                          f"{' or '.join(repr(m) for m in TRAINING_FREE_METHODS)})")
    for key, value in section.items():
        if key != "text":
            raise RecipeError(f"{where}unknown key {key!r} in [zero_shot]; valid keys: text")
        if value not in ZERO_SHOT_TEXTS:
            raise RecipeError(f"{where}[zero_shot] text must be one of {', '.join(map(repr, ZERO_SHOT_TEXTS))}, "
                              f"got {value!r}")
    return dict(section)
