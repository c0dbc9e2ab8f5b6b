"""The sweep index file (``SWEEP_DIR/sweep.json``, written by :mod:`actionhub.engine.sweep`):
reading it back and printing it as a table."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from actionhub.evaluation.metrics import mean_std
from actionhub.utils import jsontext
from actionhub.utils.errors import UserError

__all__ = ["SWEEP_FORMAT", "SweepError", "load_sweep", "format_sweep"]

SWEEP_FORMAT = "actionhub.sweep/1"


class SweepError(UserError):
    """A bad ``--param`` or a sweep directory that holds another sweep."""


def load_sweep(sweep_dir: str | Path) -> dict[str, Any]:
    """The index of a sweep directory, with absolute run directories."""
    path = Path(sweep_dir) / "sweep.json"
    if not path.exists():
        raise SweepError(f"{path} not found: pass a directory written by `actionhub sweep`")
    index = jsontext.loads(path.read_text())
    if index.get("format") != SWEEP_FORMAT:
        raise SweepError(f"{path} is not an ActionHub sweep index (format {index.get('format')!r})")
    for r in index.get("runs", []):
        r["run_dir"] = str(Path(sweep_dir) / r["run_dir"])
    index["dir"] = str(sweep_dir)
    return index


def format_sweep(index: Mapping[str, Any]) -> str:
    """Plain-text table: one line per grid point, top-1 per split and mean ± std."""
    splits = index["splits"]
    by_point: dict[str, dict[int, dict[str, Any]]] = {}
    for r in index["runs"]:
        by_point.setdefault(r["name"], {})[r["split"]] = r
    head = ["point"] + [f"split {s}" for s in splits] + ["top-1 mean ± std"]
    body = []
    for name, per in by_point.items():
        cells = [name]
        vals = []
        for s in splits:
            r = per.get(s)
            if r is None:
                cells.append("-")
            elif r["status"] != "finished":
                cells.append("failed")
            else:
                cells.append(f"{r['metrics']['top1']:.1f}")
                vals.append(r["metrics"]["top1"])
        ms = mean_std(vals) if vals else None
        cells.append(f"{ms['mean']:.1f} ± {ms['std']:.1f}" if ms else "-")
        body.append(cells)
    widths = [max(len(x) for x in col) for col in zip(head, *body, strict=True)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
             for row in [head, ["-" * w for w in widths], *body]]
    chosen = index.get("selected_on_val") or {}
    if chosen:
        lines += ["", "chosen on the val classes (never the unseen ones): " + "; ".join(
            f"split {s}: {c['point']} (val top-1 {c['val_top1']:.1f}, test top-1 {c['test_top1']:.1f})"
            for s, c in chosen.items())]
    if index.get("data", {}).get("synthetic") or any(r.get("synthetic") for r in index["runs"]):
        lines += ["", "SYNTHETIC: computed on generated features, not on real video."]
    return "\n".join(lines)
