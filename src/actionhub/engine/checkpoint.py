"""The files a finished run leaves for later use: ``model.pt`` (the selected weights, the
dimensions and the method that built them) and how to load it back."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from actionhub.utils.errors import UserError
from actionhub.utils.io import atomic_path

__all__ = ["RunDirError", "save_model", "load_model"]


class RunDirError(UserError):
    """The run directory holds a different run, or cannot be resumed."""


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

    path = Path(run_dir) / "model.pt"
    if not path.exists():
        raise RunDirError(f"{path} not found: is {run_dir} a finished `actionhub train` run directory?")
    blob = torch.load(path, map_location=device, weights_only=False)
    method = get_method(blob.get("method", "coco"))
    model_cfg = ModelConfig(**blob["model_config"])
    model = method.build(blob["visual_dim"], blob["text_dim"], model_cfg, method.make_params(blob.get("method_params")))
    model.load_state_dict(blob["state_dict"])
    return model.eval()
