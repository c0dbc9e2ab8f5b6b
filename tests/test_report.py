"""Report: tables and figures from saved runs, sweeps and results files; the demo hook."""
import json
import shutil
from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import pytest

from actionhub.cli import main
from actionhub.config import ModelConfig, OptimConfig, TrainConfig
from actionhub.demo.synthetic import SyntheticSpec, SyntheticWorld
from actionhub.engine.inputs import build_inputs
from actionhub.engine.sweep import parse_param, run_sweep
from actionhub.engine.trainer import train_run
from actionhub.evaluation.metrics import mean_std
from actionhub.features import save_features
from actionhub.protocols import get_benchmark
from actionhub.report import figures
from actionhub.report.analysis import cycle_neighbours, sample_videos, tsne_2d, video_alignment
from actionhub.report.build import _qualitative_models
from actionhub.report.tables import pm
from actionhub.utils.errors import UserError

EASY = dict(sigma_video=0.9, sigma_ad=0.8, sigma_desc=1.2, view_overlap=1.0)
PNG = b"\x89PNG\r\n\x1a\n"
BASE = TrainConfig(model=ModelConfig(dim=24, k=6), optim=replace(OptimConfig(), epochs=3, batch_size=64))


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """SYNTHETIC hmdb51 files on disk, CoCo + two baselines on splits 0-1, and three sweeps on split 0."""
    root = tmp_path_factory.mktemp("report")
    bench = get_benchmark("hmdb51")
    w = SyntheticWorld(bench.classes, SyntheticSpec(visual_dim=32, text_dim=16, latent_dim=12, num_concepts=30,
                                                    descriptions_per_class=12, seed=5, **EASY))
    save_features(root / "f.npz", w.videos(bench.classes, 10, seed=1))
    w.class_text().save(root / "t.npz")
    inputs = {s: build_inputs(bench, s, features=root / "f.npz", text_features=root / "t.npz") for s in (0, 1)}
    runs = []
    for method in ("coco", "eszsl", "devise"):
        for s in (0, 1):
            d = root / "runs" / f"{method}_{s}"
            train_run(replace(BASE, method=method), inputs[s], d, progress=False)
            runs.append(d)
    sweeps = {}
    for name, params in (("ct", ["class-text=ad,ad+vc", "cim=on,off"]), ("k", ["k=2,6"]), ("alpha", ["alpha=0.3,0.7"])):
        sweeps[name] = root / "sweeps" / name
        run_sweep(BASE, [parse_param(p) for p in params], [0], lambda s: inputs[s], sweeps[name], benchmark="hmdb51",
                  data={"features": str(root / "f.npz")}, progress=False, say=lambda s: None)
    return SimpleNamespace(root=root, runs=runs, sweeps=sweeps)


