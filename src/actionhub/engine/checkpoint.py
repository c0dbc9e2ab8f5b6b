"""The files a finished run leaves for later use: ``model.pt`` (the selected weights, the
dimensions and the method that built them) and how to load it back.

Both are read with ``torch.load(weights_only=True)``
(:func:`actionhub.utils.rundir.load_checkpoint`): a file holding anything but tensors and plain
values is refused, never executed."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from actionhub.utils.io import atomic_path
from actionhub.utils.rundir import RunDir, RunDirError, load_checkpoint

__all__ = ["RunDirError", "save_model", "load_model", "load_checkpoint"]


def save_model(path: str | Path, model: nn.Module, *, visual_dim: int, text_dim: int, model_config: dict[str, Any],
               method: str, method_params: dict[str, Any], benchmark: str, split: int) -> None:
    """Write ``model.pt`` atomically: the state dict plus what :func:`load_model` needs to rebuild it."""
    with atomic_path(path) as tmp:
        torch.save({"state_dict": model.state_dict(), "visual_dim": visual_dim, "text_dim": text_dim,
                    "model_config": model_config, "method": method, "method_params": method_params,
                    "benchmark": benchmark, "split": split}, tmp)


def load_model(run_dir: str | Path, device: str = "cpu") -> nn.Module:
    """The selected weights of a finished run directory: a CoCo model, or the baseline
    it trained (same ``class_embeddings``/``scores`` interface)."""
    from actionhub.config import ModelConfig
    from actionhub.models.registry import get_method

    path = RunDir(run_dir).model
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
