"""The CLI end to end on files: benchmarks, train -> evaluate, user errors."""
import json

import pytest

from actionhub.cli import main
from actionhub.demo.synthetic import SyntheticSpec, SyntheticWorld
from actionhub.features import save_features
from actionhub.protocols import get_benchmark


def test_benchmarks_show_json_shape(capsys):
    assert main(["benchmarks", "show", "hmdb51", "--split", "2", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["name"] == "hmdb51" and out["num_splits"] == 50
    (sp,) = out["splits"]
    assert len(sp["seen"]) == 26 and len(sp["unseen"]) == 25 and sp["val"] == []


def test_unknown_benchmark_is_a_clear_error(capsys):
    assert main(["benchmarks", "show", "kinetics-9000"]) == 2
    assert "choose one of:" in capsys.readouterr().err


@pytest.fixture(scope="module")
def hmdb_files(tmp_path_factory):
    """SYNTHETIC features of every HMDB51 class written as a user would bring them."""
    d = tmp_path_factory.mktemp("hmdb")
    bench = get_benchmark("hmdb51")
    world = SyntheticWorld(bench.classes, SyntheticSpec(visual_dim=48, text_dim=32, latent_dim=24,
                                                         descriptions_per_class=30, seed=5, sigma_video=0.9,
                                                         sigma_ad=0.8, sigma_desc=1.2, view_overlap=1.0))
    fs = world.videos(bench.classes, 16, seed=1)
    save_features(d / "feats.npz", fs)
    world.class_text().save(d / "text.npz")
    return d


def test_train_then_evaluate_round_trip(hmdb_files, tmp_path, capsys):
    for split in (0, 1):
        rc = main(["train", "--benchmark", "hmdb51", "--split", str(split), "--features", str(hmdb_files / "feats.npz"),
                   "--text-features", str(hmdb_files / "text.npz"), "--out", str(tmp_path / f"s{split}"),
                   "--epochs", "6", "--batch-size", "32", "--dim", "32", "--k", "10", "--no-progress"])
        assert rc == 0
    out = capsys.readouterr().out
    assert "top-1" in out and "[SYNTHETIC]" in out
    rc = main(["evaluate", "--benchmark", "hmdb51", "--runs", str(tmp_path / "s0"), str(tmp_path / "s1"),
               "--out", str(tmp_path / "results.json")])
    assert rc == 0
    res = json.loads((tmp_path / "results.json").read_text())
    (row,) = res["rows"]
    assert row["benchmark"] == "hmdb51" and [s["split"] for s in row["splits"]] == [0, 1]
    assert row["summary"]["top1"]["n"] == 2 and row["synthetic"] is True
    assert row["summary"]["top1"]["mean"] > 3 * 100 / 25        # well above chance (25 unseen classes)
    nums = [row["summary"][m][s] for m in ("top1", "top5") for s in ("mean", "std")]
    nums += [s[m] for s in row["splits"] for m in ("top1", "top5")]
    assert all(v == round(v, 4) for v in nums)                  # results.json keeps 4 decimals (44.6667)
    assert row["protocol"]["classes"]["0"]["unseen"] == list(get_benchmark("hmdb51").split(0).unseen)
    run = json.loads((tmp_path / "s0" / "run.json").read_text())
    assert run["config"]["model"]["k"] == 10 and run["config"]["optim"]["epochs"] == 6


def test_train_errors_name_the_problem(hmdb_files, tmp_path, capsys):
    base = ["train", "--benchmark", "hmdb51", "--split", "0", "--out", str(tmp_path / "r"), "--no-progress"]
    assert main(base + ["--features", str(tmp_path / "missing.npz"), "--text-features",
                        str(hmdb_files / "text.npz")]) == 2
    assert "missing.npz" in capsys.readouterr().err
    assert main(base + ["--features", str(hmdb_files / "feats.npz"), "--text-features", str(tmp_path / "no.npz")]) == 2
    assert "no.npz" in capsys.readouterr().err
    assert main(base + ["--split", "50", "--features", str(hmdb_files / "feats.npz"),
                        "--text-features", str(hmdb_files / "text.npz")]) == 2
    assert "split" in capsys.readouterr().err
    assert main(base + ["--alpha", "1.5", "--features", str(hmdb_files / "feats.npz"),
                        "--text-features", str(hmdb_files / "text.npz")]) == 2
    assert "alpha" in capsys.readouterr().err


def test_evaluate_refuses_unfinished_runs(tmp_path, capsys):
    assert main(["evaluate", "--runs", str(tmp_path)]) == 2
    assert "run.json" in capsys.readouterr().err
