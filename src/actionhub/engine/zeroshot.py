"""Training-free zero-shot evaluation on a protocol (``actionhub evaluate --zero-shot clip``).

For every split, the test videos of the unseen classes are scored in the joint space of the
video-language model that made both features and class text (:mod:`actionhub.models.clip_zs`)
and recorded like a trained run: one run record per (class text file, split), method ``clip-zs``,
``"training_free": true``, no run directory. ``class_text`` picks ``ad``, ``vc`` or ``ad+vc``
(Eq. 17). Refused with :class:`ZeroShotError` (exit 2): a method other than ``clip``, features
without a text tower, class text of another encoder, model or dimension, or ``vc``/``ad+vc`` from
a file without descriptions.
Docs: docs/clip.md#training-free-rows-evaluate---zero-shot-clip
"""
from __future__ import annotations

import logging
import tempfile
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from actionhub.features import FeatureSet
from actionhub.protocols import Benchmark, get_benchmark
from actionhub.text.class_text import ClassText, load_class_text
from actionhub.utils.errors import UserError
from actionhub.utils.names import listing

__all__ = ["ZeroShotError", "ZERO_SHOT_EVAL_METHODS", "METHOD", "CLIP_FAMILIES", "zero_shot_records",
           "text_variant", "check_joint_space"]

log = logging.getLogger(__name__)

#: training-free methods `evaluate --zero-shot` runs on pre-extracted features
ZERO_SHOT_EVAL_METHODS = ("clip",)
#: the method name of their rows in results files and reports
METHOD = "clip-zs"
#: backbone families whose features share a joint space with a text tower ActionHub reads
CLIP_FAMILIES = ("hf-clip:", "hf-xclip:")
CLASS_TEXTS = ("ad", "vc", "ad+vc")
EVAL_BATCH = 8192


class ZeroShotError(UserError):
    """Input a training-free evaluation cannot use; the message says what to change."""


# ------------------------------------------------------------------------------------- checks

def check_method(method: str) -> None:
    if method == "conse":
        raise ZeroShotError("--zero-shot conse needs the ImageNet class probabilities of each video's frames, which "
                            "pre-extracted features do not hold: score videos with `actionhub predict --zero-shot "
                            "conse`; `evaluate --zero-shot` can do: " + ", ".join(ZERO_SHOT_EVAL_METHODS))
    if method not in ZERO_SHOT_EVAL_METHODS:
        raise ZeroShotError(f"unknown zero-shot method {method!r}; `evaluate --zero-shot` can do: "
                            + ", ".join(ZERO_SHOT_EVAL_METHODS))


def feature_backbone(fs: FeatureSet, backbone: str | None, where: str) -> str:
    """The backbone that made ``fs``: what its store records, or ``backbone`` when it records none."""
    recorded = fs.meta.get("backbone")
    if recorded and backbone and str(recorded) != backbone:
        raise ZeroShotError(f"{where} records backbone {recorded!r} but --backbone says {backbone!r}; drop "
                            "--backbone (it is only for stores that record none)")
    bb = str(recorded or backbone or "")
    if not bb:
        raise ZeroShotError(f"{where} does not record the backbone that extracted it (stores written by `actionhub "
                            "extract` do); pass --backbone hf-clip:MODEL or hf-xclip:MODEL, the model that did")
    return bb


def _same_model(backbone: str, encoder: str, encoder_id: str | None) -> bool:
    if backbone == encoder:
        return True
    kind_b, _, arg_b = backbone.partition(":")
    kind_e, _, arg_e = encoder.partition(":")
    if kind_b != kind_e:
        return False
    from actionhub.text.hub import identify

    try:
        return identify(kind_b, arg_b) == (encoder_id or identify(kind_e, arg_e))
    except UserError:   # a folder that is gone: its identity cannot be shown equal
        return False


