"""Typed run configuration with the paper's defaults (Sec. 5.2).

Every field can be overridden from the CLI (``actionhub train --help``) and the
whole dataclass is saved with every run (``config.json`` in the run directory).
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field, replace
from typing import Any, Mapping

from actionhub.utils.errors import UserError

CLASS_TEXT_CHOICES = ("ad", "vc", "ad+vc")
MAX_DIM = 65_536   # the joint embedding's largest dimension: projections of a few hundred MB at most
INT64_MIN, INT64_MAX = -(1 << 63), (1 << 63) - 1
# Training methods (`actionhub train --method`); actionhub.models.registry holds their implementations
# and checks it implements exactly these. Kept here so the CLI can list them without torch.
METHOD_CHOICES = ("coco", "er-vse", "devise", "ale", "sje", "dem", "eszsl", "gcn")
# Training-free methods: nothing to train, run by `actionhub evaluate --zero-shot` (a recipe may name them).
TRAINING_FREE_METHODS = ("clip-zs",)


@dataclass
class ModelConfig:
    """CoCo model hyper-parameters (paper Sec. 4, 5.2)."""

    dim: int = 512            # d: joint embedding dimension
    tau: float = 0.1          # temperature of every softmax (Eq. 3, 7, 11-13)
    alpha: float = 0.5        # AD/VC fusion ratio (Eq. 10, 17)
    gamma: float = 0.1        # weight of L_cycle (Eq. 15)
    k: int = 100              # top-k video descriptions averaged per class (Eq. 6)
    class_text: str = "ad+vc"  # which class text to align with: ad | vc | ad+vc (Table 4)
    cim: bool = True          # Cross-action Invariance Mining (L_cycle) on/off (Fig. 10)

    def validate(self) -> None:
        if self.class_text not in CLASS_TEXT_CHOICES:
            raise ValueError(f"class_text must be one of {CLASS_TEXT_CHOICES}, got {self.class_text!r}")
        if not (math.isfinite(self.alpha) and 0.0 <= self.alpha <= 1.0):
            raise ValueError(f"alpha must lie in [0, 1], got {self.alpha} (--alpha)")
        if not (math.isfinite(self.tau) and self.tau > 0):
            raise ValueError(f"tau must be a positive number, got {self.tau} (--tau)")
        if not (math.isfinite(self.gamma) and self.gamma >= 0):
            raise ValueError(f"gamma must be a number >= 0, got {self.gamma} (--gamma)")
        if self.k < 1:
            raise ValueError(f"k must be >= 1, got {self.k} (--k)")
        if not 1 <= self.dim <= MAX_DIM:
            raise ValueError(f"dim must lie in 1..{MAX_DIM}, got {self.dim} (--dim; the paper's is 512)")

    def fusion_alpha(self) -> float:
        """The effective alpha: class_text 'ad' means alpha=1, 'vc' means alpha=0."""
        return {"ad": 1.0, "vc": 0.0}.get(self.class_text, self.alpha)


@dataclass
class OptimConfig:
    """Optimiser, schedule, model selection and seed.

    The paper's (Sec. 5.2): Adam, lr 1e-3, weight decay 1e-4, batch 512, warm-up + cosine.
    ActionHub's own (the paper does not state them; :data:`OUR_DEFAULTS`): the length of the
    schedule (``epochs``/``steps``/``min_steps``, see :func:`actionhub.engine.schedule.plan_schedule`),
    the warm-up length, early stopping, the validation classes carved from the seen classes of
    protocols without their own (:mod:`actionhub.engine.validation_split`), refit, and the seed
    (each split trains with ``seed + split``).
    """

    lr: float = 1e-3
    weight_decay: float = 1e-4
    batch_size: int = 512
    epochs: int = 0             # 0: auto, max(10 epochs, min_steps) steps; N: exactly N epochs
    warmup_epochs: float = 1.0
    seed: int = 0
    steps: int = 0              # N > 0: exactly N optimiser steps (overrides epochs)
    min_steps: int = 1000       # the auto schedule's floor (SYNTHETIC measurements: docs/training.md)
    warmup_steps: int = -1      # -1: warmup_epochs' worth of steps
    patience: int = 10          # early stop after this many val evaluations without a better top-1; 0: never
    val_classes: float = 0.2    # val classes carved from the seen ones where the protocol has none: N or a fraction
    refit: bool = False         # after selection on the carved val classes, retrain on all seen classes

    def validate(self) -> None:
        if not (math.isfinite(self.lr) and self.lr > 0):
            raise ValueError(f"lr must be a positive number, got {self.lr} (--lr)")
        if not (math.isfinite(self.weight_decay) and self.weight_decay >= 0):
            raise ValueError(f"weight_decay must be a number >= 0, got {self.weight_decay} (--weight-decay)")
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {self.batch_size} (--batch-size)")
        if self.epochs < 0:
            raise ValueError(f"epochs must be >= 1, or 0 for the automatic schedule; got {self.epochs} (--epochs)")
        if not (math.isfinite(self.warmup_epochs) and self.warmup_epochs >= 0):
            raise ValueError(f"warmup_epochs must be a number >= 0, got {self.warmup_epochs} (--warmup-epochs)")
        if self.seed < 0:
            raise ValueError(f"seed must be >= 0, got {self.seed} (--seed)")
        for flag, value, least in (("--steps", self.steps, 0), ("--min-steps", self.min_steps, 0),
                                   ("--warmup-steps", self.warmup_steps, -1), ("--patience", self.patience, 0)):
            if value < least:
                raise ValueError(f"{flag[2:].replace('-', '_')} must be >= {least}, got {value} ({flag}"
                                 + ("; -1: --warmup-epochs worth of steps)" if least == -1 else ")"))
        v = self.val_classes
        if not math.isfinite(v) or v < 0 or (v >= 1 and v != int(v)):
            raise ValueError("val_classes must be a number of classes (1, 2, ...), a fraction in (0, 1), or 0 "
                             f"for none; got {v:g} (--val-classes)")


#: Settings the paper states (Sec. 5.2) -- the defaults above are its values.
PAPER_DEFAULTS = ("dim", "tau", "alpha", "gamma", "k", "class_text", "cim", "lr", "weight_decay", "batch_size")
#: Settings the paper does not state: ActionHub's choices (docs/training.md says why).
OUR_DEFAULTS = ("epochs", "steps", "min_steps", "warmup_epochs", "warmup_steps", "patience", "val_classes",
                "refit", "seed")


@dataclass
class TrainConfig:
    """Everything a training run needs besides data paths."""

    model: ModelConfig = field(default_factory=ModelConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    method: str = "coco"
    device: str = "cpu"

    def validate(self) -> None:
        self.model.validate()
        self.optim.validate()

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "TrainConfig":
        return cls(
            model=ModelConfig(**d.get("model", {})),
            optim=OptimConfig(**d.get("optim", {})),
            method=d.get("method", "coco"),
            device=d.get("device", "cpu"),
        )


class ConfigError(UserError):
    """A config value or field name that does not fit; the message lists the valid ones."""


def _fields(cls: type) -> dict[str, dataclasses.Field]:
    return {f.name: f for f in dataclasses.fields(cls)}


_TYPES = {"int": int, "float": float, "bool": bool, "str": str}


def annotation_type(annotation: Any) -> type:
    """The type a dataclass field annotation names (a string under ``from __future__ import
    annotations``: ``"int"`` -> int); used wherever a setting is parsed or checked."""
    return _TYPES.get(annotation, annotation) if isinstance(annotation, str) else annotation


def field_type(name: str) -> type:
    """The type of the ModelConfig/OptimConfig field ``name`` (``str`` for method and device)."""
    f = _fields(ModelConfig).get(name) or _fields(OptimConfig).get(name)
    return str if f is None else annotation_type(f.type)


def config_field_names() -> list[str]:
    """Names :func:`with_overrides` accepts: every ModelConfig and OptimConfig field, ``method``, ``device``."""
    return [*_fields(ModelConfig), *_fields(OptimConfig), "method", "device"]


def check_value(name: str, value: Any, where: str = "") -> Any:
    """``value`` checked against the type of the config field ``name`` (ints are accepted for
    float fields and returned as float; bools are not ints). Raises :class:`ConfigError`."""
    typ = field_type(name)
    if isinstance(value, int) and not isinstance(value, bool) and not INT64_MIN <= value <= INT64_MAX:
        raise ConfigError(f"{where}{name} must fit in a 64-bit integer ({INT64_MIN}..{INT64_MAX}), got {value}")
    ok = (isinstance(value, typ) and not (typ is int and isinstance(value, bool))) or (
        typ is float and isinstance(value, int) and not isinstance(value, bool))
    if not ok:
        raise ConfigError(f"{where}{name} must be a {typ.__name__}, got {value!r}")
    return float(value) if typ is float else value


def with_overrides(cfg: TrainConfig, overrides: Mapping[str, Any], where: str = "") -> TrainConfig:
    """``cfg`` with fields set by name, e.g. ``{"epochs": 20, "k": 50, "class_text": "ad"}``.

    Names are ModelConfig/OptimConfig fields (dashes or underscores), ``method`` or ``device``;
    an unknown name or a value of the wrong type or range is a :class:`ConfigError` that lists
    the valid names (``where`` prefixes the message, e.g. the recipe file)."""
    model, optim, top = _fields(ModelConfig), _fields(OptimConfig), {}
    mkw: dict[str, Any] = {}
    okw: dict[str, Any] = {}
    for key, value in overrides.items():
        name = key.replace("-", "_")
        if name in model:
            mkw[name] = check_value(name, value, where)
        elif name in optim:
            okw[name] = check_value(name, value, where)
        elif name in ("method", "device"):
            top[name] = check_value(name, value, where)
        else:
            raise ConfigError(f"{where}unknown setting {key!r}; valid names: {', '.join(config_field_names())}")
    if "method" in top and top["method"] not in METHOD_CHOICES:
        raise ConfigError(f"{where}unknown method {top['method']!r}; choose one of: {', '.join(METHOD_CHOICES)}")
    out = replace(cfg, model=replace(cfg.model, **mkw), optim=replace(cfg.optim, **okw), **top)
    try:
        out.validate()
    except ValueError as e:
        raise ConfigError(f"{where}{e}") from None
    return out
