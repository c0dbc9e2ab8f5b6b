"""The inputs of one training run: :class:`RunInputs` (the protocol's class lists, the
feature sets and the class text), and :func:`build_inputs`, which assembles them from files on
disk -- a protocol (benchmark + split), the feature stores and the class text features a user
passes -- and checks that they fit together before any training starts.
"""
from __future__ import annotations

import json
import logging
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from actionhub.features import FeatureError, FeatureSet, load_features
from actionhub.features.labels import resolve_labels
from actionhub.features.listed import select_listed
from actionhub.protocols import Benchmark, normalize_name
from actionhub.text.class_text import ClassText, load_class_text
from actionhub.utils.errors import UserError
from actionhub.utils.names import listing

log = logging.getLogger(__name__)


@dataclass
class RunInputs:
    """Everything one run trains and evaluates on.

    seen/val/unseen: class names of the split; train: FeatureSet of the seen-class
    videos; val/test: FeatureSets of val-class and unseen-class videos (val may be None);
    text: class text features covering seen, val and unseen classes;
    pool: class names + text of the CIM cycle pool (defaults to the unseen classes);
    seen_test: held-out videos of seen classes for GZSL evaluation (see :func:`holdout_seen`).
    """

    benchmark: str
    split: int
    seen: Sequence[str]
    val: Sequence[str]
    unseen: Sequence[str]
    train: FeatureSet
    test: FeatureSet
    text: ClassText
    val_set: FeatureSet | None = None
    pool_text: ClassText | None = None
    pool_classes: Sequence[str] | None = None
    select_epoch_on_val: bool = False
    data_info: dict[str, Any] = field(default_factory=dict)
    seen_test: FeatureSet | None = None


def load_benchmark_features(path: str | Path | FeatureSet, bench: Benchmark, video_list: str | Path | None, labels: str
                            | Path | None,
          missing: str = "error") -> FeatureSet:
    if isinstance(path, FeatureSet):
        # Already in memory: only map its labels onto the benchmark's class names, as loading does.
        if video_list is not None or labels is not None:
            raise FeatureError("a FeatureSet carries its own labels: drop video_list/labels for it")
        where = f"{path.source or 'the FeatureSet'}'s labels"
        return FeatureSet(path.features, resolve_labels(path.labels, list(bench.classes), where), path.videos,
                          path.source, dict(path.meta))
    return load_features(path, labels=labels, video_list=video_list, classes=list(bench.classes), missing=missing)


def _name(features: str | Path | FeatureSet) -> str:
    if isinstance(features, FeatureSet):
        return features.source or "<in memory>"
    return str(features)


def data_paths(features: Any, eval_features: Any, text_features: str | None, cim_pool: Any) -> dict[str, Any]:
    """The data a run names in run.json ("features", "eval_features", "text_features", "cim_pool"),
    known before anything is loaded (:func:`actionhub.api.train` checks a run folder against it)."""
    return {"features": _name(features),
            "eval_features": _name(eval_features if eval_features is not None else features),
            "text_features": text_features,
            "cim_pool": str(cim_pool) if cim_pool else "unseen classes of the split"}


def write_eval_video_list(bench: Benchmark, split: int | Sequence[int], tmpdir: Path,
                     subsets: Sequence[str] = ("val", "test")) -> Path | None:
    """For benchmarks that publish their evaluation videos (kinetics-zsar), a metas file
    of the split's (or splits') val and test videos, to read an ER-style directory of .npy files."""
    rows: dict[str, str] = {}
    for s in [split] if isinstance(split, int) else split:
        for subset in subsets:
            vids = bench.eval_videos(s, subset)
            if vids is None:
                return None
            rows.update(vids)
    path = tmpdir / f"{bench.name}_split{'-'.join(map(str, [split] if isinstance(split, int) else split))}_eval.jsonl"
    with open(path, "w") as f:
        for vid, cls in rows.items():
            f.write(json.dumps({"videoname": vid, "label": cls}) + "\n")
    return path


def _check_visual_dims(full: FeatureSet, features: Any, ev: FeatureSet, eval_features: Any) -> None:
    """The training and evaluation video features must have one dimension (else evaluation fails
    after a whole training)."""
    if ev is not full and ev.dim != full.dim:
        raise FeatureError(f"--features {_name(features)} holds {full.dim}-d video features but --eval-features "
                           f"{_name(eval_features)} holds {ev.dim}-d; extract both with the same backbone "
                           "(`actionhub extract --backbone`)")


