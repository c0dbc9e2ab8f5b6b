"""Sweeps: parameter parsing, the grid, resumable runs, failures recorded, the CLI."""
import json
from dataclasses import replace

import pytest

from actionhub.config import ModelConfig, OptimConfig, TrainConfig
from actionhub.demo.synthetic import SyntheticSpec, SyntheticWorld
from actionhub.engine.inputs import RunInputs
from actionhub.engine.sweep import SweepError, apply_point, expand_grid, load_sweep, parse_param, point_name, run_sweep
from actionhub.utils.errors import UserError

EASY = dict(sigma_video=0.9, sigma_ad=0.8, sigma_desc=1.2, view_overlap=1.0)


def test_parse_param_converts_to_the_config_types():
    assert parse_param("k=10,50") == ("k", [10, 50])
    assert parse_param("cim=on,off") == ("cim", [True, False])
    assert parse_param("class-text=ad,vc,ad+vc") == ("class-text", ["ad", "vc", "ad+vc"])
    assert parse_param("class_text=ad") == ("class-text", ["ad"])
    assert parse_param("alpha=0.1,0.9") == ("alpha", [0.1, 0.9])
    assert parse_param("method=coco,eszsl") == ("method", ["coco", "eszsl"])
    for bad, msg in (("kk=1", "not a sweepable"), ("k=ten", "valid int"), ("cim=maybe", "on/off"),
                     ("k", "NAME=V1"), ("k=1,1", "repeated"), ("method=kgraph", "unknown method")):
        with pytest.raises(UserError, match=msg):
            parse_param(bad)


def test_grid_is_the_cartesian_product_and_points_are_checked():
    grid = expand_grid([parse_param("k=10,50"), parse_param("cim=on,off")])
    assert grid == [{"k": 10, "cim": True}, {"k": 10, "cim": False}, {"k": 50, "cim": True}, {"k": 50, "cim": False}]
    assert point_name(grid[1]) == "k=10_cim=off"
    cfg = apply_point(TrainConfig(), {"class-text": "vc", "k": 7, "epochs": 3})
    assert (cfg.model.class_text, cfg.model.k, cfg.optim.epochs) == ("vc", 7, 3)
    with pytest.raises(SweepError, match="alpha"):
        apply_point(TrainConfig(), {"alpha": 1.5})
    with pytest.raises(SweepError, match="twice"):
        expand_grid([parse_param("k=1"), parse_param("k=2")])


SEEN = [f"s{i}" for i in range(10)]
UNSEEN = [f"u{i}" for i in range(6)]


class Inputs:
    """make_inputs for run_sweep that counts its calls; split 9 is 'broken data'."""

    def __init__(self):
        self.world = SyntheticWorld(SEEN + UNSEEN, SyntheticSpec(visual_dim=24, text_dim=12, latent_dim=8,
                                                                 num_concepts=20, descriptions_per_class=12,
                                                                 seed=2, **EASY))
        self.calls = []

    def __call__(self, split):
        self.calls.append(split)
        if split == 9:
            raise UserError("features file broken.npz is truncated")
        return RunInputs(benchmark="synthetic", split=split, seen=SEEN, val=(), unseen=UNSEEN,
                         train=self.world.videos(SEEN, 10, seed=split),
                         test=self.world.videos(UNSEEN, 5, seed=50 + split),
                         text=self.world.class_text(), data_info={"synthetic": True})


BASE = TrainConfig(model=ModelConfig(dim=16, k=5), optim=replace(OptimConfig(), epochs=2, batch_size=64))


