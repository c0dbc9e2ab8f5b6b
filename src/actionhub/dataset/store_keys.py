"""Row keys of the description store and the vectorised "is this row new?" check.

A description is unique by (provider, video_id), a hit by (action, provider, video_id); keys are one
Arrow string per row, so a batch is checked against everything stored with one ``is_in``.
Docs: docs/dataset.md#3-the-store
"""
from __future__ import annotations

import hashlib
from typing import Any, Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["key_column", "first_new", "group_ranks", "StoredKeys", "synthetic_video_id"]

_SEP = "\x1f"  # joins key parts; never in a provider name, an action or a video id worth keeping


def synthetic_video_id(action: str, description: str) -> str:
    """A stable id for a description without one: sha1 of ``action + "\\x1f" + description``, 20 hex digits."""
    return hashlib.sha1(f"{action}{_SEP}{description}".encode("utf-8")).hexdigest()[:20]


def key_column(*columns: Any) -> pa.Array:
    """One string key per row from several string columns (``provider``, ``video_id``, ...)."""
    cols = [c.combine_chunks() if isinstance(c, pa.ChunkedArray) else c for c in columns]
    if len(cols) == 1:
        return pc.cast(cols[0], pa.string())
    return pc.binary_join_element_wise(*[pc.cast(c, pa.string()) for c in cols], _SEP)


def first_new(keys: pa.Array, known: pa.Array | None) -> np.ndarray:
    """(n,) bool: the first occurrence of each key within ``keys`` that is not in ``known``."""
    n = len(keys)
    if n == 0:
        return np.zeros(0, bool)
    codes = pc.dictionary_encode(keys).indices.to_numpy(zero_copy_only=False)
    _, first = np.unique(codes, return_index=True)
    keep = np.zeros(n, bool)
    keep[first] = True
    if known is not None and len(known):
        keep &= ~pc.is_in(keys, value_set=known).to_numpy(zero_copy_only=False)
    return keep


def group_ranks(codes: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """0-based position of each of ``rows`` within its group ``codes[rows]``, in row order.

    ``codes``: (n,) int group code per row; ``rows``: (m,) row indices. Returns ``(order, within)``:
    the rows sorted by group (stable) and each one's position in its group.
    """
    order = rows[np.argsort(codes[rows], kind="stable")]
    c = codes[order]
    starts = np.flatnonzero(np.r_[True, c[1:] != c[:-1]]) if len(c) else np.zeros(0, np.int64)
    return order, np.arange(len(order)) - np.repeat(starts, np.diff(np.r_[starts, len(order)]))


class StoredKeys:
    """The keys already stored, read on first use (while a writer holds the store's lock) by
    ``read(kind)`` -> key array, and grown with every batch written."""

    def __init__(self, read: Callable[[str], pa.Array]):
        self.read = read
        self.chunks: dict[str, list[pa.Array]] = {}

    def get(self, kind: str) -> pa.Array:
        if kind not in self.chunks:
            self.chunks[kind] = [self.read(kind)]
        parts = self.chunks[kind]
        if len(parts) > 1:
            parts[:] = [pa.concat_arrays(parts)]
        return parts[0]

    def add(self, kind: str, keys: pa.Array) -> None:
        if kind in self.chunks and len(keys):
            self.chunks[kind].append(keys)

    def forget(self, kind: str) -> None:
        """Read ``kind`` again when next needed (rows were written without their keys)."""
        self.chunks.pop(kind, None)
