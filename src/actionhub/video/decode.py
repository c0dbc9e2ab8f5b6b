"""Decoding videos with PyAV and sampling the frames a backbone sees (paper Sec. 5.2).

Sampling (:func:`parse_sampling`): ``segments:T`` (centre frame of T equal segments; TSN test
sampling) or ``clip:LxS`` (one centred clip of L frames S apart; short videos loop, or repeat the
last frame with ``:clamp``). The index functions are pure (frame count -> indices). :func:`read_video`
decodes sequentially (no seeking), takes the true frame count from the decoder (containers may
omit or misreport it), keeps only the sampled frames, and raises :class:`DecodeError` with a short
``kind`` (``not_found``, ``unreadable``, ``truncated``, ...) that extraction records.

Docs: docs/video.md#decoding
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from actionhub.utils.errors import UserError
from actionhub.utils.types import PathLike

log = logging.getLogger(__name__)


__all__ = [
    "DecodeError",
    "DecodedVideo",
    "Sampling",
    "parse_sampling",
    "segment_indices",
    "clip_indices",
    "read_video",
]

_SAMPLING_RE = re.compile(r"^\s*(segments|clip)\s*:\s*(\d+)(?:\s*x\s*(\d+))?(?:\s*:\s*(loop|clamp))?\s*$", re.I)


class DecodeError(UserError):
    """A video that gives no frames; ``kind`` is a short machine-readable reason."""

    def __init__(self, path: PathLike, kind: str, detail: str):
        self.path = str(path)
        self.kind = kind
        self.detail = detail
        super().__init__(f"{path}: {detail}")


# --------------------------------------------------------------------------- sampling


def segment_indices(num_frames: int, num_segments: int) -> np.ndarray:
    """Centre frame of each of ``num_segments`` equal segments of a ``num_frames`` video.

    Segment ``i`` covers frames ``[i*n/T, (i+1)*n/T)``; its centre ``(i+0.5)*n/T`` is
    rounded down.  Returns ``(T,)`` int64, non-decreasing, in ``[0, n-1]``.

    >>> segment_indices(10, 8).tolist()
    [0, 1, 3, 4, 5, 6, 8, 9]
    """
    n, t = int(num_frames), int(num_segments)
    if n <= 0:
        raise ValueError(f"a video needs at least one frame to sample from, got {n}")
    if t <= 0:
        raise ValueError(f"the number of segments must be positive, got {t}")
    i = np.arange(t, dtype=np.int64)
    return ((2 * i + 1) * n) // (2 * t)


def clip_indices(num_frames: int, length: int, stride: int, out_of_bound: str = "loop") -> np.ndarray:
    """One clip of ``length`` frames ``stride`` apart, centred in a ``num_frames`` video.

    With ``span = (length-1)*stride + 1 <= n`` the clip starts at ``(n - span) // 2``.
    Shorter videos start at frame 0 and either loop (``"loop"``: ``i*stride mod n``) or
    repeat the last frame (``"clamp"``).  Returns ``(length,)`` int64 in ``[0, n-1]``.

    >>> clip_indices(100, 16, 4)[:3].tolist()
    [19, 23, 27]
    """
    n, length, stride = int(num_frames), int(length), int(stride)
    if n <= 0:
        raise ValueError(f"a video needs at least one frame to sample from, got {n}")
    if length <= 0 or stride <= 0:
        raise ValueError(f"clip length and stride must be positive, got {length}x{stride}")
    if out_of_bound not in ("loop", "clamp"):
        raise ValueError(f"out_of_bound must be 'loop' or 'clamp', got {out_of_bound!r}")
    offsets = np.arange(length, dtype=np.int64) * stride
    span = int(offsets[-1]) + 1
    if span <= n:
        return (n - span) // 2 + offsets
    if out_of_bound == "loop":
        return offsets % n
    return np.minimum(offsets, n - 1)


@dataclass(frozen=True)
class Sampling:
    """A frame sampling mode; ``name`` is its canonical spelling (stored in feature meta).

    mode: ``"segments"`` or ``"clip"``; num_frames: T (segments) or L (clip frames);
    stride: clip stride S (1 for segments); out_of_bound: clip behaviour on short videos.
    """

    mode: str
    num_frames: int
    stride: int = 1
    out_of_bound: str = "loop"

    @property
    def name(self) -> str:
        if self.mode == "segments":
            return f"segments:{self.num_frames}"
        tail = "" if self.out_of_bound == "loop" else f":{self.out_of_bound}"
        return f"clip:{self.num_frames}x{self.stride}{tail}"

    def indices(self, num_frames: int) -> np.ndarray:
        """``(num_frames_sampled,)`` frame indices for a video of ``num_frames`` frames."""
        if self.mode == "segments":
            return segment_indices(num_frames, self.num_frames)
        return clip_indices(num_frames, self.num_frames, self.stride, self.out_of_bound)

    def __str__(self) -> str:
        return self.name


def parse_sampling(spec: "str | Sampling") -> Sampling:
    """``"segments:8"``, ``"segments:1"``, ``"clip:16x4"`` or ``"clip:16x4:clamp"`` -> :class:`Sampling`."""
    if isinstance(spec, Sampling):
        return spec
    m = _SAMPLING_RE.match(str(spec))
    if not m:
        raise UserError(
            f"unknown sampling {spec!r}; use segments:T (T uniformly spaced frames, e.g. segments:8) "
            "or clip:LxS (one centred clip of L frames S apart, e.g. clip:16x4; add :clamp to "
            "repeat the last frame instead of looping on short videos)"
        )
    mode, a, b, oob = m.group(1).lower(), int(m.group(2)), m.group(3), (m.group(4) or "loop").lower()
    if a <= 0:
        raise UserError(f"sampling {spec!r}: the number of frames must be positive")
    if mode == "segments":
        if b is not None or m.group(4):
            raise UserError(f"sampling {spec!r}: segments takes one number (segments:T), e.g. segments:8")
        return Sampling("segments", a)
    if b is None or int(b) <= 0:
        raise UserError(f"sampling {spec!r}: a clip needs a length and a positive stride, e.g. clip:16x4")
    return Sampling("clip", a, int(b), oob)


# --------------------------------------------------------------------------- decoding


@dataclass
class DecodedVideo:
    """The sampled frames of one video.

    frames: ``(T, H, W, 3)`` uint8 RGB; indices: ``(T,)`` decoded-frame indices;
    num_frames: frames the decoder produced; reported_frames: the container's claim
    (0 when it has none); fps: average frame rate when known.
    """

    frames: np.ndarray
    indices: np.ndarray
    num_frames: int
    reported_frames: int
    fps: float | None = None


def _av() -> Any:
    try:
        import av
    except ImportError:  # pragma: no cover - exercised only without the extra
        raise ImportError("decoding video needs PyAV: `pip install av` (or `pip install 'actionhub[video]'`)") from None
    return av


def _open(path: Path) -> Any:
    av = _av()
    if not path.exists():
        raise DecodeError(path, "not_found", "file not found; check the path")
    if path.is_dir():
        raise DecodeError(path, "unreadable", "is a directory, not a video file")
    try:
        size = path.stat().st_size
    except OSError as e:
        raise DecodeError(path, "unreadable", f"cannot read the file ({e.strerror or e})") from None
    if size == 0:
        raise DecodeError(path, "empty_file", "the file is empty (0 bytes)")
    try:
        return av.open(str(path), mode="r", metadata_errors="ignore")
    except av.error.FFmpegError as e:
        raise DecodeError(path, "unreadable",
                          f"not a readable video container (truncated or corrupt file?): {_short(e)}") from None
    except OSError as e:
        raise DecodeError(path, "unreadable", f"cannot open the file ({e.strerror or e})") from None


def _short(e: BaseException) -> str:
    """An FFmpeg error without the trailing file name PyAV appends."""
    msg = getattr(e, "strerror", None) or str(e)
    return str(msg).split(": '")[0]


def _video_stream_index(container: Any, path: Path) -> int:
    videos = list(container.streams.video)
    if not videos:
        n_audio = len(container.streams.audio)
        what = (f"audio-only file ({n_audio} audio stream{'s' if n_audio != 1 else ''})" if n_audio
                else f"no video stream among its {len(container.streams)} stream(s)")
        raise DecodeError(path, "no_video_stream", f"{what}; nothing to extract")
    return videos[0].index


def _count_packets(path: Path, stream_index: int) -> int:
    """Non-empty packets of the video stream (= frames for every common codec), demuxed without decoding."""
    av = _av()
    with _open(path) as c:
        s = c.streams[stream_index]
        try:
            return sum(1 for pkt in c.demux(s) if pkt.size)
        except av.error.FFmpegError as e:
            log.debug("%s: demuxing failed while counting frames (%s); counting by decoding", path, _short(e))
            return 0


def _target_size(width: int, height: int, short_side: int | None) -> tuple[int, int]:
    """Frame size after downscaling so the shorter side is ``short_side`` (never upscales)."""
    if not short_side or min(width, height) <= short_side:
        return width, height
    s = short_side / min(width, height)
    return max(1, int(round(width * s))), max(1, int(round(height * s)))


def _decode_pass(path: Path, stream_index: int, wanted: np.ndarray, short_side: int | None,
                 threads: bool) -> tuple[dict[int, np.ndarray], int]:
    """Decode the whole stream once; return ``{index: (H, W, 3) uint8}`` for the wanted
    indices and the number of frames decoded."""
    av = _av()
    want = set(int(i) for i in wanted)
    got: dict[int, np.ndarray] = {}
    n = 0
    size: tuple[int, int] | None = None
    with _open(path) as c:
        s = c.streams[stream_index]
        if threads:
            s.thread_type = "AUTO"
        try:
            for frame in c.decode(s):
                if n in want:
                    if size is None:
                        size = _target_size(frame.width, frame.height, short_side)
                    scaled = size != (frame.width, frame.height)
                    rgb = frame.reformat(width=size[0], height=size[1], format="rgb24",
                                         interpolation="AREA" if scaled else None)
                    got[n] = rgb.to_ndarray()
                n += 1
        except av.error.DecoderNotFoundError as e:
            raise DecodeError(path, "unreadable",
                              f"no decoder for its video codec in this FFmpeg build: {_short(e)}") from None
        except av.error.FFmpegError as e:
            where = f"after {n} good frame(s)" if n else "before the first frame"
            raise DecodeError(path, "corrupt", f"corrupt or truncated video data {where}: {_short(e)}") from None
    return got, n


def read_video(path: PathLike, sampling: "str | Sampling", *, short_side: int | None = None,
               threads: bool = True, min_fraction: float = 0.9) -> DecodedVideo:
    """Decode ``path`` and return the frames ``sampling`` picks.

    Args:
        path: a video file any FFmpeg demuxer reads.
        sampling: a :class:`Sampling` or its spelling (``"segments:8"``, ``"clip:16x4"``).
        short_side: downscale frames while decoding so their shorter side is at most this
            (bounds memory for high-resolution video); ``None`` keeps the size.
        threads: let FFmpeg decode with several threads.
        min_fraction: a video whose container reports ``R`` frames but that decodes fewer
            than ``min_fraction * R`` (and fewer than ``R - 1``) is a truncated file and
            fails; smaller disagreements (edit lists, a missing last frame) are tolerated and
            the frames are sampled from what decodes.

    Returns:
        A :class:`DecodedVideo` with ``frames (T, H, W, 3)`` uint8 RGB.

    Raises:
        DecodeError: the file is missing, empty, not a video, audio-only, or corrupt.
    """
    p = Path(path)
    smp = parse_sampling(sampling)
    with _open(p) as c:
        idx_stream = _video_stream_index(c, p)
        s = c.streams[idx_stream]
        reported = max(0, int(s.frames or 0))
        fps = float(s.average_rate) if s.average_rate else None
    n_hint = reported if reported > 0 else _count_packets(p, idx_stream)
    wanted = smp.indices(n_hint) if n_hint > 0 else np.zeros(0, np.int64)
    got, n = _decode_pass(p, idx_stream, wanted, short_side, threads)
    if n == 0:
        raise DecodeError(p, "no_frames", "the video stream has no decodable frames (zero-length video)")
    if reported and n < reported - 1 and n < min_fraction * reported:
        raise DecodeError(p, "truncated", f"the container reports {reported} frames but only {n} decode "
                          "(truncated or damaged file); re-download or re-encode it")
    if n != n_hint:
        log.info("%s: container reports %s frames but %d decode; sampling from the decoded frames",
                 p, reported or "no", n)
        wanted = smp.indices(n)
        if any(int(i) not in got for i in wanted):
            got, n2 = _decode_pass(p, idx_stream, wanted, short_side, threads)
            if n2 != n:
                raise DecodeError(p, "corrupt", f"decoding is not repeatable ({n} then {n2} frames)")
    frames = np.stack([got[int(i)] for i in wanted])
    return DecodedVideo(frames=frames, indices=np.asarray(wanted, np.int64), num_frames=n,
                        reported_frames=reported, fps=fps)
