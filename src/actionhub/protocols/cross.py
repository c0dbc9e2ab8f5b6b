"""The cross-dataset protocol of E2E-ZSAR (Brattoli et al., CVPR 2020): train on the
Kinetics-664 pool, test on 10 seeded random halves of UCF101 / HMDB51."""
from __future__ import annotations

from types import MappingProxyType

import numpy as np

from actionhub.protocols.base import Benchmark, Split
from actionhub.protocols.kinetics664 import kinetics664
from actionhub.protocols.shipped import (
    CITE_E2E,
    CITE_ER,
    CITE_K700,
    XU_DATASETS,
    er_definitions,
    kinetics700_definitions,
    xu_class_names,
)


def e2e_class_order(name: str) -> tuple[str, ...]:
    """The dataset's official class names in E2E-ZSAR's order (``np.unique`` of its folder names).

    UCF101 folders are the CamelCase names; E2E turns HMDB51's underscores into spaces. The
    sort is by code point, so ``"HammerThrow"`` precedes ``"Hammering"``.
    """
    classes = xu_class_names(XU_DATASETS[name])

    def folder(c: str) -> str:
        return c.replace("_", " ") if name == "hmdb51" else c

    return tuple(sorted(classes, key=folder))


def e2e_unseen_indices(n: int, seed: int) -> np.ndarray:
    """``np.random.seed(seed); np.random.permutation(n)[:n // 2]`` without touching global state."""
    return np.random.RandomState(seed).permutation(n)[: n // 2]


def cross_benchmark(name: str, num_splits: int = 10) -> Benchmark:
    dataset = name.removesuffix("-cross")
    order = e2e_class_order(dataset)
    pool = kinetics664()
    seen = tuple(pool["classes"])
    splits = tuple(
        Split(seen=seen, val=(), unseen=tuple(order[j] for j in e2e_unseen_indices(len(order), s)))
        for s in range(num_splits)
    )
    k700_defs, fallbacks = kinetics700_definitions()
    official = xu_class_names(XU_DATASETS[dataset])
    definitions = {c: k700_defs[c] for c in seen}
    definitions.update(er_definitions(dataset, official))
    seen_fallbacks = tuple(c for c in fallbacks if c in set(seen))
    notes = [
        f"E2E-ZSAR cross-dataset protocol: {num_splits} splits; split s tests on the "
        f"{len(order) // 2} classes np.random.seed(s); np.random.permutation({len(order)})"
        f"[:{len(order) // 2}] of E2E's class order (np.unique of the folder names"
        + (", underscores as spaces" if dataset == "hmdb51" else "")
        + "), reported under their official names, in permutation order.",
        f"Seen classes: the Kinetics-664 pool of this package, {len(seen)} Kinetics-700 classes "
        f"(rebuilt with {pool['word_vectors']} word vectors; E2E reports 664 with word2vec).",
        f"{len(seen_fallbacks)} seen Kinetics-700 classes have no ER definition; their "
        "definition is the class name itself (see Benchmark.definition_fallbacks). Kinetics-600 "
        "renames of Kinetics-400 classes use ER's Kinetics-400 definition (actionhub.protocols.K400_RENAMES).",
        f"{dataset} definitions are ER's, matched by normalized name"
        + (", with the 'table tennis shot' fix (see ucf101 notes)." if dataset == "ucf101" else "."),
    ]
    return Benchmark(
        name=name,
        classes=seen + official,
        splits=splits,
        definitions=MappingProxyType(definitions),
        source=(
            f"Cross-dataset protocol of {CITE_E2E}: train on Kinetics-664 (Kinetics-700, "
            f"{CITE_K700}, minus classes near UCF101/HMDB51 names) and test on seeded random "
            f"halves of {XU_DATASETS[dataset]}. Definitions from {CITE_ER}."
        ),
        notes=tuple(notes),
        select_epoch_on_val=False,
        definition_fallbacks=seen_fallbacks,
    )