def _warn_coverage(fs: FeatureSet, classes: Sequence[str], kind: str, role: str, source: Any) -> None:
    """Warn when some of the split's ``classes`` have no video in ``fs``: the metrics then cover fewer classes."""
    present = set(fs.classes)
    empty = [c for c in classes if c not in present]
    if empty:
        log.warning("%d of the %d %s classes have no %s videos in %s (only %d have some): %s", len(empty),
                    len(classes), kind, role, _name(source), len(classes) - len(empty), listing(empty[:5], len(empty)))


def build_inputs(
    bench: Benchmark,
    split: int,
    *,
    features: str | Path | FeatureSet,
    text_features: str | Path | ClassText,
    eval_features: str | Path | FeatureSet | None = None,
    video_list: str | Path | None = None,
    eval_video_list: str | Path | None = None,
    labels: str | Path | None = None,
    eval_labels: str | Path | None = None,
    cim_pool: str | Path | None = None,
) -> RunInputs:
    """Load and check everything one run of ``bench`` split ``split`` needs.

    ``features``/``eval_features`` are feature files or in-memory :class:`FeatureSet` s (their
    labels are mapped onto the benchmark's classes); ``text_features`` a file or a :class:`ClassText`.
    """
    sp = bench.split(split)
    full = load_benchmark_features(features, bench, video_list, labels)
    train = full.subset(sp.seen)
    if len(train) == 0:
        raise FeatureError(f"{_name(features)} holds no videos of the {len(sp.seen)} seen classes of {bench.name} "
                           f"split {split}")
    if eval_features is None or eval_features is features or (
            not isinstance(eval_features, FeatureSet) and not isinstance(features, FeatureSet)
            and Path(eval_features) == Path(features)):
        ev = full
    else:
        with tempfile.TemporaryDirectory() as td:
            missing = "error"
            if (eval_video_list is None and not isinstance(eval_features, FeatureSet) and Path(eval_features).is_dir()
                    and not bench.listed_test_videos):
                eval_video_list = write_eval_video_list(bench, split, Path(td))
                # The published lists name every video of the protocol; some are no longer
                # downloadable, so videos without features are dropped with a warning.
                missing = "skip" if eval_video_list is not None else "error"
            ev = load_benchmark_features(eval_features, bench, eval_video_list, eval_labels, missing)
    eval_source = eval_features if eval_features is not None else features
    test = ev.subset(sp.unseen)
    if len(test) == 0:
        raise FeatureError(f"{_name(eval_source)} holds no videos of the {len(sp.unseen)} unseen classes of "
                           f"{bench.name} split {split}; pass --eval-features with the evaluation videos")
    listed_info = None
    if bench.listed_test_videos:   # only the split's official test videos count (e.g. ucf101-full)
        test, listed_info = select_listed(test, bench.eval_videos(split, "test") or [],
                                          f"the test list of {bench.name} split {split}")
    val_set = ev.subset(sp.val) if sp.val else None
    if val_set is not None and len(val_set) == 0:
        log.warning("no videos of the %d val classes found: the last epoch will be used", len(sp.val))
        val_set = None
    _check_visual_dims(full, features, ev, eval_features)
    _warn_coverage(train, sp.seen, "seen", "training", features)
    _warn_coverage(test, sp.unseen, "unseen", "test", eval_source)
    text = text_features if isinstance(text_features, ClassText) else load_class_text(text_features)
    text.indices(list(sp.seen) + list(sp.val) + list(sp.unseen))  # raises naming missing classes
    pool_text, pool_classes = None, None
    if cim_pool is not None:
        pool_text = load_class_text(cim_pool)
        if pool_text.dim != text.dim:
            raise UserError(f"--cim-pool {cim_pool} holds {pool_text.dim}-d class text features but --text-features "
                            f"{text.meta.get('path', '')} holds {text.dim}-d; build both with the same text encoder")
        seen_keys = {normalize_name(c) for c in sp.seen}
        pool_classes = [c for c in pool_text.classes if normalize_name(c) not in seen_keys]
        if not pool_classes:
            raise UserError(f"--cim-pool {cim_pool} has no classes besides the seen ones")
    info: dict[str, Any] = {
        **data_paths(features, eval_features, text.meta.get("path", "<in memory>"), cim_pool),
        "synthetic": bool(full.meta.get("synthetic") or text.meta.get("synthetic")),
        "feature_meta": {k: v for k, v in full.meta.items() if isinstance(v, (str, int, float, bool))},
    }
    if listed_info is not None:
        info["test_list"] = listed_info
    return RunInputs(
        benchmark=bench.name, split=split, seen=sp.seen, val=sp.val, unseen=sp.unseen,
        train=train, test=test, val_set=val_set, text=text, pool_text=pool_text, pool_classes=pool_classes,
        select_epoch_on_val=bench.select_epoch_on_val, data_info=info,
    )
