"""Recipes: the packaged rows of Tables 2-4 and the demo, reading and checking files, and
`actionhub train --config` (flags over file, the run records its recipe, the demo's run reproduced)."""
import json
from pathlib import Path

import pytest

from actionhub.cli import main
from actionhub.config import METHOD_CHOICES, ConfigError, TrainConfig, with_overrides
from actionhub.demo.plan import DEMO_PLAN_DIR, load_plan
from actionhub.models.registry import TABLE_ORDER, get_method
from actionhub.protocols import get_benchmark
from actionhub.recipes import RECIPE_DIR, RecipeError, list_recipes, load_recipe

REPO = Path(__file__).resolve().parents[1]


def test_every_packaged_recipe_resolves_to_a_valid_run():
    names = list_recipes()
    assert len(names) >= 20
    for name in names:
        r = load_recipe(name)
        cfg = r.config()
        cfg.validate()
        get_method(cfg.method).make_params(r.method_params)  # its method parameters fit its method
        assert r.description and r.paper and r.benchmark and r.splits
        assert max(r.splits) < get_benchmark(r.benchmark).num_splits, name


def test_the_recipes_cover_the_papers_rows():
    by_name = {n: load_recipe(n) for n in list_recipes()}
    # Table 2: every method we provide, on Kinetics-ZSAR's three splits
    t2 = {r.method: r for n, r in by_name.items() if n.startswith("table2/")}
    assert set(t2) == set(TABLE_ORDER) == set(METHOD_CHOICES)
    assert all(r.benchmark == "kinetics-zsar" and r.splits == (0, 1, 2) for r in t2.values())
    assert t2["coco"].config().model.cim and t2["coco"].config().model.class_text == "ad+vc"
    assert t2["coco"].config().model.k == 100 and t2["coco"].config().model.alpha == 0.5
    # Table 3: CoCo on the 50 intra-dataset splits of UCF101/HMDB51 and the 10 cross-dataset ones
    assert load_recipe("table3/coco-ucf101").splits == tuple(range(50))
    assert load_recipe("table3/coco-hmdb51-cross").benchmark == "hmdb51-cross"
    assert load_recipe("table3/coco-ucf101-cross").splits == tuple(range(10))
    # Table 4: AD / VC / AD+VC, all without CIM
    t4 = {load_recipe(n).config().model.class_text: load_recipe(n).config() for n in by_name if n.startswith("table4/")}
    assert set(t4) == {"ad", "vc", "ad+vc"} and not any(c.model.cim for c in t4.values())


def test_recipes_are_reachable_by_name_by_path_and_through_the_checkout_link():
    a = load_recipe("table2/coco")
    assert load_recipe("table2/coco.toml").path == a.path
    assert load_recipe(RECIPE_DIR / "table2" / "coco.toml").name == "table2/coco"
    if (REPO / "configs").is_symlink():  # a checkout: configs -> src/actionhub/configs
        assert load_recipe(REPO / "configs" / "table2" / "coco.toml").name == "table2/coco"
    # the checkout's path also finds the packaged file when run from elsewhere (pip users)
    assert load_recipe("configs/table2/coco.toml").name == "table2/coco"


def test_a_missing_recipe_lists_the_packaged_ones():
    with pytest.raises(RecipeError, match="table2/coco"):
        load_recipe("table9/nope")
    with pytest.raises(RecipeError, match="demo's plan"):
        load_recipe(DEMO_PLAN_DIR / "plan.toml")


@pytest.mark.parametrize("text, message", [
    ('description = "x"\nbenchmark = "hmdb51"\nepochs = 3\n', "unknown key 'epochs'"),
    ('description = "x"\n[model]\nkk = 3\n', "unknown key 'kk' in \\[model\\]"),
    ('description = "x"\n[optim]\nepochs = "ten"\n', "epochs must be a int"),
    ('description = "x"\n[model]\nalpha = 2.0\n', "alpha must lie in"),
    ('description = "x"\nbenchmark = "kinetics-9000"\n', "unknown benchmark 'kinetics-9000'"),
    ('description = "x"\nmethod = "kgraph"\n', "unknown method 'kgraph'"),
    ('description = "x"\nsplits = [0, 0]\n', "twice"),
    ('benchmark = "hmdb51"\n', "needs a description"),
    ('description = "x"\n[data]\nfeatures = "feats.npz"\n', "SYNTHETIC runs only"),
    ('description = "x"\n[data]\nfeatures = "synthetic"\nvideos_per_seen_class = 4\n', "videos_per_eval_class"),
    ('description = "x"\n[model\n', "not valid TOML"),
])
def test_recipe_errors_name_the_file_and_the_key(tmp_path, text, message):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(RecipeError, match=message) as e:
        load_recipe(path)
    assert str(path) in str(e.value)


