"""``actionhub report``: every table and figure of the paper's Sec. 5.3-5.5 from saved runs.

Writes ``OUT/report.md`` and its PNG figures: Tables 2-3 (and GZSL) from runs, the published numbers
(``reported=True``) apart, Table 4 and Figs. 8-10 from sweeps, Figs. 11-12 from one split's CoCo models and
features, and training curves (the first :data:`MAX_CURVES` runs). What cannot be drawn is listed in the
report with the command that would provide it, instead of failing the report.

Docs: docs/baselines.md#report
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import numpy as np

from actionhub.engine.inputs import RunInputs
from actionhub.evaluation.metrics import round_metrics
from actionhub.evaluation.reported import family_of
from actionhub.evaluation.results import summarize
from actionhub.protocols.clip_era import CLIP_ERA_BENCHMARKS
from actionhub.report import figures
from actionhub.report.collect import Collection, Sweep, collect
from actionhub.report.tables import (
    CLASS_TEXT_LABEL,
    cell_stats,
    fmt_value,
    group_by,
    gzsl_table,
    md_table,
    method_table,
    pm,
    protocol_line,
    protocol_table,
    reported_table,
    series_table,
)
from actionhub.utils.io import atomic_write_json, atomic_write_text
from actionhub.utils.outputs import stages_folder
from actionhub.utils.runinfo import now, package_versions

log = logging.getLogger(__name__)

InputsFor = Callable[[dict[str, Any]], RunInputs]
QUALITATIVE = (("AD-only", "ad", False), ("AD+VC", "ad+vc", False), ("AD+VC w/ CIM", "ad+vc", True))
#: most runs whose training curves a report draws
MAX_CURVES = 12


def _syn(records: Sequence[dict[str, Any]]) -> str:
    return " [SYNTHETIC]" if any(r["data"].get("synthetic") for r in records) else ""


def _splits_note(records: Sequence[dict[str, Any]]) -> str:
    splits = sorted({r["split"] for r in records})
    if len(splits) == 1:
        return f"split {splits[0]} only: no spread over splits"
    return f"splits {','.join(map(str, splits))}; mean ± std over splits"


def _series(sweep: Sweep, x: str) -> dict[str, dict[Any, dict[str, Any]]]:
    """Curve data of a sweep over ``x``: one series per combination of its other varied settings."""
    others = [v for v in sweep.varied if v != x]
    out: dict[str, dict[Any, dict[str, Any]]] = {}
    for key, recs in sorted(group_by(sweep.records, others + [x]).items(), key=lambda kv: str(kv[0])):
        name = ", ".join(fmt_value(o, v) for o, v in zip(others, key[:-1], strict=False)) or "CoCo"
        out.setdefault(name, {})[key[-1]] = cell_stats(recs)
    return out


def inputs_from_record(rec: dict[str, Any], features: str | None = None, text_features: str | None = None,
                       eval_features: str | None = None) -> RunInputs:
    """The inputs of a finished run, loaded again from the paths its run.json names (or overrides)."""
    from actionhub.engine.inputs import build_inputs
    from actionhub.protocols import benchmark_of_record
    from actionhub.utils.errors import UserError

    data = rec["data"]
    feats = features or data.get("features")
    text = text_features or data.get("text_features")
    ev = eval_features or data.get("eval_features")
    for what, path in (("features", feats), ("text features", text)):
        if not path or str(path).startswith("synthetic") or not Path(str(path)).exists():
            raise UserError(f"the {what} of {rec['run_dir']} ({path}) are not on disk; pass --features/"
                            "--text-features (and --eval-features) to draw Fig. 11-12")
    return build_inputs(benchmark_of_record(rec), rec["split"], features=feats, text_features=text,
                        eval_features=ev if ev and Path(str(ev)).exists() else None)


def _qualitative_models(records: Sequence[dict[str, Any]]) -> tuple[tuple[str, int], dict[str, dict[str, Any]]] | None:
    """The three Fig. 11-12 models (AD-only, AD+VC, AD+VC w/ CIM) trained on the same
    benchmark and split with every other setting equal (the two AD+VC models also share
    alpha and k), choosing the most complete set.

    Ties prefer runs of sweeps, then the paper's alpha=0.5 and k=100, then the order of
    :data:`tables.BENCH_ORDER` and the lowest split."""
    import json as _json

    from actionhub.report.tables import bench_key

    ad_only: dict[str, dict[str, Any]] = {}
    groups: dict[tuple[str, float, int], dict[str, Any]] = {}
    for r in sorted(records, key=lambda r: ("point" not in r, "class-text" not in r.get("point", {}),
                                           r.get("method", "coco") != "coco", r["run_dir"])):
        if r.get("method", "coco") not in ("coco", "er-vse") or "gzsl" in r["protocol"]:
            continue
        m = r["config"]["model"]
        label = next((lab for lab, ct, cim in QUALITATIVE if m["class_text"] == ct and bool(m["cim"]) == cim), None)
        if label is None:
            continue
        base = _json.dumps([r["benchmark"], r["split"],
                            {k: v for k, v in m.items() if k not in ("class_text", "cim", "alpha", "k")},
                            r["config"]["optim"]], sort_keys=True)
        if label == "AD-only":
            ad_only.setdefault(base, r)
        else:
            g = groups.setdefault((base, m["alpha"], m["k"]),
                                  {"bench": r["benchmark"], "split": r["split"], "models": {}})
            g["models"].setdefault(label, r)
    for (base, _, _), g in groups.items():
        if base in ad_only:
            g["models"]["AD-only"] = ad_only[base]
    for base, r in ad_only.items():
        if not any(b == base for b, _, _ in groups):
            groups[(base, 0.5, 100)] = {"bench": r["benchmark"], "split": r["split"], "models": {"AD-only": r}}
    if not groups:
        return None

    def rank(item: tuple[tuple[str, float, int], dict[str, Any]]) -> tuple:
        (_, alpha, k), g = item
        from_sweep = sum("point" in r for r in g["models"].values())
        return (-len(g["models"]), -from_sweep, abs(alpha - 0.5) + abs(k - 100) / 100, bench_key(g["bench"]),
                g["split"])

    best = sorted(groups.items(), key=rank)[0][1]
    models = best["models"]
    return (best["bench"], best["split"]), {lab: models[lab] for lab, _, _ in QUALITATIVE if lab in models}


def _clip_era_section(rows: Sequence[dict[str, Any]], published: Sequence[dict[str, Any]], synthetic: bool,
                      data: dict[str, Any]) -> list[str]:
    """The CLIP-era table: this report's rows on the video-CLIP papers' protocols, and (with
    ``--reported``) the published video-CLIP rows in a table of their own beside them."""
    md = ["## The CLIP-era table: all classes unseen, after Kinetics-400" + (" [SYNTHETIC]" if synthetic else ""), "",
          "The protocol of the video-CLIP papers: `ucf101-full` / `hmdb51-full` test on all UCF101 / HMDB51 classes "
          "over the three official test lists, `kinetics600-zs` on the 160 unseen Kinetics-600 classes of each of "
          "three splits; training-free rows (CLIP zero-shot) train nothing, trained rows learn on Kinetics-400 "
          "classes (docs/clip.md). Not comparable with the tables above, whose protocols are Kinetics-ZSAR and Xu "
          "et al.'s half-class splits.", ""]
    if rows:
        md += [method_table(rows), "", "**Protocol of every row:**", "", protocol_table(rows), ""]
        data["clip_era"] = [{k: r[k] for k in ("benchmark", "method", "variant", "summary", "synthetic")} for r in rows]
    if published:
        md += ["### Published video-CLIP rows (not rerun)", "",
               "> **REPORTED**: zero-shot top-1 as printed by the video-CLIP papers' repositories: models fine-tuned "
               "on Kinetics-400 end to end, on real video; not computed here and never averaged with the rows above."
               + (" The rows above are SYNTHETIC: the two are not comparable." if synthetic else ""), "",
               reported_table(published, rows), ""]
        data["clip_era_reported"] = [{k: r.get(k) for k in ("benchmark", "method", "method_title", "variant",
                                                            "summary", "source")} for r in published]
    return md


def _pct(v: float) -> str:
    return "–" if v != v else f"{v:.1f}"   # NaN: no videos of that kind


def _check_classes(names: Sequence[str], allowed: Sequence[str], where: str, flag: str) -> None:
    from actionhub.utils.errors import UserError

    unknown = [n for n in names if n not in set(allowed)]
    if unknown:
        raise UserError(f"{flag}: {unknown} not among {where}; e.g. {', '.join(list(allowed)[:5])}")


@dataclass
class Section:
    """One part of the report: its Markdown lines, its data for report.json, and what could not be drawn.

    The Markdown report (:func:`build_report`) and the web app (``actionhub serve``) are both made of
    these: figures are PNG files written into the folder the section is built for and linked by name."""

    md: list[str] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)


def is_synthetic(coll: Collection) -> bool:
    """Whether any run, sweep run or stored results row of the collection is SYNTHETIC."""
    return (any(r["data"].get("synthetic") for r in coll.all_records())
            or any(r.get("synthetic") for r in coll.result_rows))


def header_section(coll: Collection, notes: Sequence[str] = ()) -> Section:
    """The SYNTHETIC warning, where the numbers come from, and the caller's notes."""
    md: list[str] = []
    if is_synthetic(coll):
        md += ["> **SYNTHETIC**: some or all numbers below were computed on generated features "
               "(`actionhub.demo.synthetic`). They show that the machinery works, not how any method does on real "
               "video.",
               ""]
    md += [f"Generated {now()} by actionhub {package_versions().get('actionhub', '?')} from {len(coll.runs)} run(s), "
           f"{len(coll.sweeps)} sweep(s) and {len(coll.result_rows)} stored results row(s).", ""]
    md += [f"- {n}" for n in notes] + ([""] if notes else [])
    return Section(md)