@pytest.mark.slow
def test_full_report_from_runs_and_sweeps(saved, tmp_path, capsys):
    out = tmp_path / "rep"
    assert main(["report", *map(str, saved.runs), *map(str, saved.sweeps.values()), "--out", str(out)]) == 0
    md = (out / "report.md").read_text()
    for name in ("fig8_k.png", "fig9_alpha.png", "fig10_cim.png", "fig11_tsne.png", "fig12_cycle_attention.png"):
        blob = (out / name).read_bytes()
        assert blob.startswith(PNG) and len(blob) > 10_000, name
        assert f"]({name})" in md
    assert "SYNTHETIC" in md and "Not included" not in md
    # Table 2-3 cells are the mean ± std of the runs; rows in the paper's order.
    tops = [json.loads((saved.root / "runs" / f"coco_{s}" / "run.json").read_text())["metrics"]["test"]["top1"]
            for s in (0, 1)]
    assert pm(mean_std(tops)) + " (2)" in md
    table = md.split("## Tables 2-3")[1].split("**Protocol")[0]
    assert table.index("| DEVISE |") < table.index("| ESZSL |") < table.index("| CoCo |")
    # Every table states its protocol.
    assert md.count("Protocol: benchmark hmdb51") >= 5
    # HMDB51 has no val classes: 5 of the 26 seen ones are carved for selection (--val-classes 0.2).
    assert "| hmdb51 | CoCo | AD+VC CIM k=6 alpha=0.5 | 0,1 | 21/5/25 |" in md
    assert "val (5 val classes carved from the seen classes)" in md
    t4 = md.split("## Table 4")[1].split("## Fig. 8")[0]
    assert t4.index("AD-only") < t4.index("AD + VC") and "CIM off" in t4
    # Fig. 11-12 use the three CoCo models of the class-text x cim sweep, loaded from their run dirs.
    f11 = md.split("## Fig. 11")[1]
    assert "sweeps/ct/runs/split0/class-text=ad_cim=off" in f11 and "class-text=ad+vc_cim=on" in f11
    assert "rank of itself" in md
    data = json.loads((out / "report.json").read_text())
    assert set(data["fig8"]) == {"CoCo"} and set(data["fig8"]["CoCo"]) == {"2", "6"}
    # Fig. 11 shows individual videos (10 per class in these features), not 10 class means,
    # and says how many; the alignment is measured on those videos.
    f11d = data["fig11"]
    assert f11d["videos_per_class"] == [10] * 10 and len(f11d["classes"]) == 10 and len(f11d["seen"]) == 5
    assert "100 individual videos" in f11 and "chance 10%" in f11
    assert {a["num_videos"] for a in f11d["alignment"].values()} == {100} and len(f11d["alignment"]) == 3
    # report.json numbers keep 4 decimals.
    nums = [a[k] for a in f11d["alignment"].values() for k in ("own_cos", "other_cos", "top1")]
    nums += [c["top1"]["mean"] for c in data["fig8"]["CoCo"].values()]
    assert all(v == round(v, 4) for v in nums)


@pytest.mark.slow
def test_report_lists_what_it_cannot_draw(saved, tmp_path):
    from actionhub.report import build_report

    path = build_report([saved.runs[0], saved.runs[2]], tmp_path / "r", say=lambda s: None)
    md = path.read_text()
    assert "Not drawn: no sweep over k" in md and "actionhub sweep --param class-text=ad,vc,ad+vc" in md
    assert not (tmp_path / "r" / "fig8_k.png").exists()
    # Fig. 11-12 need features on disk: a run whose paths are gone says how to provide them.
    moved = tmp_path / "moved"
    shutil.copytree(saved.sweeps["ct"], moved)
    (saved.root / "t.npz").rename(saved.root / "t_away.npz")
    try:
        md = build_report([moved], tmp_path / "r2", say=lambda s: None).read_text()
        assert "--text-features" in md.split("## Not included")[1]
        md = build_report([moved], tmp_path / "r3", text_features=str(saved.root / "t_away.npz"),
                          say=lambda s: None).read_text()
        assert "fig11_tsne.png" in md
        with pytest.raises(UserError, match="tsne-class"):
            build_report([moved], tmp_path / "r4", text_features=str(saved.root / "t_away.npz"),
                         tsne_classes=["no such class"], say=lambda s: None)
    finally:
        (saved.root / "t_away.npz").rename(saved.root / "t.npz")


def test_results_file_rows_are_used_when_runs_are_gone(saved, tmp_path, capsys):
    runs = tmp_path / "runs"
    for d in saved.runs[:2]:
        shutil.copytree(d, runs / d.name)
    assert main(["evaluate", "--runs", str(runs / "coco_0"), str(runs / "coco_1"), "--out",
                 str(tmp_path / "res.json")]) == 0
    shutil.rmtree(runs)
    from actionhub.report import build_report

    md = build_report([tmp_path / "res.json"], tmp_path / "r", say=lambda s: None).read_text()
    assert "| CoCo |" in md and "not found on disk" in md


def test_bad_inputs_are_clear_errors(tmp_path, capsys):
    assert main(["report", str(tmp_path / "nope"), "--out", str(tmp_path / "o")]) == 2
    assert "not found" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert main(["report", str(tmp_path / "empty"), "--out", str(tmp_path / "o")]) == 2
    assert "no finished run" in capsys.readouterr().err


def _rec(ct, cim, alpha=0.5, k=100, run_dir="r", point=None):
    rec = {"method": "coco", "benchmark": "kinetics-zsar", "split": 0, "run_dir": run_dir, "protocol": {},
           "config": {"model": {"class_text": ct, "cim": cim, "alpha": alpha, "k": k, "dim": 8},
                      "optim": {"epochs": 1}}}
    if point is not None:
        rec["point"] = point
    return rec


