"""The reference data shipped in ``actionhub/data`` (see ``data/PROVENANCE.md``): label lists,
Elaborative Rehearsal's Kinetics-ZSAR classes, splits, video lists and definitions, Xu et al.'s
UCF101/HMDB51 splits, and the citations every protocol names as its source."""
from __future__ import annotations

import gzip
import io
import json
from collections.abc import Mapping, Sequence
from functools import lru_cache
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np

from actionhub.protocols.base import SUBSET_FILES
from actionhub.utils.names import normalize_name, text_name

DATA_DIR = Path(__file__).resolve().parents[1] / "data"
KINETICS664_FILE = DATA_DIR / "kinetics664.json"
#: benchmark name -> the dataset's name in Xu et al.'s files
XU_DATASETS = {"ucf101": "UCF101", "hmdb51": "HMDB51"}

CITE_ER = (
    "Chen & Huang, 'Elaborative Rehearsal for Zero-shot Action Recognition', ICCV 2021 "
    "(github.com/DeLightCMU/ElaborativeRehearsal, MIT license)"
)
CITE_XU = (
    "Xu, Hospedales & Gong, 'Transductive Zero-Shot Action Recognition by Word-Vector "
    "Embedding', IJCV 123:309-333, 2017 (alex-xun-xu.github.io/ProjectPage/IJCV_17)"
)
CITE_E2E = (
    "Brattoli, Tighe, Zhdanov, Perona & Chalupka, 'Rethinking Zero-shot Video Classification: "
    "End-to-end Training for Realistic Applications', CVPR 2020 "
    "(github.com/bbrattoli/ZeroShotVideoClassification)"
)
CITE_K700 = (
    "Carreira, Noland, Hillier & Zisserman, 'A Short Note on the Kinetics-700 Human Action "
    "Dataset', arXiv:1907.06987, 2019; class list from open-mmlab/mmaction2 (Apache-2.0)"
)
CITE_GLOVE = "Pennington, Socher & Manning, 'GloVe: Global Vectors for Word Representation', EMNLP 2014"

# ER's "table tennis shot" definition is a copy of "eat"; this replacement was written for ActionHub.
TABLE_TENNIS_DEFINITION = (
    "a stroke in table tennis, in which a player hits the small, light ball with a "
    "rubber-covered paddle so that it passes over the low net and bounces on the opponent's "
    "half of the table."
)

# Kinetics-400 classes that Kinetics-600/700 renamed (same videos, new label; the Kinetics-600
# note lists them). ER defines them under the Kinetics-400 name; map the new name to it.
# "waking up" (formerly "baby waking up") is deliberately not mapped: ER's definition is about a baby.
K400_RENAMES: Mapping[str, str] = MappingProxyType(
    {
        "changing wheel (not on bike)": "changing wheel",
        "cooking sausages (not on barbeque)": "cooking sausages",
        "dyeing hair": "dying hair",
        "hugging (not baby)": "hugging",
        "inflating balloons": "balloon blowing",
        "making the bed": "making bed",
        "opening bottle (not wine)": "opening bottle",
        "person collecting garbage": "garbage collecting",
        "throwing ball (not baseball or American football)": "throwing ball",
        "tying necktie": "tying tie",
    }
)


def data_file(*parts: str) -> Any:
    """A Traversable for a file of the package data."""
    return resources.files("actionhub").joinpath("data", *parts)


def read_json(*parts: str) -> Any:
    return json.loads(data_file(*parts).read_text(encoding="utf-8"))


@lru_cache(maxsize=None)
def labels(name: str) -> tuple[str, ...]:
    """A label list from ``data/labels/<name>.txt`` (one class per line, source order)."""
    text = data_file("labels", f"{name}.txt").read_text(encoding="utf-8")
    return tuple(line.strip() for line in text.splitlines() if line.strip())


@lru_cache(maxsize=None)
def er_kinetics() -> tuple[dict[str, Any], ...]:
    """ER's 620 Kinetics classes: dicts with ``word`` and ``defn``."""
    return tuple(read_json("er", "classes620_label_defn.json"))


@lru_cache(maxsize=None)
def er_split_idxs() -> dict[str, list[list[int]]]:
    return {part: read_json("er", f"{part}_class_idxs.json") for part in ("trn", "val", "tst")}


@lru_cache(maxsize=None)
def xu_class_names(dataset: str) -> tuple[str, ...]:
    """Official class order of ``"UCF101"`` / ``"HMDB51"`` (Xu et al.'s Label.mat ClassName)."""
    return tuple(read_json("xu", "class_names.json")[dataset])


