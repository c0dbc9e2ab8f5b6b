"""Validation classes carved from the seen classes, for protocols that have none (UCF101, HMDB51,
the cross-dataset protocols, users' benchmarks without ``val``), as in Xian et al.'s "good, bad
and ugly" protocol: the model trains on the other seen classes, the epoch (and in a sweep the
hyper-parameters) is chosen on the carved ones, and with ``refit`` it is retrained on all seen
classes for the chosen number of steps before the test. The unseen classes are never touched.
Deterministic per split (``numpy.random.default_rng(split)``), whatever the training seed.

Docs: docs/training.md#validation-classes-for-every-protocol
"""
from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from actionhub.engine.inputs import RunInputs
from actionhub.models.registry import get_method
from actionhub.utils.errors import UserError

__all__ = ["num_val_classes", "carve_classes", "needs_validation", "carve_inputs", "train_with_validation"]

log = logging.getLogger(__name__)


class ValidationSplitError(UserError):
    """--val-classes does not fit the split."""


def num_val_classes(spec: float, num_seen: int) -> int:
    """``spec`` (``--val-classes``: a count >= 1 or a fraction in (0, 1); 0: none) as a number of
    the ``num_seen`` seen classes; a fraction rounds to the nearest count, at least 1."""
    if spec <= 0:
        return 0
    n = int(spec) if spec >= 1 else max(1, int(round(spec * num_seen)))
    if n >= num_seen:
        raise ValidationSplitError(f"--val-classes {spec:g} leaves no seen class to train on ({num_seen} seen "
                                   "classes); pass a smaller count or fraction, or 0 for no validation classes")
    return n


def carve_classes(seen: Sequence[str], n: int, split: int,
                  eligible: Sequence[str] | None = None) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """``(train classes, val classes)``: the first ``n`` of ``seen`` in the order of a
    ``default_rng(split)`` permutation of the name-sorted list, skipping classes not in
    ``eligible`` (default: all; the classes with training videos); both keep the order of ``seen``."""
    order = sorted(seen)
    perm = np.random.default_rng(int(split)).permutation(len(order))
    ok = set(order if eligible is None else eligible)
    val = set([order[i] for i in perm if order[i] in ok][:n])
    return tuple(c for c in seen if c not in val), tuple(c for c in seen if c in val)


def needs_validation(cfg: Any, inp: RunInputs) -> bool:
    """Whether the run should carve validation classes: the protocol has none, ``val_classes`` is
    not 0, and ``inp`` is not already a carved or refit input."""
    return (not len(inp.val) and cfg.optim.val_classes > 0 and "validation" not in inp.data_info)


def carve_inputs(inp: RunInputs, spec: float) -> RunInputs:
    """``inp`` with validation classes carved from its seen classes (see the module docstring):
    their training videos become the val set, the epoch is selected on them, and held-out GZSL
    videos of them are dropped (they are no longer seen classes)."""
    # Only classes with training videos can validate; with full coverage this is every seen class.
    covered = set(np.unique(inp.train.labels.astype(str)).tolist())
    eligible = [c for c in inp.seen if c in covered]
    n = num_val_classes(spec, len(eligible))
    seen, val = carve_classes(inp.seen, n, inp.split, eligible)
    train, val_set = inp.train.subset(seen), inp.train.subset(val)
    if len(train) == 0 or len(val_set) == 0:
        raise ValidationSplitError(f"the carved validation classes of split {inp.split} leave no training or no "
                                   "validation videos; pass --val-classes 0 to train on all seen classes")
    info = {"source": "carved from the seen classes", "num_classes": n, "spec": spec,
            "rule": "numpy.random.default_rng(split).permutation over the name-sorted seen classes",
            "seed": int(inp.split), "classes": list(val)}
    return replace(inp, seen=seen, val=val, train=train, val_set=val_set, select_epoch_on_val=True,
                   seen_test=inp.seen_test.subset(seen) if inp.seen_test is not None else None,
                   data_info={**inp.data_info, "validation": info})


def train_with_validation(cfg: Any, inp: RunInputs, out_dir: str | Path, train_fn: Callable[..., dict[str, Any]],
                          **kw: Any) -> dict[str, Any]:
    """Carve, train and select; with ``cfg.optim.refit`` the selection run goes to
    ``out_dir/select`` and ``out_dir`` holds the refit on all seen classes for the selected number
    of steps (its run.json says so under ``"validation"``). ``train_fn`` is
    :func:`actionhub.engine.trainer.train_run`; ``kw`` its keyword arguments."""
    carved = carve_inputs(inp, cfg.optim.val_classes)
    if not cfg.optim.refit:
        return train_fn(cfg, carved, out_dir, **kw)
    out = Path(out_dir)
    callbacks = kw.pop("callbacks", ())   # they watch the run the command ends with: the refit
    sel = train_fn(cfg, carved, out / "select", **kw)
    if sel.get("status") != "finished":
        return sel
    info = {**carved.data_info["validation"], "select_run": str(out / "select"),
            "selected_epoch": sel.get("selected_epoch"),
            "val_top1": sel.get("metrics", {}).get("val", {}).get("top1")}
    plan = get_method(cfg.method).model_class.refit(sel)
    info.update(plan.info)
    refit_cfg = replace(cfg, optim=replace(cfg.optim, **plan.optim)) if plan.optim else cfg
    if plan.method_params:
        kw["method_params"] = {**(kw.get("method_params") or {}), **plan.method_params}
    info["refit"] = "retrained on all seen classes with the settings chosen on the carved validation classes"
    full = replace(inp, data_info={**inp.data_info, "validation": info})
    rec = train_fn(refit_cfg, full, out, callbacks=callbacks, **kw)
    if rec.get("status") == "finished":
        log.info("refit %s: %s steps chosen on %d carved validation classes", out, info.get("refit_steps"),
                 info["num_classes"])
    return rec


def describe(info: dict[str, Any] | None) -> str | None:
    """How the run chose its epoch, for run.json's ``protocol.epoch_selection``."""
    if not info:
        return None
    if "refit" in info:
        what = (f"{info['refit_steps']} steps" if "refit_steps" in info
                else f"{info['refit_epochs']} graph epochs" if "refit_epochs" in info else "hyper-parameters")
        return f"refit on all seen classes ({what} chosen on {info['num_classes']} carved val classes)"
    return f"val ({info['num_classes']} val classes carved from the seen classes)"
