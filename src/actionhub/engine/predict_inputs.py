"""The videos ``predict`` scores: files, folders and list files, or the features ``extract`` wrote.

VIDEOS (:func:`expand_videos`): a folder (recursively, the extensions of
:data:`actionhub.features.VIDEO_EXTENSIONS`, hidden skipped, path order), a list file (``path
[label]`` lines as ``extract`` reads them) or a video file. Each is a :class:`VideoInput`:
``video`` (as shown), ``path`` (absolute), ``label`` and ``key`` (the absolute path, what a resumed
run recognises); a video named twice is scored once. ``--features DIR`` (:func:`feature_inputs`):
``index.jsonl`` names the videos (``key`` = video id), ``failures.jsonl`` gives error rows,
``meta.json`` the backbone; :func:`read_feature_files` reads many ``.npy`` files fast.
Docs: docs/video.md#prediction
"""
from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from actionhub.features import VIDEO_EXTENSIONS
from actionhub.utils.types import PathLike

__all__ = ["VideoInput", "FeatureInputs", "expand_videos", "feature_inputs", "read_feature_files"]

log = logging.getLogger(__name__)


READ_THREADS = 16   # feature files read at once


@dataclass(frozen=True)
class VideoInput:
    """One video to score (module docstring); ``error`` is set for a video known to be unreadable."""

    video: str
    path: str
    label: str | None
    key: str
    error: str | None = None


@dataclass
class FeatureInputs:
    """The videos of an ``extract`` folder and what its ``meta.json`` records."""

    folder: Path
    videos: list[VideoInput]
    meta: dict[str, Any]

    def dim(self) -> int:
        """The feature dimension: ``meta.json``'s, else the first readable file's (0 when none is)."""
        if self.meta.get("dim"):
            return int(self.meta["dim"])
        for v in self.videos:
            if v.error is None:
                try:
                    return int(np.load(v.path, mmap_mode="r", allow_pickle=False).shape[-1])
                except (OSError, ValueError, EOFError, IndexError):
                    continue
        return 0


def expand_videos(videos: PathLike | Sequence[PathLike]) -> list[VideoInput]:
    """The videos named by ``videos`` (module docstring), in the order given."""
    from actionhub.video.extract import list_videos  # noqa: PLC0415

    args = [videos] if isinstance(videos, (str, os.PathLike)) else list(videos)
    out: list[VideoInput] = []
    for arg in args:
        p = Path(arg)
        if p.is_dir():
            root = os.path.abspath(p)
            out += [VideoInput(os.path.join(str(arg), os.path.relpath(e.path, root)), e.path, None, e.path)
                    for e in list_videos(p)]
        elif p.is_file() and p.suffix.lower() not in VIDEO_EXTENSIONS and _is_text(p):   # a list file
            base = os.path.dirname(str(arg))
            out += [VideoInput(e.source if os.path.isabs(e.source) else os.path.join(base, e.source), e.path, e.label,
                               e.path) for e in list_videos(p)]
        else:
            out.append(VideoInput(str(arg), os.path.abspath(p), None, os.path.abspath(p)))
    return _once(out)