def methods_section(coll: Collection, reported: bool = False) -> Section:
    """Tables 2-3 (method x benchmark, with the protocol of every row), the paper's published numbers
    beside them (``reported``, or published rows among the inputs) and the GZSL table."""
    sec = Section()
    md, data = sec.md, sec.data
    synthetic = is_synthetic(coll)
    plain = [r for r in coll.runs if "gzsl" not in r["protocol"]]
    gz = [r for r in coll.runs if "gzsl" in r["protocol"]]
    main_runs = plain or gz
    all_rows = (summarize(main_runs)["rows"] if main_runs else []) + list(coll.result_rows)
    rows = [r for r in all_rows if r["benchmark"] not in CLIP_ERA_BENCHMARKS]
    clip_rows = [r for r in all_rows if r["benchmark"] in CLIP_ERA_BENCHMARKS]
    md += ["## Tables 2-3: zero-shot accuracy by method and benchmark" + (" [SYNTHETIC]" if synthetic else ""), ""]
    if rows:
        md += [method_table(rows), "", "**Protocol of every row:**", "", protocol_table(rows), ""]
        data["methods"] = [{k: r[k] for k in ("benchmark", "method", "variant", "summary", "synthetic")} for r in rows]
    elif clip_rows:
        md += ["_Every row is on a protocol of the video-CLIP papers: see the CLIP-era table below._", ""]
    else:
        md += ["No plain runs were given (only sweeps).", ""]
        sec.missing.append("Tables 2-3: pass run directories of `actionhub train --method NAME` runs")
    shown_reported = [r for r in coll.reported_rows if family_of(r) == "paper"]
    clip_reported = [r for r in coll.reported_rows if family_of(r) == "clip-era"]
    if reported:
        from actionhub.evaluation.reported import reported_rows

        for shown, family in ((shown_reported, "paper"), (clip_reported, "clip-era")):
            have = {(r["source"]["table"], r["source"]["row"], r["benchmark"]) for r in shown}
            shown += [r for r in reported_rows(family=family)
                      if (r["source"]["table"], r["source"]["row"], r["benchmark"]) not in have]
    if shown_reported:
        md += ["## Reported in the paper (published numbers, not rerun)", "",
               "> **REPORTED**: these rows are copied from the published tables (real video, the authors' "
               "features and settings); they are not computed here and are never averaged with the runs above."
               + (" The runs of this report are SYNTHETIC: the two are not comparable." if synthetic else ""), "",
               reported_table(shown_reported, rows), ""]
        data["reported"] = [{k: r.get(k) for k in ("benchmark", "method", "method_title", "variant", "summary",
                                                   "source", "actionhub_method")} for r in shown_reported]
    if clip_rows or clip_reported:
        md += _clip_era_section(clip_rows, clip_reported, synthetic, data)
    if gz:
        gz_rows = summarize(gz)["rows"]
        md += ["## Generalised zero-shot evaluation (beyond the paper)" + _syn(gz), "", gzsl_table(gz_rows) or "", "",
               protocol_line(gz), ""]
        data["gzsl"] = [{k: r[k] for k in ("benchmark", "method", "variant", "summary")} for r in gz_rows]
    return sec


