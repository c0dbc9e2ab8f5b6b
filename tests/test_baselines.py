"""Baselines: hand-computed losses and closed forms, learning a separable SYNTHETIC task,
and the shared train/evaluate interface (run.json, model.pt, resume, CLI)."""
import json
from dataclasses import replace

import numpy as np
import pytest
import torch

from actionhub.config import ModelConfig, OptimConfig, TrainConfig
from actionhub.demo.synthetic import SyntheticSpec, SyntheticWorld
from actionhub.engine.checkpoint import RunDirError, load_model
from actionhub.engine.evaluate import evaluate
from actionhub.engine.inputs import RunInputs
from actionhub.engine.trainer import train_run
from actionhub.models.baselines import (
    Dem,
    DemParams,
    Eszsl,
    ale_loss,
    dem_loss,
    devise_loss,
    eszsl_fit,
    eszsl_objective,
    fuse_class_text,
    sje_loss,
)
from actionhub.models.baselines import eszsl as eszsl_mod
from actionhub.models.baselines.ale import rank_weights
from actionhub.models.baselines.eszsl import eszsl_grid_search, eszsl_solve, eszsl_statistics, targets_pm1
from actionhub.models.registry import METHODS, TABLE_ORDER, get_method, parse_method_params
from actionhub.utils.errors import UserError

F = torch.tensor([[1.0, 0.95, 0.5],
                  [0.2, 0.5, 0.4]])
Y = torch.tensor([0, 0])


# ------------------------------------------------------------ hand computations
def test_devise_hinge_rank_loss_by_hand():
    # row 1: max(0, .1 + .95 - 1) + max(0, .1 + .5 - 1) = .05 ; row 2: .4 + .3 = .7
    assert devise_loss(F, Y, 0.1).item() == pytest.approx((0.05 + 0.7) / 2)


def test_sje_takes_the_most_violating_class():
    # row 1: max(1 + .95 - 1, 1 + .5 - 1) = .95 ; row 2: max(1.3, 1.2) = 1.3
    assert sje_loss(F, Y, 1.0).item() == pytest.approx((0.95 + 1.3) / 2)
    assert sje_loss(torch.tensor([[5.0, 0.0, 1.0]]), torch.tensor([0]), 1.0).item() == 0.0


def test_ale_rank_weights_are_harmonic_sums_over_the_rank():
    w = rank_weights(torch.tensor([0, 1, 2, 3]), 5)
    assert w.tolist() == pytest.approx([0.0, 1.0, 1.5 / 2, (1 + 1 / 2 + 1 / 3) / 3])
    # both rows violate with r=2 -> weight 0.75: .75 * (.95 + .5) and .75 * (1.3 + 1.2)
    assert ale_loss(F, Y, 1.0).item() == pytest.approx((0.75 * 1.45 + 0.75 * 2.5) / 2)
    # r = 1: only class 1 violates (1 + 1.5 - 2 = .5)
    assert ale_loss(torch.tensor([[2.0, 1.5, 0.0]]), torch.tensor([0]), 1.0).item() == pytest.approx(0.5)


def test_dem_least_squares_loss_by_hand():
    x = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    emb = torch.tensor([[1.0, 1.0], [0.0, 0.0]])
    w = torch.tensor([[1.0, 2.0]])
    # ||(1,0)-(1,1)||^2 = 1, ||(0,1)-(0,0)||^2 = 1 -> mean 1; + 0.5 * (1 + 4)
    assert dem_loss(x, emb, torch.tensor([0, 1]), [w], 0.5).item() == pytest.approx(3.5)


def test_class_embedding_fusion_by_hand():
    ad, vc = torch.tensor([[3.0, 0.0]]), torch.tensor([[0.0, 2.0]])
    assert fuse_class_text(ad, vc, "ad", 0.5).tolist() == [[1.0, 0.0]]
    assert fuse_class_text(ad, vc, "vc", 0.5).tolist() == [[0.0, 1.0]]
    fused = fuse_class_text(ad, vc, "ad+vc", 0.75)[0]
    assert fused.tolist() == pytest.approx((np.array([0.75, 0.25]) / np.hypot(0.75, 0.25)).tolist())


