"""Zero-shot prediction on your own videos with your own action names.

``actionhub.predict(videos, checkpoint, actions)`` and the ``actionhub predict`` verb, in four steps:
the videos, or what ``actionhub extract`` wrote (:mod:`actionhub.engine.predict_inputs`); the class
text of the names with their descriptions (:mod:`actionhub.engine.predict_text`); the scores of the
checkpoint, ConSE or CLIP (:mod:`actionhub.engine.scoring`); one row per video in input order, an
unreadable one with its error, resumable with ``out=`` (:mod:`actionhub.engine.predict_output`).

Docs: docs/video.md#prediction (inputs, rows, resuming, explanations, labels), docs/clip.md#predict.
"""
from __future__ import annotations

import functools
import json
import logging
import os
from collections import Counter
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from actionhub.utils.errors import UserError
from actionhub.utils.names import normalize_name
from actionhub.utils.rundir import RunDir
from actionhub.utils.textfile import read_text_file
from actionhub.utils.types import PathLike

log = logging.getLogger(__name__)

__all__ = [
    "PredictError",
    "predict",
    "resolve_actions",
    "read_definitions",
    "read_actions_file",
    "ZERO_SHOT_METHODS",
]

ZERO_SHOT_METHODS = ("conse", "clip")
#: backbone families whose text tower is a registered text encoder of the same name
CLIP_FAMILIES = ("hf-clip:", "hf-xclip:")


class PredictError(UserError):
    """Bad prediction input (checkpoint, actions, files); the message says how to fix it."""


# --------------------------------------------------------------------------- actions and definitions


def read_actions_file(path: PathLike) -> list[str]:
    """Action names, one per line (blank lines and ``#`` comments skipped)."""
    p = Path(path)
    if not p.is_file():
        raise PredictError(f"actions file {p} not found; write one action name per line")
    names = [ln.strip() for ln in read_text_file(p, "actions file").splitlines()]
    names = [n for n in names if n and not n.startswith("#")]
    if not names:
        raise PredictError(f"actions file {p} lists no action names; write one per line")
    return names


def read_definitions(path: PathLike) -> dict[str, str]:
    """Definitions from a JSON object ``{"name": "definition"}`` or ``name<TAB>definition`` lines."""
    p = Path(path)
    if not p.is_file():
        raise PredictError(f"definitions file {p} not found; pass a JSON object or 'name<TAB>definition' lines")
    text = read_text_file(p, "definitions file")
    if text.lstrip().startswith(("{", "[")):
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as e:
            raise PredictError(f"{p}: not valid JSON ({e.msg} at line {e.lineno}); "
                               'write {"name": "definition"}') from None
        if not isinstance(obj, dict):
            raise PredictError(f"{p}: expected a JSON object {{\"name\": \"definition\"}}, got {type(obj).__name__}")
        bad = [k for k, v in obj.items() if not isinstance(v, str)]
        if bad:
            raise PredictError(f"{p}: definitions must be strings; {bad[:5]} are not")
        return {str(k): v.strip() for k, v in obj.items() if v.strip()}
    out: dict[str, str] = {}
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if "\t" not in line:
            raise PredictError(f"{p}:{lineno}: expected 'name<TAB>definition', got {line[:60]!r}")
        name, definition = line.split("\t", 1)
        if name.strip() and definition.strip():
            out[name.strip()] = definition.strip()
    return out


def _split_actions(actions: str | Sequence[str]) -> list[str]:
    if isinstance(actions, str):
        return [a.strip() for a in actions.split(",") if a.strip()]
    return [str(a).strip() for a in actions if str(a).strip()]


