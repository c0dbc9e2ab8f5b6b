"""Training and evaluation of CoCo and the baselines on pre-extracted features (paper Sec. 4-5).

:func:`train_run` is the whole life of one run folder (:class:`~actionhub.utils.rundir.RunDir`), in named steps:

1. :func:`prepare` -- the method, its model (seeded per split), the run's data and first record;
2. :func:`loop` -- the step loop (:func:`train_epoch`, :func:`evaluate_and_select`, :func:`checkpoint`, early
   stopping), or :func:`fit_once` for a one-shot method (:mod:`actionhub.models.fitting`);
3. :func:`finish` -- the selected model's metrics, model.pt and the finished run.json.

Docs: docs/training.md#resuming-a-killed-run (and the schedule, threads, run folder around it)
"""
from __future__ import annotations

import dataclasses
import logging
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import torch
from torch import nn

from actionhub.config import TrainConfig
from actionhub.engine.checkpoint import save_model
from actionhub.engine.evaluate import evaluate, evaluate_gzsl
from actionhub.engine.inputs import RunInputs
from actionhub.engine.record import new_record, run_fingerprint
from actionhub.engine.rundata import RunData
from actionhub.engine.schedule import Schedule, epoch_batches, lr_factor, plan_schedule, stop_early, watched_loss
from actionhub.engine.tensorboard import TensorBoardLog, check_loggers
from actionhub.engine.validate import check_device, guard_run_dir
from actionhub.engine.validation_split import needs_validation, train_with_validation
from actionhub.evaluation.metrics import round_metrics
from actionhub.models.registry import get_method
from actionhub.utils.io import atomic_path
from actionhub.utils.progress import progress_bar
from actionhub.utils.rundir import RunDir
from actionhub.utils.runinfo import now
from actionhub.utils.threads import AUTO, torch_threads

__all__ = ["train_run", "EpochCallback"]

log = logging.getLogger(__name__)

#: called with every epoch's history entry (losses, lr, steps, and "val" where evaluated); a true
#: result ends the run there, checkpointed and resumable, as if the process had been killed
EpochCallback = Callable[[dict], Any]


@dataclass
class Run:
    """What the steps of one run share."""

    cfg: TrainConfig
    data: RunData
    dir: RunDir
    model: nn.Module
    record: dict[str, Any]
    fingerprint: str
    t0: float = 0.0
    seconds: dict[str, float] = field(default_factory=lambda: {"steps": 0.0, "evaluation": 0.0, "checkpoints": 0.0})


class Diverged(Exception):
    """The training loss stopped being a finite number."""


