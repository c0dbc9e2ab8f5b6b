"""How a method trains: the one small interface between the trainer and the models.

The trainer (:mod:`actionhub.engine.trainer`) knows no method by name. Every model is a :class:`Fitting`:
``prepare(data)`` runs once before training; ``one_shot`` models train in one call, ``fit_once(data)``, the
others in the trainer's resumable step loop through ``forward``; ``refit(selection)`` says how ``--refit``
retrains on all seen classes. ``data`` is the engine's view of a run's inputs (:class:`FitData`).

Docs: docs/architecture.md#methods-fit-themselves
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Protocol, Sequence

import numpy as np
from torch import Tensor


class FitData(Protocol):
    """What a model sees of a run (implemented by :class:`actionhub.engine.rundata.RunData`)."""

    seen: Sequence[str]
    val: Sequence[str]
    unseen: Sequence[str]
    k: int
    device: str
    train_x: np.ndarray                          # (N, D_v) training features (may be memory-mapped)
    train_y: np.ndarray                          # (N,) indices into ``seen``
    select_on_val: bool                          # the run chooses on val classes
    validation_note: str | None                  # how val classes were carved / refit, for run.json
    text_meta: Mapping[str, Any]                 # the class text file's metadata

    def text(self, classes: Sequence[str]) -> tuple[Tensor, Tensor]:
        """(AD, VC) class text features (C, D_t) of ``classes`` on the device."""

    def val_set(self) -> tuple[np.ndarray, np.ndarray]:
        """(val features (N_v, D_v), labels (N_v,) into ``val``)."""

    def val_top1(self, model: Any) -> float:
        """Val-class top-1 (%) of ``model`` as it is now."""

    def bar(self, total: int, desc: str, unit: str) -> Any:
        """A progress bar (``update(n)``, ``close()``)."""


@dataclass(frozen=True)
class Refit:
    """How to retrain on all seen classes: ``info`` for run.json's ``validation`` record, ``optim``
    overrides (e.g. ``steps``) and ``method_params`` overrides (e.g. ESZSL's chosen gamma)."""

    info: dict[str, Any]
    optim: dict[str, Any] = field(default_factory=dict)
    method_params: dict[str, Any] = field(default_factory=dict)


class Fitting:
    """The training interface of a model (see the module docstring); the defaults are those of
    a model trained in the step loop."""

    #: True: :meth:`fit_once` trains the model; False: the trainer's step loop does
    one_shot = False

    def prepare(self, data: FitData) -> None:
        """Called once with the run's data before training (and before resuming)."""

    def fit_once(self, data: FitData) -> dict[str, Any]:
        """Train a one-shot model. Returns run.json's ``fit`` (what was done), ``selected_epoch``,
        ``epoch_selection`` and, where it says more than the fit, ``stop_reason``."""
        raise NotImplementedError(f"{type(self).__name__} trains in the step loop, not in one shot")

    @classmethod
    def refit(cls, selection: Mapping[str, Any]) -> Refit:
        """Retrain for the steps selected by the run ``selection`` (its run.json)."""
        steps = int(selection["selected_step"])
        return Refit(info={"refit_steps": steps}, optim={"steps": steps, "epochs": 0})