def resolve_actions(actions: str | Sequence[str] | None = None, *, actions_file: PathLike | None = None,
                    benchmark: str | None = None, split: int | None = None,
                    definitions: Mapping[str, str] | PathLike | None = None) -> tuple[list[str], dict[str, str]]:
    """The action names to score and a definition for each (the name itself when none is known).

    Exactly one of ``actions`` (a list or a comma-separated string), ``actions_file`` or
    ``benchmark`` names the actions; ``split`` restricts a benchmark to that split's unseen
    classes.  Benchmark classes get the benchmark's definitions; ``definitions`` (a mapping
    or a file, see :func:`read_definitions`) adds or overrides them, matched by name ignoring
    case and punctuation.
    """
    given = [x is not None for x in (actions, actions_file, benchmark)]
    if sum(given) != 1:
        raise PredictError("name the actions one way: actions (\"a,b,c\"), an actions file, or a benchmark")
    defs: dict[str, str] = {}
    if benchmark is not None:
        from actionhub.protocols import get_benchmark

        try:
            bench = get_benchmark(benchmark)
            names = list(bench.split(split).unseen) if split is not None else list(bench.classes)
        except (KeyError, ValueError, IndexError) as e:
            raise PredictError(str(e).strip("'\"")) from None
        defs.update({c: bench.definitions[c] for c in names if bench.definitions.get(c)})
    elif actions_file is not None:
        names = read_actions_file(actions_file)
    else:
        if split is not None:
            raise PredictError("split only applies to a benchmark's classes")
        names = _split_actions(actions)  # type: ignore[arg-type]
    if not names:
        raise PredictError("no action names given; pass e.g. actions=\"riding a horse, eating\"")
    keys = Counter(normalize_name(n) for n in names)   # (a count per key: 400 names are not 160,000 comparisons)
    dup = sorted({n for n in names if keys[normalize_name(n)] > 1})
    if dup:
        raise PredictError(f"action names given twice (ignoring case and punctuation): {dup[:10]}")
    if definitions is not None:
        user = definitions if isinstance(definitions, Mapping) else read_definitions(definitions)
        by_key = {normalize_name(n): n for n in names}
        unused = []
        for k, v in user.items():
            target = by_key.get(normalize_name(k))
            if target is None:
                unused.append(k)
            elif str(v).strip():
                defs[target] = str(v).strip()
        if unused:
            log.warning("definitions for %d name(s) that are not among the actions were ignored: %s",
                        len(unused), ", ".join(unused[:10]))
    return names, {n: defs.get(n) or n for n in names}


# --------------------------------------------------------------------------- checkpoints


def _read_run(run_dir: Path) -> dict[str, Any]:
    if not run_dir.is_dir():
        raise PredictError(f"checkpoint {run_dir} is not a directory; pass the run directory of "
                           "`actionhub train --out`")
    return RunDir(run_dir).load(PredictError) or {}


def _run_settings(run_dir: Path, run: Mapping[str, Any], backbone: str | None, sampling: str | None,
                  encoder: str | None) -> dict[str, Any]:
    """Backbone, sampling, text encoder, k and dims of a run (overrides win), with clear errors."""
    data = run.get("data") or {}
    fmeta = data.get("feature_meta") or {}
    tmeta = data.get("text_meta") or {}
    if fmeta.get("backbone") == "synthetic" or (data.get("synthetic") and not fmeta.get("backbone")):
        raise PredictError(f"{run_dir} was trained on SYNTHETIC features, which no video gives; train on features "
                           "from `actionhub extract` to predict on real video")
    if data.get("synthetic"):
        log.warning("%s was trained on SYNTHETIC data: its predictions show the machinery, they mean nothing", run_dir)
    bb = backbone or fmeta.get("backbone")
    if not bb:
        raise PredictError(
            f"{RunDir(run_dir).run_json} does not record the visual backbone of its training features (they were not "
            "made by `actionhub extract`); pass --backbone and --sampling matching them")
    smp = sampling or fmeta.get("sampling")
    if not smp:
        smp = "segments:8"
        log.warning("%s records no frame sampling; using %s", run_dir, smp)
    enc = encoder or tmeta.get("encoder") or "minilm"
    if enc == "synthetic":
        raise PredictError(f"{run_dir} was trained on SYNTHETIC class text features; no text encoder matches them")
    k = int(((run.get("config") or {}).get("model") or {}).get("k", 1) or 1)
    return {"backbone": bb, "sampling": smp, "encoder": enc, "k": k,
            "method": str((run.get("config") or {}).get("method") or "coco"), "synthetic": bool(data.get("synthetic")),
            "template": tmeta.get("definition_template"),
            "visual_dim": data.get("visual_dim"), "text_dim": data.get("text_dim"),
            "trained_backbone": fmeta.get("backbone"), "trained_sampling": fmeta.get("sampling")}