@guard_run_dir("out_dir")
def train_run(
    cfg: TrainConfig,
    inp: RunInputs,
    out_dir: str | Path,
    *,
    progress: bool = True,
    callbacks: Sequence[EpochCallback] = (),
    loggers: Sequence[str] = (),
    threads: int | str = AUTO,
    method_params: dict[str, Any] | None = None,
    calibration: float = 0.0,
    recipe: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Train ``cfg.method`` on ``inp``, select on the val classes, evaluate, and write ``out_dir``;
    returns the run record (also ``out_dir/run.json``; status ``finished``, or ``diverged``).

    ``callbacks``: :data:`EpochCallback` s; ``loggers``: ``("tensorboard",)`` writes the curves to
    ``out_dir/tb``; ``threads``: ``N`` or ``"auto"`` (:mod:`actionhub.utils.threads`);
    ``method_params``: the method's hyper-parameters (``--method-param``); with ``inp.seen_test``
    the run is also evaluated in the GZSL setting at calibrated-stacking ``calibration``;
    ``recipe``: the recipe the run came from, recorded (not part of the fingerprint)."""
    cfg.validate()
    check_device(cfg.device)
    check_loggers(loggers)
    if needs_validation(cfg, inp):
        return train_with_validation(cfg, inp, out_dir, train_run, progress=progress, callbacks=callbacks,
                                     loggers=loggers, threads=threads, method_params=method_params,
                                     calibration=calibration, recipe=recipe)
    run = prepare(cfg, inp, RunDir(out_dir), method_params, recipe, progress)
    done = run.dir.done(run.record, run.fingerprint)   # this run, done: returned; another run: refused
    if done is not None:
        log.info("%s is already %s", out_dir, done["status"])
        return done
    run.dir.write_config(run.record["config"])
    callbacks = [*callbacks, *([TensorBoardLog(run.dir.tb)] if "tensorboard" in loggers else [])]
    with torch_threads(threads, work=step_work(run)) as used:
        run.record["threads"] = used
        run.model.prepare(run.data)
        try:
            ended = fit_once(run) if run.model.one_shot else loop(run, callbacks)
        finally:
            for cb in callbacks:
                getattr(cb, "close", lambda: None)()
        return finish(run, calibration) if ended else run.record


def prepare(cfg: TrainConfig, inp: RunInputs, rundir: RunDir, method_params: dict[str, Any] | None,
            recipe: dict[str, Any] | None, progress: bool) -> Run:
    """The method (its forced settings applied), the run's data, its first record and fingerprint,
    and a fresh model seeded by ``seed + split``."""
    method = get_method(cfg.method)
    cfg = method.resolve_config(cfg)
    params = method.make_params(method_params)
    data = RunData(inp, cfg.model.k, cfg.device, progress)
    fp = run_fingerprint(cfg, inp, dataclasses.asdict(params))
    record = new_record(cfg, inp, method, method.config_record(cfg, method_params), fp,
                        data.ad_only_classes(cfg.model.class_text), recipe)
    torch.manual_seed(record["seed"])
    model = method.build(inp.train.dim, inp.text.dim, cfg.model, params).to(cfg.device)
    return Run(cfg, data, rundir, model, record, fp)


def step_work(run: Run) -> float | None:
    """Multiply-adds of one training step, roughly (videos of a batch x parameters), for the thread
    policy; None for one-shot methods."""
    if run.model.one_shot:
        return None
    batch = min(run.cfg.optim.batch_size, len(run.data.train_y))
    return float(batch * sum(p.numel() for p in run.model.parameters()))


def fit_once(run: Run) -> bool:
    """A one-shot method fits itself; run.json records what it did and how it chose."""
    run.t0 = time.perf_counter()
    result = run.model.fit_once(run.data)
    run.seconds = {"fit": time.perf_counter() - run.t0}
    run.record["fit"] = result["fit"]
    run.record["protocol"]["epoch_selection"] = result["epoch_selection"]
    run.record["selected_epoch"] = result["selected_epoch"]
    if "stop_reason" in result:
        run.record["stop_reason"] = result["stop_reason"]
    return True


def loop(run: Run, callbacks: Sequence[EpochCallback]) -> bool:
    """Train epoch after epoch from the last checkpoint until the schedule ends or the run stops
    early; evaluate on the val classes and checkpoint every ``eval_every`` epochs. Returns False
    when a callback ended the run, or its loss diverged, before it was done."""
    cfg, data, rec = run.cfg, run.data, run.record
    sched = plan_schedule(len(data.train_y), cfg.optim)
    rec["schedule"] = {**sched.to_json(), "patience": cfg.optim.patience if data.select_on_val else None}
    watch = watched_loss(cfg.model.cim)
    opt = torch.optim.Adam(run.model.parameters(), lr=cfg.optim.lr, weight_decay=cfg.optim.weight_decay)
    start, best, stopped = resume(run, opt)
    run.dir.write(rec)   # "running" from the first step: an error is recorded
    tensors = (*data.text(data.seen), *data.pool_text(cfg.model.cim))
    bar = progress_bar(total=sched.total_steps, initial=min(start * sched.steps_per_epoch, sched.total_steps),
                       enabled=data.progress and stopped is None, leave=False, desc="train", unit="step")
    run.t0 = time.perf_counter()
    try:
        for epoch in range(start, sched.epochs if stopped is None else start):
            entry = train_epoch(run, opt, sched, epoch, tensors, bar)
            evaluates = sched.evaluates_after(epoch)
            if evaluates and data.select_on_val:
                best = evaluate_and_select(run, entry, best)
                bar.set_postfix(loss=f"{entry['loss']:.3f}", best_val=f"{best['val_top1']:.1f}", refresh=False)
                if epoch < sched.epochs - 1:
                    stopped = stop_early([*rec["history"], entry], best["evals_since"], cfg.optim.patience, watch)
            rec["history"].append(entry)
            halt = any([bool(cb(entry)) for cb in callbacks])   # every callback sees every entry
            if evaluates or stopped or halt:
                checkpoint(run, opt, epoch, best, stopped)
            if halt:
                return False
            if stopped:
                break
    except Diverged as e:
        return diverge(run, str(e))
    finally:
        bar.close()
    conclude(run, sched, best, stopped)
    return True


def resume(run: Run, opt: torch.optim.Optimizer) -> tuple[int, dict[str, Any], str | None]:
    """``(first epoch to train, best so far, why it stopped)`` from checkpoint.pt, the model and
    optimiser restored; a fresh start without one. A checkpoint of another run is refused."""
    ckpt = run.dir.load_checkpoint(run.cfg.device)
    if ckpt is None:
        return 0, {"epoch": -1, "val_top1": -1.0, "state": None, "evals_since": 0}, None
    if ckpt.get("fingerprint") != run.fingerprint:
        raise run.dir.other_run(run.record)
    run.model.load_state_dict(ckpt["model"])
    opt.load_state_dict(ckpt["optim"])
    run.record["history"] = ckpt["history"]
    run.record["started_at"] = ckpt.get("started_at", run.record["started_at"])
    log.info("resuming %s from epoch %d", run.dir.path, ckpt["epoch"] + 1)
    return ckpt["epoch"] + 1, ckpt["best"], ckpt.get("stopped")


def train_epoch(run: Run, opt: torch.optim.Optimizer, sched: Schedule, epoch: int, tensors: tuple, bar: Any
                ) -> dict[str, Any]:
    """One pass over the training videos in the epoch's seeded order: per batch, set the learning
    rate, compute the method's losses, step. Returns the epoch's history entry (mean losses, lr,
    steps so far). A loss that is not a finite number raises :class:`Diverged` before any step."""
    oc, data, model = run.cfg.optim, run.data, run.model
    t0 = time.perf_counter()
    model.train()
    sums: dict[str, float] = {}
    batches = epoch_batches(len(data.train_y), oc.batch_size, run.record["seed"] + epoch)[: sched.epoch_steps(epoch)]
    for b, idx in enumerate(batches):
        step = epoch * sched.steps_per_epoch + b
        for grp in opt.param_groups:
            grp["lr"] = oc.lr * lr_factor(step, sched.total_steps, sched.warmup_steps)
        x = torch.as_tensor(np.asarray(data.train_x[idx]), dtype=torch.float32, device=data.device)
        y = torch.from_numpy(data.train_y[idx]).to(data.device)
        seen_ad, seen_vc, pool_ad, pool_vc = tensors
        _, losses = model(x, seen_ad, seen_vc, y, pool_ad, pool_vc)
        values = {k: v.item() for k, v in losses.items()}
        if not math.isfinite(values["loss"]):
            raise Diverged(diverged_message(run, step + 1, values))
        opt.zero_grad(set_to_none=True)
        losses["loss"].backward()
        opt.step()
        for k, v in values.items():
            sums[k] = sums.get(k, 0.0) + v * len(idx)
        bar.update(1)
    seen = int(sum(len(i) for i in batches))
    run.seconds["steps"] += time.perf_counter() - t0
    return {"epoch": epoch, "steps": min(sched.total_steps, (epoch + 1) * sched.steps_per_epoch),
            "lr": opt.param_groups[0]["lr"], **{k: v / seen for k, v in sums.items()}}


def evaluate_and_select(run: Run, entry: dict[str, Any], best: dict[str, Any]) -> dict[str, Any]:
    """Evaluate the val classes into ``entry["val"]``; the best so far (its weights kept) after it."""
    t0 = time.perf_counter()
    val = run.data.evaluate_val(run.model)
    best = {**best, "evals_since": best.get("evals_since", 0) + 1}
    if val["top1"] > best["val_top1"]:   # selected on the exact value, written rounded
        best = {"epoch": entry["epoch"], "val_top1": val["top1"], "evals_since": 0,
                "state": {k: v.detach().clone() for k, v in run.model.state_dict().items()}}
    entry["val"] = round_metrics(val)
    run.seconds["evaluation"] += time.perf_counter() - t0
    return best


def checkpoint(run: Run, opt: torch.optim.Optimizer, epoch: int, best: dict[str, Any], stopped: str | None) -> None:
    """checkpoint.pt (everything a resumed run needs) and run.json, both atomically."""
    t0 = time.perf_counter()
    run.dir.save_checkpoint({"fingerprint": run.fingerprint, "epoch": epoch, "model": run.model.state_dict(),
                             "optim": opt.state_dict(), "best": best, "history": run.record["history"],
                             "started_at": run.record["started_at"], "stopped": stopped})
    run.dir.write(run.record)
    run.seconds["checkpoints"] += time.perf_counter() - t0


def conclude(run: Run, sched: Schedule, best: dict[str, Any], stopped: str | None) -> None:
    """Why and where the loop ended; the selected weights (best on val, else the last) loaded."""
    rec, history = run.record, run.record["history"]
    last = history[-1]["epoch"] if history else sched.epochs - 1
    rec["stop_reason"] = stopped or f"finished the schedule: {sched.total_steps} steps ({sched.rule})"
    rec["steps_done"] = history[-1]["steps"] if history else 0
    rec["epochs_done"] = last + 1
    if run.data.select_on_val and best["state"] is not None:
        run.model.load_state_dict(best["state"])
        rec["selected_epoch"] = best["epoch"]
    else:
        rec["selected_epoch"] = last
    rec["selected_step"] = min(sched.total_steps, (rec["selected_epoch"] + 1) * sched.steps_per_epoch)


def diverged_message(run: Run, step: int, losses: dict[str, float]) -> str:
    """One line: where the loss diverged and the setting most likely to blame."""
    bad = ", ".join(f"{k}={v}" for k, v in losses.items() if not math.isfinite(v))
    lr = run.cfg.optim.lr
    return (f"the training loss diverged at step {step} ({bad}): the learning rate --lr {lr:g} is likely too high "
            f"for these features; train again with e.g. --lr {lr / 10:g} into a new --out directory")


def diverge(run: Run, message: str) -> bool:
    """Record a diverged run: status ``diverged``, the reason, no metrics. Returns False (not done)."""
    log.info("%s: %s", run.dir.path, message)
    run.record.update(status="diverged", error=message, stopped_at=now())
    run.dir.write(run.record)
    return False


def finish(run: Run, calibration: float) -> dict[str, Any]:
    """Evaluate the selected model (ZSL on the unseen classes, val, GZSL), save model.pt and the
    finished run.json."""
    inp, rec, model = run.data.inp, run.record, run.model
    k, device = run.cfg.model.k, run.cfg.device
    metrics: dict[str, Any] = {"test": evaluate(model, inp.test, inp.unseen, inp.text, k, device)}
    if inp.val_set is not None and len(inp.val):
        metrics["val"] = evaluate(model, inp.val_set, inp.val, inp.text, k, device)
    if inp.seen_test is not None and len(inp.seen_test):
        metrics["gzsl"], margins = evaluate_gzsl(model, inp.seen_test, inp.test, inp.seen, inp.unseen, inp.text,
                                                 k, calibration, device)
        with atomic_path(run.dir.gzsl) as tmp, open(tmp, "wb") as f:
            np.savez(f, **margins, classes=np.asarray(list(inp.seen) + list(inp.unseen), dtype=str),
                     num_seen_classes=np.asarray(len(inp.seen)))
    rec["metrics"] = round_metrics(metrics)
    rec["train_seconds"] = round(time.perf_counter() - run.t0, 3)
    rec["seconds"] = {k_: round(v, 3) for k_, v in run.seconds.items()}
    rec["finished_at"] = now()
    rec["status"] = "finished"
    save_model(run.dir.model, model, visual_dim=inp.train.dim, text_dim=inp.text.dim,
               model_config=rec["config"]["model"], method=run.cfg.method,
               method_params=rec["config"].get("method_params", {}), benchmark=inp.benchmark, split=inp.split)
    run.dir.write(rec)
    return rec
