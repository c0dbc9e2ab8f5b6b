"""Kinetics-664: E2E-ZSAR's training pool for the cross-dataset protocol -- Kinetics-700 minus
the classes whose averaged word-vector name embedding lies within cosine distance 0.05 of a
UCF101 or HMDB51 class name. :func:`build_kinetics664` builds it (``actionhub benchmarks
rebuild-kinetics664``); :func:`kinetics664` reads the shipped result."""
from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import numpy as np

from actionhub.dataset.wordvec import cosine_similarity
from actionhub.protocols.base import Benchmark, Split
from actionhub.protocols.shipped import (
    CITE_E2E,
    CITE_ER,
    CITE_GLOVE,
    CITE_K700,
    kinetics700_definitions,
    labels,
    read_json,
    xu_class_names,
)
from actionhub.utils.names import normalize_name, text_name

if TYPE_CHECKING:
    from actionhub.dataset.wordvec import WordVectors


def kinetics664() -> dict[str, Any]:
    """The shipped Kinetics-664 pool (``data/kinetics664.json``, see :func:`build_kinetics664`)."""
    return dict(_kinetics664_cached())


@lru_cache(maxsize=1)
def _kinetics664_cached() -> Mapping[str, Any]:
    return MappingProxyType(read_json("kinetics664.json"))


def build_kinetics664(
    wv: WordVectors, threshold: float = 0.05, match_names: bool = True
) -> dict[str, Any]:
    """E2E-ZSAR's training pool: Kinetics-700 classes far from every UCF101/HMDB51 class.

    A Kinetics-700 class is kept if the cosine distance between its averaged word-vector
    embedding and every UCF101 and HMDB51 class embedding is ``>= threshold``. Texts: Kinetics
    names as given, UCF101 CamelCase split into words, HMDB51 underscores as spaces.

    With ``match_names`` (default), a class whose :func:`normalize_name` equals that of a
    UCF101/HMDB51 class is removed too (distance 0 by identity): word splitting alone makes
    e.g. "skateboarding" and "SkateBoarding" ("skate boarding") differ, and names without any
    in-vocabulary word ("situp") have no embedding at all. Otherwise a class without any
    in-vocabulary word cannot be compared by vectors: it is listed in ``"no_vector"`` and kept
    unless its name matches (such a
    UCF101/HMDB51 class is listed in ``"targets_without_vector"``).

    Returns:
        ``{"classes": [kept, Kinetics-700 order], "num_classes", "removed": [{"class", "nearest",
        "nearest_dataset", "distance", "reason"}], "threshold", "word_vectors", "match_names",
        "rule", "no_vector", "targets_without_vector"}``; distances rounded to 6 decimals,
        ``reason`` is ``"word vectors"`` or ``"same name"``.
    """
    k700 = list(labels("kinetics700"))
    targets = [(c, "ucf101") for c in xu_class_names("UCF101")]
    targets += [(c, "hmdb51") for c in xu_class_names("HMDB51")]
    source = wv.embed(k700)
    target = wv.embed([text_name(c) for c, _ in targets])
    no_vector = ~source.any(axis=1)
    target_missing = ~target.any(axis=1)
    distance = 1.0 - cosine_similarity(source, target)
    distance[no_vector, :] = np.inf
    distance[:, target_missing] = np.inf
    same = np.zeros_like(distance, dtype=bool)
    if match_names:
        keys = np.array([normalize_name(c) for c, _ in targets])
        same = np.array([normalize_name(k) for k in k700])[:, None] == keys[None, :]
    nearest = np.where(same.any(axis=1), same.argmax(axis=1), distance.argmin(axis=1))
    kept, removed = [], []
    for i, name in enumerate(k700):
        j = int(nearest[i])
        d = 0.0 if same[i, j] else float(distance[i, j])
        if d >= threshold:
            kept.append(name)
            continue
        removed.append(
            {
                "class": name,
                "nearest": targets[j][0],
                "nearest_dataset": targets[j][1],
                "distance": round(max(d, 0.0), 6) + 0.0,
                "reason": "same name" if same[i, j] and distance[i, j] >= threshold else "word vectors",
            }
        )
    return {
        "classes": kept,
        "num_classes": len(kept),
        "removed": removed,
        "threshold": threshold,
        "word_vectors": wv.name,
        "match_names": match_names,
        "rule": (
            "Kinetics-700 class kept iff 1 - cos(mean word vector of its name, mean word vector "
            "of a UCF101/HMDB51 class name) >= threshold for every UCF101 and HMDB51 class "
            "(E2E-ZSAR, CVPR 2020)"
            + (
                "; classes with the same normalized name as a UCF101/HMDB51 class are removed too"
                if match_names
                else ""
            )
        ),
        "no_vector": [k700[i] for i in np.flatnonzero(no_vector)],
        "targets_without_vector": [targets[i][0] for i in np.flatnonzero(target_missing)],
    }


def kinetics664_benchmark() -> Benchmark:
    pool = kinetics664()
    classes = tuple(pool["classes"])
    k700_defs, fallbacks = kinetics700_definitions()
    kept_fallbacks = tuple(c for c in fallbacks if c in set(classes))
    return Benchmark(
        name="kinetics-664",
        classes=classes,
        splits=(Split(seen=classes, val=(), unseen=()),),
        definitions=MappingProxyType({c: k700_defs[c] for c in classes}),
        source=(
            f"Training pool of the cross-dataset protocol of {CITE_E2E}: Kinetics-700 "
            f"({CITE_K700}) minus the classes whose averaged word-vector name embedding is within "
            f"cosine distance {pool['threshold']} of a UCF101 or HMDB51 class. Rebuilt offline with "
            f"GloVe 6B-50d ({CITE_GLOVE}) instead of word2vec; definitions from {CITE_ER}."
        ),
        notes=(
            "Not a test benchmark: one split whose seen classes are the pool; val and unseen empty.",
            f"{len(classes)} classes with {pool['word_vectors']} (E2E reports 664 with word2vec, a "
            f"public re-implementation 662); {len(pool['removed'])} removed, listed in "
            "kinetics664()['removed'].",
            f"{len(kept_fallbacks)} classes have no ER definition and use their name as definition "
            "(Benchmark.definition_fallbacks).",
        ),
        select_epoch_on_val=False,
        definition_fallbacks=kept_fallbacks,
    )