@lru_cache(maxsize=None)
def xu_split_rows(dataset: str) -> tuple[np.ndarray, np.ndarray]:
    """``(train, test)`` 1-based class indices of Xu et al.'s 50 splits, one row per split."""
    import scipy.io  # noqa: PLC0415 - only needed for these two benchmarks

    raw = data_file("xu", "Split.mat").read_bytes()
    mat = scipy.io.loadmat(io.BytesIO(raw), squeeze_me=True, struct_as_record=False)
    entry = getattr(mat["Split"], dataset)
    return np.atleast_2d(entry.Train).astype(int), np.atleast_2d(entry.Test).astype(int)


@lru_cache(maxsize=None)
def er_video_metas(subset: str) -> tuple[tuple[str, int], ...]:
    """``(video id, ER label index)`` of ER's val or tst video list."""
    raw = data_file("er", f"{SUBSET_FILES[subset]}_video_metas.jsonl.gz").read_bytes()
    out = []
    for line in gzip.decompress(raw).decode("utf-8").splitlines():
        if line.strip():
            meta = json.loads(line)
            name = meta["videoname"]
            out.append((name[:-4] if name.endswith(".mp4") else name, int(meta["label"])))
    return tuple(out)


#: where each dataset's official split files are shipped (data/PROVENANCE.md)
OFFICIAL_SPLIT_FILES = {
    "ucf101": "ucf101/testlist0{1,2,3}.txt.gz (the UCF101 release's ucfTrainTestlist/testlist0N.txt)",
    "hmdb51": "hmdb51/test_train_splits.tsv.gz (the HMDB51 release's testTrainMulti_7030_splits/, one row a video)",
}


@lru_cache(maxsize=None)
def official_test_lists(dataset: str) -> tuple[tuple[tuple[str, str], ...], ...]:
    """The three official test lists of ``"ucf101"`` / ``"hmdb51"``: per split, ``(video file name,
    class)`` pairs in list order (UCF101: the lines of ``testlist0N.txt``, ``Class/v_..._gGG_cCC.avi``;
    HMDB51: the videos whose id is 2 in ``<class>_test_splitN.txt``)."""
    if dataset == "ucf101":
        out = []
        for n in (1, 2, 3):
            text = gzip.decompress(data_file("ucf101", f"testlist0{n}.txt.gz").read_bytes()).decode("utf-8")
            pairs = (line.strip().split("/", 1) for line in text.splitlines() if line.strip())
            out.append(tuple((video, cls) for cls, video in pairs))
        return tuple(out)
    if dataset == "hmdb51":
        rows = hmdb51_split_ids()
        return tuple(tuple((video, cls) for cls, video, ids in rows if ids[s] == 2) for s in range(3))
    raise ValueError(f"no official test lists for {dataset!r}; shipped: {', '.join(OFFICIAL_SPLIT_FILES)}")


@lru_cache(maxsize=None)
def hmdb51_split_ids() -> tuple[tuple[str, str, tuple[int, int, int]], ...]:
    """Every HMDB51 video with its ids in the three official splits: ``(class, video file name,
    (id1, id2, id3))``; 1 = training, 2 = test, 0 = not used (the release's ``split_readme.txt``)."""
    text = gzip.decompress(data_file("hmdb51", "test_train_splits.tsv.gz").read_bytes()).decode("utf-8")
    lines = text.splitlines()
    if lines[0].split("\t") != ["class", "video", "split1", "split2", "split3"]:
        raise ValueError(f"hmdb51/test_train_splits.tsv.gz has an unexpected header {lines[0]!r}")
    out = []
    for line in lines[1:]:
        cls, video, *ids = line.split("\t")
        out.append((cls, video, tuple(int(i) for i in ids)))
    return tuple(out)


def er_definitions(dataset: str, classes: Sequence[str]) -> dict[str, str]:
    """ER's definitions for ``classes`` of ``ucf101``/``hmdb51``, matched by normalized name."""
    by_key = {
        normalize_name(e["word"]): e["defn"].strip()
        for e in read_json("er", dataset, "classes_label_defn.json")
    }
    missing = [c for c in classes if normalize_name(c) not in by_key]
    if missing:
        raise ValueError(f"ER {dataset} definitions lack {missing}")
    defs = {c: by_key[normalize_name(c)] for c in classes}
    if dataset == "ucf101":
        defs["TableTennisShot"] = TABLE_TENNIS_DEFINITION
    return defs


def kinetics700_definitions() -> tuple[dict[str, str], tuple[str, ...]]:
    """Definitions of the Kinetics-700 classes from ER's 620 and the classes without one.

    Matched by normalized name, plus :data:`K400_RENAMES`; the rest fall back to the name.
    """
    er = {normalize_name(e["word"]): e["defn"].strip() for e in er_kinetics()}
    defs: dict[str, str] = {}
    fallbacks: list[str] = []
    for name in labels("kinetics700"):
        key = normalize_name(K400_RENAMES.get(name, name))
        if key in er:
            defs[name] = er[key]
        else:
            defs[name] = text_name(name)
            fallbacks.append(name)
    return defs, tuple(fallbacks)