def table4_section(coll: Collection) -> Section:
    """Table 4: AD / VC / AD+VC without CIM, from a sweep over class text."""
    sec = Section()
    md = sec.md
    t4 = [s for s in coll.sweeps if "class-text" in s.varied and set(s.varied) <= {"class-text", "cim"} and s.records]
    md += ["## Table 4: class descriptions (without CIM)", ""]
    if t4:
        sw = t4[0]
        recs = [r for r in sw.records if not r["config"]["model"]["cim"]] if "cim" in sw.varied else sw.records
        cells = {k[0]: cell_stats(v) for k, v in group_by(recs, ["class-text"]).items()}
        body = [[CLASS_TEXT_LABEL[ct], pm(c["top1"]), pm(c["top5"]), ",".join(map(str, c["splits"]))]
                for ct in ("ad", "vc", "ad+vc") if (c := cells.get(ct))]
        md += [md_table(["Class descriptions", "top-1 (%)", "top-5 (%)", "splits"], body), "",
               protocol_line(recs, "CIM " + ("off" if "cim" in sw.varied or not recs[0]["config"]["model"]["cim"]
                                             else "on (the sweep did not vary it)") + f"; sweep {sw.dir}"), ""]
        sec.data["table4"] = {ct: c for ct, c in cells.items()}
    else:
        md += ["_Not drawn: no sweep over class text._", ""]
        sec.missing.append("Table 4 / Fig. 10: `actionhub sweep --param class-text=ad,vc,ad+vc --param cim=on,off ...`")
    return sec


