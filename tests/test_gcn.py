"""GCN baseline (Table 2): the class graph by hand, shapes, the regression loss falling on a tiny
SYNTHETIC case, unseen scores from the unseen predictions only, classifier targets by name,
and `actionhub train --method gcn` on every shipped protocol (tiny SYNTHETIC features)."""
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from actionhub.config import ModelConfig, TrainConfig
from actionhub.demo.synthetic import SyntheticSpec, SyntheticWorld
from actionhub.engine.checkpoint import load_model
from actionhub.engine.evaluate import class_scores, evaluate
from actionhub.engine.inputs import RunInputs
from actionhub.engine.trainer import train_run
from actionhub.models.baselines.gcn import Gcn, GcnParams, class_graph, gcn_loss
from actionhub.models.baselines.gcn_targets import class_mean_targets, load_targets
from actionhub.models.registry import get_method
from actionhub.protocols import get_benchmark, list_benchmarks
from actionhub.utils.errors import UserError

TINY = {"hidden": "32,32", "epochs": "80", "val_every": "20"}
TSM = Path("/work/shared/data/er/KG/pretsm.k400.fc.weight.npy")


def test_class_graph_by_hand():
    # 0 and 1 point the same way, 2 is between 1 and 3, 3 is opposite to 0.
    s = torch.tensor([[1.0, 0.0], [1.0, 0.1], [0.0, 1.0], [-1.0, 0.2]])
    a = class_graph(s, 2)
    # top-2 (self included): 0 -> {0, 1}; 1 -> {1, 0}; 2 -> {2, 3} (cos .98 > .1); 3 -> {3, 2}
    links = torch.tensor([[1, 1, 0, 0], [1, 1, 0, 0], [0, 0, 1, 1], [0, 0, 1, 1]], dtype=torch.float32)
    assert torch.equal(a > 0, links > 0)
    assert torch.allclose(a, links / 2)
    # k=1: only the class itself; k larger than C: every class
    assert torch.equal(class_graph(s, 1), torch.eye(4))
    assert torch.allclose(class_graph(s, 10), torch.full((4, 4), 0.25))
    # asymmetric top-k is symmetrised, then each row sums to 1
    s2 = torch.tensor([[1.0, 0.0], [0.9, 0.1], [0.8, 0.2], [0.0, 1.0]])
    a2 = class_graph(s2, 2)
    assert (a2 > 0).equal((a2 > 0).t()) and torch.allclose(a2.sum(1), torch.ones(4))
    # 3's nearest other is 2, so 2 links to 3 although 3 is not among 2's top-2
    assert a2[2, 3] > 0 and a2[2].tolist() == pytest.approx([0.0, 1 / 3, 1 / 3, 1 / 3])


def test_shapes_layers_and_loss():
    m = Gcn(24, 10, ModelConfig(class_text="ad"), GcnParams(hidden="7,9"))
    assert [(layer.lin.in_features, layer.lin.out_features) for layer in m.layers] == [(10, 7), (7, 9), (9, 24)]
    assert [layer.self_weight.shape for layer in m.layers] == [(10, 7), (7, 9), (9, 24)]
    assert [layer.slope for layer in m.layers] == [0.2, 0.2, None]               # no activation on the last
    assert [layer.drop.p for layer in m.layers] == [0.0, 0.0, 0.5]               # dropout only before the last
    s = torch.randn(6, 10)
    out = m.eval().propagate(s, class_graph(s, 3))
    assert out.shape == (6, 24) and torch.allclose(out.norm(dim=1), torch.ones(6))
    assert m.class_embeddings(s, s).shape == (6, 24)
    t = torch.tensor([[3.0, 4.0]])
    assert gcn_loss(torch.tensor([[0.6, 0.8]]), t).item() == pytest.approx(0.0, abs=1e-7)
    assert gcn_loss(torch.tensor([[0.0, 0.0]]), t).item() == pytest.approx((0.36 + 0.64) / 2)
    with pytest.raises(UserError, match="hidden"):
        get_method("gcn").make_params({"hidden": "a,b"})
    with pytest.raises(UserError, match="graph_k"):
        get_method("gcn").make_params({"graph_k": "0"})


def _regression_case(seed=0, c=12, dt=8, dv=6):
    g = torch.Generator().manual_seed(seed)
    s = torch.randn(c, dt, generator=g)
    w = torch.randn(dt, dv, generator=g)
    return s, s @ w          # targets a fixed linear map of the node inputs