def test_qualitative_models_share_every_other_setting():
    recs = [_rec("ad+vc", True, alpha=0.1, run_dir="a0.1", point={"alpha": "0.1"}),
            _rec("ad", False, alpha=0.5, run_dir="ad"),
            _rec("ad+vc", False, alpha=0.5, run_dir="adv"),
            _rec("ad+vc", True, alpha=0.5, run_dir="cim")]
    (bench, split), models = _qualitative_models(recs)
    assert (bench, split) == ("kinetics-zsar", 0)
    assert {k: v["run_dir"] for k, v in models.items()} == {"AD-only": "ad", "AD+VC": "adv", "AD+VC w/ CIM": "cim"}


def test_cycle_neighbours_by_hand():
    # Unseen classes are the unit vectors e1, e2, e3; the only seen class is e1. Forward: every
    # query becomes e1; backward: softmax(e1 . z_u / tau) = (e^10, 1, 1) / (e^10 + 2) for every row.
    model = SimpleNamespace(cfg=SimpleNamespace(k=1, tau=0.1), eval=lambda: None,
                            class_embeddings=lambda ad, vc: ad)
    eye = np.eye(3, dtype=np.float32)
    from actionhub.text.class_text import ClassText

    ct = ClassText(["u1", "u2", "u3", "s1"], np.vstack([eye, eye[:1]]), np.zeros((0, 3)), np.zeros(5, np.int64))
    inp = SimpleNamespace(unseen=["u1", "u2", "u3"], seen=["s1"], text=ct)
    out = cycle_neighbours(model, inp, ["u1", "u3"], top=3)
    big = np.exp(10.0) / (np.exp(10.0) + 2)
    assert out[0]["neighbours"][0] == ("u1", pytest.approx(big)) and out[0]["self_rank"] == 1
    assert out[1]["neighbours"][0][0] == "u1" and out[1]["self_rank"] == 3
    assert out[1]["self_weight"] == pytest.approx(1 / (np.exp(10.0) + 2))


def test_video_alignment_by_hand_and_single_split_cells():
    # Two classes at e1 and e2; four videos: two of class 0 (one on e1, one on e2) and two of class 1 on e2.
    sem = np.eye(2)
    vis = np.array([[1.0, 0], [0, 1.0], [0, 1.0], [0, 1.0]])
    a = video_alignment(vis, np.array([0, 0, 1, 1]), sem, seen=np.array([True, False]))
    assert a["num_videos"] == 4 and a["top1"] == pytest.approx(75.0)
    assert a["top1_seen"] == pytest.approx(50.0) and a["top1_unseen"] == pytest.approx(100.0)
    assert a["own_cos"] == pytest.approx(0.75) and a["other_cos"] == pytest.approx(0.25)
    assert np.isnan(video_alignment(vis, np.array([1, 1, 1, 1]), sem, seen=np.array([True, False]))["top1_seen"])
    assert pm({"mean": 12.34, "std": 0.0, "n": 1}) == "12.3"
    assert pm({"mean": 12.34, "std": 1.0, "n": 2}) == "12.3 ± 1.0"


