"""Progress bars that suit both a terminal and a log file.

Every long loop in ActionHub shows a tqdm bar through :func:`progress_bar`.
In a terminal it is an ordinary live bar.  When stderr is not a terminal (a
CI log, ``nohup``, a cluster job's output file) a redrawing bar would write a
line per update and bury the real output, so there:

* transient bars (one per epoch, one per query) are switched off, and
* the remaining bars redraw at most every ``LOG_INTERVAL_S`` seconds, which
  leaves a handful of progress lines in the log and the final count.
"""

from __future__ import annotations

import contextlib
import sys
from typing import Any, Iterable, Iterator

#: Seconds between redraws when stderr is not a terminal.
LOG_INTERVAL_S = 30.0


def stderr_is_terminal() -> bool:
    """True when stderr is attached to a terminal."""
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):  # closed or replaced stream
        return False


def progress_bar(iterable: Iterable[Any] | None = None, *, enabled: bool = True, transient: bool = False,
                 **kwargs: Any):
    """A ``tqdm`` bar (``tqdm.auto``) that behaves in logs.

    Args:
        iterable: what to wrap, or None for a manual bar (``update()``).
        enabled: False turns the bar off (the CLI's ``--no-progress``).
        transient: a bar that is cleared when done (per epoch, per item of an
            outer loop); off entirely when stderr is not a terminal.
        **kwargs: passed to tqdm (desc, total, unit, ...).
    """
    from tqdm.auto import tqdm  # noqa: PLC0415

    terminal = stderr_is_terminal()
    if not enabled or (transient and not terminal):
        kwargs["disable"] = True
    elif not terminal:
        kwargs["mininterval"] = max(float(kwargs.get("mininterval", 0.1)), LOG_INTERVAL_S)
    kwargs.setdefault("leave", not transient)
    return tqdm(iterable, **kwargs)


@contextlib.contextmanager
def library_bars(enabled: bool) -> Iterator[None]:
    """Let third-party progress bars (transformers' "Loading weights" bar while a text encoder
    loads) follow ``enabled``: with ``--no-progress`` they are switched off for the block."""
    if enabled:
        yield
        return
    try:
        from transformers.utils import logging as hf_logging  # noqa: PLC0415
    except ImportError:
        yield
        return
    was = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was:
            hf_logging.enable_progress_bar()
