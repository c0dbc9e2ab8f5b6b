"""Zero-shot prediction on your own videos with your own action names.

``actionhub.predict(videos, checkpoint, actions)`` (exported lazily by the package) and the
``actionhub predict`` verb:

1. Each video is decoded and encoded with the backbone and frame sampling the run was
   trained on (``run.json``: ``data.feature_meta`` records them when the training features
   came from ``actionhub extract``; ``backbone=``/``sampling=`` override).
2. Class text features are built on the fly for the action names with
   :func:`actionhub.text.build.build_class_text`: the name, ``"name: definition"`` when a
   definition is given, plus the top-k descriptions of a ranked file (``actionhub rank``
   output) when given; encoded with the run's text encoder (``data.text_meta.encoder``).
3. Scores are the model's own (Eq. 16-17): ``model.scores(x, model.class_embeddings(ad, vc))``,
   the cosine between the projected video and the fused class embedding.

Without a checkpoint, ``zero_shot="conse"`` scores the actions with the training-free ConSE
baseline (:mod:`actionhub.video.conse`), and ``zero_shot="clip"`` with a video-language model's
own embedding space: the cosine between the video feature of ``backbone`` (``hf-clip:`` or
``hf-xclip:``) and the class text of the matching text encoder (by default the same model:
``hf-clip:M`` video with ``hf-clip:M`` text), the text being the name (or ``"name: definition"``),
averaged with its descriptions when given, as for ConSE. X-CLIP's text is used without its
video-conditioned prompt (:mod:`actionhub.text.clip_text`).

Output, one dict per video in input order::

    {"video": path, "predictions": [{"action": name, "score": s}, ...]}   # best first
    {"video": path, "predictions": [], "error": reason}                   # unreadable video

A video that cannot be read is reported and the others are still scored.
"""
from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any, Mapping, Sequence, Union

import numpy as np

from actionhub.utils.errors import UserError
from actionhub.utils.names import normalize_name
from actionhub.utils.rundir import RunDir
from actionhub.utils.textfile import read_text_file

log = logging.getLogger(__name__)

PathLike = Union[str, Path]

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
            raise PredictError(f"{p}: not valid JSON ({e.msg} at line {e.lineno}); write {{\"name\": \"definition\"}}") from None
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
    dup = sorted({n for n in names if sum(normalize_name(m) == normalize_name(n) for m in names) > 1})
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
        raise PredictError(f"checkpoint {run_dir} is not a directory; pass the run directory of `actionhub train --out`")
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
            f"{run_dir / 'run.json'} does not record the visual backbone of its training features (they were not "
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


def _rank(scores: np.ndarray, names: Sequence[str], top: int) -> list[dict[str, Any]]:
    order = np.argsort(-scores, kind="stable")[:max(1, top)]
    return [{"action": names[j], "score": round(float(scores[j]), 4)} for j in order]


def _class_text(names: Sequence[str], definitions: Mapping[str, str], descriptions: Any, encoder: str, k: int,
                template: str | None, cache: Any, progress: bool) -> Any:
    from actionhub.text.build import build_class_text

    kw: dict[str, Any] = {"cache": cache, "progress": progress}
    if template:
        kw["template"] = template
    # Without descriptions the class text is AD-only by design: no warning about it.
    quiet = logging.getLogger("actionhub.text.build")
    level = quiet.level
    if descriptions is None:
        quiet.setLevel(logging.ERROR)
    try:
        return build_class_text(list(names), dict(definitions), descriptions, encoder, k, **kw)
    finally:
        quiet.setLevel(level)