def sweep_curves_section(coll: Collection, out: Path, say: Callable[[str], None] = log.info) -> Section:
    """Fig. 8 (k) and Fig. 9 (alpha): top-1 against the setting, from sweeps over it (PNGs into ``out``)."""
    sec = Section()
    md = sec.md
    for fig_no, x, label, log_x in (("8", "k", "number of video descriptions k", True),
                                    ("9", "alpha", "fusion ratio alpha (Eq. 10, 17)", False)):
        sweeps = [s for s in coll.sweeps if x in s.varied and s.records]
        md += [f"## Fig. {fig_no}: effect of {x}", ""]
        if not sweeps:
            md += [f"_Not drawn: no sweep over {x}._", ""]
            sec.missing.append(f"Fig. {fig_no}: `actionhub sweep --param {x}=... ...`")
            continue
        for i, sw in enumerate(sweeps):
            series = _series(sw, x)
            name = f"fig{fig_no}_{x}" + (f"_{i + 1}" if i else "") + ".png"
            title = f"Fig. {fig_no}-style: top-1 vs {x} on {sw.benchmark}{_syn(sw.records)}"
            figures.line_figure(out / name, title, label, series, log_x=log_x, note=_splits_note(sw.records))
            md += [f"![Fig. {fig_no}]({name})", "", series_table(x, series), "",
                   protocol_line(sw.records, f"sweep {sw.dir}"), ""]
            sec.data[f"fig{fig_no}"] = {k: {str(xx): v for xx, v in pts.items()} for k, pts in series.items()}
            say(f"  wrote {name}")
    return sec