def _eszsl_case(seed=0, m=7, d=3, a=2, z=3):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(m, d)), rng.integers(0, z, m), rng.normal(size=(z, a))


def test_eszsl_closed_form_matches_a_direct_least_squares_solve():
    x, y, s = _eszsl_case()
    gamma, lam = 0.7, 0.3
    v = eszsl_fit(x, y, s, gamma, lam)
    # The objective is ||A vec(V) - vec(Y)||^2 + regularisers: stack them and solve by lstsq.
    X, S, Yt = x.T, s.T, targets_pm1(y, 3)
    d, a = X.shape[0], S.shape[0]
    kron = np.kron
    rows = [kron(S.T, X.T), np.sqrt(gamma) * kron(S.T, np.eye(d)), np.sqrt(lam) * kron(np.eye(a), X.T),
            np.sqrt(gamma * lam) * np.eye(d * a)]
    rhs = [Yt.reshape(-1, order="F"), np.zeros(S.shape[1] * d), np.zeros(a * x.shape[0]), np.zeros(d * a)]
    sol = np.linalg.lstsq(np.vstack(rows), np.concatenate(rhs), rcond=None)[0].reshape(d, a, order="F")
    assert v == pytest.approx(sol, abs=1e-9)
    f0 = eszsl_objective(v, x, y, s, gamma, lam)
    for _ in range(5):
        assert eszsl_objective(v + 1e-3 * np.random.default_rng(_).normal(size=v.shape), x, y, s, gamma, lam) > f0


def test_eszsl_statistics_are_the_same_in_chunks(monkeypatch):
    x, y, s = _eszsl_case(m=11)
    whole = eszsl_statistics(x, y, s)
    monkeypatch.setattr(eszsl_mod, "MEAN_CHUNK", 3)
    chunked = eszsl_statistics(x, y, s)
    assert chunked[0] == pytest.approx(whole[0]) and chunked[1] == pytest.approx(whole[1])
    assert whole[1] == pytest.approx(x.T @ targets_pm1(y, 3) @ s)


def test_eszsl_grid_search_agrees_with_the_direct_solve():
    x, y, s = _eszsl_case(seed=1, m=40, d=6, a=4, z=5)
    xv, yv, sv = _eszsl_case(seed=2, m=30, d=6, a=4, z=4)
    gram, xys = eszsl_statistics(x, y, s)
    grid = [0.01, 1.0, 100.0]
    g, lam, table = eszsl_grid_search(gram, xys, s, xv, yv, sv, grid)
    assert len(table) == 9
    for row in table:
        v = eszsl_solve(gram, xys, s, row["gamma"], row["lam"])
        assert row["val_top1"] == pytest.approx(100 * np.mean((xv @ v @ sv.T).argmax(1) == yv))
    assert max(r["val_top1"] for r in table) == next(r["val_top1"] for r in table if (r["gamma"], r["lam"]) == (g, lam))


# ------------------------------------------------------------ learning + interface
SEEN = [f"s{i}" for i in range(24)]
UNSEEN = [f"u{i}" for i in range(16)]
EASY = dict(sigma_video=0.9, sigma_ad=0.8, sigma_desc=1.2, view_overlap=1.0)


@pytest.fixture(scope="module")
def world():
    return SyntheticWorld(SEEN + UNSEEN, SyntheticSpec(visual_dim=64, text_dim=32, latent_dim=24, num_concepts=40,
                                                       descriptions_per_class=40, seed=3, **EASY))