def test_tsne_sample_is_per_video_bounded_and_seeded():
    from actionhub.features import FeatureSet

    rng = np.random.default_rng(0)
    n = {"a": 40, "b": 3, "u": 12}
    feats = {c: rng.normal(size=(k, 6)).astype(np.float32) + 5 * np.eye(6)[i] for i, (c, k) in enumerate(n.items())}

    def fs(cs):
        return FeatureSet(np.concatenate([feats[c] for c in cs]), np.repeat(cs, [n[c] for c in cs]),
                          np.array([f"{c}{i}" for c in cs for i in range(n[c])]))

    inp = SimpleNamespace(train=fs(["a", "b"]), seen_test=None, test=fs(["u"]), val_set=None)
    x, y = sample_videos(inp, ["u", "a", "b"], per_class=10, seed=3)
    assert x.shape == (23, 6) and np.bincount(y).tolist() == [10, 10, 3]      # one row per sampled video
    assert any((x[y == 1] == row).all(axis=1).any() for row in feats["a"])    # rows are real videos of the class
    x2, y2 = sample_videos(inp, ["u", "a", "b"], per_class=10, seed=3)
    assert (x2 == x).all() and (y2 == y).all()
    assert not (sample_videos(inp, ["u", "a", "b"], per_class=10, seed=4)[0] == x).all()
    sem = np.eye(6)[:3]
    pts = tsne_2d(x, sem, seed=0)
    assert pts.shape == (23 + 3, 2) and (tsne_2d(x, sem, seed=0) == pts).all()   # deterministic
    fig = figures.draw_tsne("SYNTHETIC", [{"title": "m", "points": pts, "labels": y}], ["u", "a", "b"], ["a", "b"])
    drawn = [len(c.get_offsets()) for c in fig.axes[0].collections]
    assert sum(drawn) == 23 + 3 and drawn.count(1) >= 3                        # every video, plus 3 triangles
    with pytest.raises(ValueError, match="3 points for 23 videos"):
        figures.draw_tsne("t", [{"title": "old format", "points": pts[:3], "labels": y}], ["u", "a", "b"], ["a"])


@pytest.mark.slow
def test_cycle_figure_shares_one_x_axis_and_keeps_its_title_inside():
    entries = [{"class": q, "model": m, "neighbours": [(q, w), ("other class", w / 2), ("third", w / 4)]}
               for q in ("kick", "playing ukulele") for m, w in (("AD-only", 0.9), ("AD+VC", 0.2), ("w/ CIM", 0.05))]
    title = "Fig. 12-style backward-pass attention (Eq. 12), kinetics-zsar split 0 unseen classes [SYNTHETIC]"
    for models in (["AD-only", "AD+VC", "w/ CIM"], ["AD-only"]):
        fig = figures.draw_cycle(title, [e for e in entries if e["model"] in models], models)
        fig.canvas.draw()
        limits = {ax.get_xlim() for ax in fig.axes}
        assert len(limits) == 1 and limits.pop()[1] >= 0.9                    # one scale for every panel
        box, frame = fig._suptitle.get_window_extent(), fig.bbox
        assert box.x0 >= frame.x0 and box.x1 <= frame.x1 and box.y1 <= frame.y1, models
        assert fig._suptitle.get_text().replace("\n", " ") == title


SMALL_PLAN = """
description = "a small demo plan for tests (SYNTHETIC)"
runs = ["hmdb51"]
real_text = "hmdb51"
[report]
baselines = ["eszsl", "er-vse"]
sweep_recipe = "hmdb51"
sweep_split = 0
[report.sweeps.class_text_cim]
class-text = ["ad", "ad+vc"]
cim = [true, false]
[report.sweeps.k]
k = [10, 50]
"""
SMALL_RECIPE = """
description = "HMDB51 split 0 with few SYNTHETIC videos (tests)"
benchmark = "hmdb51"
splits = [0]
[optim]
epochs = 8
batch_size = 256
[data]
features = "synthetic"
videos_per_seen_class = 6
videos_per_eval_class = 4
"""


@pytest.mark.slow
def test_demo_report_on_a_small_plan(tmp_path):
    """The demo hook end to end on a plan of one hmdb51 split, two baselines and small sweeps (SYNTHETIC)."""
    import actionhub.demo.report as rdemo
    import actionhub.demo.run as demo

    plan = tmp_path / "plan"
    plan.mkdir()
    (plan / "plan.toml").write_text(SMALL_PLAN)
    (plan / "hmdb51.toml").write_text(SMALL_RECIPE)
    out = tmp_path / "demo"
    demo.run_demo(out, plan=plan, epochs=2, progress=False, say=lambda s: None)
    assert (out / "runs" / "hmdb51_split0_realtext" / "run.json").exists()
    lines = []
    path = rdemo.demo_report(out, plan=plan, say=lines.append)
    md = path.read_text()
    assert path == out / "report" / "report.md"
    assert "| ESZSL |" in md and "| ER-VSE |" in md and "| CoCo |" in md and "SYNTHETIC" in md
    assert "## Generalised zero-shot" in md and (out / "report" / "fig10_cim.png").exists()
    assert any("[SYNTHETIC]" in line for line in lines)
    assert "hmdb51 split 0 only" in md
