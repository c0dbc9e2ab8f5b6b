"""Results are data: collect run records, summarise over splits, render tables.

A run record is the ``run.json`` written by training. A results file
(``actionhub evaluate --out results.json``) holds the per-split metrics and the
mean ± std over splits, grouped by benchmark, method and variant, together with the
exact protocol of every run.
"""
from __future__ import annotations

import operator
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

from actionhub.evaluation.metrics import mean_std, round_metrics
from actionhub.utils.errors import UserError
from actionhub.utils.rundir import RunDir
from actionhub.utils.runinfo import RESULTS_FORMAT, RUN_FORMAT, now, package_versions

METRICS = ("top1", "top5")


class ResultsError(UserError):
    """A run directory or results file cannot be used; the message says why."""


def load_run(run_dir: str | Path) -> dict[str, Any]:
    """The finished run record of ``run_dir`` (its run.json; or a run record file)."""
    return RunDir.of(run_dir).load_finished(ResultsError)


def class_text_used(rec: dict[str, Any]) -> str:
    """The class text a run trained with: its config's ``class_text``, but ``"ad"`` when its class text
    features hold no description at all (VC falls back to AD for every class: a definition-only run)."""
    ct = rec["config"]["model"]["class_text"]
    meta = (rec.get("data") or {}).get("text_meta") or {}
    if ct != "ad" and meta.get("num_with_descriptions") == 0:
        return "ad"
    return ct


def variant_of(rec: dict[str, Any]) -> str:
    """Short label of the ablation settings that differ from the paper's CoCo."""
    m = rec["config"]["model"]
    method = rec.get("method", "coco")
    if rec.get("training_free"):
        # A training-free row (evaluate --zero-shot) is its text and its backbone, in words.
        return rec["config"]["zero_shot"]["variant"]
    used = class_text_used(rec)
    parts = [used.upper() + (" (no descriptions)" if used != m["class_text"] else "")]
    if method == "coco":
        parts.append("CIM" if m["cim"] else "no-CIM")
        parts.append(f"k={m['k']}")
        parts.append(f"alpha={m['alpha']:g}")
    elif m["class_text"] != "ad":
        # Baselines embed AD+VC or VC text: k (and alpha for the fusion) matter.
        parts.append(f"k={m['k']}")
        if m["class_text"] == "ad+vc":
            parts.append(f"alpha={m['alpha']:g}")
    if "gzsl" in rec.get("protocol", {}):
        # Trained without the held-out seen videos: a different run from the plain one.
        parts.append(f"gzsl-holdout={rec['protocol']['gzsl'].get('fraction')}")
    return " ".join(parts)


GZSL_METRICS = ("acc_seen", "acc_unseen", "h")


def recalibrate(rec: dict[str, Any], calibration: float) -> dict[str, Any]:
    """``rec`` with its GZSL metrics recomputed at ``calibration`` from the run's gzsl.npz."""
    import numpy as np

    from actionhub.evaluation.metrics import gzsl_accuracy_from_margins

    path = RunDir(rec["run_dir"]).gzsl
    if not path.exists():
        raise ResultsError(f"{path} not found: {rec['run_dir']} was not trained with --gzsl; rerun "
                           "`actionhub train ... --gzsl` into a new run directory")
    with np.load(path, allow_pickle=False) as z:
        margins = {k: z[k] for k in ("label", "is_seen", "within", "margin")}
    out = dict(rec)
    out["metrics"] = {**rec["metrics"], "gzsl": gzsl_accuracy_from_margins(margins, calibration)}
    return out