def _model_dims(model: Any, settings: Mapping[str, Any]) -> tuple[int | None, int | None]:
    vd = getattr(model, "visual_dim", None) or settings.get("visual_dim")
    td = getattr(model, "text_dim", None) or settings.get("text_dim")
    return (int(vd) if vd else None), (int(td) if td else None)


def _check_visual_dim(run_dir: Path, visual_dim: int | None, bb_name: str, bb_dim: int, s: Mapping[str, Any]) -> None:
    if visual_dim is None or visual_dim == bb_dim:
        return
    trained = s.get("trained_backbone")
    on = (f"it was trained on {visual_dim}-d features from backbone {trained!r}"
          + (f" with sampling {s.get('trained_sampling')}" if s.get("trained_sampling") else "")) if trained else \
        f"it was trained on {visual_dim}-d features whose backbone it does not record"
    raise PredictError(f"checkpoint {run_dir} expects {visual_dim}-d video features but backbone {bb_name!r} gives "
                       f"{bb_dim}-d: {on}; predict with that backbone (--backbone)")


# --------------------------------------------------------------------------- prediction


class Predictions(list):
    """What :func:`predict` returns: the rows as a list of dicts (one per video, input order; see
    :mod:`actionhub.engine.predict_output`), and the same rows as a table: :meth:`to_arrow` (a
    ``pyarrow.Table``), :meth:`to_pandas` (nested columns as in the table; ``pandas.DataFrame(preds)``
    takes the dicts). ``metrics``: top-1/top-5 over labelled videos (None without labels); ``summary``:
    what the run did (videos, scored, resumed, failed, seconds, videos/s, out, confusion PNG, notes)."""

    def __init__(self, table: Any, summary: Mapping[str, Any]):
        from actionhub.engine.predict_output import row_dicts

        super().__init__(row_dicts(table))
        self.table = table
        self.summary = dict(summary)
        self.metrics = self.summary.get("metrics")

    def to_arrow(self) -> Any:
        return self.table

    def to_pandas(self) -> Any:
        return self.table.to_pandas()


class _ConSEVideos:
    """ConSE's video encoder in the backbone contract: frames -> ImageNet probabilities (B, 1000)."""

    def __init__(self, head: Any):
        self.head, self.name, self.dim = head, "conse", 1000
        self.short_side = head.backbone.short_side

    def encode(self, videos: Sequence[np.ndarray]) -> np.ndarray:
        return self.head.class_probabilities(videos)


def _check_numbers(top: int, k: int | None, batch_size: int, explain: int, per_query: int) -> None:
    for flag, value, least in (("top", top, 1), ("k", k, 1), ("batch_size", batch_size, 1), ("explain", explain, 0),
                               ("per_query", per_query, 1)):
        if value is not None and value < least:
            raise PredictError(f"{flag} must be at least {least}, got {value}")


def _check_words(names: Sequence[str]) -> None:
    empty = [n for n in names if not normalize_name(n)]
    if empty:
        raise PredictError(f"action name(s) without any letter or digit: {', '.join(repr(n) for n in empty[:5])}; "
                           "give each action as words, e.g. \"riding a horse\"")


def _method(checkpoint: PathLike | None, zero_shot: str | None) -> str:
    if zero_shot is not None:
        if checkpoint is not None:
            raise PredictError("pass either a checkpoint (--checkpoint) or a zero-shot method (--zero-shot "
                               f"{'|'.join(ZERO_SHOT_METHODS)}), not both")
        if zero_shot not in ZERO_SHOT_METHODS:
            raise PredictError(f"unknown zero-shot method {zero_shot!r}; choose one of {', '.join(ZERO_SHOT_METHODS)}")
        return zero_shot
    if checkpoint is None:
        raise PredictError("pass a checkpoint (--checkpoint: a run directory of `actionhub train`) or a "
                           f"zero-shot method (--zero-shot {'|'.join(ZERO_SHOT_METHODS)})")
    return "checkpoint"