def test_training_makes_the_regression_loss_fall():
    torch.manual_seed(0)
    s, targets = _regression_case()
    m = Gcn(6, 8, ModelConfig(class_text="ad"), GcnParams(hidden="16,16", epochs=60, dropout=0.0))
    seen = torch.arange(8)
    info = m.fit(s, seen, targets[:8], raw_video=True)
    assert len(info["loss"]) == 60 and info["selected_epoch"] == 59 and info["epoch_selection"] == "last"
    assert info["loss"][-1] < 0.6 * info["loss"][0] and max(info["loss"][-10:]) < min(info["loss"][:10])
    # the stored graph: the model predicts for these classes what it was trained to
    pred = m.class_embeddings(s[:8], s[:8])
    assert gcn_loss(pred, targets[:8]).item() == pytest.approx(info["loss"][-1], rel=0.2)
    assert torch.equal(m.nodes, s) and bool(m.raw_video)


def test_unseen_scores_use_only_the_unseen_predictions():
    torch.manual_seed(1)
    s, targets = _regression_case(seed=1)
    m = Gcn(6, 8, ModelConfig(class_text="ad"), GcnParams(hidden="16", epochs=5))
    m.fit(s, torch.arange(8), targets[:8], raw_video=True)
    full = m.propagate(s, class_graph(s, 5))
    unseen = [10, 8]
    # a query for the unseen classes alone rebuilds the whole trained graph and returns their rows
    w_u = m.class_embeddings(s[unseen], s[unseen])
    assert torch.allclose(w_u, full[unseen], atol=1e-6)
    x = torch.randn(5, 6)
    assert torch.allclose(m.scores(x, w_u), x @ full[unseen].t(), atol=1e-5)
    # changing the seen predictions (not the graph) leaves the unseen scores alone
    assert m.scores(x, w_u).shape == (5, 2)
    # a class the graph has never seen is added as a node; the trained ones keep their rows
    new = torch.randn(1, 8)
    both = m.class_embeddings(torch.cat([s[unseen], new]), torch.cat([s[unseen], new]))
    assert both.shape == (3, 6) and len(m.nodes) == 12


def test_class_mean_targets_are_centred_unit_means():
    x = np.array([[2.0, 0.0], [0.0, 3.0], [1.0, 1.0], [5.0, 5.0]])
    y = np.array([0, 0, 1, 2])
    mu = np.array([1.0, 1.0])
    means, have = class_mean_targets(x, y, 4, mu)
    assert have.tolist() == [0, 1, 2]            # class 3 has no videos
    r2, r5 = np.sqrt(0.5), np.sqrt(5.0)
    # class 0: (1, -1)/sqrt(2) and (-1, 2)/sqrt(5), averaged
    assert means[0].tolist() == pytest.approx([(r2 - 1 / r5) / 2, (-r2 + 2 / r5) / 2], abs=1e-6)
    assert means[2].tolist() == pytest.approx([r2, r2])
    assert means[1].tolist() == [0.0, 0.0]       # x == mu: zero vector, not NaN


def test_targets_are_matched_by_name(tmp_path):
    w = np.arange(12, dtype=np.float32).reshape(4, 3)
    np.save(tmp_path / "w.npy", w)
    (tmp_path / "order.txt").write_text("Apply Eye Makeup\nb\nc\nd\n")
    t, pos, info = load_targets(str(tmp_path / "w.npy"), str(tmp_path / "order.txt"), ["c", "x", "ApplyEyeMakeup"], 3)
    assert pos.tolist() == [0, 2] and t.tolist() == [w[2].tolist(), w[0].tolist()]
    assert info["seen_without_target"] == ["x"] and info["seen_with_target"] == 2
    with pytest.raises(UserError, match="dimension 3 but the video features have 5"):
        load_targets(str(tmp_path / "w.npy"), str(tmp_path / "order.txt"), ["c"], 5)
    with pytest.raises(UserError, match="targets_classes"):
        load_targets(str(tmp_path / "w.npy"), "", ["c"], 3)
    with pytest.raises(UserError, match="400 classes"):
        load_targets(str(tmp_path / "w.npy"), "kinetics400", ["c"], 3)
    with pytest.raises(UserError, match="none of the 1 seen"):
        load_targets(str(tmp_path / "w.npy"), str(tmp_path / "order.txt"), ["zzz"], 3)
    with pytest.raises(UserError, match="not found"):
        load_targets(str(tmp_path / "nope.npy"), "kinetics400", ["c"], 3)


# ------------------------------------------------------------ through the trainer
SEEN = [f"s{i}" for i in range(16)]
VAL = [f"v{i}" for i in range(4)]
UNSEEN = [f"u{i}" for i in range(8)]
EASY = dict(sigma_video=0.9, sigma_ad=0.8, sigma_desc=1.2, view_overlap=1.0)