def check_joint_space(backbone: str, text: ClassText, visual_dim: int, features_name: str) -> None:
    """Refuse unless the video features (``backbone``, ``visual_dim``) and the class text come from
    the video and text towers of one CLIP-family model."""
    path = text.meta.get("path", "the class text")
    if not backbone.startswith(CLIP_FAMILIES):
        raise ZeroShotError(
            f"--zero-shot clip scores video and class text in one video-language model's joint space, but "
            f"{features_name} comes from backbone {backbone!r}, which has no text tower ActionHub reads; extract the "
            "videos with --backbone hf-clip:MODEL or hf-xclip:MODEL (docs/clip.md), or train a method on these "
            "features (`actionhub train`)")
    encoder = str(text.meta.get("encoder") or "")
    if not encoder.startswith(CLIP_FAMILIES):
        raise ZeroShotError(f"{path} was encoded by {encoder or 'an unrecorded encoder'!r}, not by the text tower of "
                            f"{backbone}; build it with `actionhub text-features --encoder {backbone}`")
    if text.dim != visual_dim:
        raise ZeroShotError(f"{features_name} holds {visual_dim}-d video features ({backbone}) but {path} holds "
                            f"{text.dim}-d class text ({encoder}): they come from different models; build the class "
                            f"text with `actionhub text-features --encoder {backbone}`")
    if not _same_model(backbone, encoder, text.meta.get("encoder_id")):
        raise ZeroShotError(f"{features_name} comes from {backbone} but {path} from {encoder}: zero-shot clip needs "
                            f"the video and text towers of one model; build the class text with `actionhub "
                            f"text-features --encoder {backbone}` (also when both name the same weights differently)")


# ------------------------------------------------------------------------------------- labels

def _short_model(spec: str) -> str:
    kind, _, arg = spec.partition(":")
    return f"{kind}:{Path(arg.rstrip('/')).name or arg}"


def text_variant(meta: dict[str, Any], class_text: str, k: int, alpha: float) -> str:
    """The text of a row in words: ``names (1 prompt)``, ``name: definition``, ``... + descriptions
    (top-100, alpha=0.5)``, ``descriptions (top-100)``."""
    prompts = meta.get("prompts")
    template = meta.get("definition_template") or ""
    if prompts:
        ad = f"names ({len(prompts)} prompt{'s' if len(prompts) > 1 else ''})"
    elif "{definition}" in template:
        ad = "name + definition"
    else:
        ad = f"names ({template})" if template else "AD"
    if class_text == "ad":
        return ad
    if class_text == "vc":
        return f"descriptions (top-{k})"
    return f"{ad} + descriptions (top-{k}, alpha={alpha:g})"


# ------------------------------------------------------------------------------------- loading

def _load(bench: Benchmark, features: Any, video_list: Any, labels: Any, splits: Sequence[int]) -> FeatureSet:
    """The features, labels mapped onto the benchmark's classes. An ER-style folder of ``.npy`` files
    without its own video list is read through the benchmark's published test lists."""
    from actionhub.engine.inputs import load_benchmark_features as load_for_benchmark
    from actionhub.engine.inputs import write_eval_video_list
    from actionhub.features.video_lists import DEFAULT_VIDEO_LISTS

    if (video_list is None and labels is None and isinstance(features, (str, Path)) and Path(features).is_dir()
            and not any((Path(features) / n).is_file() for n in DEFAULT_VIDEO_LISTS)
            and not bench.listed_test_videos and bench.video_loader is not None):
        with tempfile.TemporaryDirectory() as td:
            metas = write_eval_video_list(bench, splits, Path(td), subsets=("test",))
            return load_for_benchmark(features, bench, metas, None, missing="skip")
    return load_for_benchmark(features, bench, video_list, labels)


def _texts(text_features: Any) -> list[ClassText]:
    items = text_features if isinstance(text_features, (list, tuple)) else [text_features]
    if not items:
        raise ZeroShotError("no class text: pass text_features (--text-features FILE, one or more)")
    out = [t if isinstance(t, ClassText) else load_class_text(t) for t in items]
    paths = [t.meta.get("path") for t in out if t.meta.get("path")]
    if len(set(paths)) != len(paths):
        raise ZeroShotError(f"a class text file is given twice: {paths}")
    return out


# ------------------------------------------------------------------------------------- evaluation

