"""A zero-shot protocol as data: :class:`Split` (seen / val / unseen class names) and
:class:`Benchmark` (classes, splits, one definition per class, provenance and notes)."""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from actionhub.utils.names import normalize_name

__all__ = ["Split", "Benchmark", "VideoLoader"]

SUBSET_FILES = {"val": "val", "test": "tst", "tst": "tst"}


@dataclass(frozen=True)
class Split:
    """One zero-shot split: class names for training, model selection and testing."""

    seen: tuple[str, ...]
    val: tuple[str, ...]
    unseen: tuple[str, ...]

    def to_json(self) -> dict[str, list[str]]:
        """``{"seen": [...], "val": [...], "unseen": [...]}``."""
        return {"seen": list(self.seen), "val": list(self.val), "unseen": list(self.unseen)}


VideoLoader = Callable[[Split, str], list[tuple[str, str]]]


@dataclass(frozen=True)
class Benchmark:
    """A ZSAR benchmark: its classes, splits and a definition text per class.

    Attributes:
        name: benchmark name as accepted by :func:`get_benchmark`.
        classes: every class name the benchmark uses, canonical spelling.
        splits: the published splits, 0-based (``split(i)``).
        definitions: class name -> action definition (AD) text, for every class.
        source: one-paragraph provenance and citation.
        notes: facts a user must know (fixes applied, duplicate rows, fallbacks).
        select_epoch_on_val: whether the protocol selects the epoch on the val classes.
        definition_fallbacks: classes without a published definition whose "definition" is
            their :func:`text_name`.
        listed_test_videos: only the test videos its published lists name are evaluated, whatever
            else a feature store holds (``ucf101-full``, ``hmdb51-full``: every video of an unseen
            class is in the store, only the split's test list counts); matched by file name
            (:func:`actionhub.features.listed.select_listed`).
    """

    name: str
    classes: tuple[str, ...]
    splits: tuple[Split, ...]
    definitions: Mapping[str, str]
    source: str
    notes: tuple[str, ...]
    select_epoch_on_val: bool
    definition_fallbacks: tuple[str, ...] = ()
    video_loader: VideoLoader | None = field(default=None, repr=False, compare=False)
    listed_test_videos: bool = False

    def __post_init__(self) -> None:
        _validate(self)

    @property
    def num_splits(self) -> int:
        """Number of published splits."""
        return len(self.splits)

    def split(self, i: int) -> Split:
        """Split ``i`` (0-based)."""
        if not isinstance(i, (int, np.integer)) or not 0 <= i < self.num_splits:
            raise ValueError(
                f"split {i!r} is out of range for benchmark {self.name!r}: "
                f"valid splits are 0..{self.num_splits - 1}"
            )
        return self.splits[int(i)]

    def eval_videos(self, i: int, subset: str) -> list[tuple[str, str]] | None:
        """Evaluation videos of split ``i``: ``(video id, class name)`` pairs.

        Only for benchmarks that ship their video lists (``kinetics-zsar``, ``kinetics600-zs``,
        ``ucf101-full``, ``hmdb51-full``): ``subset`` is ``"val"`` (videos of the split's val
        classes) or ``"test"`` (of its unseen classes); video ids are file names without their
        extension. ``None`` for other benchmarks.
        """
        if subset not in SUBSET_FILES:
            raise ValueError(f"subset must be 'val' or 'test', got {subset!r}")
        split = self.split(i)
        if self.video_loader is None:
            return None
        return self.video_loader(split, subset)

    def to_json(self, split: int | None = None) -> dict[str, Any]:
        """JSON-ready summary; with ``split`` only that split (still inside ``"splits"``).

        When ``split`` is given, ``"split_index"`` records which one it is; ``"num_splits"`` is
        always the benchmark's total.
        """
        out: dict[str, Any] = {
            "name": self.name,
            "num_splits": self.num_splits,
            "source": self.source,
            "notes": list(self.notes),
        }
        if split is None:
            out["splits"] = [s.to_json() for s in self.splits]
        else:
            out["split_index"] = int(split)
            out["splits"] = [self.split(split).to_json()]
        return out


def _validate(bench: Benchmark) -> None:
    """Raise ValueError unless the benchmark is internally consistent."""
    known = set(bench.classes)
    if len(known) != len(bench.classes):
        raise ValueError(f"{bench.name}: duplicate class names")
    keys = {normalize_name(c) for c in bench.classes}
    if len(keys) != len(bench.classes):
        raise ValueError(f"{bench.name}: class names collide after normalize_name")
    missing = [c for c in bench.classes if not str(bench.definitions.get(c, "")).strip()]
    if missing:
        raise ValueError(f"{bench.name}: no definition for {missing[:5]}")
    for i, s in enumerate(bench.splits):
        parts = (set(s.seen), set(s.val), set(s.unseen))
        if not (parts[0] | parts[1] | parts[2]) <= known:
            raise ValueError(f"{bench.name} split {i}: classes outside the benchmark")
        if parts[0] & parts[1] or parts[0] & parts[2] or parts[1] & parts[2]:
            raise ValueError(f"{bench.name} split {i}: seen/val/unseen overlap")