def cim_section(coll: Collection, out: Path, say: Callable[[str], None] = log.info) -> Section:
    """Fig. 10: with and without CIM per class text, from a sweep over cim (PNG into ``out``)."""
    sec = Section()
    md = sec.md
    md += ["## Fig. 10: Cross-action Invariance Mining", ""]
    f10 = [s for s in coll.sweeps if "cim" in s.varied and set(s.varied) <= {"class-text", "cim"} and s.records]
    if f10:
        sw = f10[0]
        groups: dict[str, dict[str, Any]] = {}
        for (ct, cim), recs in group_by(sw.records, ["class-text", "cim"]).items():
            groups.setdefault(CLASS_TEXT_LABEL[ct], {})[fmt_value("cim", cim)] = cell_stats(recs)
        order = [CLASS_TEXT_LABEL[c] for c in ("ad", "vc", "ad+vc") if CLASS_TEXT_LABEL[c] in groups]
        groups = {g: {b: groups[g][b] for b in ("w/o CIM", "w/ CIM") if b in groups[g]} for g in order}
        name = "fig10_cim.png"
        figures.cim_bars(out / name, f"Fig. 10-style: CIM on {sw.benchmark}{_syn(sw.records)}", groups,
                         note=_splits_note(sw.records))
        body = [[g] + [pm(groups[g][b]["top1"]) if b in groups[g] else "–" for b in ("w/o CIM", "w/ CIM")]
                + [f"{groups[g]['w/ CIM']['top1']['mean'] - groups[g]['w/o CIM']['top1']['mean']:+.1f}"
                   if len(groups[g]) == 2 else "–"] for g in groups]
        md += [f"![Fig. 10]({name})", "", md_table(["Class descriptions", "w/o CIM top-1 (%)", "w/ CIM top-1 (%)",
                                                    "CIM gain"], body), "",
               protocol_line(sw.records, f"sweep {sw.dir}"), ""]
        sec.data["fig10"] = groups
        say(f"  wrote {name}")
    else:
        md += ["_Not drawn: no sweep over cim._", ""]
    return sec


