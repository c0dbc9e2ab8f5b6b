"""Training and evaluation of CoCo and the baselines on pre-extracted features (paper Sec. 4-5).

``train_run`` is the whole life of one run directory::

    RUN_DIR/config.json     the TrainConfig (also inside run.json)
    RUN_DIR/run.json        config, protocol (exact class lists), data, versions,
                            per-epoch history, selected epoch, metrics (floats
                            rounded to 4 decimals: :func:`round_metrics`)
    RUN_DIR/checkpoint.pt   resumable training state, rewritten atomically at each evaluation
    RUN_DIR/model.pt        the selected weights, for evaluation and prediction
    RUN_DIR/gzsl.npz        with a GZSL hold-out: per-video margins to re-evaluate any calibration

A killed run resumes from its last checkpoint when the same command is run again,
and the resumed run is identical to an uninterrupted one (the shuffle of epoch e is
seeded by ``seed + split + e``). How many steps a run takes, when it evaluates and when it
stops early: :mod:`actionhub.engine.schedule`; run.json records ``schedule``, ``steps_done``,
``epochs_done``, ``selected_step`` and ``stop_reason``. Protocols without validation classes
get some carved from the seen classes (:mod:`actionhub.engine.validation_split`).

``cfg.method`` picks the method (:mod:`actionhub.models.registry`): the CoCo family and the
iterative baselines share the epoch loop (and its resume); closed-form baselines (ESZSL)
are solved once. All write the same run directory and run.json.
"""
from __future__ import annotations

import dataclasses
import json
import logging
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
from torch import nn

from actionhub.config import TrainConfig
from actionhub.engine.checkpoint import load_checkpoint, save_model
from actionhub.engine.evaluate import evaluate, evaluate_gzsl, label_indices, select_text, text_tensors
from actionhub.engine.inputs import RunInputs
from actionhub.engine.schedule import epoch_batches, lr_factor, plan_schedule
from actionhub.engine.validate import check_device, different_run_error, guard_run_dir
from actionhub.evaluation.metrics import round_metrics
from actionhub.models.registry import get_method
from actionhub.utils.io import atomic_path, atomic_write_json
from actionhub.utils.progress import progress_bar
from actionhub.utils.runinfo import RUN_FORMAT, fingerprint, now, package_versions

__all__ = ["train_run"]

log = logging.getLogger(__name__)


def _config_fingerprint(cfg: TrainConfig, inp: RunInputs, method_params: dict[str, Any] | None = None) -> str:
    obj: dict[str, Any] = {
        "config": cfg.to_dict(),
        "benchmark": inp.benchmark,
        "split": inp.split,
        "seen": list(inp.seen),
        "unseen": list(inp.unseen),
        "n_train": len(inp.train),
        "data": {k: v for k, v in inp.data_info.items() if k in ("features", "eval_features", "text_features", "cim_pool")},
    }
    # Only present when used, so CoCo runs keep the fingerprints they always had.
    if method_params:
        obj["method_params"] = method_params
    if inp.seen_test is not None:
        obj["gzsl_holdout"] = {k: v for k, v in inp.data_info.get("gzsl_holdout", {}).items() if k != "rule"}
    return fingerprint(obj)


