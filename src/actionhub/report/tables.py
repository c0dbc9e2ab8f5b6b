"""Report tables as Markdown: the method table (Tables 2-3), GZSL, Table 4, figure data,
and the protocol statement every table carries."""
from __future__ import annotations

from collections import defaultdict
from typing import Any, Iterable, Sequence

from actionhub.evaluation.metrics import mean_std
from actionhub.evaluation.reported import is_reported
from actionhub.models.registry import METHODS, TABLE_ORDER

BENCH_ORDER = ("kinetics-zsar", "hmdb51", "ucf101")
CLASS_TEXT_LABEL = {"ad": "AD-only", "vc": "VC-only", "ad+vc": "AD + VC"}


def config_value(rec: dict[str, Any], name: str) -> Any:
    """A setting of a run by its sweep name (``class-text``, ``k``, ``cim``, ``method``, ``lr`` ...)."""
    key = name.replace("-", "_")
    if key == "method":
        return rec.get("method", "coco")
    cfg = rec["config"]
    if key in cfg["model"]:
        return cfg["model"][key]
    if key in cfg["optim"]:
        return cfg["optim"][key]
    return cfg.get("method_params", {}).get(key)


def fmt_value(name: str, value: Any) -> str:
    if name in ("class-text", "class_text"):
        return CLASS_TEXT_LABEL.get(value, str(value))
    if isinstance(value, bool):
        return "w/ CIM" if name == "cim" and value else "w/o CIM" if name == "cim" else str(value)
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def cell_stats(records: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """top-1/top-5 mean ± std over the runs (splits) of one table cell."""
    recs = list(records)
    return {"top1": mean_std(r["metrics"]["test"]["top1"] for r in recs),
            "top5": mean_std(r["metrics"]["test"]["top5"] for r in recs),
            "splits": sorted(r["split"] for r in recs)}


def group_by(records: Iterable[dict[str, Any]], names: Sequence[str]) -> dict[tuple, list[dict[str, Any]]]:
    out: dict[tuple, list[dict[str, Any]]] = defaultdict(list)
    for r in records:
        out[tuple(config_value(r, n) for n in names)].append(r)
    return dict(out)


def pm(ms: dict[str, float], digits: int = 1) -> str:
    """``mean ± std``; a single split has no spread to show, so just the mean."""
    if ms.get("n", 2) == 1:
        return f"{ms['mean']:.{digits}f}"
    return f"{ms['mean']:.{digits}f} ± {ms['std']:.{digits}f}"


def md_table(head: Sequence[str], body: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in body]
    return "\n".join(lines)


def bench_key(b: str) -> tuple[int, str]:
    return (BENCH_ORDER.index(b) if b in BENCH_ORDER else len(BENCH_ORDER), b)


def _method_key(row: dict[str, Any]) -> tuple[int, str, str]:
    m = row["method"]
    return (TABLE_ORDER.index(m) if m in TABLE_ORDER else len(TABLE_ORDER), m, row["variant"])


def method_title(method: str, fallback: str | None = None) -> str:
    """The printed name of a method: a registered method's title, else ``fallback`` (a results row's
    ``method_title``, e.g. "CLIP zero-shot" for the training-free ``clip-zs``), else the name."""
    return METHODS.get(method).title if method in METHODS else (fallback or method)


def method_table(rows: Sequence[dict[str, Any]]) -> str:
    """Tables 2-3: one row per method/variant, per benchmark top-1 and top-5 (mean ± std, n splits).

    rows: summary rows of :func:`actionhub.evaluation.results.summarize` (or of a results file)."""
    benches = sorted({r["benchmark"] for r in rows}, key=bench_key)
    by_key: dict[tuple[str, str], dict[str, dict[str, Any]]] = defaultdict(dict)
    order: list[tuple[str, str]] = []
    for r in sorted(rows, key=_method_key):
        key = (r["method"], r["variant"])
        if key not in by_key:
            order.append(key)
        by_key[key][r["benchmark"]] = r
    head = ["Method", "Class text / variant"]
    for b in benches:
        head += [f"{b} top-1 (%)", f"{b} top-5 (%)"]
    body = []
    for key in order:
        cells = [method_title(key[0], next(iter(by_key[key].values())).get("method_title")), key[1]]
        for b in benches:
            r = by_key[key].get(b)
            if r is None:
                cells += ["–", "–"]
            else:
                n = r["summary"]["top1"]["n"]
                cells += [f"{pm(r['summary']['top1'])} ({n})", pm(r["summary"]["top5"])]
        body.append(cells)
    return md_table(head, body) + ("\n\nCells: mean ± population std over splits; (n) = number of splits "
                                   "(a single split shows its value alone).")


def protocol_table(rows: Sequence[dict[str, Any]]) -> str:
    """The exact protocol of every row of the method table."""
    head = ["Benchmark", "Method", "Variant", "Splits", "Classes seen/val/unseen", "Video features",
            "Text features (encoder)", "Class text", "Model selection"]
    body = []
    for r in sorted(rows, key=lambda r: (bench_key(r["benchmark"]), _method_key(r))):
        p = r.get("protocol", {})
        first = next(iter(p.get("classes", {}).values()), {})
        counts = "/".join(str(len(first.get(k, []))) for k in ("seen", "val", "unseen")) if first else "?"
        body.append([r["benchmark"], method_title(r["method"], r.get("method_title")), r["variant"],
                     ",".join(map(str, p.get("splits", []))), counts, _features_cell(p),
                     "; ".join(f"{t} ({e})" for t,
                               e in zip(p.get("text_features", []), p.get("text_encoder", []), strict=True)),
                     CLASS_TEXT_LABEL.get(p.get("class_text"), str(p.get("class_text"))),
                     "; ".join(p.get("epoch_selection", ["?"]))])
    return md_table(head, body)


def _features_cell(protocol: dict[str, Any]) -> str:
    """The video features of a row, with the backbone that made them when recorded."""
    backbones = [b for b in protocol.get("backbone", []) if b not in ("None", "")]
    return "; ".join(protocol.get("features", [])) + (f" ({', '.join(backbones)})" if backbones else "")


def gzsl_table(rows: Sequence[dict[str, Any]]) -> str | None:
    """Generalised ZSL: per method/variant and benchmark, seen, unseen and H (mean ± std)."""
    rows = [r for r in rows if "gzsl" in r["summary"]]
    if not rows:
        return None
    head = ["Method", "Variant", "Benchmark", "Splits", "seen (%)", "unseen (%)", "H (%)", "calibration"]
    body = []
    for r in sorted(rows, key=lambda r: (bench_key(r["benchmark"]), _method_key(r))):
        g = r["summary"]["gzsl"]
        body.append([method_title(r["method"]), r["variant"], r["benchmark"], str(g["h"]["n"]), pm(g["acc_seen"]),
                     pm(g["acc_unseen"]), pm(g["h"]), ", ".join(f"{c:g}" for c in g.get("calibration", []))])
    held = next((r["protocol"].get("gzsl") for r in rows if r.get("protocol", {}).get("gzsl")), None)
    note = ("\n\nGZSL: held-out seen-class videos and the unseen-class test videos are scored over seen + unseen "
            "classes; accuracies are per-class mean top-1, H their harmonic mean (Xian et al.), calibration = "
            "calibrated-stacking gamma (Chao et al.).")
    if held:
        note += f" Hold-out: {held.get('rule', '')} (fraction {held.get('fraction')})."
    return md_table(head, body) + note


def _class_text(rec: dict[str, Any]) -> str:
    """The class text label of a run: "AD-only" for a definition-only run even when it asked for AD + VC."""
    from actionhub.evaluation.results import class_text_used  # noqa: PLC0415

    used, asked = class_text_used(rec), rec["config"]["model"]["class_text"]
    label = CLASS_TEXT_LABEL.get(used, used)
    return label if used == asked else f"{label} (no descriptions in its text features)"


def _epochs(rec: dict[str, Any]) -> Any:
    """Epochs a run trained: what it recorded as done (the config's 0 means "the auto schedule")."""
    done = rec.get("epochs_done") or (rec.get("schedule") or {}).get("epochs")
    return done if done else rec["config"]["optim"]["epochs"]


def protocol_line(records: Sequence[dict[str, Any]], extra: str = "") -> str:
    """One sentence with the protocol of a set of runs (benchmark, splits, features, text, class text)."""
    def uniq(vals: Iterable[Any]) -> str:
        return ", ".join(sorted({str(v) for v in vals}))

    synthetic = any(r["data"].get("synthetic") for r in records)
    parts = [
        f"benchmark {uniq(r['benchmark'] for r in records)}",
        f"splits {uniq(r['split'] for r in records)}",
        f"video features {uniq(r['data'].get('features') for r in records)}",
        f"text features {uniq(r['data'].get('text_features') for r in records)} "
        f"(encoder {uniq(r['data'].get('text_meta', {}).get('encoder') for r in records)})",
        f"class text {uniq(_class_text(r) for r in records)}",
        f"model selection {uniq(r['protocol'].get('epoch_selection') for r in records)}",
        f"epochs {uniq(_epochs(r) for r in records)}",
    ]
    line = "Protocol: " + "; ".join(parts) + (f"; {extra}" if extra else "") + "."
    if synthetic:
        line += " **SYNTHETIC** features: not a benchmark result."
    return line


def series_table(x_name: str, series: dict[str, dict[Any, dict[str, Any]]]) -> str:
    """Figure data as a table: one row per x value, one column per series (top-1 mean ± std)."""
    xs = sorted({x for pts in series.values() for x in pts})
    head = [x_name] + [f"{name} top-1 (%)" for name in series]
    body = [[fmt_value(x_name, x)] + [pm(series[s][x]["top1"]) if x in series[s] else "–" for s in series] for x in xs]
    return md_table(head, body)


def _matches(run_row: dict[str, Any], rep: dict[str, Any]) -> bool:
    """Whether a summary row of runs is the reported row's setting: same benchmark, the ActionHub
    method that reruns it, and every model setting the reported row states (e.g. Table 4's class text)."""
    if run_row["benchmark"] != rep["benchmark"] or run_row["method"] != rep.get("actionhub_method"):
        return False
    model = run_row.get("config", {}).get("model", {})
    return all(model.get(k) == v for k, v in rep.get("config", {}).get("model", {}).items())


def _printed(ms: dict[str, Any] | None) -> str:
    if ms is None:
        return "–"
    return f"{ms['mean']:.1f}" if ms.get("std") is None else f"{ms['mean']:.1f} ± {ms['std']:.1f}"


def reported_table(reported: Sequence[dict[str, Any]], run_rows: Sequence[dict[str, Any]] = ()) -> str:
    """Published numbers (rows marked ``reported``, :mod:`actionhub.evaluation.reported`) in their
    own table, one row per printed row; the last column shows, beside them and never merged into
    them, this report's runs of the ActionHub method that reruns that row (top-1, mean ± std (n))."""
    head = ["Source", "Row as printed", "Benchmark", "Variant", "reported top-1 (%)", "reported top-5 (%)",
            "ActionHub method", "our runs top-1 (%)"]
    body = []
    for rep in reported:   # in the order given (the shipped file follows the paper's tables)
        ours = [r for r in run_rows if not is_reported(r) and _matches(r, rep)]
        cell = "; ".join(f"{pm(r['summary']['top1'])} ({r['summary']['top1']['n']})"
                         + (f" [{r['variant']}]" if len(ours) > 1 else "")
                         + (" [SYNTHETIC]" if r.get("synthetic") else "") for r in ours) or "–"
        body.append([rep["source"]["table"], rep["source"]["row"], rep["benchmark"], rep["variant"],
                     _printed(rep["summary"].get("top1")), _printed(rep["summary"].get("top5")),
                     rep.get("actionhub_method") or "not provided", cell])
    papers = sorted({r["source"]["paper"] for r in reported})
    cites = " (with the rows it cites)" if any(r["source"].get("cites") for r in reported) else ""
    where = sorted({r["source"]["where"] for r in reported if r["source"].get("where")})
    return md_table(head, body) + ("\n\nREPORTED: numbers as printed in " + "; ".join(papers) + cites
                                   + (" (read from " + "; ".join(where) + ")" if where else "")
                                   + ", on real video; not rerun by ActionHub and never "
                                   "averaged with runs. A single number has no spread printed. The last column is "
                                   "this report's own runs of the same method, setting and benchmark, if any.")