def summarize(records: Sequence[dict[str, Any]], benchmark: str | None = None) -> dict[str, Any]:
    """Group runs by (benchmark, method, variant); per-split metrics and mean ± std.

    Two runs of the same group, split and seed are an error (which one would count?). Runs
    of one split with several seeds (``actionhub train --seeds``) are averaged per split before
    the mean ± std over splits, and their spread is reported (:func:`seed_spread`).
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
        splits = [(r["split"], _seed(r)) for r in runs]
        times = Counter(splits)
        dup = sorted(s for s, n in times.items() if n > 1)
        if dup:
            dirs = [r["run_dir"] for r in runs if (r["split"], _seed(r)) in dup]
            raise ResultsError(f"{bench}/{method} [{variant}]: split(s) {sorted({s for s, _ in dup})} appear more "
                               f"than once with the same seed: {dirs}")
        runs = sorted(runs, key=lambda r: (r["split"], _seed(r)))
        per_split = [
            {"split": r["split"], "seed": _seed(r), "run_dir": r["run_dir"],
             **{m: r["metrics"]["test"][m] for m in METRICS},
             "num_test_videos": r["metrics"]["test"]["num_videos"], "selected_epoch": r.get("selected_epoch"),
             **({"gzsl": r["metrics"]["gzsl"]} if "gzsl" in r["metrics"] else {})}
            for r in runs
        ]
        summary_ = {m: mean_std(per_split_means(per_split, m)) for m in METRICS}
        spread = seed_spread(per_split)
        if spread:
            summary_["seed_spread"] = spread
        if all("gzsl" in p for p in per_split):
            summary_["gzsl"] = {m: mean_std(per_split_means(per_split, lambda p, m=m: p["gzsl"][m]))
                                for m in GZSL_METRICS}
            summary_["gzsl"]["calibration"] = sorted({p["gzsl"]["calibration"] for p in per_split})
        per_split, summary_ = round_metrics(per_split), round_metrics(summary_)
        rows.append({
            "benchmark": bench,
            "method": method,
            "method_title": runs[0].get("method_info", {}).get("title", method),
            "variant": variant,
            "synthetic": any(r["data"].get("synthetic") for r in runs),
            "splits": per_split,
            "summary": summary_,
            "protocol": {
                "splits": sorted({r["split"] for r in runs}),
                "features": sorted({str(r["data"].get("features")) for r in runs}),
                "text_features": sorted({str(r["data"].get("text_features")) for r in runs}),
                "text_encoder": sorted({str(r["data"].get("text_meta", {}).get("encoder")) for r in runs}),
                "backbone": sorted({str(r["data"].get("backbone") or r["data"].get("feature_meta", {}).get("backbone"))
                                    for r in runs}),
                "class_text": class_text_used(runs[0]),
                "epoch_selection": sorted({str(r["protocol"].get("epoch_selection")) for r in runs}),
                **({"gzsl": runs[0]["protocol"]["gzsl"]} if "gzsl" in runs[0]["protocol"] else {}),
                "classes": {str(r["split"]): {"seen": r["protocol"]["seen"], "val": r["protocol"]["val"],
                                              "unseen": r["protocol"]["unseen"]} for r in runs},
            },
            "config": runs[0]["config"],
            **({"training_free": True} if runs[0].get("training_free") else {}),
        })
    return {"format": RESULTS_FORMAT, "created_at": now(), "versions": package_versions(),
            "std": "population standard deviation over splits (ddof=0)", "rows": rows}


def _seed(rec: dict[str, Any]) -> int:
    """The base seed of a run (``--seed``/``--seeds``; the split adds its index to it)."""
    return int(rec.get("config", {}).get("optim", {}).get("seed", 0))


def per_split_means(per_split: Sequence[dict[str, Any]],
                    metric: str | Callable[[dict[str, Any]], float]) -> list[float]:
    """``metric`` (a key, or a function of a row) per split, averaged over the split's seeds (one
    value per split, split order)."""
    get = metric if callable(metric) else operator.itemgetter(metric)
    by: dict[int, list[float]] = defaultdict(list)
    for p in per_split:
        by[p["split"]].append(get(p))
    return [sum(v) / len(v) for _, v in sorted(by.items())]


def seed_spread(per_split: Sequence[dict[str, Any]]) -> dict[str, Any] | None:
    """With several seeds on a split: per metric the population std over seeds, averaged over
    the splits that have more than one seed, and the largest (min-max) range; else None."""
    import numpy as np

    by: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for p in per_split:
        by[p["split"]].append(p)
    multi = {s: ps for s, ps in by.items() if len(ps) > 1}
    if not multi:
        return None
    out: dict[str, Any] = {"splits": sorted(multi), "seeds_per_split": max(len(ps) for ps in multi.values())}
    for m in METRICS:
        vals = [np.asarray([p[m] for p in ps], dtype=np.float64) for ps in multi.values()]
        out[m] = {"std_over_seeds": float(np.mean([v.std() for v in vals])),
                  "max_range": float(max(v.max() - v.min() for v in vals))}
    return out


def fmt_pm(ms: dict[str, float]) -> str:
    return f"{ms['mean']:.1f} ± {ms['std']:.1f}"


def format_table(summary: dict[str, Any], markdown: bool = False, gzsl: bool = False) -> str:
    """The paper's layout (Tables 2-3): one row per method/variant and benchmark,
    top-1 and top-5 as mean ± std over the splits. With ``gzsl``, also the GZSL
    seen/unseen per-class accuracy and their harmonic mean (rows without GZSL runs: n/a)."""
    head = ["Method", "Variant", "Benchmark", "Splits", "top-1 Acc (%)", "top-5 Acc (%)"]
    if gzsl:
        head += ["GZSL seen (%)", "GZSL unseen (%)", "GZSL H (%)"]
    body = []
    for row in summary["rows"]:
        name = row["method"] + (" [SYNTHETIC]" if row["synthetic"] else "")
        cells = [name, row["variant"], row["benchmark"], str(row["summary"]["top1"]["n"]),
                 fmt_pm(row["summary"]["top1"]), fmt_pm(row["summary"]["top5"])]
        if gzsl:
            g = row["summary"].get("gzsl")
            cells += [fmt_pm(g[m]) for m in GZSL_METRICS] if g else ["n/a"] * 3
        body.append(cells)
    if markdown:
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        lines += ["| " + " | ".join(r) + " |" for r in body]
    else:
        widths = [max(len(x) for x in col) for col in zip(head, *body, strict=True)]
        fmt = lambda r: "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()  # noqa: E731
        lines = [fmt(head), "  ".join("-" * w for w in widths)] + [fmt(r) for r in body]
    if gzsl:
        cal = sorted({c for r in summary["rows"] for c in r["summary"].get("gzsl", {}).get("calibration", [])})
        lines.append("")
        lines.append("GZSL: held-out seen-class videos and unseen-class videos scored over seen + unseen classes; "
                     "per-class mean top-1; H = harmonic mean; calibrated stacking gamma = "
                     + (", ".join(f"{c:g}" for c in cal) or "n/a") + ".")
    spread = [r for r in summary["rows"] if r["summary"].get("seed_spread")]
    if spread:
        lines.append("")
        for r in spread:
            sp = r["summary"]["seed_spread"]
            lines.append(f"seeds: {r['method']} [{r['variant']}] on {r['benchmark']}: {sp['seeds_per_split']} seeds on "
                         f"split(s) {', '.join(map(str, sp['splits']))}; top-1 std over seeds "
                         f"{sp['top1']['std_over_seeds']:.2f} (largest range {sp['top1']['max_range']:.2f}); the "
                         "mean ± std above is over splits of the per-split mean over seeds")
    if any(r["synthetic"] for r in summary["rows"]):
        lines.append("")
        lines.append("SYNTHETIC: rows marked [SYNTHETIC] were computed on generated features, not on real video.")
    return "\n".join(lines)


def load_runs(run_dirs: Iterable[str | Path]) -> list[dict[str, Any]]:
    return [load_run(d) for d in run_dirs]


def as_run_record(run: str | Path | Mapping[str, Any]) -> dict[str, Any]:
    """A finished run record from a run directory, its run.json, or a record already in memory
    (what ``actionhub.train`` returns); an unfinished or foreign record is a :class:`ResultsError`."""
    if not isinstance(run, Mapping):
        return load_run(run)
    if run.get("format") != RUN_FORMAT:
        raise ResultsError(f"not an ActionHub run record (format {run.get('format')!r}); pass run directories "
                           "or the records `actionhub.train` returns")
    if run.get("status") != "finished":
        raise ResultsError(f"run {run.get('run_dir', '<in memory>')} is not finished (status {run.get('status')!r})")
    return {"run_dir": "<in memory>", **run}


def evaluate_runs(runs: Iterable[str | Path | Mapping[str, Any]], *, benchmark: str | None = None,
                  gzsl: bool = False, calibration: float | None = None) -> dict[str, Any]:
    """The results summary of finished runs (what ``actionhub evaluate`` computes): per-split
    metrics and mean ± std over splits, grouped by benchmark, method and variant.

    runs: run directories, run.json paths or run records; benchmark: check every run is on it (a
    name, or a user benchmark file); gzsl: require GZSL metrics in every run; calibration: recompute
    GZSL at this calibrated-stacking gamma from each run's gzsl.npz (needs ``gzsl``)."""
    if benchmark is not None:
        from actionhub.protocols import is_benchmark_file, load_user_benchmark

        if is_benchmark_file(benchmark):
            benchmark = load_user_benchmark(benchmark).name
    if calibration is not None and not gzsl:
        raise ResultsError("--calibration applies to GZSL metrics: add --gzsl (gzsl=True)")
    records = [as_run_record(r) for r in runs]
    if gzsl:
        missing = [r["run_dir"] for r in records if "gzsl" not in r["metrics"]]
        if missing:
            raise ResultsError(f"{len(missing)} run(s) have no GZSL metrics (trained without --gzsl): "
                               f"{', '.join(missing[:5])}. Train them with `actionhub train ... --gzsl`.")
        if calibration is not None:
            records = [recalibrate(r, calibration) for r in records]
    return summarize(records, benchmark=benchmark)