def zero_shot_records(
    benchmark: str | Benchmark,
    features: str | Path | FeatureSet,
    text_features: Any,
    *,
    method: str = "clip",
    splits: Sequence[int] | None = None,
    class_text: str = "ad",
    k: int = 100,
    alpha: float = 0.5,
    backbone: str | None = None,
    video_list: str | Path | None = None,
    labels: str | Path | None = None,
) -> list[dict[str, Any]]:
    """One finished run record per (class text, split): the unseen classes of every split scored
    in the joint space (see the module docstring). ``text_features``: one file / ClassText or a list."""
    import torch

    from actionhub.engine.evaluate import label_indices, select_text
    from actionhub.evaluation.metrics import round_metrics, topk_accuracy
    from actionhub.features.listed import select_listed
    from actionhub.models.clip_zs import SUMMARY, TITLE, class_embeddings, scores
    from actionhub.utils.runinfo import RUN_FORMAT, now, package_versions

    check_method(method)
    if class_text not in CLASS_TEXTS:
        raise ZeroShotError(f"class_text must be one of {', '.join(CLASS_TEXTS)}, got {class_text!r} (--class-text)")
    if not 0.0 <= alpha <= 1.0:
        raise ZeroShotError(f"alpha must lie in [0, 1], got {alpha} (--alpha)")
    if k < 1:
        raise ZeroShotError(f"k must be at least 1, got {k} (--k)")
    bench = benchmark if isinstance(benchmark, Benchmark) else get_benchmark(benchmark)
    splits = list(range(bench.num_splits)) if splits is None else [int(s) for s in splits]
    for s in splits:
        try:
            bench.split(s)
        except ValueError as e:
            raise ZeroShotError(str(e)) from None
    texts = _texts(text_features)
    fs = _load(bench, features, video_list, labels, splits)
    where = fs.source or "the features"
    bb = feature_backbone(fs, backbone, where)
    for t in texts:
        check_joint_space(bb, t, fs.dim, where)
        if class_text != "ad" and not len(t.desc):
            raise ZeroShotError(f"--class-text {class_text} needs descriptions, but "
                                f"{t.meta.get('path', 'the class text')} "
                                "holds none; build it with `actionhub text-features --descriptions topk.parquet`")
    fusion = {"ad": 1.0, "vc": 0.0}.get(class_text, alpha)
    feature_meta = {key: v for key, v in fs.meta.items() if isinstance(v, (str, int, float, bool))}
    records = []
    for s in splits:
        sp = bench.split(s)
        test = fs.subset(sp.unseen)
        if len(test) == 0:
            raise ZeroShotError(f"{where} holds no videos of the {len(sp.unseen)} unseen classes of {bench.name} "
                                f"split {s}; pass the features of its test videos")
        listed = None
        if bench.listed_test_videos:
            test, listed = select_listed(test, bench.eval_videos(s, "test") or [],
                                         f"the test list of {bench.name} split {s}")
        absent = [c for c in sp.unseen if c not in set(test.classes)]
        if absent:
            log.warning("%d of the %d unseen classes of %s split %d have no test video in %s: %s", len(absent),
                        len(sp.unseen), bench.name, s, where, listing(absent[:5], len(absent)))
        y = torch.from_numpy(label_indices(test, sp.unseen))
        for t in texts:
            ad, vc, fallback = select_text(t, sp.unseen, k)
            emb = class_embeddings(torch.from_numpy(ad), torch.from_numpy(vc), fusion)
            s_all = torch.cat([scores(torch.as_tensor(np.asarray(test.features[i:i + EVAL_BATCH]), dtype=torch.float32),
                                      emb) for i in range(0, len(test), EVAL_BATCH)])
            metrics = topk_accuracy(s_all, y, (1, 5))
            fallback = fallback if class_text != "ad" else []
            if fallback:
                log.warning("%d class(es) have no description features and use their AD row only: %s",
                            len(fallback), listing(fallback[:10], len(fallback)))
            variant = f"{text_variant(t.meta, class_text, k, alpha)} [{_short_model(bb)}]"
            records.append({
                "format": RUN_FORMAT, "status": "finished", "training_free": True, "run_dir": None,
                "method": METHOD,
                "method_info": {"title": TITLE, "kind": "training-free", "citation": "", "summary": SUMMARY},
                "benchmark": bench.name, "split": s, "seed": 0,
                "protocol": {"seen": [], "val": [], "unseen": list(sp.unseen), "num_train_videos": 0,
                             "num_val_videos": 0, "num_test_videos": len(test),
                             "epoch_selection": "none (training-free)",
                             **({"test_list": listed} if listed is not None else {})},
                "config": {"method": METHOD,
                           "model": {"class_text": class_text, "k": k, "alpha": alpha, "cim": False},
                           "optim": {"seed": 0, "epochs": 0},
                           "zero_shot": {"method": method, "backbone": bb, "variant": variant,
                                         "prompts": t.meta.get("prompts"),
                                         "definition_template": t.meta.get("definition_template")}},
                "data": {"features": where, "eval_features": where, "text_features": t.meta.get("path", "<in memory>"),
                         "text_meta": dict(t.meta), "feature_meta": feature_meta, "backbone": bb,
                         "synthetic": bool(fs.meta.get("synthetic") or t.meta.get("synthetic")),
                         "visual_dim": fs.dim, "text_dim": t.dim, "ad_only_fallback": fallback},
                "versions": package_versions(),
                "metrics": round_metrics({"test": metrics}),
                "finished_at": now(),
            })
    return records