def test_overrides_by_name_and_their_errors():
    cfg = with_overrides(TrainConfig(), {"epochs": 3, "class-text": "vc", "cim": False, "alpha": 1})
    assert (cfg.optim.epochs, cfg.model.class_text, cfg.model.cim, cfg.model.alpha) == (3, "vc", False, 1.0)
    with pytest.raises(ConfigError, match="valid names: .*epochs"):
        with_overrides(TrainConfig(), {"epoch": 3})
    with pytest.raises(ConfigError, match="cim must be a bool"):
        with_overrides(TrainConfig(), {"cim": 0})


def test_the_demo_plan_is_read_from_the_packaged_recipes():
    plan = load_plan()
    assert [r.benchmark for r in plan.runs] == ["ucf101", "hmdb51", "kinetics-zsar"]
    assert all(r.splits == (0, 1, 2) and r.synthetic is not None for r in plan.runs)
    assert [(r.synthetic.videos_per_seen_class, r.synthetic.videos_per_eval_class) for r in plan.runs] == \
        [(24, 12), (24, 12), (12, 8)]
    assert all(r.config().optim.epochs == 8 and r.config().optim.batch_size == 256 for r in plan.runs)
    assert plan.sweep_recipe.benchmark == "kinetics-zsar" and plan.sweep_split == 0
    assert plan.sweeps["class_text_cim"] == [("class-text", ["ad", "vc", "ad+vc"]), ("cim", [True, False])]
    assert plan.baselines == ("devise", "ale", "sje", "dem", "eszsl", "er-vse")


def test_the_quick_demo_is_the_first_split_and_smaller_sweeps():
    full = load_plan()
    quick = full.quick()
    assert [r.splits for r in quick.runs] == [(0,)] * 3 and quick.real_text.splits == (0,)
    assert quick.sweep_recipe.splits == (0,) and quick.sweep_split == 0 and quick.baselines == full.baselines
    assert quick.sweeps["k"] == [("k", [5, 25, 100]), ("class-text", ["vc", "ad+vc"])]
    assert quick.sweeps["alpha"] == [("alpha", [0.1, 0.5, 0.9])]
    assert quick.sweeps["class_text_cim"] == full.sweeps["class_text_cim"]          # Table 4 and Fig. 10-12 whole
    assert quick.quick() == quick and [r.splits for r in full.runs] == [(0, 1, 2)] * 3


def test_a_bad_quick_section_says_what_is_wrong(tmp_path):
    import shutil

    for name in ("plan.toml", "hmdb51.toml", "ucf101.toml", "kinetics-zsar.toml"):
        shutil.copy(DEMO_PLAN_DIR / name, tmp_path / name)
    text = (tmp_path / "plan.toml").read_text()
    for bad, match in (("splits = 0", "splits must be a count >= 1"),
                       ("[quick.sweeps.nope]\nk = [1]", r"only make sweeps of \[report.sweeps\] smaller"),
                       ("colour = 1", r"unknown key 'colour' in \[quick\]")):
        (tmp_path / "plan.toml").write_text(text.replace("splits = 1 ", bad + "\n#", 1))
        with pytest.raises(RecipeError, match=match):
            load_plan(tmp_path)


def test_a_bad_plan_says_what_is_wrong(tmp_path):
    (tmp_path / "plan.toml").write_text('runs = ["ucf101"]\n')
    with pytest.raises(RecipeError, match="no recipe ucf101.toml"):
        load_plan(tmp_path)
    (tmp_path / "ucf101.toml").write_text('description = "x"\nbenchmark = "ucf101"\nsplits = [0]\n')
    with pytest.raises(RecipeError, match="synthetic"):
        load_plan(tmp_path)


def _cli(*argv: str) -> int:
    return main(list(argv))


