"""Hostile and careless input to the engine's verbs (train, extract, sweep, report, rank, text-features,
predict): checkpoints that would run code, two writers on one output, inputs that are wrong in
ways found too late, and messages in the user's terms. Every case asserts the exit code, that no
traceback reaches the user, and that no finished output was lost. Data are SYNTHETIC."""
from __future__ import annotations

import builtins
import errno
import hashlib
import json
import logging
import os
import subprocess
import sys
import textwrap
import traceback
from pathlib import Path

import numpy as np
import pytest
import torch

from actionhub.cli import main
from actionhub.demo.synthetic import SyntheticSpec, SyntheticWorld
from actionhub.features import save_features
from actionhub.protocols import get_benchmark

SRC = Path(__file__).resolve().parents[1] / "src"


def cli(args, capsys):
    """Run the CLI in-process: (exit code, stdout, stderr); an escaping exception is a traceback."""
    try:
        rc = main([str(a) for a in args])
    except SystemExit as e:   # argparse
        rc = e.code
    except BaseException:     # what a user would see as a traceback
        captured = capsys.readouterr()
        return 99, captured.out, captured.err + "\nTraceback (most recent call last):\n" + traceback.format_exc()
    captured = capsys.readouterr()
    return rc, captured.out, captured.err


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class Evil:
    """Unpickling this object writes a marker file (stands for any code an attacker wants run)."""

    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):
        return (builtins.exec, (f"open({self.marker!r}, 'w').write('code ran')",))


# --------------------------------------------------------------------------- SYNTHETIC files and one finished run


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("hostile")
    bench = get_benchmark("hmdb51")
    world = SyntheticWorld(bench.classes, SyntheticSpec(visual_dim=24, text_dim=16, latent_dim=12,
                                                         descriptions_per_class=8, seed=3))
    fs = world.videos(bench.classes, 3, seed=1)
    save_features(d / "feats.npz", fs)
    world.class_text().save(d / "text.npz")
    other = SyntheticWorld(bench.classes, SyntheticSpec(visual_dim=20, text_dim=16, latent_dim=12,
                                                        descriptions_per_class=8, seed=4))
    save_features(d / "feats20.npz", other.videos(bench.classes, 3, seed=2))
    return d


def train_args(files, out, *extra):
    return ["train", "--benchmark", "hmdb51", "--split", "0", "--features", files / "feats.npz",
            "--text-features", files / "text.npz", "--out", out, "--epochs", "1", "--dim", "8", "--k", "4",
            "--batch-size", "64", "--no-progress", *extra]


@pytest.fixture(scope="module")
def finished(files):
    run = files / "run"
    assert main([str(a) for a in train_args(files, run)]) == 0
    return run


@pytest.fixture()
def run_copy(finished, tmp_path):
    """A private copy of the finished run, to tamper with."""
    import shutil

    dst = tmp_path / "run"
    shutil.copytree(finished, dst)
    return dst


# --------------------------------------------------------------------------- 1. checkpoints cannot run code


def _evil_checkpoint(path: Path, marker: Path, **keep) -> None:
    torch.save({**keep, "payload": Evil(marker)}, path)


@pytest.mark.parametrize("verb", ["predict", "report", "train"])
def test_a_malicious_checkpoint_runs_nothing(verb, files, run_copy, tmp_path, capsys):
    marker = tmp_path / "PWNED"
    rec = json.loads((run_copy / "run.json").read_text())
    if verb == "train":   # rerunning train into an unfinished folder resumes from checkpoint.pt
        _evil_checkpoint(run_copy / "checkpoint.pt", marker, fingerprint=rec["fingerprint"])
        rec["status"] = "interrupted"   # a finished run is reused without reading checkpoint.pt
        (run_copy / "run.json").write_text(json.dumps(rec))
        before = digest(run_copy / "model.pt")
        rc, out, err = cli(train_args(files, run_copy), capsys)
        assert digest(run_copy / "model.pt") == before          # the finished model is kept
    else:
        _evil_checkpoint(run_copy / "model.pt", marker)
        if verb == "predict":
            rec["data"].update(feature_meta={"backbone": "efficientnet-lite0", "sampling": "segments:1"},
                               text_meta={"encoder": "minilm"})
            (run_copy / "run.json").write_text(json.dumps(rec))
            rc, out, err = cli(["predict", tmp_path / "clip.mp4", "--checkpoint", run_copy, "--actions",
                                "eat,run", "--no-progress"], capsys)
        else:
            rc, out, err = cli(["report", run_copy, "--out", tmp_path / "rep"], capsys)
    assert not marker.exists(), "unpickling the checkpoint ran code"
    assert rc == 2 and "Traceback" not in err
    assert "could run code" in err and "not loaded" in err
    status = json.loads((run_copy / "run.json").read_text())["status"]
    assert status == "finished" if verb != "train" else status in ("interrupted", "failed")