@pytest.mark.slow
def test_sweep_trains_every_point_and_resumes_without_retraining(tmp_path):
    make = Inputs()
    params = [parse_param("class-text=ad,ad+vc"), parse_param("cim=on,off")]
    index = run_sweep(BASE, params, [0, 1], make, tmp_path / "sw", benchmark="synthetic", data={"synthetic": True},
                      progress=False, say=lambda s: None)
    assert make.calls == [0, 1]
    assert len(index["runs"]) == 8 and all(r["status"] == "finished" for r in index["runs"])
    saved = load_sweep(tmp_path / "sw")
    assert saved["params"] == {"class-text": ["ad", "ad+vc"], "cim": ["on", "off"]}
    run = next(r for r in saved["runs"] if r["split"] == 1 and r["name"] == "class-text=ad_cim=off")
    rec = json.loads((tmp_path / "sw" / "runs" / "split1" / "class-text=ad_cim=off" / "run.json").read_text())
    assert rec["config"]["model"]["class_text"] == "ad" and rec["config"]["model"]["cim"] is False
    assert rec["data"]["sweep"] == str(tmp_path / "sw") and rec["metrics"]["test"]["top1"] == run["metrics"]["top1"]
    tops = [r["metrics"][m] for r in saved["runs"] for m in ("top1", "top5")]
    assert all(v == round(v, 4) for v in tops)                       # sweep.json keeps 4 decimals
    stamp = rec["finished_at"]

    # Rerun: nothing loads, nothing trains. A larger grid trains only the new points.
    make.calls.clear()
    run_sweep(BASE, params, [0, 1], make, tmp_path / "sw", benchmark="synthetic", data={"synthetic": True},
              progress=False, say=lambda s: None)
    assert make.calls == []
    params2 = [parse_param("class-text=ad,ad+vc,vc"), parse_param("cim=on,off")]
    index = run_sweep(BASE, params2, [0], make, tmp_path / "sw", benchmark="synthetic", data={"synthetic": True},
                      progress=False, say=lambda s: None)
    assert make.calls == [0] and len(index["runs"]) == 10
    again = json.loads((tmp_path / "sw" / "runs" / "split1" / "class-text=ad_cim=off" / "run.json").read_text())
    assert again["finished_at"] == stamp
    with pytest.raises(SweepError, match="other data"):
        run_sweep(BASE, params, [0], make, tmp_path / "sw", benchmark="synthetic", data={"features": "x.npz"},
                  progress=False, say=lambda s: None)


@pytest.mark.slow
def test_failed_runs_are_recorded_and_the_sweep_goes_on(tmp_path):
    make = Inputs()
    index = run_sweep(BASE, [parse_param("k=2,4")], [9, 0], make, tmp_path / "sw", benchmark="synthetic",
                      progress=False, say=lambda s: None)
    status = {(r["split"], r["name"]): r["status"] for r in index["runs"]}
    assert status == {(9, "k=2"): "failed", (9, "k=4"): "failed", (0, "k=2"): "finished", (0, "k=4"): "finished"}
    assert "broken.npz" in next(r for r in index["runs"] if r["split"] == 9)["error"]


@pytest.mark.slow
def test_cli_sweep_round_trip(tmp_path, capsys):
    from actionhub.cli import main
    from actionhub.features import save_features
    from actionhub.protocols import get_benchmark

    bench = get_benchmark("hmdb51")
    w = SyntheticWorld(bench.classes, SyntheticSpec(visual_dim=24, text_dim=12, latent_dim=8,
                                                    descriptions_per_class=8, seed=5, **EASY))
    save_features(tmp_path / "f.npz", w.videos(bench.classes, 6, seed=1))
    w.class_text().save(tmp_path / "t.npz")
    argv = ["sweep", "--benchmark", "hmdb51", "--features", str(tmp_path / "f.npz"), "--text-features",
            str(tmp_path / "t.npz"), "--param", "cim=on,off", "--splits", "0,1", "--out", str(tmp_path / "sw"),
            "--epochs", "2", "--dim", "16", "--k", "4", "--no-progress"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "cim=off" in out and "split 1" in out and "SYNTHETIC" in out
    index = json.loads((tmp_path / "sw" / "sweep.json").read_text())
    assert len(index["runs"]) == 4 and index["data"]["features"] == str(tmp_path / "f.npz")
    assert main(argv) == 0                                    # resumes: all finished
    assert main(argv[:-1] + ["--param", "alpha=2"]) == 2      # bad grid point: clear error, nothing trained
    assert "alpha" in capsys.readouterr().err
    assert main(argv[:3] + ["--features", str(tmp_path / "f.npz"), "--text-features", str(tmp_path / "t.npz"),
                            "--param", "k=2", "--splits", "77", "--out", str(tmp_path / "x")]) == 2
