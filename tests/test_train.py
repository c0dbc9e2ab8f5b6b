"""CoCo model and training: gradients, a synthetic round trip, resume, run records."""
import json
from dataclasses import replace

import numpy as np
import pytest
import torch

from actionhub.config import ModelConfig, OptimConfig, TrainConfig
from actionhub.demo.synthetic import SyntheticSpec, SyntheticWorld
from actionhub.engine.checkpoint import RunDirError, load_model
from actionhub.engine.inputs import RunInputs
from actionhub.engine.schedule import lr_factor
from actionhub.engine.trainer import train_run
from actionhub.models.coco.model import CoCo

# A deliberately easy SYNTHETIC world: these tests check the pipeline, not the noise model.
EASY = dict(sigma_video=0.9, sigma_ad=0.8, sigma_desc=1.2, view_overlap=1.0)
SEEN = [f"s{i}" for i in range(24)]
UNSEEN = [f"u{i}" for i in range(16)]


def floats(obj):
    """Every float inside nested dicts/lists (to check how JSON metrics were rounded)."""
    if isinstance(obj, float):
        yield obj
    elif isinstance(obj, dict):
        for v in obj.values():
            yield from floats(v)
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            yield from floats(v)


def at_most_4_decimals(obj) -> bool:
    vals = [v for v in floats(obj) if v == v]   # NaN has no decimals to count
    return bool(vals) and all(v == round(v, 4) for v in vals)


def tiny_inputs(**kw):
    world = SyntheticWorld(SEEN + UNSEEN, SyntheticSpec(visual_dim=64, text_dim=32, latent_dim=24,
                                                         num_concepts=40, descriptions_per_class=40, seed=3, **EASY))
    return RunInputs(benchmark="synthetic", split=0, seen=SEEN, val=(), unseen=UNSEEN,
                     train=world.videos(SEEN, 30, seed=1), test=world.videos(UNSEEN, 15, seed=2),
                     text=world.class_text(), data_info={"synthetic": True, "features": "synthetic"}, **kw)


def cfg(epochs=6, **model):
    return TrainConfig(model=replace(ModelConfig(dim=64, k=20), **model),
                       optim=replace(OptimConfig(), epochs=epochs, batch_size=128, warmup_epochs=1))


def test_gradients_flow_only_into_the_projections():
    model = CoCo(8, 6, ModelConfig(dim=4))
    assert {n for n, _ in model.named_parameters()} == {"visual.weight", "visual.bias", "text.weight", "text.bias"}
    x, ad, vc = torch.randn(5, 8), torch.randn(3, 6), torch.randn(3, 6)
    pool = torch.randn(2, 6)
    _, losses = model(x, ad, vc, torch.tensor([0, 1, 2, 0, 1]), pool, pool)
    losses["loss"].backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name
    for frozen in (x, ad, vc, pool):
        assert frozen.grad is None and not frozen.requires_grad


def test_cycle_loss_reaches_the_text_projection_through_the_pool():
    torch.manual_seed(0)
    model = CoCo(8, 6, ModelConfig(dim=4, gamma=1.0))
    x, ad = torch.randn(5, 8), torch.randn(3, 6)
    pool = torch.randn(2, 6, requires_grad=True)
    _, losses = model(x, ad, ad, torch.tensor([0, 1, 2, 0, 1]), pool, pool)
    losses["l_cycle"].backward()
    assert pool.grad is not None and pool.grad.abs().sum() > 0


def test_lr_schedule_warms_up_then_anneals_to_zero():
    assert lr_factor(0, 100, 10) == pytest.approx(0.1)
    assert lr_factor(9, 100, 10) == pytest.approx(1.0)
    assert lr_factor(10, 100, 10) == pytest.approx(1.0)
    assert lr_factor(55, 100, 10) == pytest.approx(0.5)
    assert lr_factor(100, 100, 10) == pytest.approx(0.0)