def test_checkpoints_written_today_load_with_weights_only(finished):
    for name in ("model.pt", "checkpoint.pt"):
        blob = torch.load(finished / name, weights_only=True)
        assert isinstance(blob, dict)


# --------------------------------------------------------------------------- 2. one writer per output


def _hold(path: Path, folder: bool):
    """A second process that holds the output lock of ``path`` until killed."""
    code = textwrap.dedent(f"""
        import sys, time
        from actionhub.utils.lock import output_lock
        with output_lock({str(path)!r}, folder={folder!r}):
            print("ready", flush=True)
            time.sleep(120)
    """)
    env = {**os.environ, "PYTHONPATH": f"{SRC}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    p = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, env=env, text=True)
    line = p.stdout.readline()
    if line.strip() != "ready":
        p.kill()
        pytest.fail("the lock holder did not start")
    return p


LOCK_CASES = {
    "train": (True, lambda f, out, t: train_args(f, out)),
    "extract": (True, lambda f, out, t: ["extract", t / "videos", "--out", out, "--no-progress"]),
    "sweep": (True, lambda f, out, t: ["sweep", "--benchmark", "hmdb51", "--features", f / "feats.npz",
                                       "--text-features", f / "text.npz", "--param", "k=2,4", "--out", out,
                                       "--epochs", "1", "--no-progress"]),
    "report": (True, lambda f, out, t: ["report", f / "run", "--out", out]),
    "rank": (False, lambda f, out, t: ["rank", t / "store", "--out", out]),
    "text-features": (False, lambda f, out, t: ["text-features", "--benchmark", "hmdb51", "--out", out,
                                                "--no-progress"]),
}


@pytest.mark.parametrize("verb", list(LOCK_CASES))
def test_a_second_writer_is_refused_naming_the_holder(verb, files, finished, tmp_path, capsys):
    folder, make = LOCK_CASES[verb]
    out = tmp_path / ("out" if folder else "out.parquet" if verb == "rank" else "out.npz")
    if folder:
        out.mkdir()
        (out / "keep.txt").write_text("finished work")
    holder = _hold(out, folder)
    try:
        rc, _, err = cli(make(files, out, tmp_path), capsys)
    finally:
        holder.kill()
        holder.wait()
    assert rc == 2 and "Traceback" not in err
    assert f"process {holder.pid}" in err and "wait for it to finish" in err
    if folder:
        assert (out / "keep.txt").read_text() == "finished work"


def test_a_dead_holders_lock_is_taken_over(files, run_copy, capsys):
    holder = _hold(run_copy, True)
    holder.kill()          # kill -9: the lock file stays, its flock is gone with the process
    holder.wait()
    from actionhub.utils.lock import lock_path_for

    assert lock_path_for(run_copy).exists()
    rc, out, err = cli(train_args(files, run_copy), capsys)
    assert rc == 0 and "Traceback" not in err and "reused" in out
    assert not lock_path_for(run_copy).exists()


# --------------------------------------------------------------------------- 3. inputs checked before any work


def _truncate(src: Path, dst: Path) -> Path:
    data = src.read_bytes()
    dst.write_bytes(data[: len(data) // 2])
    return dst


def _crc_corrupt(src: Path, dst: Path) -> Path:
    data = bytearray(src.read_bytes())
    data[len(data) // 3] ^= 0xFF    # inside the stored arrays: the zip's CRC no longer matches
    dst.write_bytes(bytes(data))
    return dst


@pytest.mark.parametrize("which,damage", [("features", _truncate), ("features", _crc_corrupt),
                                          ("text-features", _truncate), ("text-features", _crc_corrupt)])
def test_a_damaged_npz_is_a_clear_error(which, damage, files, tmp_path, capsys):
    src = files / ("feats.npz" if which == "features" else "text.npz")
    bad = damage(src, tmp_path / f"bad-{src.name}")
    args = train_args(files, tmp_path / "r")
    args[args.index(f"--{which}") + 1] = bad
    rc, _, err = cli(args, capsys)
    assert rc == 2 and "Traceback" not in err and "BadZipFile" not in err
    assert str(bad) in err and ("corrupt" in err or "truncated" in err)


BAD_NUMBERS = [("--lr", "nan"), ("--lr", "inf"), ("--epochs", "-3"), ("--steps", "-1"), ("--val-classes", "nan"),
               ("--batch-size", "0"),
               ("--tau", "nan"), ("--weight-decay", "-1"), ("--warmup-epochs", "nan"), ("--gamma", "nan"),
               ("--calibration", "nan")]


@pytest.mark.parametrize("flag,value", BAD_NUMBERS)
def test_nonsense_numbers_are_refused_naming_the_flag(flag, value, files, tmp_path, capsys):
    rc, _, err = cli(train_args(files, tmp_path / "r", flag, value), capsys)
    assert rc == 2 and "Traceback" not in err
    assert flag in err and value in err
    assert not (tmp_path / "r" / "run.json").exists()


def test_mismatched_feature_dimensions_are_found_before_training(files, tmp_path, capsys):
    rc, _, err = cli(train_args(files, tmp_path / "r", "--eval-features", files / "feats20.npz"), capsys)
    assert rc == 2 and "Traceback" not in err
    assert "--eval-features" in err and "24-d" in err and "20-d" in err
    assert not (tmp_path / "r" / "run.json").exists()      # nothing trained, nothing left `running`


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_cuda_without_cuda_is_a_clear_error(files, tmp_path, capsys):
    rc, _, err = cli(train_args(files, tmp_path / "r", "--device", "cuda"), capsys)
    assert rc == 2 and "Traceback" not in err and "CUDA is not available" in err


def test_duplicate_video_ids_count_once(files, finished, tmp_path, capsys, caplog):
    from actionhub.features import load_features

    fs = load_features(files / "feats.npz")
    unseen = get_benchmark("hmdb51").split(0).unseen
    test_rows = np.flatnonzero(np.isin(fs.labels.astype(str), list(unseen)))[:10]
    dup = np.concatenate([np.arange(len(fs)), test_rows])   # ten test videos twice
    save_features(tmp_path / "dup.npz", fs.features[dup], fs.labels[dup], fs.videos[dup])
    args = train_args(files, tmp_path / "r")
    args[args.index("--features") + 1] = tmp_path / "dup.npz"
    with caplog.at_level(logging.WARNING):
        rc, _, err = cli(args, capsys)
    assert rc == 0 and "Traceback" not in err
    assert "10 video id(s) occur more than once" in caplog.text
    ref = json.loads((finished / "run.json").read_text())
    run = json.loads((tmp_path / "r" / "run.json").read_text())
    assert run["protocol"]["num_test_videos"] == ref["protocol"]["num_test_videos"]
    assert run["metrics"]["test"]["num_videos"] == ref["metrics"]["test"]["num_videos"]


def _per_video_dir(root: Path, names: list[str], labels: list[str]) -> Path:
    root.mkdir(parents=True)
    for n in names:
        p = root / f"{n}.npy"
        p.parent.mkdir(parents=True, exist_ok=True)
        np.save(p, np.ones(4, np.float32))
    return root


@pytest.mark.parametrize("escape", ["../outside/secret", "ABSOLUTE"])
def test_a_video_list_cannot_reach_outside_the_feature_folder(escape, tmp_path, capsys):
    feats = _per_video_dir(tmp_path / "feats", ["a", "b"], [])
    outside = tmp_path / "outside"
    outside.mkdir()
    np.save(outside / "secret.npy", np.ones(4, np.float32))
    name = str(outside / "secret") if escape == "ABSOLUTE" else escape
    rows = [{"videoname": "a", "label": "brush_hair"}, {"videoname": "b", "label": "cartwheel"},
            {"videoname": name, "label": "chew"}]
    (feats / "metas.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    from actionhub.features import FeatureError, load_features

    with pytest.raises(FeatureError, match="outside the feature folder"):
        load_features(feats)
    rc, _, err = cli(["train", "--benchmark", "hmdb51", "--split", "0", "--features", feats,
                      "--text-features", tmp_path / "none.npz", "--out", tmp_path / "r", "--no-progress"], capsys)
    assert rc == 2 and "Traceback" not in err and "outside the feature folder" in err


def test_disk_full_in_train_marks_the_run_failed_and_loses_nothing(files, tmp_path, capsys, monkeypatch):
    out = tmp_path / "r"
    real_save = torch.save
    calls = {"n": 0}

    def full_after_one(obj, f, *a, **kw):
        calls["n"] += 1
        if calls["n"] > 1:
            raise OSError(errno.ENOSPC, "No space left on device", str(f))
        return real_save(obj, f, *a, **kw)

    monkeypatch.setattr(torch, "save", full_after_one)
    rc, _, err = cli(train_args(files, out, "--epochs", "2"), capsys)
    assert rc == 2 and "Traceback" not in err and "disk is full" in err
    rec = json.loads((out / "run.json").read_text())
    assert rec["status"] == "failed" and "disk is full" in rec["error"]
    assert (out / "checkpoint.pt").exists()                 # epoch 1 is kept
    monkeypatch.setattr(torch, "save", real_save)
    rc, out_text, err = cli(train_args(files, out, "--epochs", "2"), capsys)
    assert rc == 0 and json.loads((out / "run.json").read_text())["status"] == "finished"


def test_any_error_after_start_never_leaves_a_run_running(files, tmp_path, capsys, monkeypatch):
    import actionhub.engine.trainer as trainer

    def broken(*a, **kw):
        raise RuntimeError("evaluation blew up")

    monkeypatch.setattr(trainer, "evaluate", broken)
    rc, _, err = cli(train_args(files, tmp_path / "r"), capsys)
    assert rc == 99          # an internal error still shows its traceback (it is a bug, not bad input) ...
    rec = json.loads((tmp_path / "r" / "run.json").read_text())
    assert rec["status"] == "failed" and "evaluation blew up" in rec["error"]   # ... but is recorded


# --------------------------------------------------------------------------- extract


@pytest.fixture()
def clips(tmp_path):
    pytest.importorskip("av")
    from actionhub.demo.synthclips import write_clip

    d = tmp_path / "videos"
    write_clip(d / "a.mp4", 8)
    write_clip(d / "b.mp4", 8)
    write_clip(d / "c.mp4", 8)
    return d


def test_extract_exits_1_when_every_video_failed(tmp_path, capsys):
    pytest.importorskip("av")
    d = tmp_path / "videos"
    d.mkdir()
    for i in range(2):
        (d / f"bad{i}.mp4").write_bytes(os.urandom(2000))
    rc, _, err = cli(["extract", d, "--out", tmp_path / "f", "--sampling", "segments:1", "--no-progress"], capsys)
    assert rc == 1 and "Traceback" not in err and "every one of the 2 videos failed" in err


def test_disk_full_in_extract_keeps_the_finished_videos(clips, tmp_path, capsys, monkeypatch):
    import actionhub.video.extract as ex

    real = ex._save_npy
    calls = {"n": 0}

    def full_after_one(path, feature):
        calls["n"] += 1
        if calls["n"] > 1:
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        return real(path, feature)

    monkeypatch.setattr(ex, "_save_npy", full_after_one)
    out = tmp_path / "f"
    args = ["extract", clips, "--out", out, "--sampling", "segments:1", "--batch-size", "1", "--no-progress"]
    rc, _, err = cli(args, capsys)
    assert rc == 2 and "Traceback" not in err and "disk is full" in err
    kept = sorted(p.name for p in out.glob("*.npy"))
    assert kept == ["a.npy"]
    monkeypatch.setattr(ex, "_save_npy", real)
    rc, out_text, err = cli(args, capsys)
    assert rc == 0 and "3 of 3 videos extracted" in out_text and "1 already done" in out_text


def test_extract_cuda_without_cuda_is_a_clear_error(tmp_path, capsys):
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    d = tmp_path / "videos"
    d.mkdir()
    (d / "a.mp4").write_bytes(b"x")
    rc, _, err = cli(["extract", d, "--out", tmp_path / "f", "--device", "cuda", "--no-progress"], capsys)
    assert rc == 2 and "Traceback" not in err and "CUDA is not available" in err


# --------------------------------------------------------------------------- 4. messages in the user's terms


def test_errors_name_flags_not_python_arguments(files, tmp_path, capsys):
    feats = _per_video_dir(tmp_path / "feats", ["a"], [])
    rc, _, err = cli(["train", "--benchmark", "hmdb51", "--split", "0", "--features", feats, "--text-features",
                      files / "text.npz", "--out", tmp_path / "r", "--no-progress"], capsys)
    assert rc == 2 and "--video-list" in err and "video_list=" not in err
    (feats / "videos.txt").write_text("a not_a_class\n")
    rc, _, err = cli(["train", "--benchmark", "hmdb51", "--split", "0", "--features", feats, "--text-features",
                      files / "text.npz", "--out", tmp_path / "r", "--no-progress"], capsys)
    assert rc == 2 and "--benchmark" in err and "classes=" not in err


def test_predict_without_a_recorded_backbone_names_the_flag(run_copy, tmp_path, capsys):
    rec = json.loads((run_copy / "run.json").read_text())
    rec["data"].update(synthetic=False, feature_meta={}, text_meta={"encoder": "minilm"})
    (run_copy / "run.json").write_text(json.dumps(rec))
    rc, _, err = cli(["predict", tmp_path / "clip.mp4", "--checkpoint", run_copy, "--actions", "eat,run"], capsys)
    assert rc == 2 and "Traceback" not in err
    assert "--backbone" in err and "backbone=" not in err


def test_few_covered_seen_classes_are_warned(files, tmp_path, capsys, caplog):
    from actionhub.features import load_features

    fs = load_features(files / "feats.npz")
    seen = get_benchmark("hmdb51").split(0).seen
    keep = np.flatnonzero(~np.isin(fs.labels.astype(str), list(seen[2:])))   # 2 seen classes left
    save_features(tmp_path / "few.npz", fs.features[keep], fs.labels[keep], fs.videos[keep])
    args = train_args(files, tmp_path / "r")
    args[args.index("--features") + 1] = tmp_path / "few.npz"
    with caplog.at_level(logging.WARNING):
        rc, _, err = cli(args, capsys)
    assert rc == 0 and "Traceback" not in err
    assert f"{len(seen) - 2} of the {len(seen)} seen classes have no training videos" in caplog.text


def test_a_finished_run_says_it_was_reused(files, run_copy, capsys):
    before = digest(run_copy / "model.pt")
    rc, out, err = cli(train_args(files, run_copy), capsys)
    assert rc == 0 and "reused" in out and digest(run_copy / "model.pt") == before


def test_a_different_run_says_what_differs_before_loading_data(files, run_copy, tmp_path, capsys):
    args = train_args(files, run_copy, "--epochs", "3")
    args[args.index("--features") + 1] = tmp_path / "not-there.npz"   # never loaded: the check comes first
    before = digest(run_copy / "model.pt")
    rc, _, err = cli(args, capsys)
    assert rc == 2 and "Traceback" not in err and "already holds a different run" in err
    assert "--epochs 1 (now 3)" in err and "--features" in err and "does not exist" not in err
    assert digest(run_copy / "model.pt") == before


def test_absolute_paths_in_a_video_list_give_short_ids(tmp_path):
    from actionhub.video.extract import list_videos

    lists = tmp_path / "lists"
    lists.mkdir()
    far = tmp_path / "deep" / "library" / "clips"
    (lists / "list.txt").write_text(f"{far / 'bikes' / 'one.mp4'}\tride\n{far / 'cars' / 'two.mp4'}\tdrive\n"
                                    f"{lists / 'here' / 'three.mp4'}\twalk\n")
    ids = [e.video_id for e in list_videos(lists / "list.txt")]
    assert ids == ["bikes__one", "cars__two", "here__three"]


def test_no_progress_hides_the_encoder_loading_bar():
    hf_logging = pytest.importorskip("transformers.utils.logging")
    from actionhub.utils.progress import library_bars

    hf_logging.enable_progress_bar()
    with library_bars(False):
        assert not hf_logging.is_progress_bar_enabled()
    assert hf_logging.is_progress_bar_enabled()


def test_extract_usage_shows_input_and_out_as_required(capsys):
    rc, out, _ = cli(["extract", "--help"], capsys)
    assert rc == 0
    usage = out.split("\n\n")[0]
    assert "INPUT --out FEATURES" in usage and "[input]" not in usage and "[--out OUT]" not in usage


def test_predicts_not_found_does_not_talk_about_list_files(tmp_path):
    pytest.importorskip("av")
    from actionhub.video.decode import DecodeError, parse_sampling, read_video

    with pytest.raises(DecodeError) as e:
        read_video(tmp_path / "missing.mp4", parse_sampling("segments:1"))
    assert "not found" in e.value.detail and "list" not in e.value.detail


def test_the_lock_file_names_its_holder_and_is_removed(tmp_path):
    from actionhub.utils.lock import output_lock, read_holder

    with output_lock(tmp_path / "o", folder=True) as lock:
        rec = read_holder(lock)
        assert rec["pid"] == os.getpid() and rec["host"] and rec["since"]
        with output_lock(tmp_path / "o", folder=True):   # re-entrant in one process
            pass
        assert lock.exists()
    assert not lock.exists()
