"""A run's training curves from its history (run.json): the losses (``l_l``, ``l_c``, ``l_cycle``,
total), the learning rate and the val top-1/top-5, against the optimiser step. ``--log tensorboard``
writes them while the run trains (:mod:`actionhub.engine.tensorboard`); ``actionhub report`` draws
them (:func:`actionhub.report.figures.curves_figure`)."""
from __future__ import annotations

from typing import Any, Iterable, Mapping

__all__ = ["CURVES", "entry_points", "curves"]

#: history key -> curve name (the TensorBoard tag); ``val.*`` keys are read from the entry's "val"
CURVES = {"l_l": "loss/l_l", "l_c": "loss/l_c", "l_cycle": "loss/l_cycle", "loss": "loss/total", "lr": "lr",
          "val.top1": "val/top1", "val.top5": "val/top5"}


def entry_points(entry: Mapping[str, Any]) -> dict[str, float]:
    """The curve values of one history entry (all at step ``entry["steps"]``), by curve name."""
    out: dict[str, float] = {}
    for key, name in CURVES.items():
        group, _, sub = key.partition(".")
        value = entry.get(group, {}).get(sub) if sub else entry.get(key)
        if isinstance(value, (int, float)):
            out[name] = float(value)
    return out


def curves(history: Iterable[Mapping[str, Any]]) -> dict[str, tuple[list[int], list[float]]]:
    """Every curve of ``history``: name -> (steps, values), in the order of :data:`CURVES`."""
    out: dict[str, tuple[list[int], list[float]]] = {}
    for entry in history:
        for name, value in entry_points(entry).items():
            steps, values = out.setdefault(name, ([], []))
            steps.append(int(entry["steps"]))
            values.append(value)
    return {name: out[name] for name in CURVES.values() if name in out}
