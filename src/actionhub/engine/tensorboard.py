"""``--log tensorboard``: a run's curves (:mod:`actionhub.evaluation.curves`) as TensorBoard event
files under ``RUN/tb/``, written while it trains, so ``tensorboard --logdir RUN/tb`` shows them live.
The ``tensorboard`` package is an optional extra (``pip install 'actionhub[tensorboard]'``)."""
from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any, Iterable, Mapping

from actionhub.evaluation.curves import entry_points
from actionhub.utils.errors import UserError

__all__ = ["LOGGERS", "LoggerError", "TensorBoardLog", "check_loggers"]

#: ``--log`` names -> the package each needs
LOGGERS = {"tensorboard": "tensorboard"}


class LoggerError(UserError):
    """An unknown ``--log`` name, or one whose package is not installed."""


def check_loggers(names: Iterable[str]) -> tuple[str, ...]:
    """``names`` when every one is a known logger whose package is installed; else a LoggerError
    that names the extra to install. Cheap: nothing is imported."""
    names = tuple(dict.fromkeys(names))
    for name in names:
        if name not in LOGGERS:
            raise LoggerError(f"unknown logger {name!r} for --log; choose one of: {', '.join(LOGGERS)}")
        if importlib.util.find_spec(LOGGERS[name]) is None:
            raise LoggerError(f"--log {name} needs the {LOGGERS[name]} package: pip install 'actionhub[{name}]'")
    return names


class TensorBoardLog:
    """An epoch callback (:func:`actionhub.engine.trainer.train_run`) that writes each history entry's
    curve points at its step into ``logdir``; flushed after every evaluation."""

    def __init__(self, logdir: str | Path):
        self.logdir = Path(logdir)
        self._writer: Any = None

    def __call__(self, entry: Mapping[str, Any]) -> None:
        if self._writer is None:
            from torch.utils.tensorboard import SummaryWriter

            # A resumed run trains again from its checkpoint: what a killed session wrote after it goes.
            self._writer = SummaryWriter(str(self.logdir), purge_step=int(entry["steps"]), flush_secs=10)
        for name, value in entry_points(entry).items():
            self._writer.add_scalar(name, value, int(entry["steps"]))
        if "val" in entry:
            self._writer.flush()

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None
