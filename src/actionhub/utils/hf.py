"""Loading CLIP-family models through Hugging Face ``transformers`` (shared by the ``hf-clip:`` /
``hf-xclip:`` backbones and text encoders): a model id on the Hub or a local folder saved with
``save_pretrained``, with errors that say how to get the weights.

Kinds: ``hf-clip`` -> ``transformers.CLIPModel``, ``hf-xclip`` -> ``transformers.XCLIPModel``.
``transformers`` is imported inside the functions (it is heavy and optional).
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

__all__ = ["HF_MODEL_CLASSES", "PICKLE_SUFFIXES", "refuse_pickled_weights", "looks_like_missing_folder",
           "resolve_source", "load_model", "load_tokenizer", "processor_config", "pooled"]

#: registry prefix -> transformers model class name
HF_MODEL_CLASSES = {"hf-clip": "CLIPModel", "hf-xclip": "XCLIPModel"}
_EXAMPLES = {"hf-clip": "openai/clip-vit-base-patch16", "hf-xclip": "microsoft/xclip-base-patch32"}
_HUB_NAME = re.compile(r"[A-Za-z0-9][\w.-]*(/[\w.-]+)?")


def looks_like_missing_folder(arg: str) -> bool:
    """True for a model argument that names a local folder that does not exist: a path that cannot be a
    Hub id (``./x``, ``/x``, ``~/x``, ``a/b/c``), or ``org/name`` whose ``org`` is a folder here
    (``models/nothere`` next to a ``models/`` folder) -- rather than a Hub id to download, which would
    spend half a minute retrying the Hub before failing."""
    arg = str(arg).strip()
    path = Path(arg).expanduser()
    if not arg or path.exists():
        return False
    if _HUB_NAME.fullmatch(arg) is None:
        return True
    return "/" in arg and Path(arg.split("/", 1)[0]).is_dir()


#: weight files that are Python pickles: loading one can run code
PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".pkl", ".pickle", ".ckpt")


def refuse_pickled_weights(folder: Path, error: type[Exception]) -> None:
    """Refuse a local model folder whose weights would be read from a pickle (``pytorch_model.bin`` and
    the like, with no ``.safetensors`` beside them): unpickling can run code, so nothing is loaded."""
    dirs = [folder, *(d for d in folder.iterdir() if d.is_dir() and not d.name.startswith("."))]
    for d in dirs:
        files = [f for f in d.iterdir() if f.is_file()]
        pickles = sorted(f.name for f in files if f.suffix.lower() in PICKLE_SUFFIXES)
        if pickles and not any(f.name.endswith(".safetensors") for f in files):
            raise error(f"{d} holds its weights as a Python pickle ({', '.join(pickles[:3])}), which can run code when "
                        "loaded, so it is not loaded; ActionHub reads model folders with .safetensors weights only: "
                        "convert it once where you trust it (from_pretrained(DIR).save_pretrained(NEW_DIR, "
                        "safe_serialization=True)) and pass the new folder")


def resolve_source(kind: str, arg: str, error: type[Exception]) -> tuple[str, bool]:
    """``(source, is_local)``: an existing folder (resolved; refused when its weights are a pickle) or a
    Hub model id."""
    arg = str(arg).strip()
    if not arg:
        raise error(f"{kind}: needs a model, e.g. {kind}:{_EXAMPLES[kind]} or {kind}:/path/to/saved_model")
    path = Path(arg).expanduser()
    if path.is_dir():
        refuse_pickled_weights(path, error)
        return str(path.resolve()), True
    if looks_like_missing_folder(arg):
        raise error(f"{kind}:{arg}: no such model folder. Pass a Hugging Face model id (e.g. {kind}:{_EXAMPLES[kind]}) "
                    "or a folder written by save_pretrained (config.json, weights, tokenizer and "
                    "preprocessor_config.json)")
    return arg, False


def _transformers(kind: str, error: type[Exception]) -> Any:
    try:
        import transformers  # noqa: PLC0415
    except ImportError:
        raise error(f"{kind}: models need the Python package 'transformers': `pip install transformers` "
                    "(or `pip install 'actionhub[text]'`)") from None
    return transformers


def _load_failed(kind: str, arg: str, what: str, e: Exception, error: type[Exception]) -> Exception:
    return error(
        f"{kind}:{arg}: cannot load the {what} ({type(e).__name__}: {e}). With internet access transformers "
        f"downloads a Hub model once (e.g. {kind}:{_EXAMPLES[kind]}; set HF_HUB_OFFLINE=1 to forbid that); "
        "offline, pass a local folder written by save_pretrained")


def load_model(kind: str, arg: str, error: type[Exception], device: str = "cpu") -> tuple[Any, str, bool]:
    """``(model in eval mode on device, source, is_local)`` for ``kind:arg``."""
    source, local = resolve_source(kind, arg, error)
    cls = getattr(_transformers(kind, error), HF_MODEL_CLASSES[kind])
    try:
        model = cls.from_pretrained(source, local_files_only=local)
    except (OSError, ValueError, KeyError) as e:
        raise _load_failed(kind, arg, f"{HF_MODEL_CLASSES[kind]} model", e, error) from None
    model_type = getattr(model.config, "model_type", "")
    expected = {"hf-clip": "clip", "hf-xclip": "xclip"}[kind]
    if model_type != expected:
        raise error(f"{kind}:{arg} is a {model_type!r} model, not {expected!r}; use the matching prefix")
    return model.eval().to(device), source, local


def load_tokenizer(kind: str, arg: str, source: str, local: bool, error: type[Exception]) -> Any:
    transformers = _transformers(kind, error)
    try:
        return transformers.AutoTokenizer.from_pretrained(source, local_files_only=local)
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise _load_failed(kind, arg, "tokenizer", e, error) from None


def processor_config(kind: str, arg: str, source: str, local: bool, error: type[Exception]) -> dict[str, Any]:
    """The model's ``preprocessor_config.json`` (its image processor's settings) as a dict."""
    if local:
        path = Path(source) / "preprocessor_config.json"
        if not path.is_file():
            raise error(f"{kind}:{arg}: {path} is missing; save the model's image processor into the folder too "
                        "(processor.save_pretrained(folder))")
    else:
        utils = _transformers(kind, error).utils
        try:
            found = utils.cached_file(source, "preprocessor_config.json")
        except (OSError, ValueError) as e:
            raise _load_failed(kind, arg, "image processor config", e, error) from None
        if found is None:
            raise error(f"{kind}:{arg} has no preprocessor_config.json; it cannot be used as a video backbone")
        path = Path(found)
    try:
        cfg = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as e:
        raise error(f"{kind}:{arg}: cannot read {path} ({e})") from None
    if not isinstance(cfg, dict):
        raise error(f"{kind}:{arg}: {path} is not a JSON object")
    return cfg


def pooled(out: Any) -> Any:
    """The embedding tensor of a ``get_*_features`` call (a tensor in transformers 4, an output with
    ``pooler_output`` in transformers 5)."""
    if hasattr(out, "pooler_output") and not hasattr(out, "shape"):
        return out.pooler_output
    return out