def _plan(method: str, checkpoint: PathLike | None, backbone: str | None, sampling: str | None,
          encoder: str | None, fmeta: Mapping[str, Any] | None) -> dict[str, Any]:
    """Backbone, sampling, text encoder, k, template (and the run) of ``method``; with ``fmeta`` (the
    ``meta.json`` of a --features folder), what the features were made with must be what is asked."""
    fmeta = fmeta or {}
    if method == "checkpoint":
        run_dir = Path(checkpoint)  # type: ignore[arg-type]
        plan = _run_settings(run_dir, _read_run(run_dir), backbone or fmeta.get("backbone"),
                             sampling or fmeta.get("sampling"), encoder)
        plan["run_dir"] = run_dir
    elif method == "conse":
        if fmeta.get("__features__"):
            raise PredictError("--zero-shot conse cannot score --features: ConSE needs every frame's ImageNet "
                               "probabilities, and `actionhub extract` keeps one mean feature per video; pass the "
                               "videos instead")
        plan = {"backbone": "efficientnet-lite0", "sampling": sampling or "segments:8", "encoder": encoder or "minilm",
                "k": 100, "template": None}
    else:
        bb = backbone or fmeta.get("backbone")
        if not bb:
            raise PredictError("zero-shot clip needs the video-language model: --backbone hf-clip:MODEL or "
                               "hf-xclip:MODEL (e.g. hf-clip:openai/clip-vit-base-patch16)")
        if encoder is None and not bb.startswith(CLIP_FAMILIES):
            raise PredictError(f"backbone {bb!r} has no matching text encoder; pass --encoder with the text "
                               "tower of the same model, or use an hf-clip:/hf-xclip: backbone")
        plan = {"backbone": bb, "sampling": sampling or fmeta.get("sampling") or "segments:8",
                "encoder": encoder or bb, "k": 100, "template": None}
    from actionhub.video.decode import parse_sampling

    plan["sampling"] = parse_sampling(plan["sampling"]).name
    if fmeta.get("__features__"):
        made = {"backbone": fmeta.get("backbone"), "sampling": fmeta.get("sampling")}
        diff = [f"{key} {made[key]!r} (asked: {plan[key]!r})" for key in made if made[key] and made[key] != plan[key]]
        if diff:
            raise PredictError(f"--features {fmeta['__features__']} holds features made with {', '.join(diff)}; "
                               "score features made the way the model expects, or extract them again")
    return plan


