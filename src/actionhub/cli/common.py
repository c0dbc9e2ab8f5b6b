"""Shared pieces of the CLI verbs: user errors and the config flags generated from the dataclasses."""
from __future__ import annotations

import argparse
import dataclasses
from typing import Any

from actionhub.config import (
    CLASS_TEXT_CHOICES,
    OUR_DEFAULTS,
    ModelConfig,
    OptimConfig,
    annotation_type,
    config_field_names,
)
from actionhub.utils.errors import UserError

# Help for every config field; the CLI flags are generated from the dataclasses so the
# two can never drift apart.
FIELD_HELP = {
    "dim": "joint embedding dimension d",
    "tau": "softmax temperature of every similarity",
    "alpha": "AD/VC fusion ratio (Eq. 10, 17)",
    "gamma": "weight of the cycle loss L_cycle (Eq. 15)",
    "k": "number of top-ranked video descriptions averaged per class (Eq. 6)",
    "class_text": "class text to align with: ad, vc or ad+vc (Table 4 ablation)",
    "cim": "Cross-action Invariance Mining (L_cycle)",
    "lr": "Adam learning rate",
    "weight_decay": "Adam weight decay",
    "batch_size": "videos per batch",
    "epochs": "training epochs; 0: the auto schedule, max(10 epochs, --min-steps) steps",
    "warmup_epochs": "linear warm-up length in epochs, then cosine annealing",
    "seed": "random seed (initialisation and shuffling); split s trains with seed + s",
    "steps": "optimiser steps of the run (overrides --epochs); 0: from --epochs",
    "min_steps": "the least number of steps of the auto schedule (--epochs 0, --steps 0)",
    "warmup_steps": "linear warm-up length in steps; -1: --warmup-epochs worth of steps",
    "patience": "stop early after this many evaluations on the val classes without a better top-1, once the "
                "training loss (the cycle loss with CIM) has settled: fell < 5% over them; 0: never",
    "val_classes": "N|FRACTION of the seen classes carved as validation classes where the protocol has none "
                   "(selects the epoch; never the unseen classes); 0: none, keep the last epoch",
    "refit": "retraining on all seen classes for the steps selected on carved val classes",
}


class CliError(UserError):
    """A user error: printed without a traceback, exit status 2."""


def add_config_flags(p: argparse.ArgumentParser) -> None:
    paper = p.add_argument_group("model and optimiser: the paper's defaults (Sec. 5.2; given flags override a "
                                 "--config recipe)")
    ours = p.add_argument_group("schedule, model selection and seed: ActionHub's defaults (the paper does not "
                                "state them; docs/training.md)")
    for cls in (ModelConfig, OptimConfig):
        for f in dataclasses.fields(cls):
            g = ours if f.name in OUR_DEFAULTS else paper
            flag = "--" + f.name.replace("_", "-")
            if f.type in (bool, "bool"):
                g.add_argument(flag, dest=f.name, action=argparse.BooleanOptionalAction, default=None,
                               help=f"switch {FIELD_HELP.get(f.name, f.name)} on or off "
                                    f"(default: {'on' if f.default else 'off'})")
                continue
            kw: dict[str, Any] = {"type": annotation_type(f.type), "default": None,
                                  "help": f"{FIELD_HELP.get(f.name, f.name)} (default: {f.default})"}
            if f.name == "class_text":
                kw["choices"] = CLASS_TEXT_CHOICES
            g.add_argument(flag, dest=f.name, **kw)
    paper.add_argument("--device", help="torch device, e.g. cpu or cuda (default: cpu)")


def config_overrides(a: argparse.Namespace) -> dict[str, Any]:
    """The config flags the user actually gave (every flag defaults to None), by field name;
    with ``--config`` these override the recipe's values."""
    return {n: getattr(a, n) for n in config_field_names() if n != "method" and getattr(a, n, None) is not None}


def add_recipe_flag(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", metavar="RECIPE",
                   help="a recipe: a TOML file (e.g. configs/table2/coco.toml) or a packaged recipe name "
                        "(e.g. table2/coco; `actionhub recipes list`). It fills every flag it sets: benchmark, "
                        "method, method parameters, model and optimiser settings (and SYNTHETIC data for "
                        "configs/demo/*); flags given here override it. See docs/recipes.md")


def add_curation_flag(p: argparse.ArgumentParser) -> None:
    p.add_argument("--ignore-curation", action="store_true",
                   help="keep the descriptions and actions that curation marks throw out (STORE/curation.jsonl, "
                        "`actionhub curate list`)")


def curation_line(curated: dict | None) -> str | None:
    """One line saying which curation marks a verb honoured (None when there were none)."""
    if not curated:
        return None
    unusable = curated.get("unusable_actions") or []
    return (f"curation: left out {curated.get('dropped_hits', 0):,} description listing(s) of {curated['marks']} "
            "mark(s) "
            f"({curated['bad_descriptions']} description(s) marked bad, {len(unusable)} action(s) unusable) from "
            f"{curated['file']}; --ignore-curation keeps them")


def add_progress_flag(p: argparse.ArgumentParser) -> None:
    p.add_argument("--no-progress", action="store_true", help="no progress bars")


def threads_type(text: str) -> int | str:
    """argparse type of ``--threads``: a whole number >= 1 or ``auto``."""
    from actionhub.utils.threads import check_threads  # noqa: PLC0415

    try:
        return check_threads(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 1 or 'auto', got {text!r}") from None


def add_threads_flag(p: argparse.ArgumentParser) -> None:
    p.add_argument("--threads", type=threads_type, default="auto", metavar="N|auto",
                   help="CPU threads of torch: N, or auto (default): one thread where a training step is too "
                        "small for more to pay, else torch's default; OMP_NUM_THREADS set by you wins over auto "
                        "(docs/training.md#threads)")


# Argument types for numbers that must be in range: argparse names the flag in its error
# ("argument --k: must be an integer >= 1, got '0'") and exits with status 2 before any work.
def _int_at_least(lo: int, text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer >= {lo}, got {text!r}") from None
    if v < lo:
        raise argparse.ArgumentTypeError(f"must be an integer >= {lo}, got {text!r}")
    return v


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1."""
    return _int_at_least(1, text)


def non_negative_int(text: str) -> int:
    """argparse type: an integer >= 0."""
    return _int_at_least(0, text)


def positive_float(text: str) -> float:
    """argparse type: a finite number > 0 (not nan, not inf)."""
    import math  # noqa: PLC0415

    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number > 0, got {text!r}") from None
    if not math.isfinite(v) or v <= 0:
        raise argparse.ArgumentTypeError(f"must be a finite number > 0, got {text!r}")
    return v


def int_in_range(lo: int, hi: int):
    """argparse type factory: an integer within ``lo..hi``."""
    def parse(text: str) -> int:
        try:
            v = int(text)
        except ValueError:
            v = None
        if v is None or not lo <= v <= hi:
            raise argparse.ArgumentTypeError(f"must be an integer within {lo}..{hi}, got {text!r}")
        return v
    parse.__name__ = f"int_in_range({lo}, {hi})"
    return parse


def check_output_file(path: Any, flag: str = "--out") -> None:
    """Refuse an output *file* path that is an existing folder, before any work is done."""
    from pathlib import Path  # noqa: PLC0415

    p = Path(path)
    if p.is_dir():
        raise CliError(f"{flag} {p} is an existing folder, but {flag} names the file to write; "
                       f"pass a file name, e.g. {flag} {p / ('out' + (p.suffix or '.parquet'))}")
