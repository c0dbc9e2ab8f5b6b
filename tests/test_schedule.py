"""Training that fits the data: the step-aware schedule, validation classes carved from the seen
classes (selection, early stopping, refit), seeds per split, and users' own benchmark files.
Every world here is SYNTHETIC."""
import json
from dataclasses import replace

import numpy as np
import pytest

from actionhub.cli import main
from actionhub.config import ConfigError, ModelConfig, OptimConfig, TrainConfig, with_overrides
from actionhub.demo.synthetic import SyntheticSpec, SyntheticWorld
from actionhub.engine.checkpoint import load_model
from actionhub.engine.evaluate import evaluate
from actionhub.engine.inputs import RunInputs
from actionhub.engine.schedule import SETTLED, plan_schedule, stop_early
from actionhub.engine.trainer import train_run
from actionhub.engine.validation_split import (
    ValidationSplitError,
    carve_classes,
    carve_inputs,
    needs_validation,
    num_val_classes,
)
from actionhub.features import save_features
from actionhub.protocols import get_benchmark
from actionhub.protocols.user import BenchmarkFileError, benchmark_from_json, check_benchmark_json

EASY = dict(sigma_video=0.9, sigma_ad=0.8, sigma_desc=1.2, view_overlap=1.0)


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny models: one torch thread is faster than two fighting over a busy machine."""
    import torch

    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def world_300(n_seen=30, per_class=10, n_unseen=20, seed=3):
    """A SYNTHETIC 300-video split: 30 seen classes x 10 videos, 20 unseen classes."""
    seen = [f"s{i:02d}" for i in range(n_seen)]
    unseen = [f"u{i:02d}" for i in range(n_unseen)]
    world = SyntheticWorld(seen + unseen, SyntheticSpec(visual_dim=32, text_dim=32, latent_dim=16, num_concepts=40,
                                                        descriptions_per_class=10, seed=seed, **EASY))
    inp = RunInputs(benchmark="synthetic", split=0, seen=seen, val=(), unseen=unseen,
                    train=world.videos(seen, per_class, seed=1), test=world.videos(unseen, 5, seed=2),
                    text=world.class_text(), data_info={"synthetic": True, "features": "synthetic"})
    return world, inp


def test_the_auto_schedule_gives_small_splits_min_steps_and_large_ones_ten_epochs():
    oc = OptimConfig()
    small = plan_schedule(300, oc)                       # 1 step an epoch at batch 512
    assert (small.steps_per_epoch, small.total_steps, small.epochs) == (1, 1000, 1000)
    assert small.eval_every == 20 and small.rule.startswith("auto: max(10 epochs")
    kinetics = plan_schedule(212_577, oc)                # 416 steps an epoch: 10 epochs beat the floor
    assert (kinetics.total_steps, kinetics.epochs, kinetics.warmup_steps) == (4160, 10, 416)
    assert plan_schedule(300, replace(oc, epochs=10)).total_steps == 10          # explicit epochs: exactly
    s = plan_schedule(1200, replace(oc, steps=7, warmup_steps=2))
    assert (s.total_steps, s.epochs, s.warmup_steps, s.epoch_steps(0), s.epoch_steps(2), s.epoch_steps(3)) == \
        (7, 3, 2, 3, 1, 0)
    with pytest.raises(ConfigError, match="val_classes must be"):
        with_overrides(TrainConfig(), {"val_classes": 2.5})
    with pytest.raises(ConfigError, match=r"steps must be >= 0, got -1 \(--steps\)"):
        with_overrides(TrainConfig(), {"steps": -1})


@pytest.mark.slow
def test_cim_trains_under_the_default_schedule_on_a_300_video_split(tmp_path):
    _, inp = world_300()
    cfg = TrainConfig(model=ModelConfig(dim=32, k=5))    # the paper's model, ActionHub's default schedule
    rec = train_run(cfg, inp, tmp_path / "auto", progress=False)
    cyc = [h["l_cycle"] for h in rec["history"]]
    assert len(cyc) == rec["epochs_done"] and rec["steps_done"] == rec["history"][-1]["steps"]
    assert rec["schedule"]["total_steps"] == 1000 and rec["schedule"]["rule"].startswith("auto: max(10 epochs")
    assert cyc[-1] <= 0.7 * cyc[0], (cyc[0], cyc[-1])   # falls by >= 30 % from its first recorded value
    # ... and the run ends once the val top-1 stopped improving and the cycle loss settled, not at 1000 steps
    assert rec["stop_reason"].startswith("early stop") and "l_cycle settled" in rec["stop_reason"]
    assert rec["steps_done"] < 1000
    assert rec["seed"] == 0 and rec["protocol"]["epoch_selection"].startswith("val (6 val classes carved")
    # The old default (10 epochs = 10 steps here) leaves the cycle loss where it started.
    old = train_run(replace(cfg, optim=replace(cfg.optim, epochs=10)), inp, tmp_path / "old", progress=False)
    assert old["steps_done"] == 10 and old["history"][-1]["l_cycle"] > 0.8 * cyc[0] > 2 * cyc[-1]


def test_val_class_selection_picks_an_earlier_epoch_than_the_last(tmp_path):
    _, inp = world_300()
    # A learning rate far too high for this world: the val top-1 peaks early, then wanders.
    cfg = TrainConfig(model=ModelConfig(dim=32, k=5, cim=False, class_text="ad"),
                      optim=replace(OptimConfig(), steps=60, lr=0.3, patience=0))
    rec = train_run(cfg, inp, tmp_path / "v", progress=False)
    vals = [h["val"]["top1"] for h in rec["history"] if "val" in h]
    evaluated = [h["epoch"] for h in rec["history"] if "val" in h]
    assert rec["selected_epoch"] == evaluated[int(np.argmax(vals))]
    assert rec["selected_epoch"] != rec["epochs_done"] - 1, vals
    assert rec["selected_step"] == rec["selected_epoch"] + 1
    # model.pt holds the selected weights: they score the val classes at the selected value.
    model = load_model(tmp_path / "v")
    again = evaluate(model, carve_inputs(inp, 0.2).val_set, rec["protocol"]["val"], inp.text, 5)
    assert again["top1"] == pytest.approx(max(vals), abs=1e-3)


def test_early_stopping_waits_for_patience_and_a_settled_loss(tmp_path):
    _, inp = world_300()
    cfg = TrainConfig(model=ModelConfig(dim=32, k=5, cim=False, class_text="ad"),
                      optim=replace(OptimConfig(), steps=400, min_steps=40, lr=0.3, patience=2))
    rec = train_run(cfg, inp, tmp_path / "e", progress=False)
    assert rec["stop_reason"].startswith("early stop") and rec["steps_done"] < 400
    assert rec["steps_done"] == rec["history"][-1]["steps"]
    evals = [h for h in rec["history"] if "val" in h]
    assert max(h["val"]["top1"] for h in evals[-2:]) <= max(h["val"]["top1"] for h in evals[:-2])
    assert evals[-3]["loss"] - evals[-1]["loss"] < SETTLED * evals[-3]["loss"]     # no CIM: the total loss


def test_the_stopping_rule_by_hand():
    def history(vals, losses, key="l_cycle"):
        return [{"epoch": i, "steps": 10 * (i + 1), "loss": 9.0, key: loss, "val": {"top1": v}}
                for i, (v, loss) in enumerate(zip(vals, losses, strict=True))]

    still_falling = history([50, 40, 40, 40], [4.0, 3.5, 3.0, 2.5])
    assert stop_early(still_falling, 3, 3, "l_cycle") is None            # val stuck, cycle loss still falls 38 %
    settled = history([50, 40, 40, 40], [4.0, 3.95, 3.9, 3.85])
    why = stop_early(settled, 3, 3, "l_cycle")
    assert why.startswith("early stop at step 40 (epoch 4)") and "l_cycle settled (4 -> 3.85: 3.7% < 5%" in why
    assert stop_early(settled, 2, 3, "l_cycle") is None                  # val improved 2 evaluations ago
    assert stop_early(settled, 3, 0, "l_cycle") is None                  # patience 0: never
    assert stop_early(history([50, 40, 40, 40], [9, 9, 9, 9], key="l_l"), 3, 3, "l_cycle").startswith("early stop")


def test_carving_is_deterministic_per_split_and_never_touches_unseen_classes():
    seen = [f"c{i}" for i in range(51)]
    a, b = carve_classes(seen, 10, 3), carve_classes(list(reversed(seen)), 10, 3)
    assert set(a[1]) == set(b[1]) and len(a[1]) == 10           # the seen list's order does not matter
    assert set(a[0]) | set(a[1]) == set(seen) and not set(a[0]) & set(a[1])
    assert set(carve_classes(seen, 10, 4)[1]) != set(a[1])       # another split, other classes
    assert num_val_classes(0.2, 51) == 10 and num_val_classes(3, 51) == 3 and num_val_classes(0, 51) == 0
    with pytest.raises(ValidationSplitError, match="leaves no seen class"):
        num_val_classes(51, 51)
    _, inp = world_300()
    carved = carve_inputs(inp, 0.2)
    assert set(carved.val) & set(inp.unseen) == set() and list(carved.unseen) == list(inp.unseen)
    assert len(carved.test) == len(inp.test)
    assert set(carved.train.labels) == set(carved.seen) and set(carved.val_set.labels) == set(carved.val)
    assert carved.data_info["validation"]["classes"] == list(carved.val) == list(carve_inputs(inp, 0.2).val)
    assert not needs_validation(TrainConfig(), carved)                      # carved once
    own = replace(inp, val=("s00",))
    assert not needs_validation(TrainConfig(), own)                         # the protocol's own val classes
    assert not needs_validation(with_overrides(TrainConfig(), {"val_classes": 0}), inp)


@pytest.mark.slow
def test_refit_retrains_on_all_seen_classes_for_the_selected_steps(tmp_path):
    _, inp = world_300()
    cfg = TrainConfig(model=ModelConfig(dim=32, k=5), optim=replace(OptimConfig(), steps=30, refit=True))
    rec = train_run(cfg, inp, tmp_path / "r", progress=False)
    sel = json.loads((tmp_path / "r" / "select" / "run.json").read_text())
    v = rec["protocol"]["validation"]
    assert v["refit_steps"] == sel["selected_step"] and rec["steps_done"] == v["refit_steps"]
    assert sorted(rec["protocol"]["seen"]) == sorted(inp.seen) and rec["protocol"]["val"] == []
    assert len(sel["protocol"]["val"]) == 6 and rec["protocol"]["epoch_selection"].startswith("refit on all seen")
    again = train_run(cfg, inp, tmp_path / "r", progress=False)             # finished: nothing retrains
    assert again["finished_at"] == rec["finished_at"]


def test_rerunning_a_refit_command_reuses_it_and_other_steps_are_refused(tmp_path, capsys):
    bench = get_benchmark("hmdb51")
    world = SyntheticWorld(bench.classes, SyntheticSpec(visual_dim=24, text_dim=16, latent_dim=12,
                                                         descriptions_per_class=8, seed=3))
    save_features(tmp_path / "f.npz", world.videos(bench.classes, 3, seed=1))
    world.class_text().save(tmp_path / "t.npz")
    args = ["train", "--benchmark", "hmdb51", "--split", "1", "--features", str(tmp_path / "f.npz"),
            "--text-features", str(tmp_path / "t.npz"), "--out", str(tmp_path / "r"), "--steps", "30",
            "--dim", "8", "--k", "4", "--batch-size", "64", "--no-progress", "--refit"]
    assert main(args) == 0
    refit = json.loads((tmp_path / "r" / "run.json").read_text())
    assert refit["config"]["optim"]["steps"] != 30        # the refit ran for the steps chosen on val
    capsys.readouterr()
    assert main(args) == 0 and "reused" in capsys.readouterr().out   # ... yet the same command is the same run
    args[args.index("--steps") + 1] = "40"
    assert main(args) == 2 and "--steps 30 (now 40)" in capsys.readouterr().err


def _bench_json(classes_seen, classes_unseen, **extra):
    return {"name": "my-bench", "splits": [{"seen": classes_seen, "val": [], "unseen": classes_unseen},
                                           {"seen": classes_unseen[:5] + classes_seen[5:], "val": [],
                                            "unseen": classes_seen[:5] + classes_unseen[5:]}], **extra}


def test_benchmark_file_check_lists_every_problem(tmp_path, capsys):
    bad = {"name": "x", "classes": ["a", "b", "c", "d"], "extra": 1,
           "splits": [{"seen": ["a", "b", "b"], "val": ["c"], "unseen": ["c", "zz"]}, {"seen": [], "unseen": ["d"]}],
           "definitions": {"q": "a q"}}
    errs = check_benchmark_json(bad)
    for part in ("unknown key(s) 'extra'", "splits[0].seen: duplicate class(es) 'b'",
                 "splits[0].unseen: 1 class(es) not in \"classes\": 'zz'", "splits[0]: 1 class(es) both val and unseen",
                 "splits[1].seen is empty", "definitions: 1 class(es) in no split: 'q'"):
        assert any(part in e for e in errs), (part, errs)
    (tmp_path / "bad.json").write_text(json.dumps(bad))
    assert main(["benchmarks", "check", str(tmp_path / "bad.json")]) == 2
    err = capsys.readouterr().err
    assert "6 problem(s)" in err and "splits[1].seen is empty" in err and "Traceback" not in err
    (tmp_path / "broken.json").write_text("{not json")
    assert main(["benchmarks", "check", str(tmp_path / "broken.json")]) == 2
    assert "not valid JSON" in capsys.readouterr().err
    good = _bench_json([f"s{i}" for i in range(10)], [f"u{i}" for i in range(8)], definitions={"s0": "do s0"})
    (tmp_path / "good.json").write_text(json.dumps(good))
    assert main(["benchmarks", "check", str(tmp_path / "good.json")]) == 0
    out = capsys.readouterr().out
    assert "is valid: 18 classes, 2 split(s)" in out and "17 class(es) without a definition" in out
    b = benchmark_from_json(good)
    assert b.definitions["s0"] == "do s0" and b.split(1).unseen[:5] == ("s0", "s1", "s2", "s3", "s4")
    with pytest.raises(BenchmarkFileError, match="is a shipped protocol"):
        (tmp_path / "ucf.json").write_text(json.dumps({**good, "name": "ucf101"}))
        get_benchmark(str(tmp_path / "ucf.json"))


@pytest.mark.slow
def test_a_user_benchmark_trains_with_seeds_evaluates_and_reports(tmp_path, capsys):
    seen, unseen = [f"s{i:02d}" for i in range(20)], [f"u{i:02d}" for i in range(10)]
    world = SyntheticWorld(seen + unseen, SyntheticSpec(visual_dim=32, text_dim=32, latent_dim=16, num_concepts=40,
                                                        descriptions_per_class=10, seed=4, **EASY))
    save_features(tmp_path / "feats.npz", world.videos(seen + unseen, 8, seed=1))
    world.class_text().save(tmp_path / "text.npz")
    bench = tmp_path / "mine.json"
    bench.write_text(json.dumps(_bench_json(seen, unseen)))
    common = ["--benchmark", str(bench), "--features", str(tmp_path / "feats.npz"), "--text-features",
              str(tmp_path / "text.npz"), "--dim", "16", "--k", "4", "--steps", "20", "--no-progress"]
    assert main(["train", "--split", "1", "--seeds", "0,1", "--out", str(tmp_path / "runs" / "s1"), *common]) == 0
    assert main(["train", "--split", "0", "--out", str(tmp_path / "runs" / "s0"), *common]) == 0
    out = capsys.readouterr().out
    assert "on my-bench split 1" in out and "epoch selection: val (4 val classes carved" in out
    r1 = json.loads((tmp_path / "runs" / "s1" / "seed1" / "run.json").read_text())
    assert r1["benchmark"] == "my-bench" and r1["seed"] == 2 and r1["data"]["benchmark_file"] == str(bench.resolve())
    assert set(r1["protocol"]["unseen"]) == set(seen[:5] + unseen[5:])
    runs = [str(tmp_path / "runs" / "s1" / "seed0"), str(tmp_path / "runs" / "s1" / "seed1"),
            str(tmp_path / "runs" / "s0")]
    assert main(["evaluate", "--benchmark", str(bench), "--runs", *runs, "--out", str(tmp_path / "res.json")]) == 0
    out = capsys.readouterr().out
    assert "seeds: coco" in out and "2 seeds on split(s) 1" in out
    row = json.loads((tmp_path / "res.json").read_text())["rows"][0]
    assert row["summary"]["top1"]["n"] == 2 and row["summary"]["seed_spread"]["splits"] == [1]
    per = {(p["split"], p["seed"]): p["top1"] for p in row["splits"]}
    assert row["summary"]["top1"]["mean"] == pytest.approx(
        ((per[(1, 0)] + per[(1, 1)]) / 2 + per[(0, 0)]) / 2, abs=1e-3)
    assert main(["report", str(tmp_path / "res.json"), "--out", str(tmp_path / "report")]) == 0
    md = (tmp_path / "report" / "report.md").read_text()
    assert "my-bench" in md