def predict(
    videos: PathLike | Sequence[PathLike],
    checkpoint: PathLike | None = None,
    actions: str | Sequence[str] | None = None,
    *,
    top: int = 5,
    actions_file: PathLike | None = None,
    benchmark: str | None = None,
    split: int | None = None,
    definitions: Mapping[str, str] | PathLike | None = None,
    descriptions: Any = None,
    zero_shot: str | None = None,
    backbone: str | None = None,
    sampling: str | None = None,
    encoder: str | None = None,
    device: str = "cpu",
    batch_size: int = 8,
    cache: Any = True,
    progress: bool = False,
) -> list[dict[str, Any]]:
    """Score ``actions`` for each of ``videos``; see the module docstring for the output.

    Args:
        videos: one path or a list of paths.
        checkpoint: a finished ``actionhub train`` run directory (``model.pt`` + ``run.json``).
        actions: action names, a list or one comma-separated string (or use ``actions_file``
            / ``benchmark`` [+ ``split``]).
        top: predictions kept per video.
        definitions: name -> definition mapping, or a file (JSON / ``name<TAB>definition``).
        descriptions: ranked descriptions (``actionhub rank`` Parquet path or table) for VC.
        zero_shot: ``"conse"`` or ``"clip"`` (needs ``backbone``) for a training-free method
            instead of a checkpoint.
        backbone, sampling: override what the run records (must match its training features).
        encoder: text encoder spec (default: the run's; ``minilm`` for ConSE; the backbone's model
            for ``clip``).
        device: torch device; batch_size: videos decoded and encoded together.
        cache: text encoding cache (True: the default directory; a path; False: none).
        progress: show progress bars.
    """
    paths = [videos] if isinstance(videos, (str, Path)) else list(videos)
    if not paths:
        raise PredictError("no videos given")
    if top < 1:
        raise PredictError(f"top must be at least 1, got {top}")
    from actionhub.utils.device import check_device

    check_device(device)
    names, defs = resolve_actions(actions, actions_file=actions_file, benchmark=benchmark, split=split,
                                  definitions=definitions)
    if zero_shot is not None:
        if checkpoint is not None:
            raise PredictError("pass either a checkpoint (--checkpoint) or a zero-shot method (--zero-shot "
                              f"{'|'.join(ZERO_SHOT_METHODS)}), not both")
        if zero_shot not in ZERO_SHOT_METHODS:
            raise PredictError(f"unknown zero-shot method {zero_shot!r}; choose one of {', '.join(ZERO_SHOT_METHODS)}")
        if zero_shot == "clip":
            return _predict_clip(paths, names, defs, top, descriptions, backbone, sampling or "segments:8", encoder,
                                 device, batch_size, cache, progress)
        return _predict_conse(paths, names, defs, top, descriptions, sampling or "segments:8", encoder or "minilm",
                              device, cache, progress)
    if checkpoint is None:
        raise PredictError("pass a checkpoint (--checkpoint: a run directory of `actionhub train`) or a "
                          f"zero-shot method (--zero-shot {'|'.join(ZERO_SHOT_METHODS)})")
    return _predict_checkpoint(paths, Path(checkpoint), names, defs, top, descriptions, backbone, sampling, encoder,
                               device, batch_size, cache, progress)


def _predict_checkpoint(paths: list[PathLike], run_dir: Path, names: list[str], defs: dict[str, str], top: int,
                        descriptions: Any, backbone: str | None, sampling: str | None, encoder: str | None,
                        device: str, batch_size: int, cache: Any, progress: bool) -> list[dict[str, Any]]:
    import torch

    from actionhub.engine.checkpoint import load_model
    from actionhub.video.backbones import backbone_dim, get_backbone
    from actionhub.video.decode import parse_sampling
    from actionhub.video.extract import encode_videos

    run = _read_run(run_dir)
    s = _run_settings(run_dir, run, backbone, sampling, encoder)
    model = load_model(run_dir, device=device)
    visual_dim, text_dim = _model_dims(model, s)
    smp = parse_sampling(s["sampling"]).name
    bb_dim = backbone_dim(s["backbone"])
    if bb_dim is None:
        bb_dim = get_backbone(s["backbone"], device).dim
    _check_visual_dim(run_dir, visual_dim, s["backbone"], bb_dim, s)
    ct = _class_text(names, defs, descriptions, s["encoder"], s["k"], s["template"], cache, progress)
    if text_dim is not None and ct.dim != text_dim:
        raise PredictError(f"checkpoint {run_dir} expects {text_dim}-d class text features but encoder "
                           f"{s['encoder']!r} gives {ct.dim}-d; pass the encoder the run was trained with (--encoder)")
    ad, vc, _ = ct.select(names, s["k"])
    feats = encode_videos(paths, s["backbone"], smp, device=device, batch_size=batch_size)
    ok = [i for i, r in enumerate(feats) if r["ok"]]
    out: list[dict[str, Any]] = [{"video": str(p), "predictions": []} for p in paths]
    if ok:
        with torch.no_grad():
            emb = model.class_embeddings(torch.from_numpy(ad).to(device), torch.from_numpy(vc).to(device))
            x = torch.from_numpy(np.stack([feats[i]["feature"] for i in ok])).to(device)
            scores = model.scores(x, emb).float().cpu().numpy()
        for row, i in zip(scores, ok):
            out[i]["predictions"] = _rank(row, names, top)
    for i, r in enumerate(feats):
        if not r["ok"]:
            out[i]["error"] = r["reason"]
    return out


