"""Results are data: collect run records, summarise over splits, render tables.

A run record is the ``run.json`` written by training. A results file
(``actionhub evaluate --out results.json``) holds the per-split metrics and the
mean ± std over splits, grouped by benchmark, method and variant, together with the
exact protocol of every run.
"""
from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any, Iterable, Sequence

from actionhub.metrics import mean_std
from actionhub.runinfo import RESULTS_FORMAT, RUN_FORMAT, now, package_versions
from actionhub.errors import UserError

METRICS = ("top1", "top5")


class ResultsError(UserError):
    """A run directory or results file cannot be used; the message says why."""


def load_run(run_dir: str | Path) -> dict[str, Any]:
    """The finished run record of ``run_dir`` (its run.json)."""
    path = Path(run_dir)
    path = path / "run.json" if path.is_dir() else path
    if not path.exists():
        raise ResultsError(f"{path} not found: pass run directories written by `actionhub train`")
    try:
        rec = json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise ResultsError(f"{path} is not valid JSON ({e}); the run may have been written by another tool") from e
    if rec.get("format") != RUN_FORMAT:
        raise ResultsError(f"{path} is not an ActionHub run record (format {rec.get('format')!r})")
    if rec.get("status") != "finished":
        raise ResultsError(f"{path}: run is not finished (status {rec.get('status')!r}); rerun the same "
                           "`actionhub train` command to resume it")
    rec["run_dir"] = str(path.parent)
    return rec


def variant_of(rec: dict[str, Any]) -> str:
    """Short label of the ablation settings that differ from the paper's CoCo."""
    m = rec["config"]["model"]
    parts = [m["class_text"].upper().replace("+", "+")]
    if rec.get("method", "coco") == "coco":
        parts.append("CIM" if m["cim"] else "no-CIM")
        parts.append(f"k={m['k']}")
        parts.append(f"alpha={m['alpha']:g}")
    return " ".join(parts)


def summarize(records: Sequence[dict[str, Any]], benchmark: str | None = None) -> dict[str, Any]:
    """Group runs by (benchmark, method, variant); per-split metrics and mean ± std.

    Two runs of the same group and split are an error (which one would count?).
    """
    if not records:
        raise ResultsError("no runs to summarise")
    groups: dict[tuple[str, str, str], list[dict]] = defaultdict(list)
    for r in records:
        if benchmark is not None and r["benchmark"] != benchmark:
            raise ResultsError(f"run {r['run_dir']} is on benchmark {r['benchmark']!r}, not {benchmark!r}")
        groups[(r["benchmark"], r.get("method", "coco"), variant_of(r))].append(r)
    rows = []
    for (bench, method, variant), runs in sorted(groups.items()):
        splits = [r["split"] for r in runs]
        dup = sorted({s for s in splits if splits.count(s) > 1})
        if dup:
            dirs = [r["run_dir"] for r in runs if r["split"] in dup]
            raise ResultsError(f"{bench}/{method} [{variant}]: split(s) {dup} appear more than once: {dirs}")
        runs = sorted(runs, key=lambda r: r["split"])
        per_split = [
            {"split": r["split"], "run_dir": r["run_dir"], **{m: r["metrics"]["test"][m] for m in METRICS},
             "num_test_videos": r["metrics"]["test"]["num_videos"], "selected_epoch": r.get("selected_epoch")}
            for r in runs
        ]
        rows.append({
            "benchmark": bench,
            "method": method,
            "variant": variant,
            "synthetic": any(r["data"].get("synthetic") for r in runs),
            "splits": per_split,
            "summary": {m: mean_std(p[m] for p in per_split) for m in METRICS},
            "protocol": {
                "splits": [r["split"] for r in runs],
                "features": sorted({str(r["data"].get("features")) for r in runs}),
                "text_features": sorted({str(r["data"].get("text_features")) for r in runs}),
                "text_encoder": sorted({str(r["data"].get("text_meta", {}).get("encoder")) for r in runs}),
                "class_text": runs[0]["config"]["model"]["class_text"],
                "classes": {str(r["split"]): {"seen": r["protocol"]["seen"], "val": r["protocol"]["val"],
                                              "unseen": r["protocol"]["unseen"]} for r in runs},
            },
            "config": runs[0]["config"],
        })
    return {"format": RESULTS_FORMAT, "created_at": now(), "versions": package_versions(),
            "std": "population standard deviation over splits (ddof=0)", "rows": rows}


def fmt_pm(ms: dict[str, float]) -> str:
    return f"{ms['mean']:.1f} ± {ms['std']:.1f}"


def format_table(summary: dict[str, Any], markdown: bool = False) -> str:
    """The paper's layout (Tables 2-3): one row per method/variant and benchmark,
    top-1 and top-5 as mean ± std over the splits."""
    head = ["Method", "Variant", "Benchmark", "Splits", "top-1 Acc (%)", "top-5 Acc (%)"]
    body = []
    for row in summary["rows"]:
        name = row["method"] + (" [SYNTHETIC]" if row["synthetic"] else "")
        body.append([name, row["variant"], row["benchmark"], str(row["summary"]["top1"]["n"]),
                     fmt_pm(row["summary"]["top1"]), fmt_pm(row["summary"]["top5"])])
    if markdown:
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        lines += ["| " + " | ".join(r) + " |" for r in body]
    else:
        widths = [max(len(x) for x in col) for col in zip(head, *body)]
        fmt = lambda r: "  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip()  # noqa: E731
        lines = [fmt(head), "  ".join("-" * w for w in widths)] + [fmt(r) for r in body]
    if any(r["synthetic"] for r in summary["rows"]):
        lines.append("")
        lines.append("SYNTHETIC: rows marked [SYNTHETIC] were computed on generated features, not on real video.")
    return "\n".join(lines)


def load_runs(run_dirs: Iterable[str | Path]) -> list[dict[str, Any]]:
    return [load_run(d) for d in run_dirs]
