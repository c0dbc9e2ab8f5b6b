"""The files a finished run leaves for later use: ``model.pt`` (the selected weights, the
dimensions and the method that built them) and how to load it back.

Checkpoints (``model.pt``, ``checkpoint.pt``) hold only tensors, plain containers (dict, list,
tuple) and JSON-able values, and are always read with ``torch.load(weights_only=True)``: a file
that holds anything else (a pickled object, which could run code when loaded) is refused by
:func:`load_checkpoint`, never executed. Run folders can therefore be shared safely."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from actionhub.utils.errors import UserError
from actionhub.utils.io import atomic_path

__all__ = ["RunDirError", "save_model", "load_model", "load_checkpoint"]


class RunDirError(UserError):
    """The run directory holds a different run, or cannot be resumed."""


def save_model(path: str | Path, model: nn.Module, *, visual_dim: int, text_dim: int, model_config: dict[str, Any],
               method: str, method_params: dict[str, Any], benchmark: str, split: int) -> None:
    """Write ``model.pt`` atomically: the state dict plus what :func:`load_model` needs to rebuild it."""
    with atomic_path(path) as tmp:
        torch.save({"state_dict": model.state_dict(), "visual_dim": visual_dim, "text_dim": text_dim,
                    "model_config": model_config, "method": method, "method_params": method_params,
                    "benchmark": benchmark, "split": split}, tmp)


def load_checkpoint(path: str | Path, device: str = "cpu") -> dict[str, Any]:
    """The dict saved in the checkpoint ``path``, loaded with ``weights_only=True`` (tensors, plain
    containers and numbers/strings only); anything else is a :class:`RunDirError`, nothing runs."""
    import pickle
    import zipfile

    path = Path(path)
    try:
        blob = torch.load(path, map_location=device, weights_only=True)
    except pickle.UnpicklingError as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        if "weights_only" in str(e) or "Unsupported" in str(e) or "global" in str(e).lower():
            raise RunDirError(
                f"{path} holds Python objects besides tensors and plain values, which could run code when "
                f"loaded, so it is not loaded ({first[:200]}). Only load checkpoints written by `actionhub "
                "train`; if this one is yours, train again into a new --out directory") from None
        raise RunDirError(f"{path} is not a readable checkpoint ({first[:200]}); train again into a new "
                          "--out directory") from None
    except (RuntimeError, EOFError, zipfile.BadZipFile, ValueError) as e:
        raise RunDirError(f"{path} is truncated or corrupt ({str(e).strip()[:200] or type(e).__name__}); "
                          "train again into a new --out directory (or delete it to start over)") from None
    if not isinstance(blob, dict):
        raise RunDirError(f"{path} holds a {type(blob).__name__}, not an `actionhub train` checkpoint; train "
                          "again into a new --out directory")
    return blob


def load_model(run_dir: str | Path, device: str = "cpu") -> nn.Module:
    """The selected weights of a finished run directory: a CoCo model, or the baseline
    it trained (same ``class_embeddings``/``scores`` interface)."""
    from actionhub.config import ModelConfig
    from actionhub.models.registry import get_method

    path = Path(run_dir) / "model.pt"
    if not path.exists():
        raise RunDirError(f"{path} not found: is {run_dir} a finished `actionhub train` run directory?")
    blob = load_checkpoint(path, device)
    try:
        method = get_method(blob.get("method", "coco"))
        model_cfg = ModelConfig(**blob["model_config"])
        model = method.build(blob["visual_dim"], blob["text_dim"], model_cfg,
                             method.make_params(blob.get("method_params")))
        model.load_state_dict(blob["state_dict"])
    except (KeyError, TypeError, RuntimeError) as e:
        raise RunDirError(f"{path} does not hold the model an `actionhub train` run saves ({type(e).__name__}: "
                          f"{str(e)[:200]}); train again into a new --out directory") from None
    return model.eval()
