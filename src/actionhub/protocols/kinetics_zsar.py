"""Kinetics-ZSAR (Elaborative Rehearsal, Chen & Huang, ICCV 2021): 620 Kinetics classes, three
splits of 400 seen / 60 validation / 160 unseen classes; the epoch is selected on the
validation classes, and the val/test video lists are ER's (:meth:`Benchmark.eval_videos`)."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType

from actionhub.protocols.base import Benchmark, Split
from actionhub.protocols.shipped import CITE_ER, er_kinetics, er_split_idxs, er_video_metas, labels
from actionhub.utils.names import normalize_name


def kinetics_zsar() -> Benchmark:
    entries = er_kinetics()
    words = tuple(e["word"] for e in entries)
    idxs = er_split_idxs()
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
        metas = er_video_metas(subset)
        return [(vid, label_of[lab]) for vid, lab in metas if label_of[lab] in wanted]

    return Benchmark(
        name="kinetics-zsar",
        classes=words,
        splits=splits,
        definitions=MappingProxyType(definitions),
        source=(
            f"Kinetics-ZSAR of {CITE_ER}: the 400 Kinetics-400 classes are seen, the 220 "
            "Kinetics-600 classes not in Kinetics-400 are split three times into 60 validation "
            "and 160 test classes. Class names, definitions ('defn'), split indices and the "
            "val/test video lists are ER's datasets/ files, shipped unchanged (video lists gzipped)."
        ),
        notes=_kinetics_zsar_notes(words, definitions),
        select_epoch_on_val=True,
        video_loader=videos,
    )


def _kinetics_zsar_notes(words: Sequence[str], definitions: Mapping[str, str]) -> tuple[str, ...]:
    k400, k600 = labels("kinetics400"), set(labels("kinetics600"))
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


