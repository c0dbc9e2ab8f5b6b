"""Execution backends: run one function over many work items, in-process or on Dask.

:meth:`Backend.map` yields ``(index, result)`` as each item finishes, so the caller can write each
result at once and a killed job loses nothing that finished. Work functions must be importable
(top-level) and should return their per-item errors as data: one raising item ends the map.
Cluster: ``dask scheduler`` and ``dask worker tcp://SCHEDULER:8786`` on machines with ActionHub and
the input paths, then ``--backend dask --scheduler tcp://SCHEDULER:8786``.

Docs: docs/video.md#running-on-a-dask-cluster
"""
from __future__ import annotations

import logging
from typing import Any, Callable, Iterator, Protocol, Sequence

from actionhub.utils.errors import UserError

log = logging.getLogger(__name__)

BACKENDS = ("inprocess", "dask")


class Backend(Protocol):
    name: str

    def map(self, fn: Callable[[Any], Any], items: Sequence[Any]) -> Iterator[tuple[int, Any]]:
        """Yield ``(i, fn(items[i]))`` for every item, in completion order."""

    def close(self) -> None: ...


class InProcessBackend:
    """Runs every item in this process, in order."""

    name = "inprocess"

    def map(self, fn: Callable[[Any], Any], items: Sequence[Any]) -> Iterator[tuple[int, Any]]:
        for i, item in enumerate(items):
            yield i, fn(item)

    def close(self) -> None:
        pass


class DaskBackend:
    """Runs items on a Dask distributed cluster.

    scheduler: address of an existing scheduler (``tcp://host:8786``), or a
    ``distributed.Client`` to reuse. At most ``max_in_flight`` items are submitted at
    once so a million-item job does not flood the scheduler.
    """

    name = "dask"

    def __init__(self, scheduler: Any, max_in_flight: int = 256):
        try:
            from distributed import Client
        except ImportError:  # pragma: no cover - exercised only without the extra
            raise ImportError("the dask backend needs `pip install 'dask[distributed]'` "
                              "(or `pip install 'actionhub[dask]'`)") from None
        if scheduler is None:
            raise UserError("--backend dask needs --scheduler ADDRESS (e.g. tcp://10.0.0.1:8786)")
        self._own = not isinstance(scheduler, Client)
        try:
            self.client = Client(scheduler, timeout="30s") if self._own else scheduler
        except OSError as e:
            raise UserError(f"cannot reach the Dask scheduler at {scheduler}: {e}. Is `dask scheduler` "
                            "running there and reachable from this machine?") from e
        self.max_in_flight = max_in_flight

    def map(self, fn: Callable[[Any], Any], items: Sequence[Any]) -> Iterator[tuple[int, Any]]:
        from distributed import as_completed

        pending = iter(enumerate(items))
        index: dict[str, int] = {}

        def submit_next(ac: Any | None) -> Any | None:
            try:
                i, item = next(pending)
            except StopIteration:
                return None
            fut = self.client.submit(fn, item, pure=False)
            index[fut.key] = i
            if ac is not None:
                ac.add(fut)
            return fut

        first = [f for f in (submit_next(None) for _ in range(self.max_in_flight)) if f is not None]
        if not first:
            return
        ac = as_completed(first)
        for fut in ac:
            i = index.pop(fut.key)
            result = fut.result()
            fut.release()
            submit_next(ac)
            yield i, result

    def close(self) -> None:
        if self._own:
            self.client.close()


def get_backend(name: str = "inprocess", scheduler: Any = None) -> Backend:
    """The backend called ``name`` (one of :data:`BACKENDS`)."""
    if name == "inprocess":
        return InProcessBackend()
    if name == "dask":
        return DaskBackend(scheduler)
    raise UserError(f"unknown backend {name!r}; choose one of {', '.join(BACKENDS)}")
