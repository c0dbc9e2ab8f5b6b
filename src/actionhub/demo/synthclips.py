"""SYNTHETIC test clips written with PyAV (for tests and benchmarks; never real footage).

Frame ``i`` of a clip is mid-grey noise-free texture whose left half has the grey level
:func:`frame_level` ``(i)``, so a decoded frame tells which frame it was (within codec error),
and a bar moves across the right half so consecutive frames differ.
"""
from __future__ import annotations

from pathlib import Path
from typing import Union

import numpy as np

__all__ = ["SYNTHETIC_CLIP_NOTE", "pick_codec", "frame_level", "clip_frames", "write_clip", "write_audio_only"]

SYNTHETIC_CLIP_NOTE = "SYNTHETIC clips generated with PyAV (actionhub.demo.synthclips), not real video"

_CODECS = {
    ".mp4": ("mpeg4", "libx264", "h264", "libopenh264"),
    ".mkv": ("mpeg4", "libx264", "h264", "mjpeg"),
    ".avi": ("mpeg4", "mjpeg"),
    ".webm": ("libvpx", "libvpx-vp9"),
}


def pick_codec(suffix: str) -> str:
    """An encoder this PyAV build has for the container ``suffix`` (".mp4", ".mkv", ".avi", ".webm")."""
    import av

    for name in _CODECS.get(suffix.lower(), ("mpeg4",)):
        if name in av.codecs_available:
            try:
                av.codec.Codec(name, "w")
            except Exception:  # noqa: BLE001 - not an encoder in this build
                continue
            return name
    raise RuntimeError(f"no video encoder for {suffix} in this PyAV build (tried {_CODECS.get(suffix.lower())})")


def frame_level(i: int, num_frames: int) -> int:
    """Grey level of the left half of frame ``i`` (distinct per frame, spread over 16..240)."""
    return int(round(16 + 224 * i / max(1, num_frames - 1)))


def clip_frames(num_frames: int, width: int, height: int) -> np.ndarray:
    """``(num_frames, height, width, 3)`` uint8 SYNTHETIC frames (see the module docstring)."""
    f = np.zeros((num_frames, height, width, 3), np.uint8)
    half = width // 2
    for i in range(num_frames):
        f[i, :, :half] = frame_level(i, num_frames)
        f[i, :, half:] = (40, 80, 160)
        x = half + (i * 3) % max(1, width - half - 4)
        f[i, :, x:x + 4] = (250, 250, 60)
    return f


def write_clip(path: Union[str, Path], num_frames: int = 32, width: int = 64, height: int = 48, fps: int = 25,
               codec: str | None = None) -> Path:
    """Write a SYNTHETIC clip of ``num_frames`` frames; the codec is picked from the suffix when not given."""
    import av

    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    codec = codec or pick_codec(p.suffix)
    frames = clip_frames(num_frames, width, height)
    with av.open(str(p), "w") as c:
        s = c.add_stream(codec, rate=fps)
        s.width, s.height = width, height
        s.pix_fmt = "yuvj420p" if codec == "mjpeg" else "yuv420p"
        if codec == "mpeg4":
            s.options = {"qscale": "2"}  # near-lossless so frame levels survive
        for fr in frames:
            for pkt in s.encode(av.VideoFrame.from_ndarray(fr, format="rgb24")):
                c.mux(pkt)
        for pkt in s.encode():
            c.mux(pkt)
    return p


def write_audio_only(path: Union[str, Path], seconds: float = 0.5, rate: int = 16000) -> Path:
    """A SYNTHETIC file with one (silent) audio stream and no video stream."""
    import av

    p = Path(path)
    codec = "aac" if p.suffix.lower() in (".mp4", ".m4a") else "mp2"
    with av.open(str(p), "w") as c:
        s = c.add_stream(codec, rate=rate)
        n = int(seconds * rate)
        for start in range(0, n, 1024):
            fr = av.AudioFrame.from_ndarray(np.zeros((1, min(1024, n - start)), np.float32), format="fltp",
                                            layout="mono")
            fr.sample_rate = rate
            for pkt in s.encode(fr):
                c.mux(pkt)
        for pkt in s.encode():
            c.mux(pkt)
    return p
