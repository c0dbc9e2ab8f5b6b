"""The public Python API: lazy exports, train/evaluate as a notebook uses them, and the README's
"Use from Python" example run verbatim on SYNTHETIC files."""
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import actionhub as ah
from actionhub.demo.synthetic import SyntheticSpec, SyntheticWorld
from actionhub.features import FeatureSet, save_features
from actionhub.protocols import get_benchmark
from actionhub.utils.errors import UserError

README = Path(__file__).resolve().parents[1] / "README.md"
SMALL = SyntheticSpec(visual_dim=48, text_dim=32, latent_dim=24, descriptions_per_class=20, seed=5,
                      sigma_video=0.9, sigma_ad=0.8, sigma_desc=1.2, view_overlap=1.0)


def test_every_public_name_resolves_lazily():
    assert {"train", "evaluate", "predict", "load_model", "get_benchmark", "list_benchmarks", "load_features",
            "load_class_text", "build_class_text", "open_store", "TrainConfig", "ModelConfig", "OptimConfig",
            "load_recipe"} <= set(ah.__all__)
    assert set(ah.__all__) <= set(dir(ah))
    for name in ah.__all__:
        assert getattr(ah, name) is not None
    with pytest.raises(AttributeError, match="no attribute 'trian'"):
        ah.trian  # noqa: B018
    # and importing the package still loads none of them
    code = "import sys, actionhub; print(sorted(m for m in sys.modules if m.startswith('actionhub.')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def _readme_example() -> str:
    text = README.read_text(encoding="utf-8")
    section = text.split("## Use from Python", 1)[1].split("\n## ", 1)[0]
    (code,) = re.findall(r"```python\n(.*?)```", section, flags=re.S)[:1]
    return code


def _write_files(where: Path, bench: str, per_class: int = 8) -> None:
    """SYNTHETIC features of every class of ``bench`` (an ``.npz`` matrix) and their class text, as a
    user brings them."""
    b = get_benchmark(bench)
    world = SyntheticWorld(b.classes, SMALL)
    save_features(where / f"{bench}_features.npz", world.videos(b.classes, per_class, seed=1))
    world.class_text().save(where / f"{bench}_text.npz")


def test_the_readme_example_runs_verbatim_on_shipped_data_and_marks_synthetic(tmp_path, monkeypatch, capsys):
    code = _readme_example()
    assert len(code.strip().splitlines()) <= 10           # a notebook cell, not a script
    monkeypatch.chdir(tmp_path)                            # an empty folder: no feature or text files
    exec(compile(code, str(README), "exec"), {})
    lines = capsys.readouterr().out.strip().splitlines()
    assert re.fullmatch(r"top-1 \d+\.\d on 50 unseen classes \[SYNTHETIC\]", lines[0])
    assert lines[-1].endswith("[SYNTHETIC]")               # the summary is marked too
    res = json.loads((tmp_path / "runs" / "readme" / "results.json").read_text())
    (row,) = res["rows"]
    assert row["benchmark"] == "ucf101" and row["synthetic"] is True and row["summary"]["top1"]["n"] == 1
    run = json.loads((tmp_path / "runs" / "readme" / "split0" / "run.json").read_text())
    assert run["recipe"]["name"] == "demo/ucf101" and run["config"]["optim"]["epochs"] == 2


@pytest.fixture(scope="module")
def hmdb(tmp_path_factory):
    d = tmp_path_factory.mktemp("hmdb")
    _write_files(d, "hmdb51", per_class=10)
    return d


