"""UCF101 and HMDB51 with the 50 published random splits of Xu, Hospedales & Gong (IJCV 2017):
half of the classes seen, half unseen, no validation classes."""
from __future__ import annotations

from types import MappingProxyType

import numpy as np

from actionhub.protocols.base import Benchmark, Split
from actionhub.protocols.shipped import (
    CITE_ER,
    CITE_XU,
    XU_DATASETS,
    er_definitions,
    labels,
    xu_class_names,
    xu_split_rows,
)


def _duplicate_rows(rows: np.ndarray) -> list[tuple[int, int]]:
    """``(later, earlier)`` 0-based pairs of rows holding the same set of indices."""
    first: dict[tuple[int, ...], int] = {}
    dups = []
    for i, row in enumerate(rows):
        key = tuple(sorted(int(x) for x in row))
        if key in first:
            dups.append((i, first[key]))
        else:
            first[key] = i
    return dups


def xu_benchmark(name: str) -> Benchmark:
    dataset = XU_DATASETS[name]
    classes = xu_class_names(dataset)
    train, test = xu_split_rows(dataset)
    n = len(classes)
    if train.min() < 1 or max(train.max(), test.max()) > n:
        raise ValueError(f"Xu {dataset} split indices outside 1..{n}")
    splits = tuple(
        Split(
            seen=tuple(classes[j - 1] for j in tr),
            val=(),
            unseen=tuple(classes[j - 1] for j in te),
        )
        for tr, te in zip(train, test, strict=True)
    )
    dups = _duplicate_rows(test)
    distinct = len(splits) - len(dups)
    notes = [
        f"All {len(splits)} published splits are kept as published ({train.shape[1]} seen / "
        f"{test.shape[1]} unseen classes, no validation classes); they hold {distinct} distinct "
        "unseen-class sets"
        + (
            ": split rows "
            + ", ".join(str(i + 1) for i, _ in dups)
            + " (1-based) repeat the unseen classes of rows "
            + ", ".join(str(j + 1) for _, j in dups)
            + "."
            if dups
            else "."
        ),
        "Split indices are 1-based into the class order of Xu et al.'s Label.mat ClassName ("
        + ("equal to" if classes == labels(name) else "DIFFERENT from")
        + f" the official {dataset} class list).",
        f"Definitions are ER's {name} classes_label_defn.json 'defn', matched by normalized name "
        "(ER's file orders some classes differently from the official order).",
    ]
    if name == "ucf101":
        notes.append(
            "Fixed: ER's definition of 'table tennis shot' (TableTennisShot) is the definition "
            "of 'eat'; it is replaced by a new definition of a table tennis stroke "
            "(actionhub.protocols.TABLE_TENNIS_DEFINITION)."
        )
    return Benchmark(
        name=name,
        classes=classes,
        splits=splits,
        definitions=MappingProxyType(er_definitions(name, classes)),
        source=(
            f"{dataset} zero-shot splits of {CITE_XU} (Split.mat, 50 random 50/50 class splits), "
            f"as used by ER and the ActionHub paper; action definitions from {CITE_ER}."
        ),
        notes=tuple(notes),
        select_epoch_on_val=False,
    )