@guard_run_dir("out_dir")
def train_run(
    cfg: TrainConfig,
    inp: RunInputs,
    out_dir: str | Path,
    *,
    progress: bool = True,
    stop_after_epoch: int | None = None,
    on_epoch: Callable[[dict], None] | None = None,
    method_params: dict[str, Any] | None = None,
    calibration: float = 0.0,
    recipe: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Train ``cfg.method`` on ``inp``, select the epoch, evaluate, and write ``out_dir``.

    Returns the run record (also written to ``out_dir/run.json``).
    ``stop_after_epoch`` ends the process early as if killed (for tests of resume).
    ``method_params``: the method's own hyper-parameters (``--method-param``), recorded
    under ``config["method_params"]``. With ``inp.seen_test`` (:func:`holdout_seen`) the
    run is also evaluated in the GZSL setting, at calibrated-stacking ``calibration``.
    ``recipe``: the recipe the run came from (:meth:`actionhub.recipes.Recipe.record`), stored
    under ``"recipe"`` in run.json; not part of the fingerprint (the config it resolved to is).
    """
    cfg.validate()
    check_device(cfg.device)
    from actionhub.engine.validation_split import describe, needs_validation, train_with_validation

    if needs_validation(cfg, inp):
        return train_with_validation(cfg, inp, out_dir, train_run, progress=progress,
                                     stop_after_epoch=stop_after_epoch, on_epoch=on_epoch,
                                     method_params=method_params, calibration=calibration, recipe=recipe)
    method = get_method(cfg.method)
    cfg = method.resolve_config(cfg)
    params = method.make_params(method_params)
    params_dict = dataclasses.asdict(params)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    mc, oc = cfg.model, cfg.optim
    device = cfg.device
    fp = _config_fingerprint(cfg, inp, params_dict if method.kind != "coco" else None)

    seed = oc.seed + int(inp.split)   # seed per split (recorded as "seed" in run.json)
    torch.manual_seed(seed)
    model = method.build(inp.train.dim, inp.text.dim, mc, params).to(device)
    if hasattr(model, "set_mean"):
        model.set_mean(inp.train.features)
    opt = torch.optim.Adam(model.parameters(), lr=oc.lr, weight_decay=oc.weight_decay)

    y_train = label_indices(inp.train, inp.seen)
    seen_ad, seen_vc, fb_seen = text_tensors(inp.text, inp.seen, mc.k, device)
    pool_text = inp.pool_text or inp.text
    pool_classes = list(inp.pool_classes if inp.pool_classes is not None else inp.unseen)
    pool_ad = pool_vc = None
    if mc.cim and pool_classes:
        pool_ad, pool_vc, _ = text_tensors(pool_text, pool_classes, mc.k, device)
    _, _, fb_unseen = select_text(inp.text, list(inp.unseen) + list(inp.val), mc.k)
    fallback = sorted(set(fb_seen) | set(fb_unseen)) if mc.class_text != "ad" else []
    if fallback:
        log.warning("%d class(es) have no description features and use their definition only: %s",
                    len(fallback), ", ".join(fallback[:20]) + (" ..." if len(fallback) > 20 else ""))

    n = len(inp.train)
    config_rec = method.config_record(cfg, method_params)   # what api.train checks a folder against
    record: dict[str, Any] = {
        "format": RUN_FORMAT,
        "status": "running",
        "method": cfg.method,
        "method_info": {"title": method.title, "kind": method.kind, "citation": method.citation,
                        "summary": method.summary},
        "benchmark": inp.benchmark,
        "split": inp.split,
        "protocol": {
            "seen": list(inp.seen),
            "val": list(inp.val),
            "unseen": list(inp.unseen),
            "num_train_videos": n,
            "num_val_videos": len(inp.val_set) if inp.val_set is not None else 0,
            "num_test_videos": len(inp.test),
            "cim_pool": pool_classes if mc.cim else [],
            "epoch_selection": describe(inp.data_info.get("validation")) or (
                "val" if (inp.select_epoch_on_val and inp.val_set is not None) else "last"),
            **({"validation": inp.data_info["validation"]} if "validation" in inp.data_info else {}),
        },
        "seed": seed,
        "config": config_rec,
        "data": {**inp.data_info, "visual_dim": inp.train.dim, "text_dim": inp.text.dim,
                 "text_meta": {k: v for k, v in inp.text.meta.items()}, "ad_only_fallback": fallback},
        "versions": package_versions(),
        "fingerprint": fp,
        "history": [],
        "started_at": now(),
    }
    if recipe is not None:
        record["recipe"] = recipe
    from actionhub.protocols import benchmark_file_of

    if bench_file := benchmark_file_of(inp.benchmark):
        record["data"]["benchmark_file"] = bench_file
    if inp.seen_test is not None:
        record["protocol"]["gzsl"] = {**inp.data_info.get("gzsl_holdout", {}),
                                      "num_seen_test_videos": len(inp.seen_test),
                                      "classes": "seen + unseen (val classes excluded)"}
    # A finished run is returned and another run refused before anything is written here.
    done = _finished_record(out, fp, record)
    if done is not None:
        return done
    atomic_write_json(out / "config.json", config_rec)
    select_on_val = inp.select_epoch_on_val and inp.val_set is not None and len(inp.val) > 0

    if method.kind == "closed-form":
        t0 = time.perf_counter()
        val = None
        if select_on_val:
            val_ad, val_vc, _ = text_tensors(inp.text, inp.val, mc.k, device)
            val = (inp.val_set.features, label_indices(inp.val_set, inp.val), model.class_text(val_ad, val_vc))
        with torch.no_grad():
            record["fit"] = model.fit(inp.train.features, y_train, model.class_text(seen_ad, seen_vc), val=val)
        record["protocol"]["epoch_selection"] = ("none (closed form; hyper-parameters chosen on val)"
                                                 if record["fit"].get("selected_on") == "val" else "none (closed form)")
        record["selected_epoch"] = None
        record["stop_reason"] = "closed form: solved once"
        return _finish(record, model, inp, cfg, out, t0, calibration)

    if method.kind == "graph":
        # Trained once on the class graph (its own epochs, in method_params), not on video batches.
        from actionhub.engine.graphfit import fit_graph

        t0 = time.perf_counter()
        record["fit"] = fit_graph(model, inp, mc.k, device, progress=progress)
        how = describe(inp.data_info.get("validation"))   # carved val classes, or a refit
        record["protocol"]["epoch_selection"] = (how if how and how.startswith("refit") else
                                                 f"graph epochs: {record['fit']['epoch_selection']}"
                                                 + (f"; {how}" if how else ""))
        record["selected_epoch"] = record["fit"]["selected_epoch"]
        return _finish(record, model, inp, cfg, out, t0, calibration)

    sched = plan_schedule(n, oc)
    steps_per_epoch, total_steps, warmup_steps = sched.steps_per_epoch, sched.total_steps, sched.warmup_steps
    record["schedule"] = sched.to_json()
    record["schedule"]["patience"] = oc.patience if select_on_val else None

    start_epoch, best = 0, {"epoch": -1, "val_top1": -1.0, "state": None, "evals_since": 0}
    ckpt_path = out / "checkpoint.pt"
    if ckpt_path.exists():
        ckpt = load_checkpoint(ckpt_path, device)
        if ckpt.get("fingerprint") != fp:
            raise different_run_error(out, record)
        model.load_state_dict(ckpt["model"])
        opt.load_state_dict(ckpt["optim"])
        start_epoch = ckpt["epoch"] + 1
        best = ckpt["best"]
        record["history"] = ckpt["history"]
        record["started_at"] = ckpt.get("started_at", record["started_at"])
        log.info("resuming %s from epoch %d", out, start_epoch)
    stopped = ckpt.get("stopped") if ckpt_path.exists() else None
    atomic_write_json(out / "run.json", record)   # "running" from the first step: an error is recorded

    t0 = time.perf_counter()
    for epoch in range(start_epoch, sched.epochs if stopped is None else start_epoch):
        model.train()
        sums: dict[str, float] = {}
        batches = epoch_batches(n, oc.batch_size, seed + epoch)[: sched.epoch_steps(epoch)]
        seen_videos = int(sum(len(i) for i in batches))
        bar = progress_bar(batches, enabled=progress and len(batches) > 1, transient=True,
                           desc=f"epoch {epoch + 1}/{sched.epochs}", unit="batch")
        for b, idx in enumerate(bar):
            step = epoch * steps_per_epoch + b
            for grp in opt.param_groups:
                grp["lr"] = oc.lr * lr_factor(step, total_steps, warmup_steps)
            x = torch.as_tensor(np.asarray(inp.train.features[idx]), dtype=torch.float32, device=device)
            y = torch.from_numpy(y_train[idx]).to(device)
            _, losses = model(x, seen_ad, seen_vc, y, pool_ad, pool_vc)
            opt.zero_grad(set_to_none=True)
            losses["loss"].backward()
            opt.step()
            for k_, v_ in losses.items():
                sums[k_] = sums.get(k_, 0.0) + v_.item() * len(idx)
            bar.set_postfix(loss=f"{losses['loss'].item():.3f}", refresh=False)
        entry = {"epoch": epoch, "steps": min(total_steps, (epoch + 1) * steps_per_epoch),
                 "lr": opt.param_groups[0]["lr"], **{k_: v_ / seen_videos for k_, v_ in sums.items()}}
        evaluates = sched.evaluates_after(epoch) or (stop_after_epoch is not None and epoch >= stop_after_epoch)
        if select_on_val and evaluates:
            entry["val"] = evaluate(model, inp.val_set, inp.val, inp.text, mc.k, device)
            best["evals_since"] = best.get("evals_since", 0) + 1
            if entry["val"]["top1"] > best["val_top1"]:
                best = {"epoch": epoch, "val_top1": entry["val"]["top1"], "evals_since": 0,
                        "state": {k_: v_.detach().clone() for k_, v_ in model.state_dict().items()}}
            entry["val"] = round_metrics(entry["val"])   # selected on the exact value, written rounded
            # Early stopping never cuts a run below min_steps: every method gets that much optimisation.
            if (oc.patience and best["evals_since"] >= oc.patience and entry["steps"] >= oc.min_steps
                    and epoch < sched.epochs - 1):
                stopped = (f"early stop after epoch {epoch + 1} (step {entry['steps']}): no better val top-1 in "
                           f"{oc.patience} evaluations")
        record["history"].append(entry)
        if evaluates or stopped:
            with atomic_path(ckpt_path) as tmp:
                torch.save({"fingerprint": fp, "epoch": epoch, "model": model.state_dict(),
                            "optim": opt.state_dict(), "best": best, "history": record["history"],
                            "started_at": record["started_at"], "stopped": stopped}, tmp)
            atomic_write_json(out / "run.json", record)
        if on_epoch:
            on_epoch(entry)
        log.debug("epoch %d: %s", epoch + 1, {k_: round(v_, 4) for k_, v_ in entry.items() if isinstance(v_, float)})
        if stop_after_epoch is not None and epoch >= stop_after_epoch:
            return record
        if stopped:
            break

    last = record["history"][-1]["epoch"] if record["history"] else sched.epochs - 1
    record["stop_reason"] = stopped or f"finished the schedule: {total_steps} steps ({sched.rule})"
    record["steps_done"] = record["history"][-1]["steps"] if record["history"] else 0
    record["epochs_done"] = last + 1
    if select_on_val and best["state"] is not None:
        model.load_state_dict(best["state"])
        record["selected_epoch"] = best["epoch"]
    else:
        record["selected_epoch"] = last
    record["selected_step"] = min(total_steps, (record["selected_epoch"] + 1) * steps_per_epoch)
    return _finish(record, model, inp, cfg, out, t0, calibration)


def _finished_record(out: Path, fp: str, record: dict[str, Any]) -> dict[str, Any] | None:
    """The finished run.json of ``out`` if it is this run (``fp``); an error naming what differs
    if it is another run (``record``: this run's record so far)."""
    path = out / "run.json"
    if not path.exists():
        return None
    done = json.loads(path.read_text())
    if done.get("fingerprint") != fp:
        raise different_run_error(out, record)
    if done.get("status") == "finished" and (out / "model.pt").exists():
        log.info("%s is already finished", out)
        return done
    return None


def _finish(record: dict[str, Any], model: nn.Module, inp: RunInputs, cfg: TrainConfig, out: Path,
            t0: float, calibration: float) -> dict[str, Any]:
    """Evaluate the selected model (ZSL, val, GZSL), save model.pt and the finished run.json."""
    mc, device = cfg.model, cfg.device
    metrics: dict[str, Any] = {"test": evaluate(model, inp.test, inp.unseen, inp.text, mc.k, device)}
    if inp.val_set is not None and len(inp.val):
        metrics["val"] = evaluate(model, inp.val_set, inp.val, inp.text, mc.k, device)
    if inp.seen_test is not None and len(inp.seen_test):
        metrics["gzsl"], margins = evaluate_gzsl(model, inp.seen_test, inp.test, inp.seen, inp.unseen, inp.text,
                                                 mc.k, calibration, device)
        with atomic_path(out / "gzsl.npz") as tmp:
            with open(tmp, "wb") as f:
                np.savez(f, **margins, classes=np.asarray(list(inp.seen) + list(inp.unseen), dtype=str),
                         num_seen_classes=np.asarray(len(inp.seen)))
    record["metrics"] = round_metrics(metrics)
    record["train_seconds"] = round(record.get("train_seconds", 0.0) + time.perf_counter() - t0, 3)
    record["finished_at"] = now()
    record["status"] = "finished"
    save_model(out / "model.pt", model, visual_dim=inp.train.dim, text_dim=inp.text.dim,
               model_config=record["config"]["model"], method=cfg.method,
               method_params=record["config"].get("method_params", {}), benchmark=inp.benchmark, split=inp.split)
    atomic_write_json(out / "run.json", record)
    return record


