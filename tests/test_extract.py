"""Resumable extraction into the feature store the trainer reads (SYNTHETIC clips made with PyAV)."""
from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("av")

from actionhub.cli import main  # noqa: E402
from actionhub.demo.synthclips import write_audio_only, write_clip  # noqa: E402
from actionhub.features import load_features  # noqa: E402
from actionhub.video.extract import ExtractError, extract_features, list_videos, video_id  # noqa: E402

SAMPLING = "segments:2"


def _make_batch(root):
    """Four good clips (two in a sub-folder, one Matroska) and four bad files."""
    write_clip(root / "a.mp4", 24)
    write_clip(root / "b.avi", 16)
    write_clip(root / "sub" / "c.mkv", 20)
    write_clip(root / "sub" / "d d.mp4", 12)
    (root / "zero.mp4").write_bytes(b"")
    (root / "corrupt.mp4").write_bytes(np.random.default_rng(1).integers(0, 256, 3000, dtype=np.uint8).tobytes())
    good = (root / "a.mp4").read_bytes()
    (root / "trunc.mp4").write_bytes(good[: len(good) // 3])
    write_audio_only(root / "voice.mp4")
    (root / "notes.txt").write_text("not a video")
    return root


@pytest.fixture()
def batch(tmp_path):
    return _make_batch(tmp_path / "videos")


def test_video_ids():
    assert video_id("a.mp4") == "a"
    assert video_id("abseiling/x y.mp4") == "abseiling__x_y"
    assert video_id("./x/../y.mkv") == "x__up__y"
    assert video_id("c:\\data\\v.avi".replace(":", "_")) == "c___data__v"
    assert video_id("clip.mp4.avi") == "clip_mp4"   # never ends in a video extension
    assert video_id("deep/dir/name.mp4", ids="stem") == "name"
    long = video_id("x" * 400 + ".mp4")
    assert len(long) <= 200 and long != video_id("x" * 401 + ".mp4")


def test_corrupt_and_empty_files_are_recorded_and_the_rest_extracted(batch, tmp_path):
    out = tmp_path / "feats"
    res = extract_features(batch, out, sampling=SAMPLING, progress=False)
    assert (res.total, res.extracted, res.failed, res.skipped) == (8, 4, 4, 0)
    assert res.frames == 4 * 2
    for vid in ("a", "b", "sub__c", "sub__d_d"):
        x = np.load(out / f"{vid}.npy")
        assert x.shape == (1280,) and x.dtype == np.float32 and np.isfinite(x).all()
    fails = {json.loads(ln)["video_id"]: json.loads(ln) for ln in (out / "failures.jsonl").read_text().splitlines()}
    assert {k: v["kind"] for k, v in fails.items()} == {
        "zero": "empty_file", "corrupt": "unreadable", "trunc": "unreadable", "voice": "no_video_stream"}
    for rec in fails.values():
        assert set(rec) >= {"video", "reason", "time"} and rec["video"].endswith(".mp4")
    meta = json.loads((out / "meta.json").read_text())
    assert meta["backbone"] == "efficientnet-lite0" and meta["dim"] == 1280
    assert meta["sampling"] == SAMPLING and meta["frames_per_video"] == 2
    assert (meta["status"], meta["num_extracted"], meta["num_failed"]) == ("complete", 4, 4)
    index = [json.loads(ln) for ln in (out / "index.jsonl").read_text().splitlines()]
    assert [r["video"] for r in index] == ["a", "b", "sub__c", "sub__d_d"]
    assert not (out / "metas.jsonl").exists()  # no labels: nothing claims to be a labelled list
    # Different videos give different features.
    assert not np.allclose(np.load(out / "a.npy"), np.load(out / "sub__c.npy"))


def test_list_file_with_labels_gives_a_store_the_trainer_reads(batch, tmp_path):
    lst = batch / "list.txt"
    lst.write_text("# path label\na.mp4 run\nsub/c.mkv\tjump rope\nb.avi run\nmissing.mp4 run\nsub/d d.mp4 7\n")
    entries = list_videos(lst)
    assert [(e.video_id, e.label) for e in entries] == [
        ("a", "run"), ("sub__c", "jump rope"), ("b", "run"), ("missing", "run"), ("sub__d_d", "7")]
    assert entries[1].path == str(batch / "sub" / "c.mkv")   # relative to the list file
    out = tmp_path / "feats"
    res = extract_features(lst, out, sampling=SAMPLING, progress=False)
    assert (res.extracted, res.failed) == (4, 1)
    assert json.loads((out / "failures.jsonl").read_text())["kind"] == "not_found"
    fs = load_features(out, classes=["run", "jump rope", "skip", "x", "y", "z", "w", "swim"])
    assert list(fs.videos) == ["a", "sub__c", "b", "sub__d_d"]
    assert list(fs.labels) == ["run", "jump rope", "run", "swim"]   # integer label 7 indexes the classes
    assert fs.dim == 1280 and fs.meta["backbone"] == "efficientnet-lite0" and fs.meta["sampling"] == SAMPLING
    np.testing.assert_array_equal(fs.features[0], np.load(out / "a.npy"))


def test_resume_after_a_kill_skips_finished_videos(batch, tmp_path):
    out = tmp_path / "feats"
    finished = []

    def die_after_two(vid, ok):
        if ok:
            finished.append(vid)
        if len(finished) == 2:
            raise KeyboardInterrupt("simulated kill")

    with pytest.raises(KeyboardInterrupt):
        extract_features(batch, out, sampling=SAMPLING, batch_size=1, progress=False, on_video=die_after_two)
    assert sorted(p.stem for p in out.glob("*.npy")) == sorted(finished)
    assert json.loads((out / "meta.json").read_text())["status"] == "partial"
    assert not list(out.glob(".*tmp*"))  # no torn temp files left behind
    mtimes = {p.name: p.stat().st_mtime_ns for p in out.glob("*.npy")}
    before = {p.name: p.read_bytes() for p in out.glob("*.npy")}
    # A hard kill would not have rewritten the lists: resume must rely on the .npy files alone.
    for name in ("index.jsonl", "failures.jsonl"):
        (out / name).unlink(missing_ok=True)

    res = extract_features(batch, out, sampling=SAMPLING, batch_size=1, progress=False)
    assert res.skipped == 2 and res.extracted == 2 and res.failed == 4
    for name, t in mtimes.items():
        assert (out / name).stat().st_mtime_ns == t and (out / name).read_bytes() == before[name]
    assert len(list(out.glob("*.npy"))) == 4
    assert json.loads((out / "meta.json").read_text())["status"] == "complete"
    # Same features as one uninterrupted run.
    ref = tmp_path / "ref"
    extract_features(batch, ref, sampling=SAMPLING, batch_size=1, progress=False)
    for p in ref.glob("*.npy"):
        np.testing.assert_allclose(np.load(out / p.name), np.load(p), rtol=1e-5, atol=1e-5)
    # A third run has nothing left but the failures (retried, recorded once each).
    again = extract_features(batch, out, sampling=SAMPLING, progress=False)
    assert (again.skipped, again.extracted, again.failed) == (4, 0, 4)
    assert len((out / "failures.jsonl").read_text().splitlines()) == 4


def test_rerun_with_other_settings_is_refused(batch, tmp_path):
    out = tmp_path / "feats"
    extract_features(batch / "sub", out, sampling=SAMPLING, progress=False)
    with pytest.raises(ExtractError, match="meta.json"):
        extract_features(batch / "sub", out, sampling="segments:3", progress=False)
    with pytest.raises(ExtractError, match="does not exist"):
        extract_features(tmp_path / "nope", tmp_path / "f2", progress=False)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ExtractError, match="no video files"):
        extract_features(tmp_path / "empty", tmp_path / "f3", progress=False)


def test_stem_ids_must_be_unique(tmp_path):
    write_clip(tmp_path / "v" / "x" / "a.mp4", 4)
    write_clip(tmp_path / "v" / "y" / "a.mp4", 4)
    assert [e.video_id for e in list_videos(tmp_path / "v")] == ["x__a", "y__a"]
    with pytest.raises(ExtractError, match="more than once"):
        list_videos(tmp_path / "v", ids="stem")


def test_cli_extract(batch, tmp_path, capsys):
    out = tmp_path / "feats"
    rc = main(["extract", str(batch / "sub"), "--out", str(out), "--sampling", "clip:4x2", "--no-progress"])
    printed = capsys.readouterr().out
    assert rc == 0 and "2 of 2 videos extracted" in printed and "clip:4x2" in printed
    assert sorted(p.name for p in out.glob("*.npy")) == ["c.npy", "d_d.npy"]
    rc = main(["extract", str(batch), "--out", str(out), "--sampling", "segments:8", "--no-progress"])
    assert rc == 2 and "meta.json" in capsys.readouterr().err
    assert main(["extract", "--list-backbones"]) == 0
    assert "efficientnet-lite0" in capsys.readouterr().out
    assert main(["extract", str(batch), "--out", str(tmp_path / "x"), "--sampling", "every:2"]) == 2
    assert "unknown sampling" in capsys.readouterr().err