def predict(
    videos: PathLike | Sequence[PathLike] | None = None,
    checkpoint: PathLike | None = None,
    actions: str | Sequence[str] | None = None,
    *,
    top: int = 5,
    actions_file: PathLike | None = None,
    benchmark: str | None = None,
    split: int | None = None,
    definitions: Mapping[str, str] | PathLike | None = None,
    descriptions: Any = None,
    corpus: PathLike | None = None,
    store: PathLike | None = None,
    k: int | None = None,
    per_query: int = 3000,
    match: str = "all",
    id_column: str = "videoid",
    caption_column: str = "name",
    corpus_format: str | None = None,
    index_cache: PathLike | None = None,
    zero_shot: str | None = None,
    backbone: str | None = None,
    sampling: str | None = None,
    encoder: str | None = None,
    device: str = "cpu",
    batch_size: int = 8,
    features: PathLike | None = None,
    out: PathLike | None = None,
    overwrite: bool = False,
    explain: int = 0,
    confusion: PathLike | bool | None = None,
    cache: Any = True,
    progress: bool = False,
) -> Predictions:
    """Score ``actions`` for each video; see the module docstring.

    Args:
        videos: a video file, a folder (searched recursively), a ``path [label]`` list file, or a list
            of these (or use ``features``).
        checkpoint: a finished ``actionhub train`` run directory (``model.pt`` + ``run.json``).
        actions: action names, a list or one comma-separated string (or use ``actions_file``
            / ``benchmark`` [+ ``split``]).
        top: predictions kept per video.
        definitions: name -> definition mapping, or a file (JSON / ``name<TAB>definition``).
        descriptions: ranked descriptions (``actionhub rank`` Parquet path or table) for VC; or
        corpus: a caption corpus (CSV/JSONL/Parquet) searched for the actions' descriptions on the fly
            (``per_query``, ``match``, ``id_column``, ``caption_column``, ``corpus_format``,
            ``index_cache`` as for ``collect --provider local``); or
        store: a description store, ranked for the actions on the fly.
        k: descriptions kept per action (default: the run's k; 100 for the zero-shot methods; at most
            the k a ranked file was made with).
        zero_shot: ``"conse"`` or ``"clip"`` (needs ``backbone``) for a training-free method
            instead of a checkpoint.
        backbone, sampling: override what the run records (must match its training features).
        encoder: text encoder spec (default: the run's; ``minilm`` for ConSE; the backbone's model
            for ``clip``).
        device: torch device; batch_size: videos decoded and encoded together.
        features: the folder ``actionhub extract`` wrote: score its features instead of decoding videos.
        out: write the rows to this ``.parquet`` or ``.jsonl`` file, resumably (rerun the same call after
            a kill); an existing finished file needs ``overwrite``.
        explain: for each predicted action, the ``explain`` descriptions closest to the video.
        confusion: where the confusion-matrix PNG of labelled videos goes (True: beside ``out``, or
            ``predict_confusion.png`` without it; None: beside ``out`` only; False: none).
        cache: text encoding cache (True: the default directory; a path; False: none).
        progress: show progress bars.

    Returns:
        :class:`Predictions`: the rows as dicts (a list, as before), plus the table, metrics and summary.
    """
    import contextlib
    import time

    from actionhub.engine.predict_inputs import expand_videos, feature_inputs
    from actionhub.engine.predict_output import OUT_SUFFIXES, RowSink, row_schema
    from actionhub.engine.predict_text import DescriptionSource, recorded_k
    from actionhub.utils.device import check_device
    from actionhub.utils.lock import output_lock
    from actionhub.utils.outputs import check_no_overlap

    _check_numbers(top, k, batch_size, explain, per_query)
    if videos is not None and not isinstance(videos, (str, os.PathLike)):
        videos = list(videos)
    if (videos is None or videos == []) == (features is None):
        raise PredictError("pass the videos (files, folders or a list file) or --features DIR (the folder "
                           "`actionhub extract` wrote), one of the two")
    out_path = Path(out) if out is not None else None
    if out_path is not None and out_path.suffix.lower() not in OUT_SUFFIXES:
        raise PredictError(f"--out must end in {' or '.join(OUT_SUFFIXES)}, got {out_path}")
    check_device(device)
    names, defs = resolve_actions(actions, actions_file=actions_file, benchmark=benchmark, split=split,
                                  definitions=definitions)
    _check_words(names)
    source = DescriptionSource(descriptions, corpus, store, per_query, match, id_column, caption_column,
                               corpus_format, index_cache)
    method = _method(checkpoint, zero_shot)
    feats_in = feature_inputs(features) if features is not None else None
    plan = _plan(method, checkpoint, backbone, sampling, encoder,
                 {**feats_in.meta, "__features__": str(features)} if feats_in is not None else None)
    asked_k = k if k is not None else plan["k"]
    if k is None and source.descriptions is not None:
        asked_k = min(asked_k, recorded_k(source.descriptions) or asked_k)
    inputs = feats_in.videos if feats_in is not None else expand_videos(videos)  # type: ignore[arg-type]
    labels = any(v.label is not None for v in inputs)
    png = _confusion_path(confusion, out_path) if labels else None
    settings = {"method": method, "actions": names, "definitions": defs, **source.fingerprint(), "k": asked_k,
                "top": top, "explain": explain, "backbone": plan["backbone"], "sampling": plan["sampling"],
                "encoder": plan["encoder"], "template": plan.get("template"),
                "checkpoint": _model_stamp(plan.get("run_dir")), "features": str(features) if features else None}
    schema = row_schema(labels=labels, explain=explain > 0, imagenet=method == "conse",
                        parts=method == "checkpoint" and plan.get("method") == "coco")
    written = [p for p in (out_path, png) if p is not None]
    check_no_overlap({"--out": written}, {"input": _input_files(videos, source)})
    if png is not None and png.exists() and not overwrite:
        raise PredictError(f"the confusion matrix {png} already exists; pass --overwrite to replace it, or "
                           "--confusion OTHER.png")
    t0 = time.perf_counter()
    with contextlib.ExitStack() as stack:
        if out_path is not None:
            stack.enter_context(output_lock(out_path, what="predictions file"))
        sink = RowSink(out_path, settings, schema, overwrite=overwrite)
        pending = [v for v in inputs if v.key not in sink.done]
        if sink.resumed:
            log.info("%s: %d of %d videos were already scored by an earlier run; %d to go", out_path,
                     len(inputs) - len(pending), len(inputs), len(pending))
        notes: list[str] = []
        loop_s = 0.0
        if pending:
            notes, loop_s = _score(method, plan, names, defs, source, asked_k, k is not None, top, explain, labels,
                                   pending, feats_in, device, batch_size, cache, progress, sink)
        summary = {"videos": len(inputs), "scored": len(pending), "resumed": len(inputs) - len(pending),
                   "seconds": round(time.perf_counter() - t0, 3), "scoring_seconds": round(loop_s, 3),
                   "videos_per_second": round(len(pending) / loop_s, 2) if loop_s > 0 else None,
                   "out": str(out_path) if out_path else None, "method": method, "k": asked_k, "notes": notes}
        table = sink.finish([v.key for v in inputs], {"settings": settings}, overwrite)
    from actionhub.engine.predict_metrics import confusion_png, label_metrics

    summary["failed"] = len(inputs) - table.column("error").null_count
    summary["metrics"] = label_metrics(table) if labels else None
    if png is not None and summary["metrics"] and summary["metrics"]["videos"]:
        m = summary["metrics"]
        title = (f"{method} on {m['videos']} labelled videos: top-1 {m['top1']:.1f}%, top-5 {m['top5']:.1f}%"
                 + (" [SYNTHETIC run]" if plan.get("synthetic") else ""))
        with output_lock(png, what="confusion matrix"):
            summary["confusion"] = str(confusion_png(table, names, png, title))
    return Predictions(table, summary)


