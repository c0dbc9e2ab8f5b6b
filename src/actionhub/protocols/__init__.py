"""Zero-shot action recognition benchmarks (paper Sec. 5.1) as data: classes, splits, definitions.

Protocols: ``kinetics-zsar`` (ER), ``ucf101``/``hmdb51`` (Xu et al.'s 50 splits),
``ucf101-cross``/``hmdb51-cross`` (E2E-ZSAR, seen = ``kinetics-664``), and the video-CLIP
papers' ``ucf101-full``/``hmdb51-full``/``kinetics600-zs`` (:mod:`~actionhub.protocols.clip_era`).
Layout: :mod:`~actionhub.protocols.base` (``Split``/``Benchmark``), :mod:`~actionhub.protocols.shipped`
(the data files), one module per protocol family, :mod:`~actionhub.protocols.user` (``--benchmark
FILE.json``), and the registry here: :func:`get_benchmark`, :func:`list_benchmarks`,
:func:`register_benchmark`.
Docs: docs/training.md#the-benchmarks
"""
from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any

from actionhub.protocols.base import Benchmark, Split
from actionhub.protocols.clip_era import CLIP_ERA_BENCHMARKS, full_benchmark, kinetics600_zs
from actionhub.protocols.cross import cross_benchmark, e2e_class_order, e2e_unseen_indices
from actionhub.protocols.kinetics664 import build_kinetics664, kinetics664, kinetics664_benchmark
from actionhub.protocols.kinetics_zsar import kinetics_zsar
from actionhub.protocols.shipped import K400_RENAMES, TABLE_TENNIS_DEFINITION
from actionhub.protocols.user import BenchmarkFileError, benchmark_from_json, is_benchmark_file, read_benchmark_file
from actionhub.protocols.xu import xu_benchmark
from actionhub.utils.errors import UserError
from actionhub.utils.names import normalize_name, text_name
from actionhub.utils.registry import Registry

__all__ = [
    "Split",
    "Benchmark",
    "BENCHMARKS",
    "list_benchmarks",
    "get_benchmark",
    "register_benchmark",
    "text_name",
    "normalize_name",
    "kinetics664",
    "build_kinetics664",
    "e2e_class_order",
    "e2e_unseen_indices",
    "load_user_benchmark",
    "check_user_benchmark_name",
    "benchmark_of_record",
    "benchmark_file_of",
    "K400_RENAMES",
    "TABLE_TENNIS_DEFINITION",
    "CLIP_ERA_BENCHMARKS",
]


class UnknownBenchmarkError(UserError):
    """A benchmark name that is not registered."""


#: name -> a function building the :class:`Benchmark` (called once, then cached)
BENCHMARKS: Registry[Callable[[], Benchmark]] = Registry("benchmark", UnknownBenchmarkError)
BENCHMARKS.register("kinetics-zsar", kinetics_zsar, help="ER's Kinetics-ZSAR: 400 seen / 60 val / 160 unseen, 3 splits")
BENCHMARKS.register("ucf101", lambda: xu_benchmark("ucf101"), help="UCF101, Xu et al.'s 50 splits (51/50)")
BENCHMARKS.register("hmdb51", lambda: xu_benchmark("hmdb51"), help="HMDB51, Xu et al.'s 50 splits (26/25)")
BENCHMARKS.register("ucf101-cross", lambda: cross_benchmark("ucf101-cross"),
                    help="E2E cross-dataset: Kinetics-664 seen, 50 UCF101 classes unseen, 10 splits")
BENCHMARKS.register("hmdb51-cross", lambda: cross_benchmark("hmdb51-cross"),
                    help="E2E cross-dataset: Kinetics-664 seen, 25 HMDB51 classes unseen, 10 splits")
BENCHMARKS.register("kinetics600-zs", kinetics600_zs,
                    help="CLIP papers' Kinetics-600 zero-shot: the 3 test splits of 160 classes (= kinetics-zsar)")
BENCHMARKS.register("ucf101-full", lambda: full_benchmark("ucf101-full"),
                    help="CLIP papers' protocol: all 101 UCF101 classes unseen, 3 official test lists")
BENCHMARKS.register("hmdb51-full", lambda: full_benchmark("hmdb51-full"),
                    help="CLIP papers' protocol: all 51 HMDB51 classes unseen, 3 official test lists")
BENCHMARKS.register("kinetics-664", kinetics664_benchmark,
                    help="the cross-dataset training pool (not a test benchmark)")
_NOT_TESTS = {"kinetics-664"}
BENCHMARKS.on_change(lambda name: _cached_benchmark.cache_clear())


def register_benchmark(name: str, build: Callable[[], Benchmark], *, help: str = "", replace: bool = False) -> None:
    """Make ``get_benchmark(name)`` return ``build()`` (built on first use, then cached)."""
    BENCHMARKS.register(name, build, help=help, replace=replace)


def list_benchmarks() -> list[str]:
    """Names of the test benchmarks (the training pool ``kinetics-664`` is left out)."""
    return [n for n in BENCHMARKS.names() if n not in _NOT_TESTS]


def get_benchmark(name: str) -> Benchmark:
    """The benchmark called ``name`` (built once, then cached), or the user benchmark in the JSON
    file ``name`` (:mod:`actionhub.protocols.user`; registered under its own name)."""
    if is_benchmark_file(name):
        return load_user_benchmark(name)
    BENCHMARKS.get(name)  # unknown names: one clear error listing the choices
    return _cached_benchmark(name)


@lru_cache(maxsize=None)
def _cached_benchmark(name: str) -> Benchmark:
    return BENCHMARKS.get(name)()


def load_user_benchmark(path: str | Path) -> Benchmark:
    """The benchmark in ``path``, registered under its name (so run records that name it resolve
    in this process); a shipped protocol's name cannot be reused."""
    bench = benchmark_from_json(read_benchmark_file(path), where=f"{path}: ")
    check_user_benchmark_name(bench, path)
    resolved = str(Path(path).resolve())
    if benchmark_file_of(bench.name) == resolved and get_benchmark(bench.name) == bench:
        return get_benchmark(bench.name)   # already registered: re-registering would clear every cached protocol

    def build() -> Benchmark:
        return bench

    build.user_file = resolved  # type: ignore[attr-defined]
    register_benchmark(bench.name, build, help=f"user benchmark from {path}", replace=True)
    return bench


def check_user_benchmark_name(bench: Benchmark, path: str | Path) -> None:
    """A user benchmark may not take a shipped protocol's name."""
    if bench.name in BENCHMARKS.names() and not getattr(BENCHMARKS.get(bench.name), "user_file", None):
        raise BenchmarkFileError(f"{path}: the name {bench.name!r} is a shipped protocol; give your benchmark "
                                 "another \"name\"")


def benchmark_of_record(rec: dict[str, Any]) -> Benchmark:
    """The benchmark of a run record: a registered protocol, or the user benchmark file it
    records under ``data.benchmark_file`` (loaded and registered)."""
    name, path = rec["benchmark"], rec.get("data", {}).get("benchmark_file")
    if path and name not in BENCHMARKS.names():
        return load_user_benchmark(path)
    return get_benchmark(name)


def benchmark_file_of(name: str) -> str | None:
    """The file a registered user benchmark came from (None for shipped protocols)."""
    try:
        return getattr(BENCHMARKS.get(name), "user_file", None)
    except UserError:
        return None
