"""The torch device a user asks for, checked before any work: ``--device cuda`` on a machine
without CUDA is a one-line error, not a torch traceback after the data is loaded."""
from __future__ import annotations

from actionhub.utils.errors import UserError

__all__ = ["check_device"]


def check_device(device: str, flag: str = "--device") -> None:
    """Raise a :class:`UserError` when torch cannot use ``device`` here (unknown name, no CUDA/MPS)."""
    import torch

    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError, ValueError) as e:
        raise UserError(f"{flag} {device!r} is not a torch device ({e}); use cpu, cuda or cuda:N") from None
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise UserError(f"{flag} {device}: CUDA is not available on this machine (no GPU, or torch built "
                            "without CUDA); use --device cpu")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise UserError(f"{flag} {device}: this machine has {torch.cuda.device_count()} CUDA device(s); "
                            f"use cuda:0 .. cuda:{torch.cuda.device_count() - 1}")
    elif dev.type == "mps":
        mps = getattr(torch.backends, "mps", None)
        if mps is None or not mps.is_available():
            raise UserError(f"{flag} {device}: MPS is not available on this machine; use --device cpu")
