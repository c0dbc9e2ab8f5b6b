"""The protocol of the video-CLIP papers (ActionCLIP, X-CLIP, ViFi-CLIP, ...): train on
Kinetics-400, then test on **all** classes of a target dataset.

``ucf101-full``/``hmdb51-full``: every class unseen, only the videos of each official test list
(package data, matched by file name: :attr:`Benchmark.listed_test_videos`). ``kinetics600-zs``: the
``kinetics-zsar`` splits under the CLIP papers' name. Seen classes for a trained model: the
Kinetics-400 classes that E2E-ZSAR's rule keeps (:mod:`~actionhub.protocols.kinetics664`) less the
17 of :data:`SAME_ACTION_AS_TARGET` (349 classes), stricter than the published CLIP rows, which
fine-tune on all 400 (some of them UCF101/HMDB51 classes under another spelling).
Docs: docs/clip.md#the-protocols
"""
from __future__ import annotations

import dataclasses
from functools import lru_cache
from types import MappingProxyType

from actionhub.protocols.base import Benchmark, Split
from actionhub.protocols.kinetics664 import kinetics664
from actionhub.protocols.kinetics_zsar import kinetics_zsar
from actionhub.protocols.shipped import (
    CITE_E2E,
    CITE_ER,
    K400_RENAMES,
    OFFICIAL_SPLIT_FILES,
    XU_DATASETS,
    er_definitions,
    er_kinetics,
    labels,
    official_test_lists,
    xu_class_names,
)

__all__ = ["CLIP_ERA_BENCHMARKS", "SAME_ACTION_AS_TARGET", "kinetics400_pool", "full_benchmark", "kinetics600_zs"]

#: the protocols of the video-CLIP papers (their own section in ``actionhub report``)
CLIP_ERA_BENCHMARKS = ("kinetics600-zs", "ucf101-full", "hmdb51-full")

CITE_UCF101 = ("Soomro, Zamir & Shah, 'UCF101: A Dataset of 101 Human Actions Classes From Videos in The Wild', "
               "CRCV-TR-12-01, 2012 (www.crcv.ucf.edu/data/UCF101.php)")
CITE_HMDB51 = ("Kuehne, Jhuang, Garrote, Poggio & Serre, 'HMDB: A Large Video Database for Human Motion "
               "Recognition', ICCV 2011 (serre-lab.clps.brown.edu/resource/hmdb-a-large-human-motion-database)")
CLIP_PROTOCOL = ("the zero-shot protocol of the video-CLIP papers (X-CLIP, Ni et al., ECCV 2022; ViFi-CLIP, "
                 "Rasheed et al., CVPR 2023): trained on Kinetics-400, tested on all classes")


#: Kinetics-400 classes whose lemmatised name (ActionHub's ``normalize_action``) is the name of a
#: UCF101 / HMDB51 class, though E2E's word-vector rule keeps them: the same action under another
#: spelling ("cartwheeling" / cartwheel, "riding a bike" / ride_bike); never seen on the -full protocols
SAME_ACTION_AS_TARGET = (
    "bench pressing", "brushing hair", "cartwheeling", "clapping", "drinking", "hugging", "hula hooping", "kissing",
    "laughing", "lunge", "riding a bike", "shaking hands", "skiing (not slalom or crosscountry)", "smoking",
    "somersaulting", "swinging on something", "throwing discus",
)


@lru_cache(maxsize=1)
def kinetics400_pool() -> tuple[str, ...]:
    """The seen classes of ``ucf101-full`` / ``hmdb51-full`` (Kinetics-400 order): the Kinetics-400
    classes whose Kinetics-700 name is in the Kinetics-664 pool, plus those Kinetics-700 dropped,
    less :data:`SAME_ACTION_AS_TARGET` (docs/clip.md)."""
    new_name = {old: new for new, old in K400_RENAMES.items()}
    k700, pool = set(labels("kinetics700")), set(kinetics664()["classes"])
    return tuple(c for c in labels("kinetics400")
                 if (new_name.get(c, c) in pool or new_name.get(c, c) not in k700) and c not in SAME_ACTION_AS_TARGET)