def _confusion_path(confusion: PathLike | bool | None, out: Path | None) -> Path | None:
    if confusion is False:
        return None
    if confusion is None or confusion is True:
        if out is not None:
            return out.with_name(out.name[:-len(out.suffix)] + "_confusion.png")
        return Path("predict_confusion.png") if confusion is True else None
    return Path(confusion)


def _model_stamp(run_dir: Path | None) -> list[Any] | None:
    if run_dir is None:
        return None
    p = RunDir(run_dir).model
    st = p.stat() if p.exists() else None
    return [str(run_dir.resolve()), st.st_size if st else None, st.st_mtime_ns if st else None]


def _input_files(videos: Any, source: Any) -> list[Any]:
    """The input files an output must not be (folders are not listed: a file written inside one harms nothing)."""
    args = [] if videos is None else [videos] if isinstance(videos, (str, os.PathLike)) else list(videos)
    files = [a for a in args if Path(a).is_file()]
    for src in (source.corpus, source.descriptions):
        if isinstance(src, (str, Path)):
            files.append(src)
    return files


def _score(method: str, plan: Mapping[str, Any], names: list[str], defs: dict[str, str], source: Any, k: int,
           k_asked: bool, top: int, explain: int, labels: bool, pending: list[Any], feats_in: Any, device: str,
           batch_size: int, cache: Any, progress: bool, sink: Any) -> tuple[list[str], float]:
    """Load what the method needs, then score ``pending`` into ``sink``; returns the notes to show and the
    seconds the scoring itself took (decoding included, loading not)."""
    import time

    from actionhub.engine import scoring
    from actionhub.engine.predict_loop import RowMaker, score_features, score_videos
    from actionhub.engine.predict_metrics import label_index
    from actionhub.engine.predict_text import prediction_class_text
    from actionhub.utils.progress import progress_bar
    from actionhub.video.decode import parse_sampling

    notes: list[str] = []
    ct, note = prediction_class_text(names, defs, source, plan["encoder"], k, template=plan.get("template"),
                                     cache=cache, progress=progress, keep_texts=explain > 0, k_asked=k_asked)
    if note:
        log.warning("%s", note)
        notes.append(note)
    video_dim = feats_in.dim() if feats_in is not None else None
    imagenet = None
    if method == "checkpoint":
        from actionhub.engine.checkpoint import load_model
        from actionhub.video.backbones import backbone_dim, get_backbone

        run_dir = plan["run_dir"]
        model = load_model(run_dir, device=device)
        visual_dim, text_dim = _model_dims(model, plan)
        if text_dim is not None and ct.dim != text_dim:
            raise PredictError(f"checkpoint {run_dir} expects {text_dim}-d class text features but encoder "
                               f"{plan['encoder']!r} gives {ct.dim}-d; pass the encoder the run was trained with "
                               "(--encoder)")
        if feats_in is None:
            bb_dim = backbone_dim(plan["backbone"]) or get_backbone(plan["backbone"], device).dim
            _check_visual_dim(run_dir, visual_dim, plan["backbone"], bb_dim, plan)
            video_dim = bb_dim
        space = scoring.checkpoint_space(model, ct, names, k, int(visual_dim or video_dim or 0), device)
        encoder_of_videos = functools.partial(get_backbone, plan["backbone"], device)
    elif method == "clip":
        from actionhub.video.backbones import get_backbone

        if feats_in is None:
            video_dim = get_backbone(plan["backbone"], device).dim
        if ct.dim != video_dim:
            raise PredictError(f"backbone {plan['backbone']!r} gives {video_dim}-d video features but encoder "
                               f"{plan['encoder']!r} gives {ct.dim}-d text features; zero-shot clip needs the video "
                               "and text towers of one model")
        space = scoring.clip_space(ct, names, k, source.given)
        encoder_of_videos = functools.partial(get_backbone, plan["backbone"], device)
    else:
        from actionhub.video.conse import ConSE

        head = ConSE(encoder=plan["encoder"], device=device, cache=cache, progress=progress)
        space = scoring.conse_space(head, ct, names, k, source.given)
        encoder_of_videos = functools.partial(_ConSEVideos, head)
        imagenet = functools.partial(head.top_imagenet, n=3)
        video_dim = 1000
    if explain and space.cannot_explain:
        raise PredictError(f"--explain is not available for this checkpoint: {space.cannot_explain}")
    if feats_in is not None and video_dim != space.feature_dim:
        raise PredictError(f"--features {feats_in.folder} holds {video_dim}-d features but the model scores "
                           f"{space.feature_dim}-d ones (backbone {plan['backbone']!r}); extract them with that "
                           "backbone")
    maker = RowMaker(space, names, top, explain, labels, lambda labs: label_index(labs, names), imagenet)
    videos_encoder = encoder_of_videos() if feats_in is None else None
    t0 = time.perf_counter()
    with progress_bar(enabled=progress, total=len(pending), desc=f"predict ({method})", unit="video",
                      smoothing=0.05) as bar:
        if feats_in is not None:
            score_features(pending, space.feature_dim, maker, sink, bar)
        else:
            score_videos(pending, videos_encoder, parse_sampling(plan["sampling"]), maker, sink, bar, batch_size)
    return notes, time.perf_counter() - t0
