"""Extraction throughput (videos/s, frames/s) on SYNTHETIC clips generated with PyAV.

Writes ``--videos`` short SYNTHETIC clips (``--frames`` frames of ``--size`` pixels, mpeg4 in
MP4, 25 fps), then times: decoding alone (PyAV, sequential, only the sampled frames converted),
and full extraction (decode + EfficientNet-Lite0 + atomic .npy writes) for each sampling mode.
Frames/s counts the frames the backbone encodes.  The clips are synthetic: only the speed
means something, and real footage (higher resolution, longer, h264) decodes more slowly.

    .venv/bin/python benchmarks/bench_extract.py [--videos 24] [--frames 96] [--size 320x240]
        [--sampling segments:8 segments:1 clip:16x4] [--device cpu] [--batch-size 8] [--threads N]
"""
from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path

import torch

from actionhub.demo.synthclips import SYNTHETIC_CLIP_NOTE, write_clip
from actionhub.video.backbones import get_backbone
from actionhub.video.decode import read_video
from actionhub.video.extract import extract_features, list_videos


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--videos", type=int, default=24)
    ap.add_argument("--frames", type=int, default=96, help="frames per clip")
    ap.add_argument("--size", default="320x240", help="clip size WxH")
    ap.add_argument("--sampling", nargs="+", default=["segments:8", "segments:1", "clip:16x4"])
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    a = ap.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    w, h = (int(v) for v in a.size.lower().split("x"))
    device_name = torch.cuda.get_device_name(0) if a.device.startswith("cuda") else platform.processor() or "cpu"
    print(f"{SYNTHETIC_CLIP_NOTE}: {a.videos} clips x {a.frames} frames, {w}x{h}, mpeg4")
    print(f"machine: {platform.platform()}, {os.cpu_count()} CPUs, torch threads {torch.get_num_threads()}, "
          f"device {a.device} ({device_name})")

    with tempfile.TemporaryDirectory() as td:
        root = Path(td) / "clips"
        t0 = time.perf_counter()
        for i in range(a.videos):
            write_clip(root / f"clip{i:04d}.mp4", a.frames, w, h)
        print(f"wrote the clips in {time.perf_counter() - t0:.1f}s")
        t0 = time.perf_counter()
        get_backbone("efficientnet-lite0", a.device)  # load once, outside the timings
        print(f"loaded efficientnet-lite0 in {time.perf_counter() - t0:.2f}s")

        paths = [e.path for e in list_videos(root)]
        for sampling in a.sampling:
            t0 = time.perf_counter()
            n = sum(read_video(p, sampling, short_side=224).frames.shape[0] for p in paths)
            dec = time.perf_counter() - t0
            out = Path(td) / f"feats-{sampling.replace(':', '_')}"
            res = extract_features(root, out, sampling=sampling, device=a.device, batch_size=a.batch_size,
                                   progress=False)
            assert res.extracted == a.videos and res.failed == 0
            print(f"{sampling:<12} decode only: {a.videos / dec:7.1f} videos/s ({a.videos * a.frames / dec:8.0f} "
                  f"decoded frames/s, {n / dec:7.0f} sampled frames/s) | extract: {res.videos_per_second:6.2f} "
                  f"videos/s, {res.frames_per_second:7.1f} frames/s [SYNTHETIC clips]")


if __name__ == "__main__":
    main()
