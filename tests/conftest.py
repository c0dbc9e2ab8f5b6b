"""Fixtures shared by several test files."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator


def offline_env(root: Path) -> Iterator[Path]:
    """Offline text encoding with a private encoded-text cache under ``root``; nothing is downloaded.
    A generator for module-scoped fixtures: it restores the environment afterwards."""
    saved = {k: os.environ.get(k) for k in ("ACTIONHUB_CACHE", "HF_HUB_OFFLINE")}
    os.environ.update({"ACTIONHUB_CACHE": str(root / "cache"), "HF_HUB_OFFLINE": "1"})
    yield root
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v
