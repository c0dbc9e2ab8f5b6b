"""The optimisation schedule: how many steps a run takes (:func:`plan_schedule`), linear
warm-up then cosine annealing (paper Sec. 5.2), and the seeded shuffle of each epoch (so a
resumed run replays exactly the batches it would have seen).

``steps = N``: N optimiser steps; ``epochs = N``: N passes; neither: ``max(10 epochs, min_steps)`` steps.
The val classes are evaluated every ``eval_every`` epochs, at most :data:`MAX_EVALS` times; :func:`stop_early`
ends a run once val top-1 has not improved for ``patience`` evaluations and its loss has settled (:data:`SETTLED`).

Docs: docs/training.md#the-schedule, docs/training.md#early-stopping
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch

__all__ = ["lr_factor", "epoch_batches", "Schedule", "plan_schedule", "stop_early", "watched_loss", "AUTO_EPOCHS",
           "MAX_EVALS", "SETTLED"]

#: epochs of the auto schedule (before the min_steps floor)
AUTO_EPOCHS = 10
#: most evaluations (and checkpoints) a run makes; more epochs are grouped
MAX_EVALS = 50
#: a loss has settled when it fell by less than this share over the last ``patience`` evaluations
SETTLED = 0.05


@dataclass(frozen=True)
class Schedule:
    """The length of one run. steps_per_epoch: batches in a pass over the training videos;
    total_steps: optimiser steps of the run; epochs: passes (the last may be partial);
    warmup_steps: linear warm-up; eval_every: epochs between evaluations/checkpoints;
    rule: how total_steps was chosen, in words (recorded in run.json)."""

    steps_per_epoch: int
    total_steps: int
    epochs: int
    warmup_steps: int
    eval_every: int
    rule: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def epoch_steps(self, epoch: int) -> int:
        """Number of steps epoch ``epoch`` (0-based) takes."""
        return max(0, min(self.steps_per_epoch, self.total_steps - epoch * self.steps_per_epoch))

    def evaluates_after(self, epoch: int) -> bool:
        """Whether epoch ``epoch`` (0-based) ends with an evaluation and a checkpoint."""
        return (epoch + 1) % self.eval_every == 0 or epoch == self.epochs - 1


def plan_schedule(num_train: int, optim: Any) -> Schedule:
    """The schedule of a run with ``num_train`` training videos under ``optim`` (an
    :class:`~actionhub.config.OptimConfig`), by the rule in the module docstring."""
    spe = max(1, math.ceil(num_train / optim.batch_size))
    if optim.steps > 0:
        total, rule = optim.steps, f"steps={optim.steps} (given)"
    elif optim.epochs > 0:
        total, rule = optim.epochs * spe, f"epochs={optim.epochs} (given) x {spe} steps per epoch"
    else:
        by_epochs = AUTO_EPOCHS * spe
        total = max(by_epochs, optim.min_steps)
        rule = (f"auto: max({AUTO_EPOCHS} epochs x {spe} steps per epoch = {by_epochs}, "
                f"min-steps {optim.min_steps}) = {total}")
    epochs = math.ceil(total / spe)
    warmup = optim.warmup_steps if optim.warmup_steps >= 0 else int(round(optim.warmup_epochs * spe))
    warmup = min(warmup, total)
    return Schedule(steps_per_epoch=spe, total_steps=total, epochs=epochs, warmup_steps=warmup,
                    eval_every=max(1, math.ceil(epochs / MAX_EVALS)), rule=rule)


def lr_factor(step: int, total: int, warmup: int) -> float:
    """Linear warm-up for ``warmup`` steps, then cosine annealing to 0 at ``total``."""
    if warmup > 0 and step < warmup:
        return (step + 1) / warmup
    if total <= warmup:
        return 1.0
    progress = (step - warmup) / max(1, total - warmup)
    return 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))


def epoch_batches(n: int, batch_size: int, seed: int) -> list[np.ndarray]:
    g = torch.Generator().manual_seed(seed)
    perm = torch.randperm(n, generator=g).numpy()
    # Sorted indices inside a batch read memory-mapped features sequentially.
    return [np.sort(perm[i : i + batch_size]) for i in range(0, n, batch_size)]




def watched_loss(cim: bool) -> str:
    """The history key whose settling early stopping waits for: the cycle loss when the run trains
    it (CIM on), else the method's total training loss."""
    return "l_cycle" if cim else "loss"


def stop_early(history: list[dict[str, Any]], evals_since: int, patience: int, watch: str) -> str | None:
    """Why a run should stop after the last entry of ``history`` (one per epoch, ``"val"`` where
    evaluated): its val top-1 has not improved for ``evals_since >= patience`` evaluations and the
    ``watch`` loss (the total loss where the entries lack it) fell by less than :data:`SETTLED` over
    them. None: go on (``patience`` 0: never stop)."""
    evals = [h for h in history if "val" in h]
    if not patience or evals_since < patience or len(evals) <= patience:
        return None
    watch = watch if watch in evals[-1] else "loss"
    then, now, last = evals[-1 - patience][watch], evals[-1][watch], evals[-1]
    fall = (then - now) / abs(then) if then else 0.0
    if fall >= SETTLED:
        return None
    return (f"early stop at step {last['steps']} (epoch {last['epoch'] + 1}): no better val top-1 in {patience} "
            f"evaluations, and {watch} settled ({then:.4g} -> {now:.4g}: {100 * fall:.1f}% < {100 * SETTLED:g}% "
            "over them)")
