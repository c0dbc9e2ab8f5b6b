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
            "selected_epoch": rec.get("selected_epoch"), "stopped": rec.get("stopped"),
            "has_model": (Path(rec["run_dir"]) / "model.pt").is_file()}


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
    """Loss terms per epoch and val top-1 per evaluation of a run (PNG at ``path``); None without history."""
    from actionhub.report.figures import COLORS, _figure, _save  # noqa: PLC0415

    hist = rec.get("history") or []
    if not hist:
        return None
    x = [h.get("steps", h.get("epoch", i)) for i, h in enumerate(hist)]
    losses = sorted({k for h in hist for k, v in h.items() if k.startswith("l") and k != "lr"
                     and isinstance(v, (int, float))})
    fig = _figure(9.5, 3.6)
    ax1, ax2 = fig.subplots(1, 2)
    for i, k in enumerate(losses):
        ax1.plot(x, [h.get(k) for h in hist], color=COLORS[i % len(COLORS)], label=k, linewidth=1.6)
    ax1.set_xlabel("optimiser steps")
    ax1.set_title("training losses (mean per epoch)", fontsize=10)
    ax1.grid(alpha=0.3)
    if losses:
        ax1.legend(fontsize=8)
    vx = [xx for xx, h in zip(x, hist) if isinstance(h.get("val"), dict)]
    vy = [h["val"].get("top1") for h in hist if isinstance(h.get("val"), dict)]
    if vx:
        ax2.plot(vx, vy, marker="o", color=COLORS[1], linewidth=1.6)
        sel = rec.get("selected_epoch")
        if sel is not None and 0 <= sel < len(hist) and isinstance(hist[sel].get("val"), dict):
            ax2.axvline(x[sel], color="gray", linestyle="--", linewidth=1)
            ax2.annotate(f"selected (epoch {sel + 1})", (x[sel], hist[sel]["val"]["top1"]), fontsize=8,
                         textcoords="offset points", xytext=(4, -12))
        ax2.set_title("val top-1 (%)", fontsize=10)
    else:
        ax2.text(0.5, 0.5, "no evaluation on val classes\n(the protocol has none, or --val-classes 0)",
                 ha="center", va="center", fontsize=9, transform=ax2.transAxes)
        ax2.set_title("val top-1", fontsize=10)
    ax2.set_xlabel("optimiser steps")
    ax2.grid(alpha=0.3)
    tag = " [SYNTHETIC]" if (rec.get("data") or {}).get("synthetic") else ""
    fig.suptitle(f"{rec.get('benchmark')} split {rec.get('split')}, {rec.get('method', 'coco')}{tag}", fontsize=11)
    return _save(fig, path)


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
