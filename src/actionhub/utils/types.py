"""Type aliases shared across the package (one definition each)."""
from __future__ import annotations

import os
from typing import Union

#: A filesystem path as users pass it: a string or any ``os.PathLike`` (``pathlib.Path``).
PathLike = Union[str, "os.PathLike[str]"]