def full_benchmark(name: str) -> Benchmark:
    """``ucf101-full`` / ``hmdb51-full`` (see the module docstring)."""
    dataset = name.removesuffix("-full")
    official = xu_class_names(XU_DATASETS[dataset])
    seen = kinetics400_pool()
    lists = official_test_lists(dataset)
    splits = tuple(Split(seen=seen, val=(), unseen=official) for _ in lists)

    def videos(split: Split, subset: str) -> list[tuple[str, str]]:
        if subset == "val":
            return []
        index = next(i for i, s in enumerate(splits) if s is split)
        return [(video.rsplit(".", 1)[0], cls) for video, cls in lists[index]]

    er = {e["word"]: e["defn"].strip() for e in er_kinetics()}
    definitions = {c: er[c] for c in seen}
    definitions.update(er_definitions(dataset, official))
    counts = ", ".join(f"{len(x):,}" for x in lists)
    notes = (
        f"All {len(official)} {XU_DATASETS[dataset]} classes are unseen in each of the {len(lists)} official "
        f"splits; only the videos of the split's official test list are evaluated ({counts} videos), matched "
        "to a feature store's video ids by file name (folder prefixes and the extension are ignored).",
        f"Seen classes (for methods that train): {len(seen)} Kinetics-400 classes, those E2E-ZSAR's rule keeps "
        "(not within word-vector distance 0.05 of, nor named like, a UCF101/HMDB51 class; the Kinetics-664 "
        f"pool's rule) less {len(SAME_ACTION_AS_TARGET)} whose lemmatised name is a UCF101/HMDB51 class's "
        "('cartwheeling', 'riding a bike', ...). The CLIP papers fine-tune on all 400: a trained row here is "
        "stricter than theirs.",
        "No val classes: training carves them from the seen classes (--val-classes).",
        f"Test lists: {OFFICIAL_SPLIT_FILES[dataset]}; see data/PROVENANCE.md.",
        f"Definitions: ER's for the Kinetics-400 and {XU_DATASETS[dataset]} classes"
        + (" (with the 'table tennis shot' fix, see ucf101)." if dataset == "ucf101" else "."),
    )
    return Benchmark(
        name=name,
        classes=seen + official,
        splits=splits,
        definitions=MappingProxyType(definitions),
        source=(f"{XU_DATASETS[dataset]} ({CITE_UCF101 if dataset == 'ucf101' else CITE_HMDB51}) under "
                f"{CLIP_PROTOCOL}: the three official test lists of the dataset's release. Seen pool: "
                f"Kinetics-400 minus the classes near UCF101/HMDB51 by the rule of {CITE_E2E}, and minus those that "
                "name a "
                f"UCF101/HMDB51 action. "
                f"Definitions from {CITE_ER}."),
        notes=notes,
        select_epoch_on_val=False,
        video_loader=videos,
        listed_test_videos=True,
    )


def kinetics600_zs() -> Benchmark:
    """``kinetics600-zs``: Kinetics-ZSAR under the CLIP papers' name (module docstring)."""
    zsar = kinetics_zsar()
    return dataclasses.replace(
        zsar,
        name="kinetics600-zs",
        source=(f"Kinetics-600 zero-shot as in {CLIP_PROTOCOL}: the 220 Kinetics-600 classes not in Kinetics-400, "
                "three splits of 160 test classes, which are the test splits of Kinetics-ZSAR. " + zsar.source),
        notes=("The same benchmark as kinetics-zsar (splits, definitions and video lists), named as the CLIP "
               "papers name it: their 'Kinetics-600' zero-shot column is the mean over these three splits of the "
               "160 unseen classes. ViFi-CLIP's labels/ZS_split1_K600.csv names the 160 classes of split 0.",
               *zsar.notes),
    )
