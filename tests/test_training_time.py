"""Training that respects the user's time (issue 22): the thread policy and --threads, curves while
a run trains (--log tensorboard) and after (report), a progress bar in steps, the final line, and
a run whose loss diverges. Every world here is SYNTHETIC."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from actionhub.cli import main
from actionhub.config import ModelConfig, OptimConfig, TrainConfig
from actionhub.demo.synthetic import SyntheticSpec, SyntheticWorld
from actionhub.engine.inputs import RunInputs
from actionhub.engine.trainer import train_run
from actionhub.features import save_features
from actionhub.utils.threads import PAYS_FROM, check_threads, choose_threads, default_threads, torch_threads

SRC = Path(__file__).resolve().parents[1] / "src"
EASY = dict(sigma_video=0.9, sigma_ad=0.8, sigma_desc=1.2, view_overlap=1.0)


def world_inputs(n_seen=20, n_unseen=10, per_class=6):
    seen = [f"s{i:02d}" for i in range(n_seen)]
    unseen = [f"u{i:02d}" for i in range(n_unseen)]
    world = SyntheticWorld(seen + unseen, SyntheticSpec(visual_dim=32, text_dim=16, latent_dim=12, num_concepts=30,
                                                        descriptions_per_class=6, seed=5, **EASY))
    return world, RunInputs(benchmark="synthetic", split=0, seen=seen, val=(), unseen=unseen,
                            train=world.videos(seen, per_class, seed=1), test=world.videos(unseen, 4, seed=2),
                            text=world.class_text(), data_info={"synthetic": True, "features": "synthetic"})


def small_cfg(**optim):
    return TrainConfig(model=ModelConfig(dim=16, k=4), optim=replace(OptimConfig(), **optim))


@pytest.fixture()
def files(tmp_path):
    """A user benchmark file, features and class text on disk (SYNTHETIC)."""
    world, inp = world_inputs()
    classes = list(inp.seen) + list(inp.unseen)
    save_features(tmp_path / "f.npz", world.videos(classes, 6, seed=1))
    world.class_text().save(tmp_path / "t.npz")
    (tmp_path / "b.json").write_text(json.dumps({"name": "mine", "splits": [
        {"seen": list(inp.seen), "val": [], "unseen": list(inp.unseen)}]}))
    return tmp_path


def train_args(d, out, *extra):
    return ["train", "--benchmark", str(d / "b.json"), "--split", "0", "--features", str(d / "f.npz"),
            "--text-features", str(d / "t.npz"), "--out", str(out), "--dim", "16", "--k", "4", *extra]


# --------------------------------------------------------------------------- threads

def test_thread_policy(monkeypatch):
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        monkeypatch.delenv(var, raising=False)
    default = default_threads()
    assert choose_threads(3, default, 1.0) == (3, "--threads")                       # given: always
    n, why = choose_threads("auto", default, PAYS_FROM / 10)
    assert (n, why.startswith("auto: ")) == ((1, True) if default > 1 else (default, True))   # too small to pay
    assert choose_threads("auto", default, PAYS_FROM * 10)[0] == default               # big: torch's default
    assert choose_threads("auto", default + 1, 1.0) == (default + 1, "torch.set_num_threads")   # the user's count
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert choose_threads("auto", 3, 1.0) == (3, "OMP_NUM_THREADS=3")                  # the user's variable
    for bad in (0, -1, "x", "1.5", 2.5, True, None):
        with pytest.raises(ValueError, match="whole number >= 1 or 'auto'"):
            check_threads(bad)
    before = torch.get_num_threads()
    with torch_threads(1) as used:
        assert torch.get_num_threads() == 1 and used["threads"] == 1 and used["requested"] == 1
    assert torch.get_num_threads() == before                                            # restored


def test_a_run_records_its_threads(tmp_path):
    _, inp = world_inputs()
    rec = train_run(small_cfg(steps=4), inp, tmp_path / "r", progress=False, threads=1)
    assert rec["threads"]["threads"] == 1 and rec["threads"]["why"] == "--threads"
    assert "passive" in rec["threads"]["wait"] or "spin" in rec["threads"]["wait"]
    assert set(rec["seconds"]) == {"steps", "evaluation", "checkpoints"}


@pytest.mark.parametrize("verb", ["train", "sweep", "text-features", "extract", "predict"])
@pytest.mark.parametrize("value", ["0", "-2", "many"])
def test_bad_threads_are_argparse_errors(verb, value, capsys):
    with pytest.raises(SystemExit) as e:
        main([verb, "--threads", value])
    err = capsys.readouterr().err
    assert e.value.code == 2 and f"argument --threads: must be a whole number >= 1 or 'auto', got '{value}'" in err


def test_bad_threads_from_python_name_the_flag(files):
    import actionhub as ah

    with pytest.raises(ah.UserError, match=r"whole number >= 1 or 'auto', got 0 \(--threads\)"):
        ah.train(str(files / "b.json"), 0, out=files / "r", features=files / "f.npz",
                 text_features=files / "t.npz", threads=0)


# --------------------------------------------------------------------------- cheap evaluation

class CountingReads(np.ndarray):
    """Features that count how often they are read (sliced or converted), as a disk would."""

    reads = 0

    def __getitem__(self, key):
        CountingReads.reads += 1
        return np.asarray(self)[key]

    def __array__(self, dtype=None, copy=None):
        CountingReads.reads += 1
        return self.view(np.ndarray) if dtype is None else self.view(np.ndarray).astype(dtype)


def test_the_val_videos_are_read_once_per_run_not_per_evaluation(tmp_path):
    world, inp = world_inputs()
    val = ("u00", "u01", "u02")
    vs = world.videos(val, 5, seed=3)
    vs.features = vs.features.view(CountingReads)
    inp = replace(inp, val=val, unseen=inp.unseen[3:], test=inp.test.subset(inp.unseen[3:]), val_set=vs,
                  select_epoch_on_val=True)
    CountingReads.reads = 0
    rec = train_run(small_cfg(epochs=8, batch_size=32), inp, tmp_path / "r", progress=False)
    assert len([h for h in rec["history"] if "val" in h]) == 8
    assert CountingReads.reads <= 2          # once for the 8 evaluations, once for the final metrics


# --------------------------------------------------------------------------- curves

def test_tensorboard_curves_can_be_read_while_the_run_trains(tmp_path):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    _, inp = world_inputs()
    seen_live = {}

    def read_live(entry):   # a callback runs after the entry's evaluation: read what TensorBoard would
        if entry["epoch"] == 5 and not seen_live:
            acc = EventAccumulator(str(tmp_path / "r" / "tb"))
            acc.Reload()
            seen_live.update({tag: [e.step for e in acc.Scalars(tag)] for tag in acc.Tags()["scalars"]})

    rec = train_run(small_cfg(epochs=12, batch_size=32), inp, tmp_path / "r", progress=False,
                    callbacks=[read_live], loggers=("tensorboard",))
    assert rec["status"] == "finished"
    assert {"loss/l_l", "loss/l_c", "loss/l_cycle", "loss/total", "lr", "val/top1", "val/top5"} <= set(seen_live)
    assert seen_live["val/top1"] == [h["steps"] for h in rec["history"][:5] if "val" in h]   # flushed per evaluation
    acc = EventAccumulator(str(tmp_path / "r" / "tb"))
    acc.Reload()
    assert [round(e.value, 4) for e in acc.Scalars("val/top1")] == [h["val"]["top1"] for h in rec["history"]]


def test_unknown_or_missing_logger_is_one_line(files, capsys, monkeypatch):
    assert main(train_args(files, files / "r1", "--log", "wandb")) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["actionhub train: error: unknown logger 'wandb' for --log; choose one of: tensorboard"]
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "tensorboard" else real(name, *a))
    assert main(train_args(files, files / "r2", "--log", "tensorboard")) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "pip install 'actionhub[tensorboard]'" in err[0]
    assert not (files / "r1").exists() and not (files / "r2" / "run.json").exists()   # refused before any work


@pytest.mark.slow
def test_report_of_one_run_draws_its_curves(files, capsys):
    pytest.importorskip("matplotlib")
    assert main(train_args(files, files / "r", "--steps", "40", "--no-progress")) == 0
    assert main(["report", str(files / "r")]) == 0
    pngs = sorted(p.name for p in (files / "r" / "report").glob("curves_*.png"))
    assert pngs == ["curves_1_mine_split0_coco.png"]
    md = (files / "r" / "report" / "report.md").read_text()
    assert "## Training curves (from run.json)" in md and "selected step" in md


# --------------------------------------------------------------------------- saying what happens

def test_progress_in_steps_and_a_final_line_with_the_selected_step(files, capsys):
    # 120 videos at batch 512: one step an epoch, where a bar per epoch showed nothing
    assert main(train_args(files, files / "r", "--steps", "30")) == 0
    cap = capsys.readouterr()
    assert "/30 [" in cap.err and "step" in cap.err
    rec = json.loads((files / "r" / "run.json").read_text())
    last = cap.out.strip().splitlines()[-1]
    assert last == f"selected: step {rec['selected_step']} of {rec['steps_done']}, val top-1 " \
                   f"{rec['metrics']['val']['top1']:.2f}"


@pytest.mark.slow
def test_a_diverging_run_stops_with_its_step_and_the_likely_setting(files, capsys):
    args = train_args(files, files / "r", "--lr", "1e30", "--steps", "50", "--no-progress")
    # as a user runs it (logging set up by the CLI): one line on stderr, exit 1
    cli = "import sys; from actionhub.cli import main; sys.exit(main(sys.argv[1:]))"
    done = subprocess.run([sys.executable, "-c", cli, *args], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(SRC)}, timeout=300)
    err = done.stderr.strip().splitlines()
    assert done.returncode == 1 and len(err) == 1, done.stderr
    assert "diverged at step" in err[0] and "--lr 1e+30 is likely too high" in err[0]
    assert "top-1" not in done.stdout                            # no metrics reported as results
    rec = json.loads((files / "r" / "run.json").read_text())
    assert rec["status"] == "diverged" and "metrics" not in rec and not (files / "r" / "model.pt").exists()
    assert main(["evaluate", "--runs", str(files / "r")]) == 2
    assert "status 'diverged'" in capsys.readouterr().err
    assert main(args) == 1 and "diverged at step" in capsys.readouterr().err   # the same command: the same answer
