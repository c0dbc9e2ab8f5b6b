"""Typed run configuration with the paper's defaults (Sec. 5.2).

Every field can be overridden from the CLI (``actionhub train --help``) and the
whole dataclass is saved with every run (``config.json`` in the run directory).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

CLASS_TEXT_CHOICES = ("ad", "vc", "ad+vc")
# Training methods (`actionhub train --method`); actionhub.models.registry holds their implementations
# and checks it implements exactly these. Kept here so the CLI can list them without torch.
METHOD_CHOICES = ("coco", "er-vse", "devise", "ale", "sje", "dem", "eszsl")


@dataclass
class ModelConfig:
    """CoCo model hyper-parameters (paper Sec. 4, 5.2)."""

    dim: int = 512            # d: joint embedding dimension
    tau: float = 0.1          # temperature of every softmax (Eq. 3, 7, 11-13)
    alpha: float = 0.5        # AD/VC fusion ratio (Eq. 10, 17)
    gamma: float = 0.1        # weight of L_cycle (Eq. 15)
    k: int = 100              # top-k video descriptions averaged per class (Eq. 6)
    class_text: str = "ad+vc"  # which class text to align with: ad | vc | ad+vc (Table 4)
    cim: bool = True          # Cross-action Invariance Mining (L_cycle) on/off (Fig. 10)

    def validate(self) -> None:
        if self.class_text not in CLASS_TEXT_CHOICES:
            raise ValueError(f"class_text must be one of {CLASS_TEXT_CHOICES}, got {self.class_text!r}")
        if not 0.0 <= self.alpha <= 1.0:
            raise ValueError(f"alpha must lie in [0, 1], got {self.alpha}")
        if self.tau <= 0:
            raise ValueError(f"tau must be positive, got {self.tau}")
        if self.k < 1:
            raise ValueError(f"k must be >= 1, got {self.k}")
        if self.dim < 1:
            raise ValueError(f"dim must be >= 1, got {self.dim}")

    def fusion_alpha(self) -> float:
        """The effective alpha: class_text 'ad' means alpha=1, 'vc' means alpha=0."""
        return {"ad": 1.0, "vc": 0.0}.get(self.class_text, self.alpha)


@dataclass
class OptimConfig:
    """Optimiser and schedule (paper Sec. 5.2: Adam, lr 1e-3, wd 1e-4, batch 512, warm-up + cosine)."""

    lr: float = 1e-3
    weight_decay: float = 1e-4
    batch_size: int = 512
    epochs: int = 10
    warmup_epochs: float = 1.0
    seed: int = 0

    def validate(self) -> None:
        if self.lr <= 0 or self.batch_size < 1 or self.epochs < 1 or self.warmup_epochs < 0:
            raise ValueError(f"invalid optimiser settings: {self}")


@dataclass
class TrainConfig:
    """Everything a training run needs besides data paths."""

    model: ModelConfig = field(default_factory=ModelConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    method: str = "coco"
    device: str = "cpu"

    def validate(self) -> None:
        self.model.validate()
        self.optim.validate()

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "TrainConfig":
        return cls(
            model=ModelConfig(**d.get("model", {})),
            optim=OptimConfig(**d.get("optim", {})),
            method=d.get("method", "coco"),
            device=d.get("device", "cpu"),
        )