def inputs(world, val=False):
    if val:
        v, u = UNSEEN[:6], UNSEEN[6:]
        return RunInputs(benchmark="synthetic", split=0, seen=SEEN, val=v, unseen=u,
                         train=world.videos(SEEN, 30, seed=1), test=world.videos(u, 15, seed=2),
                         val_set=world.videos(v, 10, seed=3), text=world.class_text(), select_epoch_on_val=True,
                         data_info={"synthetic": True, "features": "synthetic"})
    return RunInputs(benchmark="synthetic", split=0, seen=SEEN, val=(), unseen=UNSEEN,
                     train=world.videos(SEEN, 30, seed=1), test=world.videos(UNSEEN, 15, seed=2),
                     text=world.class_text(), data_info={"synthetic": True, "features": "synthetic"})


def cfg(method, epochs=6, **model):
    return TrainConfig(model=replace(ModelConfig(dim=64, k=20), **model),
                       optim=replace(OptimConfig(), epochs=epochs, batch_size=128), method=method)


@pytest.fixture(scope="module")
def trained(world, tmp_path_factory):
    root = tmp_path_factory.mktemp("baselines")
    return {m: (root / m, train_run(cfg(m), inputs(world), root / m, progress=False))
            for m in ("eszsl", "devise", "ale", "sje", "dem", "er-vse")}


@pytest.mark.parametrize("method", ["eszsl", "devise", "ale", "sje", "dem", "er-vse"])
def test_each_baseline_learns_a_separable_synthetic_task(trained, method):
    _, rec = trained[method]
    chance = 100 / len(UNSEEN)
    assert rec["status"] == "finished" and rec["method"] == method
    assert rec["metrics"]["test"]["top1"] > 4 * chance, rec["metrics"]["test"]


def test_run_records_and_models_of_baselines(trained, world):
    run_dir, rec = trained["devise"]
    saved = json.loads((run_dir / "run.json").read_text())
    assert saved["method"] == "devise" and saved["config"]["method_params"] == {"margin": 0.1}
    assert saved["method_info"]["citation"].startswith("Frome")
    assert saved["config"]["model"]["cim"] is False and saved["protocol"]["cim_pool"] == []
    model = load_model(run_dir)
    assert type(model).__name__ == "Devise"
    again = evaluate(model, inputs(world).test, UNSEEN, world.class_text(), 20)
    assert again["top1"] == pytest.approx(rec["metrics"]["test"]["top1"], abs=1e-4)   # run.json keeps 4 decimals
    e_dir, e_rec = trained["eszsl"]
    assert e_rec["selected_epoch"] is None and e_rec["history"] == []
    assert e_rec["fit"]["solver"] == "closed form" and e_rec["fit"]["selected_on"] == "val"   # carved val classes
    assert isinstance(load_model(e_dir), Eszsl)
    assert isinstance(load_model(trained["dem"][0]), Dem)


def test_er_vse_is_exactly_coco_with_ad_only_and_no_cim(trained, world, tmp_path):
    _, rec = trained["er-vse"]
    assert rec["config"]["model"]["class_text"] == "ad" and rec["config"]["model"]["cim"] is False
    ref = train_run(cfg("coco", class_text="ad", cim=False), inputs(world), tmp_path / "coco", progress=False)
    assert rec["metrics"]["test"]["top1"] == pytest.approx(ref["metrics"]["test"]["top1"])
    assert [h["loss"] for h in rec["history"]] == pytest.approx([h["loss"] for h in ref["history"]])
    assert set(rec["history"][0]) >= {"l_l"} and "l_c" not in rec["history"][0] and "l_cycle" not in rec["history"][0]


def test_iterative_baseline_resumes_to_the_same_result(world, tmp_path):
    full = train_run(cfg("ale", epochs=3), inputs(world), tmp_path / "a", progress=False)
    part = train_run(cfg("ale", epochs=3), inputs(world), tmp_path / "b", progress=False,
                     callbacks=[lambda e: e["epoch"] >= 0])
    assert part["status"] == "running"
    resumed = train_run(cfg("ale", epochs=3), inputs(world), tmp_path / "b", progress=False)
    assert [h["loss"] for h in resumed["history"]] == pytest.approx([h["loss"] for h in full["history"]], rel=1e-5)
    assert resumed["metrics"]["test"]["top1"] == pytest.approx(full["metrics"]["test"]["top1"])


