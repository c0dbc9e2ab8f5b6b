"""The runs the app shows: everything it reads of run folders is here (``--runs DIR ...``).

Runs, sweeps and results files under the given folders are gathered with the report's own
:func:`actionhub.report.collect.collect`; each run gets a stable id (a hash of its resolved folder),
so URLs never carry a path. Settings are flattened (``model.k``, ``optim.lr``) to be compared side by
side; a run's training curves (losses and val top-1 per evaluation) are drawn from its ``history``.
"""
from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from actionhub.utils.rundir import RunDir

__all__ = ["RunsView", "run_id", "run_summary", "flat_settings", "curves_figure"]

log = logging.getLogger(__name__)


def run_id(run_dir: str | Path) -> str:
    return hashlib.sha1(str(Path(run_dir).resolve()).encode()).hexdigest()[:12]


def _rel(path: str | Path, roots: Sequence[Path]) -> str:
    p = Path(path).resolve()
    for r in roots:
        try:
            return str(Path(r.name) / p.relative_to(r.resolve()))
        except ValueError:
            continue
    return p.name


def run_summary(rec: dict[str, Any], roots: Sequence[Path]) -> dict[str, Any]:
    """One row of the runs table: where, what, the settings that ablations vary, and the test metrics."""
    from actionhub.evaluation.results import variant_of  # noqa: PLC0415

    m = rec.get("config", {}).get("model", {})
    test = (rec.get("metrics") or {}).get("test") or {}
    return {"id": run_id(rec["run_dir"]), "dir": _rel(rec["run_dir"], roots), "benchmark": rec.get("benchmark"),
            "split": rec.get("split"), "method": rec.get("method", "coco"), "variant": variant_of(rec),
            "class_text": m.get("class_text"), "k": m.get("k"), "alpha": m.get("alpha"), "cim": m.get("cim"),
            "epochs": rec.get("epochs_done", len(rec.get("history") or [])), "top1": test.get("top1"),
            "top5": test.get("top5"), "synthetic": bool((rec.get("data") or {}).get("synthetic")),
            "selected_epoch": rec.get("selected_epoch"), "selected_step": rec.get("selected_step"),
            "stopped": rec.get("stop_reason"), "has_model": RunDir(rec["run_dir"]).model.is_file()}


def flat_settings(rec: dict[str, Any]) -> dict[str, Any]:
    """The run's config and protocol as ``{"model.k": 100, "optim.lr": 0.001, "benchmark": ..., ...}``."""
    out: dict[str, Any] = {"benchmark": rec.get("benchmark"), "split": rec.get("split"),
                           "method": rec.get("method", "coco")}

    def walk(prefix: str, v: Any) -> None:
        if isinstance(v, dict):
            for k in sorted(v):
                walk(f"{prefix}.{k}" if prefix else str(k), v[k])
        elif isinstance(v, list) and len(v) > 8:
            out[prefix] = f"[{len(v)} items]"
        else:
            out[prefix] = v

    walk("", {"config": rec.get("config", {}), "data": {k: v for k, v in (rec.get("data") or {}).items()
                                                        if not isinstance(v, dict)}})
    for split_name, metrics in (rec.get("metrics") or {}).items():
        if isinstance(metrics, dict):
            for k, v in metrics.items():
                if isinstance(v, (int, float)):
                    out[f"metrics.{split_name}.{k}"] = v
    return out


def curves_figure(rec: dict[str, Any], path: Path) -> Path | None:
    """The run's training curves (:func:`actionhub.report.figures.curves_figure`: losses, lr and val
    top-1/top-5 against the step, the selected step marked) as a PNG at ``path``; None without history."""
    from actionhub.evaluation.curves import curves  # noqa: PLC0415
    from actionhub.report.figures import curves_figure as draw  # noqa: PLC0415

    hist = rec.get("history") or []
    if not hist:
        return None
    tag = " [SYNTHETIC]" if (rec.get("data") or {}).get("synthetic") else ""
    return draw(path, f"{rec.get('benchmark')} split {rec.get('split')}, {rec.get('method', 'coco')}{tag}",
                curves(hist), rec.get("selected_step"))


@dataclass
class RunsView:
    """The runs, sweeps and results under ``roots``, gathered again by :meth:`refresh`."""

    roots: list[Path]
    collection: Any = None
    error: str = ""
    by_id: dict[str, dict[str, Any]] = field(default_factory=dict)

    def refresh(self) -> "RunsView":
        from actionhub.evaluation.results import ResultsError  # noqa: PLC0415
        from actionhub.report.collect import collect  # noqa: PLC0415

        self.error, self.collection, self.by_id = "", None, {}
        if not self.roots:
            return self
        try:
            self.collection = collect(self.roots)
        except ResultsError as e:
            self.error = str(e)
            return self
        for rec in self.collection.all_records():
            self.by_id.setdefault(run_id(rec["run_dir"]), rec)
        return self

    def rows(self) -> list[dict[str, Any]]:
        rows = [run_summary(r, self.roots) for r in self.by_id.values()]
        return sorted(rows, key=lambda r: (str(r["benchmark"]), str(r["method"]), str(r["dir"])))

    def get(self, rid: str) -> dict[str, Any] | None:
        return self.by_id.get(rid)