@pytest.fixture(scope="module")
def world():
    spec = SyntheticSpec(visual_dim=24, text_dim=16, latent_dim=12, num_concepts=30, descriptions_per_class=10,
                         seed=4, **EASY)
    return SyntheticWorld(SEEN + VAL + UNSEEN, spec)


def _inputs(world):
    return RunInputs(benchmark="synthetic", split=0, seen=SEEN, val=VAL, unseen=UNSEEN,
                     train=world.videos(SEEN, 20, seed=1), test=world.videos(UNSEEN, 10, seed=2),
                     val_set=world.videos(VAL, 10, seed=3), text=world.class_text(), select_epoch_on_val=True,
                     data_info={"synthetic": True, "features": "synthetic"})


def test_train_run_records_selects_on_val_and_reloads(world, tmp_path):
    inp = _inputs(world)
    rec = train_run(TrainConfig(model=ModelConfig(k=5), method="gcn"), inp, tmp_path / "g", progress=False,
                    method_params=TINY)
    fit = rec["fit"]
    assert rec["method_info"]["kind"] == "graph" and rec["config"]["method_params"]["graph_k"] == 5
    assert fit["graph"]["nodes"] == len(SEEN + VAL + UNSEEN) and fit["graph"]["k"] == 5
    assert fit["node_inputs"]["class_text"] == "ad+vc" and fit["targets"]["seen_with_target"] == len(SEEN)
    assert [v["epoch"] for v in fit["val"]] == [19, 39, 59, 79]
    best = max(fit["val"], key=lambda v: v["val_top1"])
    assert rec["selected_epoch"] == best["epoch"] and rec["metrics"]["val"]["top1"] == pytest.approx(best["val_top1"])
    assert fit["loss"][-1] < fit["loss"][0]
    assert rec["metrics"]["test"]["top1"] > 1.5 * 100 / len(UNSEEN)      # above chance on an easy world
    model = load_model(tmp_path / "g")
    assert isinstance(model, Gcn) and len(model.nodes) == len(SEEN + VAL + UNSEEN)
    again = evaluate(model, inp.test, UNSEEN, inp.text, 5)
    assert again["top1"] == pytest.approx(rec["metrics"]["test"]["top1"], abs=1e-4)
    # the scores over the unseen classes are the videos' x~ . w of those classes only
    w = model.class_embeddings(*[torch.from_numpy(a) for a in inp.text.select(UNSEEN, 5)[:2]])
    x = torch.from_numpy(np.asarray(inp.test.features))
    assert torch.allclose(class_scores(model, inp.test, UNSEEN, inp.text, 5), model.prep_video(x) @ w.t(), atol=1e-5)
    # single shot: the same command finds the finished run
    assert train_run(TrainConfig(model=ModelConfig(k=5), method="gcn"), inp, tmp_path / "g", progress=False,
                     method_params=TINY)["finished_at"] == rec["finished_at"]


def _bench_files(tmp_path: Path, name: str, visual_dim: int) -> tuple[Path, Path]:
    from actionhub.features import save_features

    bench = get_benchmark(name)
    w = SyntheticWorld(bench.classes, SyntheticSpec(visual_dim=visual_dim, text_dim=8, latent_dim=6, num_concepts=20,
                                                    descriptions_per_class=2, seed=5, **EASY))
    feats, text = tmp_path / f"{name}-f.npz", tmp_path / f"{name}-t.npz"
    fs = w.videos(bench.classes, 2, seed=1)
    if bench.listed_test_videos:   # ucf101-full, hmdb51-full evaluate only their official test videos: use their names
        listed: dict[str, list[str]] = {}
        for video, cls in bench.eval_videos(0, "test"):
            listed.setdefault(cls, []).append(video)
        fs.videos = np.array([listed[c].pop() if c in listed else v for v,
                              c in zip(fs.videos, fs.labels, strict=True)], dtype=object)
    save_features(feats, fs)
    w.class_text().save(text)
    return feats, text


@pytest.mark.parametrize("bench", list_benchmarks())
def test_cli_train_gcn_on_every_shipped_protocol(bench, tmp_path):
    from actionhub.cli import main

    feats, text = _bench_files(tmp_path, bench, 12)
    rc = main(["train", "--benchmark", bench, "--split", "0", "--features", str(feats), "--text-features", str(text),
               "--out", str(tmp_path / "run"), "--method", "gcn", "--k", "2", "--no-progress",
               "--method-param", "hidden=8", "--method-param", "epochs=3", "--method-param", "graph_k=3"])
    assert rc == 0
    rec = json.loads((tmp_path / "run" / "run.json").read_text())
    sp = get_benchmark(bench).split(0)
    assert rec["method"] == "gcn" and rec["status"] == "finished"
    assert rec["fit"]["graph"]["nodes"] == len(set(sp.seen) | set(sp.val) | set(sp.unseen))
    assert rec["metrics"]["test"]["num_classes"] == len(sp.unseen) and len(rec["fit"]["loss"]) == 3