def test_closed_form_is_single_shot_and_refuses_other_params(world, tmp_path):
    fixed = {"gamma": "0.1", "select_on_val": "false"}
    first = train_run(cfg("eszsl"), inputs(world), tmp_path / "e", progress=False, method_params=fixed)
    again = train_run(cfg("eszsl"), inputs(world), tmp_path / "e", progress=False, method_params=fixed)
    assert again["finished_at"] == first["finished_at"] and first["fit"]["gamma"] == 0.1
    with pytest.raises(RunDirError, match="different run"):
        train_run(cfg("eszsl"), inputs(world), tmp_path / "e", progress=False,
                  method_params={**fixed, "gamma": "10"})


def test_eszsl_chooses_its_regularisers_on_val_classes(world, tmp_path):
    rec = train_run(cfg("eszsl"), inputs(world, val=True), tmp_path / "v", progress=False,
                    method_params={"grid": "0.01,1,100"})
    assert rec["fit"]["selected_on"] == "val" and len(rec["fit"]["grid"]) == 9
    best = max(rec["fit"]["grid"], key=lambda r: r["val_top1"])
    assert rec["metrics"]["val"]["top1"] == pytest.approx(best["val_top1"], abs=1e-4)   # metrics keep 4 decimals


def test_registry_and_parameter_errors():
    assert set(TABLE_ORDER) == set(METHODS)
    with pytest.raises(UserError, match="unknown method"):
        get_method("no-such-method")
    with pytest.raises(UserError, match="no parameter"):
        get_method("devise").make_params({"gamma": "1"})
    with pytest.raises(UserError, match="not a valid float"):
        get_method("devise").make_params({"margin": "wide"})
    with pytest.raises(UserError, match="positive"):
        get_method("sje").make_params({"delta": "-1"})
    assert get_method("dem").make_params({"output_relu": "on", "hidden": "8"}) == DemParams(hidden=8, output_relu=True)
    with pytest.raises(UserError, match="NAME=VALUE"):
        parse_method_params(["margin"])


def test_cli_train_and_evaluate_a_baseline(world, tmp_path, capsys):
    from actionhub.cli import main
    from actionhub.features import save_features
    from actionhub.protocols import get_benchmark

    bench = get_benchmark("hmdb51")
    w = SyntheticWorld(bench.classes, SyntheticSpec(visual_dim=32, text_dim=16, latent_dim=12,
                                                    descriptions_per_class=10, seed=5, **EASY))
    save_features(tmp_path / "f.npz", w.videos(bench.classes, 8, seed=1))
    w.class_text().save(tmp_path / "t.npz")
    rc = main(["train", "--benchmark", "hmdb51", "--split", "0", "--features", str(tmp_path / "f.npz"),
               "--text-features", str(tmp_path / "t.npz"), "--out", str(tmp_path / "run"), "--method", "sje",
               "--method-param", "delta=0.5", "--epochs", "3", "--no-progress"])
    assert rc == 0
    assert "SJE" in capsys.readouterr().out
    rec = json.loads((tmp_path / "run" / "run.json").read_text())
    assert rec["method"] == "sje" and rec["config"]["method_params"] == {"delta": 0.5}
    assert main(["evaluate", "--runs", str(tmp_path / "run")]) == 0
    assert "sje" in capsys.readouterr().out
    assert main(["train", "--benchmark", "hmdb51", "--split", "0", "--features", str(tmp_path / "f.npz"),
                 "--text-features", str(tmp_path / "t.npz"), "--out", str(tmp_path / "r2"), "--method", "sje",
                 "--method-param", "margin=1", "--no-progress"]) == 2
    assert "no parameter" in capsys.readouterr().err