def qualitative_section(coll: Collection, out: Path, *, inputs_for: InputsFor | None = None,
                        features: str | None = None, text_features: str | None = None,
                        eval_features: str | None = None, tsne_classes: Sequence[str] | None = None,
                        cycle_classes: Sequence[str] | None = None, tsne_videos: int = 25, seed: int = 0,
                        say: Callable[[str], None] = log.info) -> Section:
    """Fig. 11 (t-SNE) and Fig. 12 (cycle-attention neighbours) from the AD-only, AD+VC and AD+VC w/ CIM
    models of one split (PNGs into ``out``); loads the models and their features."""
    sec = Section()
    md, data, missing = sec.md, sec.data, sec.missing
    md += ["## Fig. 11: t-SNE of video visual features and class semantic features", ""]
    picked = _qualitative_models(coll.all_records())
    qual_md: list[str] = []
    if picked is None:
        md += ["_Not drawn: no CoCo runs with AD-only / AD+VC / AD+VC w/ CIM settings._", ""]
        missing.append("Fig. 11-12: CoCo runs with --class-text ad --no-cim, --no-cim, and the default (e.g. the "
                       "class-text x cim sweep)")
    else:
        (bench, split), models = picked
        ref = next(iter(models.values()))
        try:
            inp = (inputs_for or (lambda r: inputs_from_record(r, features, text_features, eval_features)))(ref)
        except (ValueError, OSError) as e:  # a report without Fig. 11-12 is still a report
            inp = None
            md += [f"_Not drawn: {e}_", ""]
            missing.append(f"Fig. 11-12: {e}")
        if inp is not None:
            from actionhub.engine.checkpoint import load_model  # noqa: PLC0415 - torch only when drawing
            from actionhub.report.analysis import (  # noqa: PLC0415
                cycle_neighbours,
                pick_classes,
                sample_videos,
                tsne_2d,
                video_alignment,
                video_and_class_features,
            )

            syn = _syn(list(models.values()))
            classes = list(tsne_classes) if tsne_classes else pick_classes(inp, 5, 5, seed)
            _check_classes(classes, list(inp.seen) + list(inp.unseen), f"{bench} split {split}", "--tsne-class")
            if cycle_classes:
                _check_classes(cycle_classes, list(inp.unseen), f"the unseen classes of {bench} split {split}",
                               "--cycle-class")
            seen_set = set(inp.seen)
            is_seen = np.array([c in seen_set for c in classes])
            videos, labels = sample_videos(inp, classes, tsne_videos, seed)
            panels, align_rows, align_data = [], [], {}
            loaded = {label: load_model(r["run_dir"]) for label, r in models.items()}
            for label, model in loaded.items():
                vis, sem = video_and_class_features(model, inp, classes, videos)
                a = video_alignment(vis, labels, sem, is_seen)
                panels.append({"title": f"{label}\nvideo -> own class top-1 {a['top1']:.0f}% "
                                        f"(cos own {a['own_cos']:.2f}, others {a['other_cos']:.2f})",
                               "points": tsne_2d(vis, sem, seed), "labels": labels})
                align_rows.append([label, _pct(a["top1"]), _pct(a["top1_seen"]), _pct(a["top1_unseen"]),
                                   f"{a['own_cos']:.3f}", f"{a['other_cos']:.3f}",
                                   f"{models[label]['metrics']['test']['top1']:.1f}", models[label]["run_dir"]])
                align_data[label] = a
            name = "fig11_tsne.png"
            n_seen = int(is_seen.sum())
            counts = np.bincount(labels, minlength=len(classes))
            per = f"{counts.min()}" if counts.min() == counts.max() else f"{counts.min()}-{counts.max()}"
            figures.tsne_figure(out / name, f"Fig. 11-style t-SNE, {bench} split {split}: {len(labels)} videos of "
                                f"{n_seen} seen + {len(classes) - n_seen} unseen classes ({per} per class){syn}",
                                panels, classes, inp.seen)
            md += [f"![Fig. 11]({name})", "",
                   f"Small circles: {len(labels)} individual videos ({per} per class: up to {tsne_videos} drawn "
                   f"with seed {seed} from each class's videos in the run's inputs, i.e. training videos of a "
                   "seen class, test videos of an unseen one), each projected by the model (Eq. 1); triangles: "
                   "the class semantic features (Eq. 17); one colour per class; one t-SNE per model (cosine "
                   f"metric, seed {seed}). How well individual videos land on their own class, among these "
                   f"{len(classes)} classes only (chance {100 / len(classes):.0f}%): the share of videos whose "
                   "nearest class semantic feature is their own class (overall, then over the videos of seen "
                   "and of unseen classes), and a video's mean cosine with its own class semantic feature "
                   "against its mean cosine with the other classes:", "",
                   md_table(["Model", "video -> own class top-1 (%)", "seen classes (%)", "unseen classes (%)",
                             "mean cos(video, own class)", "mean cos(video, other classes)",
                             "ZSL top-1 of the run (%)", "run"], align_rows), "",
                   protocol_line(list(models.values()), "classes " + ", ".join(classes)), ""]
            data["fig11"] = {"classes": classes, "seen": [c for c in classes if c in seen_set],
                             "videos_per_class": counts.tolist(), "seed": seed, "alignment": align_data}
            say(f"  wrote {name}")
            rng = np.random.default_rng(seed + 1)
            queries = list(cycle_classes) if cycle_classes else [inp.unseen[i] for i in sorted(
                rng.choice(len(inp.unseen), min(2, len(inp.unseen)), replace=False))]
            entries, body = [], []
            for label, model in loaded.items():
                for e in cycle_neighbours(model, inp, queries):
                    entries.append({**e, "model": label})
                    body.append([e["class"], label] + [("**" + n + "**" if n == e["class"] else n) + f" ({w:.3f})"
                                                       for n, w in e["neighbours"]] + [str(e["self_rank"])])
            name = "fig12_cycle_attention.png"
            figures.cycle_figure(out / name, f"Fig. 12-style backward-pass attention (Eq. 12), {bench} split {split}"
                                 f" unseen classes{syn}", entries, list(loaded))
            qual_md += ["## Fig. 12: top-5 cycle-attention neighbours of unseen classes", "", f"![Fig. 12]({name})", "",
                        md_table(["Unseen class", "Model"] + [f"#{i}" for i in range(1, 6)] + ["rank of itself"], body),
                        "", "Rows of the backward-pass attention (Eq. 12) with the split's unseen classes as the "
                        "reconstructed set and its seen classes as the pool; the class itself in bold (red in the "
                        "figure).", "", protocol_line(list(models.values())), ""]
            data["fig12"] = entries
            say(f"  wrote {name}")
    md += qual_md
    return sec


