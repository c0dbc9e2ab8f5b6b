"""What a run records about itself before it trains: the first run.json (method, protocol with
the exact class lists, data, versions, config; :func:`new_record`) and the fingerprint that tells
this run from another (:func:`run_fingerprint`). The trainer adds history, selection and metrics."""
from __future__ import annotations

from typing import Any, Mapping

from actionhub.config import TrainConfig
from actionhub.engine.inputs import RunInputs
from actionhub.engine.validation_split import describe
from actionhub.utils.runinfo import RUN_FORMAT, fingerprint, now, package_versions

__all__ = ["new_record", "run_fingerprint"]

#: the data a run names (its fingerprint covers them)
DATA_KEYS = ("features", "eval_features", "text_features", "cim_pool")


def run_fingerprint(cfg: TrainConfig, inp: RunInputs, method_params: Mapping[str, Any] | None = None) -> str:
    """The hash that tells this run (config, split, class lists, data) from another one."""
    obj: dict[str, Any] = {
        "config": cfg.to_dict(),
        "benchmark": inp.benchmark,
        "split": inp.split,
        "seen": list(inp.seen),
        "unseen": list(inp.unseen),
        "n_train": len(inp.train),
        "data": {k: v for k, v in inp.data_info.items() if k in DATA_KEYS},
    }
    # Only present when used, so CoCo runs keep the fingerprints they always had.
    if method_params:
        obj["method_params"] = dict(method_params)
    if inp.seen_test is not None:
        obj["gzsl_holdout"] = {k: v for k, v in inp.data_info.get("gzsl_holdout", {}).items() if k != "rule"}
    return fingerprint(obj)


def new_record(cfg: TrainConfig, inp: RunInputs, method: Any, config: dict[str, Any], fp: str,
               ad_only: list[str], recipe: dict[str, Any] | None = None) -> dict[str, Any]:
    """run.json as it starts (status ``running``). ``method``: the registry's Method; ``config``: its
    :meth:`config_record`; ``ad_only``: classes without descriptions; ``recipe``: where it came from."""
    from actionhub.protocols import benchmark_file_of

    select_on_val = inp.select_epoch_on_val and inp.val_set is not None
    protocol = {
        "seen": list(inp.seen),
        "val": list(inp.val),
        "unseen": list(inp.unseen),
        "num_train_videos": len(inp.train),
        "num_val_videos": len(inp.val_set) if inp.val_set is not None else 0,
        "num_test_videos": len(inp.test),
        "cim_pool": list(inp.pool_classes if inp.pool_classes is not None else inp.unseen) if cfg.model.cim else [],
        "epoch_selection": describe(inp.data_info.get("validation")) or ("val" if select_on_val else "last"),
        **({"validation": inp.data_info["validation"]} if "validation" in inp.data_info else {}),
    }
    if inp.seen_test is not None:
        protocol["gzsl"] = {**inp.data_info.get("gzsl_holdout", {}), "num_seen_test_videos": len(inp.seen_test),
                            "classes": "seen + unseen (val classes excluded)"}
    record: dict[str, Any] = {
        "format": RUN_FORMAT,
        "status": "running",
        "method": cfg.method,
        "method_info": {"title": method.title, "kind": method.kind, "citation": method.citation,
                        "summary": method.summary},
        "benchmark": inp.benchmark,
        "split": inp.split,
        "protocol": protocol,
        "seed": cfg.optim.seed + int(inp.split),   # seed per split
        "config": config,
        "data": {**inp.data_info, "visual_dim": inp.train.dim, "text_dim": inp.text.dim,
                 "text_meta": dict(inp.text.meta), "ad_only_fallback": ad_only},
        "versions": package_versions(),
        "fingerprint": fp,
        "history": [],
        "started_at": now(),
    }
    if recipe is not None:
        record["recipe"] = recipe
    if bench_file := benchmark_file_of(inp.benchmark):
        record["data"]["benchmark_file"] = bench_file
    return record
