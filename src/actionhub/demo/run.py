"""The main job: the whole chain end to end on the shipped protocols, offline.

1. CoCo on the real class lists and splits of UCF101, HMDB51 and Kinetics-ZSAR with
   SYNTHETIC video and text features (:mod:`actionhub.demo.synthetic`), summarised as the
   paper's tables.
2. Real class text: every Kinetics-ZSAR definition encoded with the offline MiniLM
   encoder (plus descriptions from a caption corpus when one is configured), and one
   run on SYNTHETIC videos generated around that text geometry.
3. The report: baselines, ablations and figures on the SYNTHETIC runs.
4. A zero-shot prediction on a real short clip shipped by an installed package.

Every number computed on synthetic features is labelled SYNTHETIC: the demo shows the
machinery works, not how well CoCo does on real video.
"""
from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable

from actionhub.config import OptimConfig, TrainConfig
from actionhub.demo.plan import DEMO_PLAN, demo_world, synthetic_inputs
from actionhub.demo.synthetic import SYNTHETIC_NOTE, SyntheticSpec, SyntheticWorld
from actionhub.engine.trainer import train_run
from actionhub.evaluation.results import format_table, load_runs, summarize
from actionhub.protocols import get_benchmark
from actionhub.utils.io import atomic_write_json, atomic_write_text

log = logging.getLogger(__name__)

def real_text_run(out: Path, cfg: TrainConfig, corpus: str | None, progress: bool,
                  say: Callable[[str], None]) -> dict[str, Any]:
    """Kinetics-ZSAR split 0 with REAL class text (MiniLM over the definitions, and
    descriptions when a corpus is given) and SYNTHETIC videos whose class structure follows
    that text (:meth:`SyntheticWorld.around_text`)."""
    from actionhub.demo.class_text import demo_class_text

    bench = get_benchmark("kinetics-zsar")
    text = demo_class_text(bench.name, corpus, say=say)
    text.save(out / "kinetics-zsar_text_features.npz")
    has_vc = bool(text.meta.get("num_with_descriptions"))
    world = SyntheticWorld.around_text(bench.classes, text.ad, SyntheticSpec(seed=0))
    inp = synthetic_inputs(bench.name, 0, world, 12, 8)
    inp.text = text
    inp.data_info.update(text_features=str(out / "kinetics-zsar_text_features.npz"),
                         note=SYNTHETIC_NOTE + "; class text is real (MiniLM), videos are SYNTHETIC")
    run_cfg = replace(cfg, model=replace(cfg.model, class_text="ad+vc" if has_vc else "ad"))
    rec = train_run(run_cfg, inp, out / "runs" / "kinetics-zsar_split0_realtext", progress=progress)
    m = rec["metrics"]["test"]
    say(f"  kinetics-zsar split 0, real MiniLM class text ({run_cfg.model.class_text.upper()}), SYNTHETIC videos: "
        f"top-1 {m['top1']:.1f}  top-5 {m['top5']:.1f}  (chance {100 / m['num_classes']:.1f}) [SYNTHETIC]")
    return rec


def run_demo(
    out_dir: str | Path = "runs/demo",
    *,
    epochs: int = 8,
    corpus: str | None = None,
    report: bool = True,
    predict: bool = True,
    progress: bool = True,
    say: Callable[[str], None] = print,
) -> dict[str, Any]:
    """The main job (see the module docstring); writes everything under ``out_dir`` and
    returns the summary of the protocol runs. Finished runs are reused.

    corpus: a caption file (CSV/JSONL/Parquet, WebVid-style ``videoid``/``name`` columns)
    for the real class text's descriptions; default ``$ACTIONHUB_DEMO_CORPUS``, else AD-only.
    """
    import os

    out = Path(out_dir)
    corpus = corpus or os.environ.get("ACTIONHUB_DEMO_CORPUS") or None
    say("[1/4] CoCo on the shipped protocols with SYNTHETIC features")
    cfg = TrainConfig(optim=replace(OptimConfig(), epochs=epochs, batch_size=256))
    run_dirs = []
    for bench_name, splits, n_seen, n_eval in DEMO_PLAN:
        world = demo_world(bench_name)
        for split in splits:
            run_dir = out / "runs" / f"{bench_name}_split{split}"
            inp = synthetic_inputs(bench_name, split, world, n_seen, n_eval)
            rec = train_run(cfg, inp, run_dir, progress=progress)
            m = rec["metrics"]["test"]
            say(f"  {bench_name} split {split}: top-1 {m['top1']:.1f}  top-5 {m['top5']:.1f}  "
                f"({m['num_classes']} unseen classes, chance {100 / m['num_classes']:.1f}) [SYNTHETIC]")
            run_dirs.append(run_dir)
    summary = summarize(load_runs(run_dirs))
    summary["note"] = SYNTHETIC_NOTE
    atomic_write_json(out / "results.json", summary)
    table = format_table(summary)
    atomic_write_text(out / "summary.md", "# ActionHub demo (SYNTHETIC features)\n\n"
                      + format_table(summary, markdown=True) + "\n")
    say("")
    say(table)
    say(f"\nwrote {out / 'results.json'} and {out / 'summary.md'}")

    say("\n[2/4] Real class text (offline MiniLM encoder)")
    real_text_run(out, cfg, corpus, progress, say)

    if report:
        say("\n[3/4] Report: baselines and ablations on the SYNTHETIC runs")
        from actionhub.demo.report import demo_report

        demo_report(out, say=say, progress=progress)
    if predict:
        say("\n[4/4] Zero-shot prediction on a real clip")
        try:
            from actionhub.demo.predict import demo_predict

            demo_predict(out / "predict", say=say)
        except ImportError as e:
            say(f"prediction demo skipped: {e} (install the video extra: pip install 'actionhub[video]')")
    return summary