def curves_section(coll: Collection, out: Path, say: Callable[[str], None] = log.info) -> Section:
    """The training curves (losses, lr, val accuracy by step, from run.json) of the first
    :data:`MAX_CURVES` runs with a step history (PNGs into ``out``)."""
    from actionhub.evaluation.curves import curves

    sec = Section()
    trained = [r for r in coll.runs if r.get("history")]
    if not trained:
        return sec
    md = sec.md
    md += ["## Training curves (from run.json)", ""]
    for i, r in enumerate(trained[:MAX_CURVES]):
        name = f"curves_{i + 1}_{r['benchmark']}_split{r['split']}_{r.get('method', 'coco')}.png".replace("/", "-")
        figures.curves_figure(out / name, f"{r['run_dir']}: {r.get('method', 'coco')} on {r['benchmark']} split "
                              f"{r['split']}{_syn([r])}", curves(r["history"]), r.get("selected_step"))
        md += [f"![training curves of {r['run_dir']}]({name})", "",
               f"{r['run_dir']}: {r.get('stop_reason', '')}; selected step {r.get('selected_step')}", ""]
        say(f"  wrote {name}")
    if len(trained) > MAX_CURVES:
        md += [f"_Curves of {len(trained) - MAX_CURVES} more run(s) not drawn: pass a run folder alone "
               "(`actionhub report RUN`) to see its curves._", ""]
    return sec


@stages_folder("out_dir", kind="report", what="report folder", legacy=lambda p: (p / "report.md").is_file())
def build_report(
    inputs: Iterable[str | Path] | Collection,
    out_dir: str | Path,
    *,
    inputs_for: InputsFor | None = None,
    features: str | None = None,
    text_features: str | None = None,
    eval_features: str | None = None,
    tsne_classes: Sequence[str] | None = None,
    cycle_classes: Sequence[str] | None = None,
    tsne_videos: int = 25,
    seed: int = 0,
    notes: Sequence[str] = (),
    say: Callable[[str], None] = log.info,
    reported: bool = False,
) -> Path:
    """Render ``out_dir/report.md`` and its figures from run dirs, sweep dirs and results files.

    inputs_for: record -> RunInputs for Fig. 11-12 (default: reload from the run's paths,
    with ``features``/``text_features``/``eval_features`` overriding them). Fig. 11 shows up
    to ``tsne_videos`` videos of each of its classes. ``reported``: add the paper's published
    numbers (Tables 2-4) in their own table; published rows found among the inputs (a results
    file of reported rows) are shown there too. Returns the path of report.md. The folder appears
    whole when the report is complete; an existing one is replaced only with ``overwrite=True``
    (only what a report wrote there: :func:`actionhub.utils.outputs.staged_folder`).
    """
    if tsne_videos < 1:
        from actionhub.utils.errors import UserError

        raise UserError(f"--tsne-videos must be at least 1 (videos per class in Fig. 11), got {tsne_videos}")
    coll = inputs if isinstance(inputs, Collection) else collect(inputs)
    out = Path(out_dir)   # the staging folder: the report moves to --out when it is complete
    sections = [header_section(coll, notes), methods_section(coll, reported), table4_section(coll),
                sweep_curves_section(coll, out, say), cim_section(coll, out, say),
                qualitative_section(coll, out, inputs_for=inputs_for, features=features, text_features=text_features,
                                    eval_features=eval_features, tsne_classes=tsne_classes,
                                    cycle_classes=cycle_classes, tsne_videos=tsne_videos, seed=seed, say=say),
                curves_section(coll, out, say)]
    md: list[str] = ["# ActionHub report", ""]
    data: dict[str, Any] = {"created_at": now(), "synthetic": is_synthetic(coll)}
    missing: list[str] = []
    for sec in sections:
        md += sec.md
        data.update(sec.data)
        missing += sec.missing
    if missing or coll.skipped:
        md += ["## Not included", ""]
        md += [f"- {m}" for m in missing] + [f"- skipped: {s}" for s in coll.skipped[:50]]
        md += [""]
    path = out / "report.md"
    atomic_write_text(path, "\n".join(md).rstrip() + "\n")
    atomic_write_json(out / "report.json", round_metrics(data))
    say("  wrote report.md")
    return path