def test_cli_gcn_kinetics_zsar_with_classifier_targets(tmp_path, capsys):
    """Kinetics-ZSAR with the seen classes' classifier as targets (rows in Kinetics-400 order):
    the TSM classifier of ER on 2048-d SYNTHETIC features where the reference data has it,
    else a SYNTHETIC classifier of the same layout."""
    from actionhub.cli import main

    dim = 2048 if TSM.exists() else 12
    feats, text = _bench_files(tmp_path, "kinetics-zsar", dim)
    if TSM.exists():
        targets = TSM
    else:
        targets = tmp_path / "w.npy"
        np.save(targets, np.random.default_rng(0).normal(size=(400, dim)).astype(np.float32))
    args = ["train", "--benchmark", "kinetics-zsar", "--split", "1", "--features", str(feats), "--text-features",
            str(text), "--method", "gcn", "--class-text", "ad", "--no-progress", "--method-param", "hidden=8",
            "--method-param", "epochs=2", "--method-param", f"targets={targets}"]
    assert main(args + ["--out", str(tmp_path / "bad")]) == 2
    assert "targets_classes" in capsys.readouterr().err
    assert main(args + ["--out", str(tmp_path / "run"), "--method-param", "targets_classes=kinetics400"]) == 0
    rec = json.loads((tmp_path / "run" / "run.json").read_text())
    assert rec["fit"]["targets"]["kind"] == "classifier weights" and rec["fit"]["targets"]["seen_with_target"] == 400
    assert rec["fit"]["video_input"].startswith("raw") and rec["fit"]["node_inputs"]["class_text"] == "ad"
    assert rec["fit"]["graph"]["nodes"] == 620
    assert load_model(tmp_path / "run").raw_video


def test_cli_sweep_and_report_have_a_gcn_row(tmp_path):
    from actionhub.cli import main

    feats, text = _bench_files(tmp_path, "hmdb51", 12)
    common = ["--benchmark", "hmdb51", "--features", str(feats), "--text-features", str(text), "--method", "gcn",
              "--k", "2", "--no-progress", "--method-param", "hidden=8", "--method-param", "epochs=2"]
    sweep = ["sweep", *common, "--param", "class-text=ad,ad+vc", "--splits", "0", "--out", str(tmp_path / "sw")]
    assert main(sweep) == 0
    index = json.loads((tmp_path / "sw" / "sweep.json").read_text())
    assert [r["status"] for r in index["runs"]] == ["finished", "finished"]
    for s in (0, 1):
        assert main(["train", *common, "--split", str(s), "--out", str(tmp_path / f"g{s}")]) == 0
    assert main(["report", str(tmp_path / "g0"), str(tmp_path / "g1"), "--out", str(tmp_path / "rep")]) == 0
    md = (tmp_path / "rep" / "report.md").read_text()
    row = next(ln for ln in md.splitlines() if ln.startswith("| GCN |"))
    assert "(2)" in row                                    # mean ± std over the two splits
    assert "graph epochs" in md                            # its model selection in the protocol table


def test_cli_gcn_refit_retrains_for_the_graph_epochs_chosen_on_carved_val_classes(tmp_path):
    from actionhub.cli import main

    feats, text = _bench_files(tmp_path, "hmdb51", 12)
    args = ["train", "--benchmark", "hmdb51", "--split", "0", "--features", str(feats), "--text-features", str(text),
            "--out", str(tmp_path / "run"), "--method", "gcn", "--k", "2", "--no-progress", "--refit",
            "--method-param", "hidden=8", "--method-param", "epochs=12", "--method-param", "val_every=2"]
    assert main(args) == 0
    sel = json.loads((tmp_path / "run" / "select" / "run.json").read_text())
    rec = json.loads((tmp_path / "run" / "run.json").read_text())
    chosen = sel["fit"]["selected_epoch"] + 1
    assert rec["protocol"]["validation"]["refit_epochs"] == chosen == rec["fit"]["epochs"] == len(rec["fit"]["loss"])
    assert f"{chosen} graph epochs chosen on" in rec["protocol"]["epoch_selection"]
    assert sorted(rec["protocol"]["seen"]) == sorted(get_benchmark("hmdb51").split(0).seen)
