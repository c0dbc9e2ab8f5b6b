"""A model's own image preprocessing, in torch (no torchvision, no PIL): resize, crop or pad,
scale, normalise -- for a batch of video frames at once.

:class:`ImageTransform` holds the settings; :func:`from_open_clip` reads an OpenCLIP preprocess
config (resize modes ``shortest``, ``longest``, ``squash`` as open_clip's inference transform) and
:func:`from_hf_processor` a Hugging Face ``preprocessor_config.json`` (``CLIPImageProcessor`` /
``VideoMAEImageProcessor`` rules). Resizing is ``interpolate(..., antialias=True)``, clamped to
[0, 1] and rounded to 8-bit levels as a PIL image would be, so results differ from the reference
pipelines by interpolation round-off only (a few 1/255 steps at edges).
Docs: docs/video.md#visual-backbones
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Mapping, Sequence

import numpy as np
import torch
import torch.nn.functional as F

__all__ = ["ImageTransform", "from_open_clip", "from_hf_processor", "OPENAI_CLIP_MEAN", "OPENAI_CLIP_STD"]

OPENAI_CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
OPENAI_CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
RESIZE_MODES = ("shortest", "longest", "squash")
INTERPOLATIONS = ("bilinear", "bicubic", "nearest")
# PIL resampling codes (Hugging Face processors store these): NEAREST, LANCZOS, BILINEAR, BICUBIC, BOX, HAMMING
_PIL_RESAMPLE = {0: "nearest", 1: "bicubic", 2: "bilinear", 3: "bicubic", 4: "bilinear", 5: "bilinear"}


@dataclass(frozen=True)
class ImageTransform:
    """Inference preprocessing of one model: uint8 frames -> normalised float tensors.

    size: output ``(height, width)``.
    resize_mode: ``shortest`` | ``longest`` | ``squash`` (module docstring).
    resize: the size the resize targets when it differs from the crop (``shortest``: the shorter
        side, e.g. 256 before a 224 crop); None: ``size``.
    interpolation: ``bilinear`` | ``bicubic`` | ``nearest``.
    crop: centre-crop (and pad, with ``fill_color``) to ``size`` after the resize.
    fill_color: 0-255 grey level of padding.
    mean, std: per-channel normalisation of [0, 1] values.
    """

    size: tuple[int, int] = (224, 224)
    resize_mode: str = "shortest"
    resize: tuple[int, int] | None = None
    interpolation: str = "bicubic"
    crop: bool = True
    fill_color: int = 0
    mean: tuple[float, float, float] = OPENAI_CLIP_MEAN
    std: tuple[float, float, float] = OPENAI_CLIP_STD
    source: str = ""

    def __post_init__(self) -> None:
        if self.resize_mode not in RESIZE_MODES:
            raise ValueError(f"resize_mode must be one of {RESIZE_MODES}, got {self.resize_mode!r}")
        if self.interpolation not in INTERPOLATIONS:
            raise ValueError(f"interpolation must be one of {INTERPOLATIONS}, got {self.interpolation!r}")

    @property
    def short_side(self) -> int:
        """Decoding hint: frames may be downscaled to this shorter side before the transform."""
        return int(max(self.resize or self.size))

    def resized_shape(self, h: int, w: int) -> tuple[int, int]:
        """``(H', W')`` of an ``h x w`` frame after the resize step (before crop/pad)."""
        th, tw = self.resize or self.size
        if self.resize_mode == "squash":
            return int(th), int(tw)
        if self.resize_mode == "shortest" and th == tw:
            # the shorter side to the target, the longer one scaled and truncated (torchvision / HF rule)
            if h <= w:
                return int(th), int(th * w / h)
            return int(tw * h / w), int(tw)
        # keep-ratio resize: shortest (non-square target) uses the smaller ratio, longest the larger
        rh, rw = h / th, w / tw
        ratio = max(rh, rw) if self.resize_mode == "longest" else min(rh, rw)
        return max(1, round(h / ratio)), max(1, round(w / ratio))

    def __call__(self, frames: np.ndarray | torch.Tensor) -> torch.Tensor:
        """uint8 ``(T, H, W, 3)`` -> float32 ``(T, 3, size[0], size[1])``, normalised."""
        if isinstance(frames, np.ndarray):
            if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
                raise ValueError(f"frames must be uint8 (T, H, W, 3), got {frames.dtype} {frames.shape}")
            frames = torch.from_numpy(np.ascontiguousarray(frames))
        x = frames.permute(0, 3, 1, 2).float().div_(255.0)
        h, w = x.shape[-2:]
        nh, nw = self.resized_shape(int(h), int(w))
        if (nh, nw) != (h, w):
            if self.interpolation == "nearest":
                x = F.interpolate(x, size=(nh, nw), mode="nearest")
            else:
                x = F.interpolate(x, size=(nh, nw), mode=self.interpolation, align_corners=False, antialias=True)
                x = x.clamp_(0.0, 1.0).mul_(255.0).round_().div_(255.0)  # an 8-bit image, as PIL gives
        if self.crop:
            x = center_crop_or_pad(x, self.size, self.fill_color / 255.0)
        elif tuple(x.shape[-2:]) != tuple(self.size):
            raise ValueError(f"resize gave {tuple(x.shape[-2:])} but the model takes {self.size} and crop is off")
        m = torch.tensor(self.mean, dtype=x.dtype).view(1, 3, 1, 1)
        s = torch.tensor(self.std, dtype=x.dtype).view(1, 3, 1, 1)
        return (x - m) / s

    def meta(self) -> dict[str, Any]:
        """JSON-able settings (recorded in a feature store's meta.json)."""
        d = asdict(self)
        d["size"] = list(self.size)
        d["resize"] = list(self.resize) if self.resize else None
        d["mean"], d["std"] = list(self.mean), list(self.std)
        return d


def center_crop_or_pad(x: torch.Tensor, size: Sequence[int], fill: float = 0.0) -> torch.Tensor:
    """``(..., H, W)`` -> ``(..., size[0], size[1])``: pad (split evenly, the extra pixel after) where
    smaller, then crop the centre (offset ``round((H - h) / 2)``)."""
    ch, cw = int(size[0]), int(size[1])
    h, w = x.shape[-2:]
    if ch > h or cw > w:
        ph, pw = max(ch - h, 0), max(cw - w, 0)
        x = F.pad(x, (pw // 2, (pw + 1) // 2, ph // 2, (ph + 1) // 2), value=fill)
        h, w = x.shape[-2:]
    top, left = int(round((h - ch) / 2.0)), int(round((w - cw) / 2.0))
    return x[..., top:top + ch, left:left + cw]


def _pair(v: Any) -> tuple[int, int]:
    if isinstance(v, (int, float)):
        return int(v), int(v)
    v = list(v)
    if len(v) == 1:
        return int(v[0]), int(v[0])
    if len(v) != 2:
        raise ValueError(f"an image size is one or two numbers, got {v}")
    return int(v[0]), int(v[1])


def _triple(v: Any, default: Sequence[float]) -> tuple[float, float, float]:
    if v is None:
        v = default
    if isinstance(v, (int, float)):
        return (float(v),) * 3
    t = tuple(float(x) for x in v)
    if len(t) != 3:
        raise ValueError(f"mean/std need 3 channels, got {t}")
    return t  # type: ignore[return-value]


def from_open_clip(cfg: Mapping[str, Any], source: str = "open_clip") -> ImageTransform:
    """The inference transform of an OpenCLIP preprocess config (``PreprocessCfg`` fields).

    Missing fields take ``PreprocessCfg``'s defaults: size 224, OpenAI mean/std, ``bicubic``,
    ``shortest``, fill 0. ``interpolation: random`` (a training setting) is bicubic at inference,
    as in open_clip.
    """
    mode = str(cfg.get("mode") or "RGB")
    if mode != "RGB":
        raise ValueError(f"only RGB open_clip models are supported, this one takes {mode!r}")
    interp = str(cfg.get("interpolation") or "bicubic")
    interp = "bilinear" if interp == "bilinear" else "bicubic"
    resize_mode = str(cfg.get("resize_mode") or "shortest")
    if resize_mode not in RESIZE_MODES:
        raise ValueError(f"unknown open_clip resize_mode {resize_mode!r}; expected one of {RESIZE_MODES}")
    return ImageTransform(
        size=_pair(cfg.get("size") or 224), resize_mode=resize_mode, interpolation=interp,
        crop=resize_mode != "squash", fill_color=int(cfg.get("fill_color") or 0),
        mean=_triple(cfg.get("mean"), OPENAI_CLIP_MEAN), std=_triple(cfg.get("std"), OPENAI_CLIP_STD), source=source)


def _hf_size(size: Any) -> tuple[str, tuple[int, int]]:
    """A processor ``size`` as (mode, target): ``shortest`` with the shorter side, or ``squash`` to (h, w)."""
    if isinstance(size, (int, float)):
        return "shortest", (int(size), int(size))
    if isinstance(size, Mapping):
        if size.get("shortest_edge"):
            s = int(size["shortest_edge"])
            return "shortest", (s, s)
        if size.get("height") and size.get("width"):
            return "squash", (int(size["height"]), int(size["width"]))
    raise ValueError(f"unsupported image processor size {size!r} (expected shortest_edge or height/width)")


def from_hf_processor(cfg: Mapping[str, Any], source: str = "hf") -> ImageTransform:
    """The transform of a Hugging Face image processor config (``preprocessor_config.json``)."""
    mode, target = _hf_size(cfg.get("size", {"shortest_edge": 224}))
    do_crop = bool(cfg.get("do_center_crop", True))
    crop = _hf_crop(cfg.get("crop_size"), target) if do_crop else target
    if not cfg.get("do_resize", True):
        raise ValueError("image processors with do_resize=false are not supported (video frames vary in size)")
    if not do_crop and mode == "shortest":
        raise ValueError("an image processor that resizes the shortest edge without a centre crop gives frames of "
                         "varying size; this model's preprocessing is not supported")
    interp = _PIL_RESAMPLE.get(int(cfg.get("resample", 3)), "bicubic")
    mean = _triple(cfg.get("image_mean"), OPENAI_CLIP_MEAN) if cfg.get("do_normalize", True) else (0.0, 0.0, 0.0)
    std = _triple(cfg.get("image_std"), OPENAI_CLIP_STD) if cfg.get("do_normalize", True) else (1.0, 1.0, 1.0)
    scale = float(cfg.get("rescale_factor", 1 / 255))
    if not cfg.get("do_rescale", True) or abs(scale * 255.0 - 1.0) > 1e-6:
        raise ValueError("only image processors that rescale pixel values by 1/255 are supported")
    return ImageTransform(size=crop, resize_mode=mode, resize=target if target != crop else None,
                          interpolation=interp, crop=do_crop, mean=mean, std=std, source=source)


def _hf_crop(crop: Any, default: tuple[int, int]) -> tuple[int, int]:
    if crop is None:
        return default
    if isinstance(crop, (int, float)):
        return int(crop), int(crop)
    if isinstance(crop, Mapping) and crop.get("height") and crop.get("width"):
        return int(crop["height"]), int(crop["width"])
    raise ValueError(f"unsupported image processor crop_size {crop!r}")
