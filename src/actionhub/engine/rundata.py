"""A run's inputs as the methods and the step loop use them (:class:`RunData`, the engine's
:class:`actionhub.models.fitting.FitData`): training features and labels, class text tensors, the
val set evaluated cheaply (read and moved to the device once per run), and progress bars."""
from __future__ import annotations

import logging
from typing import Any, Sequence

import numpy as np
import torch

from actionhub.engine.evaluate import EVAL_BATCH, label_indices, select_text, text_tensors
from actionhub.engine.inputs import RunInputs
from actionhub.engine.validation_split import describe
from actionhub.evaluation.metrics import topk_accuracy
from actionhub.utils.progress import progress_bar

__all__ = ["RunData"]

log = logging.getLogger(__name__)


class RunData:
    """``inp`` with the run's ``k`` (top-k descriptions) and ``device``; ``progress``: bars on or off."""

    def __init__(self, inp: RunInputs, k: int, device: str, progress: bool = True):
        self.inp, self.k, self.device, self.progress = inp, k, device, progress
        self.seen, self.val, self.unseen = inp.seen, inp.val, inp.unseen
        self.train_x = inp.train.features
        self.train_y = label_indices(inp.train, inp.seen)
        self.select_on_val = bool(inp.select_epoch_on_val and inp.val_set is not None and len(inp.val))
        self.validation_note = describe(inp.data_info.get("validation"))
        self.text_meta = inp.text.meta
        self._val: tuple[torch.Tensor, ...] | None = None

    def text(self, classes: Sequence[str]) -> tuple[torch.Tensor, torch.Tensor]:
        ad, vc, _ = text_tensors(self.inp.text, classes, self.k, self.device)
        return ad, vc

    def pool_text(self, cim: bool) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        """(AD, VC) of the CIM cycle pool (the unseen classes, or ``--cim-pool``'s); None without CIM."""
        classes = list(self.inp.pool_classes if self.inp.pool_classes is not None else self.inp.unseen)
        if not (cim and classes):
            return None, None
        ad, vc, _ = text_tensors(self.inp.pool_text or self.inp.text, classes, self.k, self.device)
        return ad, vc

    def ad_only_classes(self, class_text: str) -> list[str]:
        """Classes without description features, which use their definition alone (warned once)."""
        if class_text == "ad":
            return []
        classes = list(dict.fromkeys([*self.seen, *self.unseen, *self.val]))
        fallback = sorted(select_text(self.inp.text, classes, self.k)[2])
        if fallback:
            log.warning("%d class(es) have no description features and use their definition only: %s",
                        len(fallback), ", ".join(fallback[:20]) + (" ..." if len(fallback) > 20 else ""))
        return fallback

    def val_set(self) -> tuple[np.ndarray, np.ndarray]:
        return np.asarray(self.inp.val_set.features), label_indices(self.inp.val_set, self.val)

    @torch.no_grad()
    def evaluate_val(self, model: Any) -> dict[str, float]:
        """Val-class accuracy of ``model`` as :func:`actionhub.engine.evaluate.evaluate` gives it, at
        the cost of one projection of the val classes' text and one pass over their videos: the
        features, labels and class text are gathered once per run."""
        if self._val is None:
            x, y = self.val_set()
            self._val = (torch.as_tensor(x, dtype=torch.float32, device=self.device), torch.from_numpy(y),
                         *self.text(self.val))
        x, y, ad, vc = self._val
        model.eval()
        emb = model.class_embeddings(ad, vc)
        scores = torch.cat([model.scores(x[i : i + EVAL_BATCH], emb).cpu() for i in range(0, len(x), EVAL_BATCH)])
        return topk_accuracy(scores, y, (1, 5))

    def val_top1(self, model: Any) -> float:
        return self.evaluate_val(model)["top1"]

    def bar(self, total: int, desc: str, unit: str) -> Any:
        return progress_bar(total=total, enabled=self.progress, transient=True, desc=desc, unit=unit)
