"""Method registry: the name given to ``actionhub train --method`` -> how to train it.

``coco`` (every ablation is a config of it), ``er-vse`` (CoCo AD-only, CIM off), the iterative baselines
``devise``, ``ale``, ``sje``, ``dem``, the closed-form ``eszsl`` and ``gcn`` (:mod:`actionhub.models.baselines`).
Each method has a hyper-parameter dataclass (empty for the CoCo family), set by ``--method-param NAME=VALUE``
and recorded in run.json under ``config["method_params"]``.

Docs: docs/baselines.md#the-method-registry-and-the-baseline-interface
"""
from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass, field, replace
from typing import Any, Mapping

from torch import nn

from actionhub.config import METHOD_CHOICES, ModelConfig, TrainConfig
from actionhub.models.baselines import BASELINES
from actionhub.models.baselines.common import parse_params
from actionhub.models.baselines.er_vse import FORCED_MODEL as ER_VSE_FORCED
from actionhub.utils.errors import UserError
from actionhub.utils.registry import Registry

log = logging.getLogger(__name__)


class UnknownMethodError(UserError):
    """``--method`` names no registered method."""


@dataclass
class NoParams:
    """The CoCo family takes its hyper-parameters from ModelConfig/OptimConfig."""


@dataclass(frozen=True)
class Method:
    """One trainable method.

    kind: ``"coco"`` (CoCo's model and losses), ``"iterative"`` (a baseline trained in
    CoCo's resumable epoch loop), ``"closed-form"`` (solved once, no epochs) or ``"graph"``
    (trained once on the class graph, not on video batches); recorded in run.json. How each trains
    is the model's own (:mod:`actionhub.models.fitting`).
    forced: ModelConfig fields the method fixes whatever the flags say.
    """

    name: str
    title: str
    kind: str
    citation: str
    summary: str
    model_cls: type | None = None
    params_cls: type = NoParams
    forced: Mapping[str, Any] = field(default_factory=dict)

    def resolve_config(self, cfg: TrainConfig) -> TrainConfig:
        """``cfg`` with ``method`` set and the forced model fields applied (logged when they change)."""
        changed = {k: v for k, v in self.forced.items() if getattr(cfg.model, k) != v}
        if changed:
            log.info("method %s sets %s", self.name, ", ".join(f"{k}={v}" for k, v in changed.items()))
        return replace(cfg, model=replace(cfg.model, **self.forced), method=self.name)

    def make_params(self, overrides: Mapping[str, Any] | None = None) -> Any:
        """The method's hyper-parameter dataclass with ``overrides`` applied and checked."""
        return parse_params(self.params_cls, overrides, self.name)

    def params_dict(self, overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
        return dataclasses.asdict(self.make_params(overrides))

    def config_record(self, cfg: TrainConfig, overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The ``config`` a run of this method records (run.json, config.json): ``cfg`` resolved for
        the method, with its parameters under ``method_params``."""
        return {**self.resolve_config(cfg).to_dict(), "method_params": self.params_dict(overrides)}

    @property
    def model_class(self) -> type:
        """The model class: CoCo for the CoCo family, else the baseline's."""
        if self.model_cls is None:
            from actionhub.models.coco.model import CoCo

            return CoCo
        return self.model_cls

    def build(self, visual_dim: int, text_dim: int, model_cfg: ModelConfig, params: Any) -> nn.Module:
        """A fresh model (CoCo or a baseline) with CoCo's evaluation interface."""
        if self.model_cls is None:
            return self.model_class(visual_dim, text_dim, model_cfg)
        return self.model_cls(visual_dim, text_dim, model_cfg, params)


#: ``--method`` name -> :class:`Method`
METHODS: Registry[Method] = Registry("method", UnknownMethodError)


def register_method(method: Method, replace: bool = False) -> Method:
    """Make ``method`` trainable as ``actionhub.train(..., method=method.name)``."""
    return METHODS.register(method.name, method, help=f"{method.title}: {method.summary}", replace=replace)


register_method(Method("coco", "CoCo", "coco", "this paper (Sec. 4)",
                       "dual cross-modality alignment (AD + VC) and cross-action invariance mining"))
register_method(Method("er-vse", "ER-VSE", "coco", "Chen & Huang, ICCV 2021 (re-evaluated without BERT fine-tuning)",
                       "CoCo with AD only, no descriptions, no CIM, no object rehearsal", forced=ER_VSE_FORCED))
for _name, _spec in BASELINES.items():
    # The CIM pool and cycle loss are CoCo's; baselines record cim off.
    _kind = ("closed-form" if getattr(_spec.model, "closed_form", False)
             else "graph" if getattr(_spec.model, "graph_trained", False) else "iterative")
    register_method(Method(_name, _spec.title, _kind,
                           _spec.citation, _spec.summary, _spec.model, _spec.params, forced={"cim": False}))
if set(METHODS) != set(METHOD_CHOICES):  # pragma: no cover - a developer error
    raise RuntimeError(f"config.METHOD_CHOICES {METHOD_CHOICES} and actionhub.models.registry "
                       f"{tuple(METHODS)} disagree")

# The row order of the paper's Table 2.
TABLE_ORDER = ("devise", "ale", "sje", "dem", "eszsl", "gcn", "er-vse", "coco")


def get_method(name: str) -> Method:
    """The method registered as ``name`` (an unknown name lists the choices)."""
    return METHODS.get(name)


def method_names() -> list[str]:
    return METHODS.names()


def parse_method_params(items: list[str] | None) -> dict[str, str]:
    """``["gamma=1", "lam=0.1"]`` -> ``{"gamma": "1", "lam": "0.1"}`` (converted by the method)."""
    out: dict[str, str] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UserError(f"--method-param expects NAME=VALUE, got {item!r}")
        out[key.strip()] = value.strip()
    return out