@pytest.mark.slow
def test_train_evaluate_round_trip_beats_chance_by_a_wide_margin(tmp_path):
    rec = train_run(cfg(), tiny_inputs(), tmp_path / "run", progress=False)
    chance = 100 / len(UNSEEN)
    assert rec["status"] == "finished"
    assert rec["metrics"]["test"]["top1"] > 4 * chance
    saved = json.loads((tmp_path / "run" / "run.json").read_text())
    # No val classes in the protocol: 20% of the seen classes are carved for selection (default).
    assert saved["protocol"]["unseen"] == UNSEEN and len(saved["protocol"]["val"]) == 5
    assert sorted(saved["protocol"]["seen"] + saved["protocol"]["val"]) == sorted(SEEN)
    assert saved["protocol"]["epoch_selection"].startswith("val (5 val classes carved")
    assert saved["config"]["model"]["dim"] == 64 and saved["versions"]["torch"]
    assert saved["data"]["synthetic"] is True
    assert len(saved["history"]) == 6
    model = load_model(tmp_path / "run")
    assert isinstance(model, CoCo) and model.cfg.dim == 64


@pytest.mark.slow
def test_killed_run_resumes_to_the_same_result(tmp_path):
    full = train_run(cfg(epochs=4), tiny_inputs(), tmp_path / "a", progress=False)
    part = train_run(cfg(epochs=4), tiny_inputs(), tmp_path / "b", progress=False,
                     callbacks=[lambda e: e["epoch"] >= 1])   # ends the process after epoch 1, as if killed
    assert part["status"] == "running" and len(part["history"]) == 2
    resumed = train_run(cfg(epochs=4), tiny_inputs(), tmp_path / "b", progress=False)
    assert [h["loss"] for h in resumed["history"]] == pytest.approx([h["loss"] for h in full["history"]], rel=1e-5)
    assert resumed["metrics"]["test"]["top1"] == pytest.approx(full["metrics"]["test"]["top1"])


def test_a_run_directory_refuses_a_different_run(tmp_path):
    train_run(cfg(epochs=2), tiny_inputs(), tmp_path / "r", progress=False, callbacks=[lambda e: e["epoch"] >= 0])
    with pytest.raises(RunDirError, match="different run"):
        train_run(cfg(epochs=2, alpha=0.3), tiny_inputs(), tmp_path / "r", progress=False)


@pytest.mark.slow
def test_epoch_selection_on_val_classes(tmp_path):
    world = SyntheticWorld(SEEN + UNSEEN, SyntheticSpec(visual_dim=64, text_dim=32, latent_dim=24,
                                                         num_concepts=40, descriptions_per_class=40, seed=3, **EASY))
    val, test = UNSEEN[:6], UNSEEN[6:]
    inp = RunInputs(benchmark="synthetic", split=0, seen=SEEN, val=val, unseen=test,
                    train=world.videos(SEEN, 20, seed=1), test=world.videos(test, 10, seed=2),
                    val_set=world.videos(val, 10, seed=3), text=world.class_text(), select_epoch_on_val=True)
    rec = train_run(cfg(epochs=3), inp, tmp_path / "v", progress=False)
    vals = [h["val"]["top1"] for h in rec["history"]]
    assert rec["selected_epoch"] == int(np.argmax(vals))
    assert rec["protocol"]["epoch_selection"] == "val"
    assert rec["metrics"]["val"]["top1"] == pytest.approx(max(vals))
    # run.json: metrics and per-epoch val metrics keep 4 decimals (percentages like 44.6667), losses stay exact.
    saved = json.loads((tmp_path / "v" / "run.json").read_text())
    assert saved["metrics"] == rec["metrics"] and at_most_4_decimals(saved["metrics"])
    assert at_most_4_decimals([h["val"] for h in saved["history"]])
    assert not at_most_4_decimals([h["loss"] for h in saved["history"]])