def test_train_in_memory_and_evaluate_records_and_directories(hmdb, tmp_path):
    fs = ah.load_features(hmdb / "hmdb51_features.npz")
    # labels as class indices: mapped onto the benchmark's classes as when loading a file
    idx = np.asarray([get_benchmark("hmdb51").classes.index(c) for c in fs.labels])
    fs = FeatureSet(fs.features, idx, fs.videos, source="in-memory test set", meta=fs.meta)
    text = ah.load_class_text(hmdb / "hmdb51_text.npz")
    common = dict(text_features=text, progress=False, epochs=4, batch_size=64, lr=3e-3, dim=32, k=10)
    r0 = ah.train("hmdb51", 0, features=fs, out=tmp_path / "s0", **common)
    r1 = ah.train("hmdb51", 1, features=hmdb / "hmdb51_features.npz", out=tmp_path / "s1", **common)
    assert r0["run_dir"] == str(tmp_path / "s0") and r0["data"]["features"] == "in-memory test set"
    assert r0["config"]["model"]["k"] == 10 and "recipe" not in r0
    assert r0["metrics"]["test"]["top1"] > 3 * 100 / 25        # well above chance (25 unseen classes)
    summary = ah.evaluate([r0, tmp_path / "s1"], out=tmp_path / "results.json", benchmark="hmdb51")
    (row,) = summary["rows"]
    assert [s["split"] for s in row["splits"]] == [0, 1]
    assert row["summary"]["top1"]["mean"] == pytest.approx((r0["metrics"]["test"]["top1"]
                                                            + r1["metrics"]["test"]["top1"]) / 2)
    rows = json.loads((tmp_path / "results.json").read_text())["rows"]
    assert rows[0]["splits"][1]["run_dir"] == str(tmp_path / "s1")
    # a rerun returns the finished run
    assert ah.train("hmdb51", 0, features=fs, out=tmp_path / "s0", **common)["metrics"] == r0["metrics"]


def test_train_errors_say_what_to_change(hmdb, tmp_path):
    files = dict(features=hmdb / "hmdb51_features.npz", text_features=hmdb / "hmdb51_text.npz", out=tmp_path / "r")
    with pytest.raises(UserError, match="unknown setting 'epoch'; valid names: .*epochs"):
        ah.train("hmdb51", 0, epoch=3, **files)
    with pytest.raises(UserError, match="either config= .* or recipe="):
        ah.train("hmdb51", 0, config=ah.TrainConfig(), recipe="table3/coco-hmdb51", **files)
    with pytest.raises(UserError, match="no split"):
        ah.train("hmdb51", **files)
    with pytest.raises(UserError, match="method 'devise' has no parameter 'lam'"):
        ah.train("hmdb51", 0, method="devise", method_params={"lam": 1}, **files)
    with pytest.raises(UserError, match="choose one of"):
        ah.train("hmdb-52", 0, **files)
    assert not (tmp_path / "r").exists()    # every check ran before any training


def test_a_method_override_drops_the_recipes_method_params(hmdb, tmp_path):
    from actionhub.api import resolve_run

    run = resolve_run(recipe="table3/eszsl-hmdb51", method="devise")
    assert run.config.method == "devise" and run.method_params == {}
    assert run.recipe_record["overrides"] == {"method": "devise"}
    kept = resolve_run(recipe="table3/eszsl-hmdb51", method_params={"lam": 0.5})
    assert kept.method_params["lam"] == 0.5 and kept.method_params["grid"].startswith("0.001")


def test_evaluate_refuses_what_is_not_a_finished_run(tmp_path):
    with pytest.raises(UserError, match="run.json"):
        ah.evaluate(tmp_path)
    with pytest.raises(UserError, match="not an ActionHub run record"):
        ah.evaluate([{"metrics": {}}])
    with pytest.raises(UserError, match="add --gzsl"):
        ah.evaluate([], calibration=0.2)


def test_open_store_is_the_description_store(tmp_path):
    with pytest.raises(UserError, match="store not found"):
        ah.open_store(tmp_path / "none")
    from actionhub.dataset.store import Store

    created = ah.open_store(tmp_path / "s", create=True)
    assert isinstance(created, Store) and (tmp_path / "s").is_dir()
    assert ah.open_store(tmp_path / "s").path == tmp_path / "s"
