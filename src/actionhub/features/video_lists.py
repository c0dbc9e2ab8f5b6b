"""Video lists of a per-video feature directory: a metas JSONL file (``{"videoname", "label"}`` per
line, Elaborative-Rehearsal style) or ``video_id label`` lines (mmaction2 style), and how video
file names become video ids."""
from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

from actionhub.features.featureset import FeatureError
from actionhub.utils import jsontext
from actionhub.utils.names import listing
from actionhub.utils.textfile import open_text_file
from actionhub.utils.types import PathLike

logger = logging.getLogger(__name__)


#: Video-list files looked up inside a per-video directory, in this order.
DEFAULT_VIDEO_LISTS = ("metas.jsonl", "videos.txt")
#: File extensions stripped from video names to get the video id.
VIDEO_EXTENSIONS = frozenset(
    {".mp4", ".avi", ".mkv", ".webm", ".mov", ".m4v", ".flv", ".mpg", ".mpeg", ".wmv", ".3gp", ".ogv"}
)
_MAX_LISTED = 5


def strip_video_ext(name: str) -> str:
    root, ext = os.path.splitext(name)
    return root if ext.lower() in VIDEO_EXTENSIONS else name


def find_video_list(directory: Path, video_list: PathLike | None) -> Path:
    if video_list is not None:
        path = Path(video_list)
        if not path.is_file():
            raise FeatureError(
                f"video list {path} does not exist; pass a metas .jsonl file or a text file of "
                "'video_id label' lines"
            )
        return path
    for name in DEFAULT_VIDEO_LISTS:
        if (directory / name).is_file():
            return directory / name
    raise FeatureError(
        f"{directory} is a directory of per-video .npy files but has no video list "
        f"({' or '.join(DEFAULT_VIDEO_LISTS)}); pass --video-list <metas.jsonl with "
        "'videoname' and 'label' per line, or a text file of 'video_id label' lines>"
    )


def _read_metas_jsonl(path: Path) -> tuple[list[str], list[Any]]:
    """Video ids and labels from a metas JSONL file (one object per line)."""
    ids: list[str] = []
    labels: list[Any] = []
    with open_text_file(path, "video list") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                obj = jsontext.loads(line)
            except json.JSONDecodeError as exc:
                raise FeatureError(f"{path}:{lineno}: not valid JSON ({exc.msg}); "
                                   "each line must be one JSON object") from None
            if not isinstance(obj, dict) or "videoname" not in obj or "label" not in obj:
                raise FeatureError(f"{path}:{lineno}: each line needs 'videoname' and 'label' keys")
            ids.append(strip_video_ext(str(obj["videoname"])))
            labels.append(obj["label"])
    return ids, labels


def _read_video_txt(path: Path) -> tuple[list[str], list[str]]:
    """Video ids and labels from ``id<TAB>label`` or whitespace-separated lines."""
    ids: list[str] = []
    labels: list[str] = []
    with open_text_file(path, "video list") as fh:
        for lineno, line in enumerate(fh, 1):
            line = line.rstrip("\r\n")
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            if "\t" in line:
                vid, label = line.split("\t", 1)
            else:
                parts = line.split()
                if len(parts) < 2:
                    raise FeatureError(
                        f"{path}:{lineno}: expected 'video_id label' (or 'video_id<TAB>label' for "
                        f"labels with spaces), got {line!r}"
                    )
                vid, label = parts[0], parts[-1]
            ids.append(strip_video_ext(vid.strip()))
            labels.append(label.strip())
    return ids, labels


def read_video_list(path: Path) -> tuple[list[str], list[Any]]:
    if path.suffix.lower() in (".jsonl", ".json"):
        return _read_metas_jsonl(path)
    return _read_video_txt(path)


def drop_missing(directory: Path, ids: list[str], labels: list[Any], list_path: Path,
                  missing: str) -> tuple[list[str], list[Any]]:
    """Check every listed video has ``<dir>/<id>.npy``; raise or drop the ones that don't."""
    exists = [(directory / f"{v}.npy").is_file() for v in ids]
    absent = [v for v, ok in zip(ids, exists, strict=True) if not ok]
    if not absent:
        return ids, labels
    if missing == "error":
        shown = listing([str(directory / f"{v}.npy") for v in absent[:_MAX_LISTED]], len(absent))
        raise FeatureError(
            f"{len(absent)} of {len(ids)} videos listed in {list_path} have no feature file: {shown}; "
            "extract them or fix the video list"
        )
    logger.warning("%d of %d videos listed in %s have no .npy in %s; skipping them",
                   len(absent), len(ids), list_path, directory)
    kept = [i for i, ok in enumerate(exists) if ok]
    return [ids[i] for i in kept], [labels[i] for i in kept]