def _is_text(path: Path) -> bool:
    """Whether ``path`` starts like a UTF-8 text file (a list), not like a video of an unlisted extension."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(4096)
    except OSError:
        return False
    if b"\0" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as e:
        return e.start >= len(head) - 3   # a character cut at the end of the sample
    return True


def _once(items: list[VideoInput]) -> list[VideoInput]:
    seen: dict[str, VideoInput] = {}
    dup = []
    for v in items:
        if v.key in seen:
            dup.append(v.video)
        else:
            seen[v.key] = v
    if dup:
        log.warning("%d video(s) named more than once are scored once: %s", len(dup), ", ".join(dup[:5]))
    return list(seen.values())


def feature_inputs(folder: PathLike) -> FeatureInputs:
    """The videos of the ``actionhub extract`` folder ``folder`` (module docstring)."""
    from actionhub.features import FeatureError  # noqa: PLC0415
    from actionhub.video.extract import read_jsonl  # noqa: PLC0415

    d = Path(folder)
    if not d.is_dir():
        raise FeatureError(f"--features {d} is not a folder; pass the --out folder of `actionhub extract`")
    meta: dict[str, Any] = {}
    if (d / "meta.json").is_file():
        try:
            meta = json.loads((d / "meta.json").read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError) as e:
            raise FeatureError(f"{d / 'meta.json'} is not valid JSON ({e}); re-run `actionhub extract`") from None
    rows = read_jsonl(d / "index.jsonl")
    base = str(d)
    if rows:
        videos = [VideoInput(str(r.get("path") or r["video"]), os.path.join(base, f"{r['video']}.npy"),
                             None if r.get("label") is None else str(r["label"]), str(r["video"]))
                  for r in rows if isinstance(r.get("video"), str)]
    else:   # a folder of <id>.npy from elsewhere: every file, labels from metas.jsonl when there is one
        labels = {str(r.get("videoname")): r.get("label") for r in read_jsonl(d / "metas.jsonl")}
        ids = sorted(n[:-4] for n in os.listdir(d) if n.endswith(".npy") and not n.startswith("."))
        videos = [VideoInput(i, str(d / f"{i}.npy"), None if labels.get(i) is None else str(labels[i]), i)
                  for i in ids]
    known = {v.key for v in videos}
    for r in read_jsonl(d / "failures.jsonl"):
        vid = r.get("video_id")
        if isinstance(vid, str) and vid not in known:
            videos.append(VideoInput(str(r.get("video") or vid), "", None, vid,
                                     f"{r.get('kind', 'failed')}: {r.get('reason', 'extract could not read it')}"))
            known.add(vid)
    if not videos:
        raise FeatureError(f"--features {d} holds no features (no index.jsonl, no .npy files); pass the --out "
                           "folder of `actionhub extract`")
    return FeatureInputs(d, videos, meta)


def read_feature_files(paths: Sequence[str], dim: int) -> tuple[np.ndarray, list[str | None]]:
    """``(features (n, dim) float32, errors)``: one ``(dim,)`` or ``(1, dim)`` ``.npy`` file per path; a file
    that cannot be read, has another shape or holds NaN/inf gets an error (its row is zeros).

    Files are read by :data:`READ_THREADS` threads (a disk answers many small reads at once faster than
    one after the other), and files with the same header as the first good one are taken as raw bytes
    after it (no header parsing): that is what makes tens of thousands of files a second possible.
    """
    from concurrent.futures import ThreadPoolExecutor  # noqa: PLC0415

    out = np.zeros((len(paths), dim), np.float32)
    errors: list[str | None] = [None] * len(paths)
    header: bytes | None = None
    want = dim * 4
    step = max(1, -(-len(paths) // READ_THREADS))
    with ThreadPoolExecutor(max_workers=READ_THREADS) as pool:   # one slice of the files per thread
        raws = [r for part in pool.map(_read_all, [paths[i:i + step] for i in range(0, len(paths), step)])
                for r in part]
    for i, (p, raw) in enumerate(zip(paths, raws, strict=True)):
        if isinstance(raw, OSError):
            errors[i] = f"unreadable feature file {p}: {raw.strerror or raw}"
            continue
        if header is not None and len(raw) == len(header) + want and raw.startswith(header):
            out[i] = np.frombuffer(raw, np.float32, count=dim, offset=len(header))
        else:
            arr, err = _parse_npy(raw, p, dim)
            if err is not None:
                errors[i] = err
                continue
            out[i] = arr
            if header is None and len(raw) > want and raw[-want:] == arr.tobytes():
                header = raw[:-want]   # a float32 file: its header is what every such file starts with
        if not np.isfinite(out[i]).all():
            out[i] = 0
            errors[i] = f"feature file {p} holds NaN/inf values; re-extract that video"
    return out, errors


def _read_all(paths: Sequence[str]) -> list[bytes | OSError]:
    out: list[bytes | OSError] = []
    for path in paths:
        try:
            with open(path, "rb") as fh:
                out.append(fh.read())
        except OSError as e:
            out.append(e)
    return out


def _parse_npy(raw: bytes, path: str, dim: int) -> tuple[np.ndarray, str | None]:
    import io  # noqa: PLC0415

    try:
        arr = np.load(io.BytesIO(raw), allow_pickle=False)
    except (ValueError, OSError, EOFError) as e:
        return np.zeros(0, np.float32), f"unreadable feature file {path} ({e}); re-extract that video"
    if arr.dtype.kind not in "iuf" or arr.ndim not in (1, 2) or (arr.ndim == 2 and arr.shape[0] != 1) \
            or arr.shape[-1] != dim:
        return np.zeros(0, np.float32), (f"feature file {path} holds a {arr.dtype} array of shape {arr.shape}, "
                                         f"expected ({dim},) numbers")
    return arr.reshape(-1).astype(np.float32), None