def _predict_conse(paths: list[PathLike], names: list[str], defs: dict[str, str], top: int, descriptions: Any,
                   sampling: str, encoder: str, device: str, cache: Any, progress: bool) -> list[dict[str, Any]]:
    from actionhub.video.conse import ConSE, conse_embedding
    from actionhub.video.decode import DecodeError, parse_sampling, read_video

    head = ConSE(encoder=encoder, device=device, cache=cache, progress=progress)
    ct = _class_text(names, defs, descriptions, encoder, 100, None, cache, progress)
    ad, vc, fallback = ct.select(names, 100)
    action_emb = ad if descriptions is None else _mean_unit(ad, vc)
    smp = parse_sampling(sampling)
    out: list[dict[str, Any]] = []
    for p in paths:
        rec: dict[str, Any] = {"video": str(p), "predictions": []}
        try:
            frames = read_video(p, smp, short_side=head.backbone.short_side).frames
        except DecodeError as e:
            rec["error"] = e.detail
            out.append(rec)
            continue
        probs = head.class_probabilities([frames])
        video_emb = conse_embedding(probs, head.label_embeddings(), head.top_t)
        rec["predictions"] = _rank(ConSE.scores(video_emb, action_emb)[0], names, top)
        rec["imagenet_top"] = [{"label": n, "p": round(pr, 4)} for n, pr in head.top_imagenet(probs)[0]]
        out.append(rec)
    return out


def _mean_unit(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    def unit(x: np.ndarray) -> np.ndarray:
        return x / np.clip(np.linalg.norm(x, axis=1, keepdims=True), 1e-12, None)

    return unit(unit(a) + unit(b))


def _predict_clip(paths: list[PathLike], names: list[str], defs: dict[str, str], top: int, descriptions: Any,
                  backbone: str | None, sampling: str, encoder: str | None, device: str, batch_size: int, cache: Any,
                  progress: bool) -> list[dict[str, Any]]:
    """Cosine between a CLIP-family video embedding and the same model's class text embedding."""
    from actionhub.video.backbones import get_backbone
    from actionhub.video.decode import parse_sampling
    from actionhub.video.extract import encode_videos

    if not backbone:
        raise PredictError("zero-shot clip needs the video-language model: --backbone hf-clip:MODEL or "
                           "hf-xclip:MODEL (e.g. hf-clip:openai/clip-vit-base-patch16)")
    if encoder is None:
        if not backbone.startswith(CLIP_FAMILIES):
            raise PredictError(f"backbone {backbone!r} has no matching text encoder; pass --encoder with the text "
                               "tower of the same model, or use an hf-clip:/hf-xclip: backbone")
        encoder = backbone
    smp = parse_sampling(sampling).name
    bb_dim = get_backbone(backbone, device).dim
    ct = _class_text(names, defs, descriptions, encoder, 100, None, cache, progress)
    if ct.dim != bb_dim:
        raise PredictError(f"backbone {backbone!r} gives {bb_dim}-d video features but encoder {encoder!r} gives "
                           f"{ct.dim}-d text features; zero-shot clip needs the video and text towers of one model")
    ad, vc, _ = ct.select(names, 100)
    action_emb = _unit(ad) if descriptions is None else _mean_unit(ad, vc)
    feats = encode_videos(paths, backbone, smp, device=device, batch_size=batch_size)
    out: list[dict[str, Any]] = []
    for p, r in zip(paths, feats):
        rec: dict[str, Any] = {"video": str(p), "predictions": []}
        if r["ok"]:
            rec["predictions"] = _rank(action_emb @ _unit(r["feature"][None])[0], names, top)
        else:
            rec["error"] = r["reason"]
        out.append(rec)
    return out


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.clip(np.linalg.norm(x, axis=1, keepdims=True), 1e-12, None)