@pytest.mark.slow
def test_train_config_reproduces_the_demos_run(tmp_path, capsys):
    """`actionhub train --config configs/demo/hmdb51.toml --split 0` is the demo's run of that split:
    same SYNTHETIC inputs, same config, same fingerprint and metrics."""
    from actionhub.demo.run import demo_run

    demo = demo_run(load_recipe("demo/hmdb51"), 0, tmp_path / "demo", epochs=2)
    config = REPO / "configs" / "demo" / "hmdb51.toml"
    if not config.exists():  # an installed copy without the checkout's link
        config = RECIPE_DIR / "demo" / "hmdb51.toml"
    assert _cli("train", "--config", str(config), "--split", "0", "--epochs", "2",
                "--out", str(tmp_path / "cli"), "--no-progress") == 0
    out = capsys.readouterr().out
    assert "[SYNTHETIC]" in out and "recipe: demo/hmdb51" in out
    cli = json.loads((tmp_path / "cli" / "run.json").read_text())
    assert cli["fingerprint"] == demo["fingerprint"]
    assert cli["config"] == demo["config"] and cli["metrics"] == demo["metrics"]
    assert cli["data"]["synthetic"] is True and cli["protocol"]["unseen"] == demo["protocol"]["unseen"]
    assert cli["recipe"]["name"] == "demo/hmdb51" and cli["recipe"]["overrides"] == {"epochs": 2}
    assert cli["recipe"]["content"]["data"]["features"] == "synthetic"


@pytest.mark.slow
def test_flags_override_the_recipe_and_the_run_records_both(tmp_path):
    recipe = tmp_path / "small.toml"
    recipe.write_text('description = "HMDB51 with few SYNTHETIC videos (test)"\nbenchmark = "hmdb51"\n'
                      'splits = [0, 1]\nmethod = "coco"\n[model]\nk = 20\ncim = false\n[optim]\nepochs = 3\n'
                      'batch_size = 64\n[data]\nfeatures = "synthetic"\nvideos_per_seen_class = 4\n'
                      'videos_per_eval_class = 3\n')
    assert _cli("train", "--config", str(recipe), "--split", "1", "--epochs", "2", "--class-text", "ad", "--cim",
                "--out", str(tmp_path / "r"), "--no-progress") == 0
    rec = json.loads((tmp_path / "r" / "run.json").read_text())
    assert rec["config"]["optim"]["epochs"] == 2 and rec["config"]["model"]["class_text"] == "ad"   # flags win
    assert rec["config"]["model"]["k"] == 20 and rec["config"]["optim"]["batch_size"] == 64          # file fills
    assert rec["config"]["model"]["cim"] is True and len(rec["history"]) == 2
    assert rec["recipe"]["path"] == str(recipe)
    assert rec["recipe"]["overrides"] == {"epochs": 2, "class_text": "ad", "cim": True}


def test_train_config_errors(tmp_path, capsys):
    base = ["train", "--out", str(tmp_path / "r"), "--no-progress"]
    assert _cli(*base, "--config", "demo/hmdb51", "--split", "7") == 2
    assert "not one of the splits of recipe demo/hmdb51" in capsys.readouterr().err
    assert _cli(*base, "--config", "table2/coco", "--split", "0") == 2
    err = capsys.readouterr().err
    assert "--features" in err and "--text-features" in err
    assert _cli(*base, "--config", "demo/hmdb51", "--split", "0", "--text-features", "t.npz") == 2
    assert "SYNTHETIC" in capsys.readouterr().err
    assert _cli(*base, "--split", "0", "--features", "f.npz", "--text-features", "t.npz") == 2
    assert "benchmark" in capsys.readouterr().err
    bad = tmp_path / "bad.toml"
    bad.write_text('description = "x"\n[model]\nkk = 1\n')
    assert _cli(*base, "--config", str(bad), "--split", "0") == 2
    err = capsys.readouterr().err
    assert str(bad) in err and "'kk'" in err


def test_recipes_verb_lists_and_shows(capsys):
    assert _cli("recipes", "list", "--json") == 0
    rows = json.loads(capsys.readouterr().out)
    assert {r["name"] for r in rows} == set(list_recipes())
    assert next(r for r in rows if r["name"] == "demo/ucf101")["synthetic"] is True
    assert _cli("recipes", "show", "table4/vc-only", "--json") == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["config"]["model"]["class_text"] == "vc" and shown["config"]["model"]["cim"] is False


@pytest.mark.slow
def test_sweep_takes_a_recipe(tmp_path, capsys):
    recipe = tmp_path / "small.toml"
    recipe.write_text('description = "x (SYNTHETIC)"\nbenchmark = "hmdb51"\nsplits = [2]\n[optim]\nepochs = 1\n'
                      '[data]\nfeatures = "synthetic"\nvideos_per_seen_class = 3\nvideos_per_eval_class = 2\n')
    assert _cli("sweep", "--config", str(recipe), "--param", "k=5,10", "--out", str(tmp_path / "sw"),
                "--no-progress") == 0
    index = json.loads((tmp_path / "sw" / "sweep.json").read_text())
    assert index["splits"] == [2] and index["data"]["synthetic"] is True and index["data"]["recipe"] == str(recipe)
    assert [r["status"] for r in index["runs"]] == ["finished", "finished"]
