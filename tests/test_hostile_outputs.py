"""Hostile outputs and files that lie (issue 23): two commands on one output, kill -9 and Ctrl-C in
the middle of a write, outputs that are their own inputs or sit in a read-only folder, caches and
corpora that lie, and user files whose structure, types or sizes are wrong. Every case runs the real
CLI (in-process, or as a real subprocess where a process must die) and checks the exit status, that
one line and no traceback reaches the user, and that nothing finished was lost or mixed. All data
here are SYNTHETIC."""
from __future__ import annotations

import errno
import hashlib
import io
import json
import os
import pickle
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from actionhub.cli import main
from actionhub.dataset.store import read_store

sys.path.insert(0, str(Path(__file__).parent))
from test_analyze import make_store, write_vectors  # noqa: E402
from test_hostile_engine import Evil, _hold, cli, files  # noqa: E402,F401 - files: a fixture
from test_hostile_inputs import HostileHash  # noqa: E402,F401 - registers the hostilehash: encoder

pytestmark = pytest.mark.timeout(300)
SRC = Path(__file__).resolve().parents[1] / "src"
ENV = {**os.environ, "HF_HUB_OFFLINE": "1",
       "PYTHONPATH": os.pathsep.join([str(SRC), str(Path(__file__).parent), os.environ.get("PYTHONPATH", "")])}


# ----------------------------------------------------------------------------- SYNTHETIC inputs
def tree(path: Path) -> dict[str, str]:
    """Every file under ``path`` (or the file itself) with the SHA-256 of its bytes."""
    if path.is_file():
        return {path.name: hashlib.sha256(path.read_bytes()).hexdigest()}
    return {str(p.relative_to(path)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(path.rglob("*")) if p.is_file()}


def released(tmp: Path, name: str = "released.json", extra: int = 0) -> Path:
    data = {"ride horse": ["A man rides a horse on the beach.", "Kids ride ponies in a field."],
            "play guitar": ["A woman plays the guitar.", "A boy strums a guitar on stage."],
            "swim": [f"Swimmer number {i} crosses the pool." for i in range(2 + extra)]}
    p = tmp / name
    p.write_text(json.dumps(data), encoding="utf-8")
    return p


def imported(tmp: Path, name: str = "store") -> Path:
    assert main(["import", str(released(tmp)), "--out", str(tmp / name), "--no-progress"]) == 0
    return tmp / name


def store_parquet(tmp: Path) -> Path:
    """A single-file description store (the columns `rank` reads) of 60 rows."""
    p = tmp / "STORE.parquet"
    pq.write_table(pa.table({"action": ["ride horse"] * 30 + ["play guitar"] * 30, "provider": ["p"] * 60,
                             "video_id": [str(i) for i in range(60)],
                             "description": [f"a man rides horse {i}" for i in range(30)]
                             + [f"a woman plays guitar {i}" for i in range(30)]}), p)
    return p


def vectors(tmp: Path) -> Path:
    p = tmp / "vectors.txt"
    p.write_text("ride 1 0 0\nhorse 1 1 0\nplay 0 1 1\nguitar 0 0 1\nman 1 0 1\nwoman 0 1 0\nswim 1 1 1\n")
    return p


def corpus(tmp: Path, lines: int = 300) -> Path:
    p = tmp / "captions.csv"
    p.write_text("videoid,name\n" + "".join(f"v{i},a man rides a horse number {i}\n" for i in range(lines)))
    return p


def queries(tmp: Path) -> Path:
    p = tmp / "q.txt"
    p.write_text("ride horse\n", encoding="utf-8")
    return p


def collect_args(tmp: Path, out: Path, corp: Path | None = None) -> list:
    return ["collect", "--provider", "local", "--corpus", corp or corpus(tmp), "--queries", queries(tmp),
            "--out", out, "--no-progress"]


def topk(tmp: Path) -> Path:
    """A top-k table as `rank` writes it."""
    store = store_parquet(tmp)
    assert main(["rank", str(store), "--k", "5", "--out", str(tmp / "topk.parquet"), "--word-vectors",
                 str(vectors(tmp)), "--no-progress"]) == 0
    return tmp / "topk.parquet"


def run_dir(tmp: Path) -> Path:
    """A finished SYNTHETIC run (train of the demo recipe, 1 epoch)."""
    out = tmp / "run"
    assert main(["train", "--config", "configs/demo/hmdb51.toml", "--split", "0", "--epochs", "1",
                 "--out", str(out), "--no-progress"]) == 0
    return out


# ----------------------------------------------------------------------------- the writing verbs
# verb -> (is the output a folder, args(tmp, out)); every one writes a finished output at `out`
VERBS = {
    "import": (True, lambda t, out: ["import", released(t), "--out", out, "--no-progress"]),
    "collect": (True, lambda t, out: collect_args(t, out)),
    "export": (True, lambda t, out: ["export", imported(t), "--out", out, "--no-progress"]),
    "analyze": (True, lambda t, out: ["analyze", "descriptions", make_store(t / "astore"), "--out", out,
                                      "--word-vectors", write_vectors(t / "tiny.txt"), "--top", "2",
                                      "--no-progress"]),
    "stats": (True, lambda t, out: ["stats", imported(t), "--plots", out]),
    "report": (True, lambda t, out: ["report", run_dir(t), "--out", out]),
    "rank": (False, lambda t, out: ["rank", store_parquet(t), "--out", out, "--word-vectors", vectors(t),
                                    "--no-progress"]),
    "text-features": (False, lambda t, out: ["text-features", "--benchmark", "hmdb51", "--encoder", "hostilehash:o",
                                             "--no-cache", "--out", out, "--no-progress"]),
    "vocab": (False, lambda t, out: ["vocab", "build", "--out", out]),
    "evaluate": (False, lambda t, out: ["evaluate", "--runs", run_dir(t), "--out", out]),
}
FINISHED = ("export", "analyze", "stats", "report", "rank", "text-features", "vocab", "evaluate")


def out_path(tmp: Path, verb: str) -> Path:
    folder = VERBS[verb][0]
    return tmp / ("out" if folder else {"rank": "out.parquet", "text-features": "out.npz", "vocab": "q.csv",
                                        "evaluate": "results.json"}[verb])


def run(args: list, capsys) -> tuple[object, str]:
    rc, out, err = cli([str(a) for a in args], capsys)
    return rc, out + err


@pytest.mark.parametrize("verb", list(VERBS))
def test_a_second_writer_is_refused_and_touches_nothing(verb, tmp_path, capsys, monkeypatch):
    """Another process writes the output: refused at once, naming it, and nothing is created or removed
    there (before: import/collect/export/analyze/stats/vocab/evaluate took no lock on their output, and an
    import refused by the store's lock removed the store the other one was creating)."""
    monkeypatch.chdir(Path(__file__).resolve().parents[1])
    out = out_path(tmp_path, verb)
    args = VERBS[verb][1](tmp_path, out)
    holder = _hold(out, False)
    try:
        rc, text = run(args, capsys)
    finally:
        holder.kill()
        holder.wait()
    assert rc == 2 and "Traceback" not in text, text
    assert f"is being written by process {holder.pid}" in text, text
    assert not out.exists()


@pytest.mark.slow
@pytest.mark.parametrize("verb", FINISHED)
def test_a_finished_output_is_replaced_only_with_overwrite(verb, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(Path(__file__).resolve().parents[1])
    out = out_path(tmp_path, verb)
    args = VERBS[verb][1](tmp_path, out)
    assert run(args, capsys)[0] == 0
    before = tree(out)
    rc, text = run(args, capsys)
    assert rc == 2 and "--overwrite" in text and "Traceback" not in text, text
    assert tree(out) == before                       # before: silently replaced (exit 0)
    assert run(args + ["--overwrite"], capsys)[0] == 0
    if VERBS[verb][0]:                               # a folder: what else is in it is kept
        (out / "notes.txt").write_text("mine")
        assert run(args + ["--overwrite"], capsys)[0] == 0
        assert (out / "notes.txt").read_text() == "mine"
    assert not [p for p in tmp_path.iterdir() if ".staging-" in p.name or ".trash-" in p.name]


# ----------------------------------------------------------------------------- kill -9 and Ctrl-C mid-write
PAUSE = textwrap.dedent("""
    import importlib, sys, time
    where, name = sys.argv[1].split(":")
    name, _, nth = name.partition("@")
    owner = importlib.import_module(where)
    *path, attr = name.split(".")
    for p in path:
        owner = getattr(owner, p)
    real = getattr(owner, attr)
    calls = [0]
    def paused(*a, **k):
        out = real(*a, **k)
        calls[0] += 1
        if calls[0] == int(nth or 1):
            print("ready", flush=True)
            time.sleep(120)
        return out
    setattr(owner, attr, paused)
    if any(a.startswith("hostilehash:") for a in sys.argv):
        import test_hostile_inputs  # noqa: F401 - registers the test encoder
    from actionhub.cli import main
    sys.exit(main(sys.argv[2:]))
""")


_SPAWNED: list[subprocess.Popen] = []


@pytest.fixture(autouse=True)
def _no_process_left():
    """Every subprocess a test started is gone when it ends, whatever the test found."""
    yield
    while _SPAWNED:
        p = _SPAWNED.pop()
        if p.poll() is None:
            p.kill()
            p.wait()


def spawn(target: str, args: list, cwd: Path | None = None) -> subprocess.Popen:
    """The CLI in a real subprocess that sleeps right after ``module:function`` returned (printing "ready")."""
    p = subprocess.Popen([sys.executable, "-c", PAUSE, target, *map(str, args)], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, env=ENV, cwd=cwd)
    _SPAWNED.append(p)
    return p


def paused(target: str, args: list, cwd: Path | None = None) -> subprocess.Popen:
    """:func:`spawn`, once it has reached ``target`` (``module:function``, ``@N``: its N-th return)."""
    p = spawn(target, args, cwd)
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        line = p.stdout.readline()
        if line.strip() == "ready":
            return p
        if not line and p.poll() is not None:
            break
    p.kill()
    pytest.fail(f"the paused command did not reach {target}: {p.stderr.read()}")


# verb -> the function after which the command is killed: part of the output is written (in staging)
KILL_AT = {
    "export": "actionhub.dataset.export:_card",
    "analyze": "actionhub.dataset.analysis_report:_csv",
    "stats": "actionhub.dataset.stats_plots:write_plots",
    "report": "actionhub.report.build:atomic_write_json",
    "rank": "actionhub.dataset.rank:_output_table",
    "text-features": "actionhub.text.build:build_class_text",
    "vocab": "actionhub.dataset.vocab:Vocabulary.to_csv",
    "evaluate": "actionhub.evaluation.results:evaluate_runs",
}


@pytest.mark.slow
@pytest.mark.parametrize("verb", FINISHED)
def test_kill_9_while_writing_loses_and_mixes_nothing(verb, tmp_path, capsys, monkeypatch):
    """SIGKILL in the middle of replacing a finished output: the earlier output is intact (not a new
    figure beside old tables), no staging is visible as output, and the rerun completes it."""
    repo = Path(__file__).resolve().parents[1]
    monkeypatch.chdir(repo)
    out = out_path(tmp_path, verb)
    args = [str(a) for a in VERBS[verb][1](tmp_path, out)]
    assert run(args, capsys)[0] == 0
    before = tree(out)
    changed = args + (["--top", "3"] if verb == "analyze" else ["--k", "3"] if verb == "rank" else [])
    p = paused(KILL_AT[verb], changed + ["--overwrite"], cwd=repo)
    p.send_signal(signal.SIGKILL)
    p.wait()
    assert tree(out) == before                       # nothing of the killed run at --out
    assert run(changed + ["--overwrite"], capsys)[0] == 0
    fresh = tmp_path / ("fresh" if VERBS[verb][0] else "fresh" + out.suffix)
    assert run([fresh if a == str(out) else a for a in changed], capsys)[0] == 0
    if verb in ("analyze", "stats"):   # the rerun equals an uninterrupted run, file for file
        for name in ("fig6_neighbours.csv", "fig6_neighbours.md") if verb == "analyze" else ("stats.txt",):
            assert (out / name).read_bytes() == (fresh / name).read_bytes()
    assert not [q for q in tmp_path.iterdir() if ".staging-" in q.name or ".trash-" in q.name]


@pytest.mark.slow
def test_ctrl_c_while_writing_is_one_line_and_tears_nothing(tmp_path, capsys, monkeypatch):
    out = tmp_path / "fig"
    args = [str(a) for a in VERBS["analyze"][1](tmp_path, out)]
    assert run(args, capsys)[0] == 0
    before = tree(out)
    p = paused(KILL_AT["analyze"], args + ["--overwrite"])
    p.send_signal(signal.SIGINT)
    _, err = p.communicate(timeout=60)
    assert p.returncode == 130 and err.strip().count("\n") == 0 and "Traceback" not in err, err
    assert "interrupted" in err and "no output was changed" in err
    assert tree(out) == before and not list(tmp_path.glob(".fig.*"))


def test_ctrl_c_in_a_resumable_verb_says_rerun_to_resume(tmp_path, capsys, monkeypatch):
    import actionhub.dataset.importer as imp

    def interrupted(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(imp, "import_released", interrupted)
    rc, text = run(["import", released(tmp_path), "--out", tmp_path / "s"], capsys)
    assert rc == 130 and text.strip() == ("actionhub import: interrupted; finished work is saved: rerun the same "
                                          "command to resume")


def test_ctrl_c_while_the_command_starts_is_one_line(tmp_path):
    """The first fraction of a second (imports, parsing): before, a KeyboardInterrupt traceback and -2."""
    code = ("import sys; sys.argv[0] = 'actionhub'; import os, signal, time; import actionhub.cli; "
            "os.kill(os.getpid(), signal.SIGINT); time.sleep(30)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=ENV, timeout=60)
    assert r.returncode == 130 and r.stderr == "actionhub: interrupted before it started; nothing was written\n"


# ----------------------------------------------------------------------------- two real commands at once
@pytest.mark.slow
def test_two_exports_to_one_folder(tmp_path, capsys):
    """Before: both exited 0 and one silently replaced the other (or deleted a file put there meanwhile)."""
    store, out = imported(tmp_path), tmp_path / "hf"
    first = paused(KILL_AT["export"], ["export", store, "--out", out, "--no-progress"])
    rc, text = run(["export", store, "--out", out, "--no-progress"], capsys)
    assert rc == 2 and f"process {first.pid}" in text
    first.send_signal(signal.SIGKILL)
    first.wait()
    assert not out.exists()
    assert run(["export", store, "--out", out, "--no-progress"], capsys)[0] == 0
    back = tmp_path / "back"
    assert run(["import", out, "--out", back, "--no-progress"], capsys)[0] == 0
    assert read_store(back).sort_by("video_id").equals(read_store(store).sort_by("video_id"))   # as exported


@pytest.mark.slow
@pytest.mark.parametrize("second", ["import", "collect"])
def test_two_writers_starting_into_one_new_store(second, tmp_path, capsys, monkeypatch):
    """An import and an import (or a collect) start at once into a store that does not exist yet. Before:
    the one refused by the store's lock removed the store folder the other was writing."""
    import actionhub.dataset.store as st

    store = tmp_path / "store"
    other = released(tmp_path, "other.json", extra=3)
    started: list[subprocess.Popen] = []
    real_init = st.Store.__init__

    def racing_init(self, *a, **k):   # the other command starts while this one opens the store
        if not started:
            started.append(spawn("actionhub.dataset.importer:open_text_file",   # stops before its first row
                                 ["import", other, "--out", store, "--no-progress"]))
            try:
                started[0].wait(timeout=60)   # refused at once: this process holds the store's lock
            except subprocess.TimeoutExpired:   # (before: it went on, and this one removed its store)
                pass
        real_init(self, *a, **k)

    monkeypatch.setattr(st.Store, "__init__", racing_init)
    args = ["import", released(tmp_path), "--out", store, "--no-progress"] if second == "import" else \
        collect_args(tmp_path, store)
    rc, text = run(args, capsys)
    assert rc == 0, text
    refused = started[0]
    assert refused.returncode == 2 and f"is being written by process {os.getpid()}" in refused.stderr.read()
    monkeypatch.setattr(st.Store, "__init__", real_init)
    assert store.is_dir() and len(read_store(store)) > 0   # nothing of this one was removed
    assert run(["import", other, "--out", store, "--no-progress"], capsys)[0] == 0   # the refused one, rerun
    assert set(read_store(store).column("description").to_pylist()) >= {f"Swimmer number {i} crosses the pool."
                                                                         for i in range(5)}


@pytest.mark.slow
def test_kill_9_during_an_import_then_rerun(tmp_path, capsys):
    store = tmp_path / "store"
    src = released(tmp_path, extra=50)
    p = paused("actionhub.dataset.store:Store.add", ["import", src, "--out", store, "--no-progress"])
    p.send_signal(signal.SIGKILL)
    p.wait()
    assert run(["import", src, "--out", store, "--no-progress"], capsys)[0] == 0
    clean = tmp_path / "clean"
    assert run(["import", src, "--out", clean, "--no-progress"], capsys)[0] == 0
    cols = ["action", "provider", "video_id", "description"]
    assert read_store(store, cols).sort_by("video_id").equals(read_store(clean, cols).sort_by("video_id"))


# the resumable verbs: killed in the middle, rerun, equal to a run that was never killed
def _train(files: Path, out: Path) -> list:  # noqa: F811 - files: a fixture
    return ["train", "--benchmark", "hmdb51", "--split", "0", "--features", files / "feats.npz", "--text-features",
            files / "text.npz", "--out", out, "--epochs", "3", "--dim", "8", "--k", "4", "--batch-size", "64",
            "--val-classes", "0", "--no-progress"]


def _sweep(files: Path, out: Path) -> list:  # noqa: F811 - files: a fixture
    return ["sweep", "--benchmark", "hmdb51", "--splits", "0", "--features", files / "feats.npz", "--text-features",
            files / "text.npz", "--param", "k=2,4", "--out", out, "--epochs", "2", "--dim", "8", "--batch-size",
            "64", "--val-classes", "0", "--no-progress"]


@pytest.mark.slow
@pytest.mark.parametrize("verb", ["train", "sweep"])
def test_kill_9_in_training_then_rerun_gives_the_uninterrupted_result(verb, files, tmp_path, capsys):  # noqa: F811
    make = _train if verb == "train" else _sweep
    p = paused("torch:save@2", make(files, tmp_path / "killed"))   # after the second checkpoint
    p.send_signal(signal.SIGKILL)
    p.wait()
    assert run(make(files, tmp_path / "killed"), capsys)[0] == 0
    assert run(make(files, tmp_path / "clean"), capsys)[0] == 0
    if verb == "train":
        a, b = (json.loads((tmp_path / d / "run.json").read_text()) for d in ("killed", "clean"))
        assert a["status"] == b["status"] == "finished"
        assert a["metrics"]["test"]["top1"] == pytest.approx(b["metrics"]["test"]["top1"])
        assert [h["loss"] for h in a["history"]] == pytest.approx([h["loss"] for h in b["history"]], rel=1e-5)
    else:
        a, b = (json.loads((tmp_path / d / "sweep.json").read_text()) for d in ("killed", "clean"))
        rows = lambda s: sorted((json.dumps(r["params"]), r["status"], r["metrics"]["top1"])  # noqa: E731
                                for r in s["runs"])
        assert len(a["runs"]) == 2 and [r[:2] for r in rows(a)] == [r[:2] for r in rows(b)]
        assert [r[2] for r in rows(a)] == pytest.approx([r[2] for r in rows(b)], abs=1e-3)


@pytest.mark.slow
def test_kill_9_in_extract_then_rerun(tmp_path, capsys):
    list_a, _ = _clip_lists(tmp_path)
    ex = ["--sampling", "segments:1", "--batch-size", "1", "--no-progress"]
    p = paused("actionhub.video.extract:_save_npy", ["extract", list_a, "--out", tmp_path / "killed", *ex])
    p.send_signal(signal.SIGKILL)
    p.wait()
    rc, text = run(["extract", list_a, "--out", tmp_path / "killed", *ex], capsys)
    assert rc == 0 and "1 now, 1 already done" in text, text
    assert run(["extract", list_a, "--out", tmp_path / "clean", *ex], capsys)[0] == 0
    for name in ("a.npy", "b.npy"):
        np.testing.assert_allclose(np.load(tmp_path / "killed" / name), np.load(tmp_path / "clean" / name))
    assert (tmp_path / "killed" / "metas.jsonl").read_text() == (tmp_path / "clean" / "metas.jsonl").read_text()


# ----------------------------------------------------------------------------- a finished feature folder
def _clip_lists(tmp: Path) -> tuple[Path, Path]:
    pytest.importorskip("av")
    from actionhub.demo.synthclips import write_clip

    for name in "abc":
        write_clip(tmp / "videos" / f"{name}.mp4", 8)
    a, b = tmp / "videos" / "list_a.txt", tmp / "videos" / "list_b.txt"
    a.write_text("a.mp4 ride\nb.mp4 swim\n")
    b.write_text("c.mp4 run\n")
    return a, b


@pytest.mark.slow
def test_extract_of_another_input_into_a_finished_folder(tmp_path, capsys):
    """Before: exit 0, metas.jsonl and index.jsonl rewritten for LIST_B, A's labels gone, .npy orphaned."""
    list_a, list_b = _clip_lists(tmp_path)
    out = tmp_path / "F"
    ex = ["--sampling", "segments:1", "--no-progress"]
    assert run(["extract", list_a, "--out", out, *ex], capsys)[0] == 0
    before = tree(out)
    rc, text = run(["extract", list_b, "--out", out, *ex], capsys)
    assert rc == 2 and "another input" in text and str(list_a) in text and "--overwrite" in text, text
    assert tree(out) == before
    (out / "b.npy").unlink()                       # the same input resumes
    rc, text = run(["extract", list_a, "--out", out, *ex], capsys)
    assert rc == 0 and "1 now, 1 already done" in text
    assert run(["extract", list_b, "--out", out, *ex, "--overwrite"], capsys)[0] == 0
    assert sorted(p.name for p in out.glob("*.npy")) == ["c.npy"]
    assert [json.loads(x)["label"] for x in (out / "metas.jsonl").read_text().splitlines()] == ["run"]


# ----------------------------------------------------------------------------- outputs that are inputs
def _overlap_cases(t: Path) -> dict[str, tuple[list, Path]]:
    store = imported(t)
    sp = store_parquet(t)
    tk = topk(t)
    (t / "sub").mkdir(exist_ok=True)
    corp = corpus(t, 20)
    return {
        "rank": (["rank", sp, "--out", t / "sub" / ".." / sp.name, "--word-vectors", vectors(t), "--overwrite"], sp),
        "text-features": (["text-features", "--benchmark", "hmdb51", "--encoder", "hostilehash:o", "--descriptions",
                           tk, "--out", tk, "--overwrite", "--no-cache"], tk),
        "analyze": (["analyze", "descriptions", store, "--out", store / "fig6", "--word-vectors", vectors(t)], store),
        "stats": (["stats", store, "--plots", store], store),
        "export": (["export", store, "--out", store / "hf"], store),
        "import": (["import", store / "_state" / "store.json", "--out", store], store),
        "collect": (collect_args(t, t, corp), corp),
        "vocab": (["vocab", "build", "--add-file", queries(t), "--out", queries(t), "--overwrite"], queries(t)),
    }


@pytest.mark.parametrize("verb", ["rank", "text-features", "analyze", "stats", "export", "import", "collect",
                                  "vocab"])
@pytest.mark.slow
def test_an_output_that_is_an_input_is_refused(verb, tmp_path, capsys):
    """Before: `rank STORE.parquet --out sub/../STORE.parquet` replaced the store with its top-k, and
    `text-features --descriptions T --out T` replaced its input, both with exit 0."""
    args, inp = _overlap_cases(tmp_path)[verb]
    before = tree(inp)
    rc, text = run(args, capsys)
    assert rc == 2 and "Traceback" not in text and "the input" in text, text
    assert tree(inp) == before


def test_train_and_report_outputs_off_their_inputs(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(Path(__file__).resolve().parents[1])
    finished = run_dir(tmp_path)
    before = tree(finished)
    rc, text = run(["report", finished, "--out", finished / "report"], capsys)
    assert rc == 2 and "lies inside the input RESULTS_OR_RUN_DIRS" in text
    feats = tmp_path / "feats"
    feats.mkdir()
    (feats / "f.npz").write_bytes(b"")
    rc, text = run(["train", "--benchmark", "hmdb51", "--split", "0", "--features", feats / "f.npz",
                    "--text-features", feats / "f.npz", "--out", feats], capsys)
    assert rc == 2 and "--out" in text and "holds the input --features" in text
    assert tree(finished) == before


# ----------------------------------------------------------------------------- read-only folders
def _read_only(monkeypatch, folder: Path) -> None:
    """Writing anything under ``folder`` fails as on a read-only file system (root ignores chmod)."""
    import builtins

    def guard(fn, mode_arg=None):
        def wrapped(path, *a, **k):
            target = Path(os.fsdecode(path)) if isinstance(path, (str, bytes, os.PathLike)) else None
            mode = (a[0] if a else k.get("mode", "r")) if mode_arg else "w"
            writes = not isinstance(mode, str) or any(c in mode for c in "wax+")
            if target is not None and writes and (target == folder or folder in target.absolute().parents):
                raise OSError(errno.EROFS, "Read-only file system", str(path))
            return fn(path, *a, **k)
        return wrapped

    monkeypatch.setattr(builtins, "open", guard(builtins.open, True))
    monkeypatch.setattr(io, "open", guard(io.open, True))
    monkeypatch.setattr(os, "mkdir", guard(os.mkdir))


@pytest.mark.parametrize("verb", ["import", "collect", "export", "rank", "text-features", "analyze", "stats",
                                  "vocab"])
def test_an_output_in_a_read_only_folder_is_one_line(verb, tmp_path, capsys, monkeypatch):
    """Before: an `OSError: [Errno 30]` traceback from every writing verb."""
    ro = tmp_path / "ro"
    ro.mkdir()
    args = VERBS[verb][1](tmp_path, ro / out_path(tmp_path, verb).name)
    _read_only(monkeypatch, ro)
    rc, text = run(args, capsys)
    assert rc == 2 and "Traceback" not in text and "Read-only file system" in text, text
    assert text.strip().splitlines()[-1].startswith(f"actionhub {verb.split()[0]}: error:")
    assert list(ro.iterdir()) == []


@pytest.mark.parametrize("verb", ["train", "extract"])
def test_train_or_extract_into_a_read_only_folder_is_one_line(verb, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(Path(__file__).resolve().parents[1])
    ro = tmp_path / "ro"
    ro.mkdir()
    args = (["train", "--config", "configs/demo/hmdb51.toml", "--split", "0", "--epochs", "1", "--out", ro / "run",
             "--no-progress"] if verb == "train" else
            ["extract", _clip_lists(tmp_path)[0], "--sampling", "segments:1", "--out", ro / "F", "--no-progress"])
    _read_only(monkeypatch, ro)
    rc, text = run(args, capsys)
    assert rc == 2 and "Traceback" not in text and "Read-only file system" in text, text
    assert list(ro.iterdir()) == []


# ----------------------------------------------------------------------------- caches that lie
def _damage(path: Path, damage: str) -> None:
    data = bytearray(path.read_bytes())
    if damage == "truncated":
        data = data[: len(data) // 2]
    elif damage == "flipped":
        data[len(data) // 3] ^= 0xFF
    else:
        data = bytearray(b"not an index at all")
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("damage", ["truncated", "flipped", "garbage"])
def test_a_damaged_bm25_index_heals_itself(damage, tmp_path, capsys, caplog):
    """Before: a BadZipFile traceback from this and every later collect, until the hidden file was deleted."""
    corp = corpus(tmp_path, 2000)
    assert run(collect_args(tmp_path, tmp_path / "clean", corp), capsys)[0] == 0
    (segment,) = tmp_path.glob(".captions.csv.bm25-*/seg-*.bin")
    _damage(segment, damage)
    caplog.clear()
    rc, text = run(collect_args(tmp_path, tmp_path / "store", corp), capsys)
    assert rc == 0 and "Traceback" not in text, text
    said = [r.getMessage() for r in caplog.records if "re-indexed the corpus shard" in r.getMessage()]
    assert len(said) == 1 and "captions.csv: its index segment is " in said[0]
    assert ("truncated" if damage != "flipped" else "fails its checksum") in said[0]
    cols = ["action", "rank", "provider", "video_id", "description"]
    assert read_store(tmp_path / "store", cols).sort_by("video_id").equals(
        read_store(tmp_path / "clean", cols).sort_by("video_id"))
    from actionhub.dataset.collect.local import LocalProvider

    assert LocalProvider(corp).index_from_cache   # rebuilt and cached again


@pytest.mark.parametrize("damage", ["truncated", "flipped", "garbage"])
def test_a_damaged_saved_bm25_index_loads_as_none_with_one_warning(damage, tmp_path, caplog):
    """A BM25Index saved as .npz (the web app's index of a store) verifies itself when loaded."""
    from actionhub.dataset.collect.local import BM25Index

    path = tmp_path / "bm25.npz"
    index = BM25Index.build([f"a man rides a horse {i}" for i in range(3000)])
    index.save(path)
    assert BM25Index.load(path).num_docs == 3000
    _damage(path, damage)
    caplog.clear()
    assert BM25Index.load(path) is None
    said = [r.getMessage() for r in caplog.records if "BM25 index cache" in r.getMessage()]
    assert len(said) == 1 and "damaged" in said[0]


def test_a_text_cache_shard_with_a_damaged_checksum_is_encoded_again(tmp_path, capsys):
    cache = tmp_path / "cache"
    base = ["text-features", "--benchmark", "hmdb51", "--encoder", "hostilehash:c", "--cache", cache, "--no-progress"]
    assert run(base + ["--out", tmp_path / "a.npz"], capsys)[0] == 0
    (index,) = cache.rglob("shard-*.parquet")
    t = pq.read_table(index)
    pq.write_table(t.replace_schema_metadata({b"actionhub.crc32": b"not a number"}), index)
    rc, text = run(base + ["--out", tmp_path / "b.npz"], capsys)
    assert rc == 0 and "Traceback" not in text, text
    from actionhub.text.class_text import load_class_text

    a, b = load_class_text(tmp_path / "a.npz"), load_class_text(tmp_path / "b.npz")
    assert a.classes == b.classes and np.array_equal(a.ad, b.ad)   # encoded again, the same
    assert len(list(cache.rglob("shard-*.parquet"))) == 1          # the broken shard was replaced


# ----------------------------------------------------------------------------- corpora that lie
def test_a_stray_quote_in_a_csv_corpus_is_refused_with_its_line(tmp_path, capsys):
    """Before: exit 0, the rest of the file merged into one 2-million-character caption, few descriptions."""
    lines = ["videoid,name"] + [f"v{i},a man rides a horse {i}" for i in range(5000)]
    lines[101] = 'v100,"a man rides a horse on a beach'   # file line 102: a quote that is never closed
    corp = tmp_path / "captions.csv"
    corp.write_text("\n".join(lines) + "\n")
    store = tmp_path / "store"
    rc, text = run(collect_args(tmp_path, store, corp), capsys)
    assert rc == 2 and "Traceback" not in text, text
    assert "starts on line 102" in text and "--max-caption-chars" in text
    assert not store.exists()


def test_many_stray_quotes_short_captions_are_refused_by_the_row_count(tmp_path, capsys):
    """Quotes that pair up over three lines at a time: every caption short, a third of the rows left."""
    lines = ["videoid,name"] + [[f'v{i},"a man rides a horse {i}', f"v{i},he rides on {i}",
                                 f'v{i},and on {i}"'][i % 3] for i in range(300)]
    corp = tmp_path / "captions.csv"
    corp.write_text("\n".join(lines) + "\n")
    rc, text = run(collect_args(tmp_path, tmp_path / "store", corp), capsys)
    assert rc == 2 and "100 rows in 300 lines" in text and "starts on line 2 " in text, text


def test_a_long_caption_on_one_line_passes_when_the_limit_is_raised(tmp_path, capsys):
    corp = corpus(tmp_path, 20)
    corp.write_text(corp.read_text() + "v99," + "a man rides a horse " * 400 + "\n")
    rc, text = run(collect_args(tmp_path, tmp_path / "s1", corp), capsys)
    assert rc == 2 and "on line 22" in text and "--max-caption-chars" in text
    assert run(collect_args(tmp_path, tmp_path / "s2", corp) + ["--max-caption-chars", "10000"], capsys)[0] == 0


@pytest.mark.parametrize("kind", ["list", "binary", "object"])
def test_a_caption_column_of_another_type_names_it(kind, tmp_path, capsys):
    if kind == "object":
        corp = tmp_path / "c.jsonl"
        corp.write_text('{"videoid": "1", "name": {"text": "a man rides a horse"}}\n')
    else:
        corp = tmp_path / "c.parquet"
        caps = [["a man", "rides a horse"]] if kind == "list" else [b"a man rides a horse"]
        pq.write_table(pa.table({"videoid": ["1"], "name": caps}), corp)
    rc, text = run(collect_args(tmp_path, tmp_path / "store", corp), capsys)
    want = {"list": "list<element: string>", "binary": "binary", "object": "struct<text: string>"}[kind]
    assert rc == 2 and "Traceback" not in text, text
    assert f"column 'name' is {want}; it must hold string (UTF-8 text)" in text


def test_a_jsonl_corpus_line_nested_deep_is_refused_not_a_crash(tmp_path):
    """Before: pyarrow's JSON reader crashed the whole process (SIGSEGV) on it."""
    corp = tmp_path / "c.jsonl"
    corp.write_text('{"videoid": "1", "name": "a man rides a horse"}\n'
                    '{"videoid": "2", "name": ' + "[" * 100_000 + "]" * 100_000 + "}\n")
    args = [str(a) for a in collect_args(tmp_path, tmp_path / "store", corp)]
    r = subprocess.run([sys.executable, "-c", "import sys; from actionhub.cli import main; sys.exit(main())", *args],
                       capture_output=True, text=True, env=ENV, timeout=120)
    assert r.returncode == 2 and "line 2 nests JSON deeper than" in r.stderr and "Traceback" not in r.stderr


# ----------------------------------------------------------------------------- files that lie
def _export(tmp: Path) -> Path:
    assert main(["export", str(imported(tmp)), "--out", str(tmp / "hf"), "--no-progress"]) == 0
    return tmp / "hf"


@pytest.mark.parametrize("lie", ["rank-as-text", "rank-past-int32", "sentences-past-int32", "meta-a-list",
                                 "description-as-list"])
def test_an_export_folder_that_lies_is_refused_before_anything_is_written(lie, tmp_path, capsys):
    hf = _export(tmp_path)
    kind, col = {"rank-as-text": ("hits", "rank"), "rank-past-int32": ("hits", "rank"),
                 "sentences-past-int32": ("descriptions", "num_sentences"), "meta-a-list": (None, None),
                 "description-as-list": ("descriptions", "description")}[lie]
    if kind is None:
        (hf / "actionhub.json").write_text("[1, 2]")
    else:
        (shard,) = (hf / kind).glob("*.parquet")
        t = pq.read_table(shard)
        n = t.num_rows
        new = {"rank-as-text": pa.array([str(i) for i in range(n)]),
               "rank-past-int32": pa.array([2**40] * n, pa.int64()),
               "sentences-past-int32": pa.array([-(2**35)] * n, pa.int64()),
               "description-as-list": pa.array([["x"]] * n)}[lie]
        pq.write_table(t.set_column(t.schema.get_field_index(col), col, new), shard)
    rc, text = run(["import", hf, "--out", tmp_path / "back", "--no-progress"], capsys)
    assert rc == 2 and "Traceback" not in text, text
    assert str(hf) in text and (col is None or f"'{col}'" in text)
    assert not (tmp_path / "back").exists()


RECIPE = 'description = "hostile"\nbenchmark = "hmdb51"\nsplits = [0]\n'
RECIPES = {
    "nested": (RECIPE + "[method_params]\nx = " + "[" * 5000 + "]" * 5000 + "\n", "nested too deeply"),
    "latin1": (None, "not UTF-8"),
    "int-past-int64": (RECIPE + "[optim]\nepochs = 99999999999999999999999\n", "optim.epochs"),
    "dim-4e9": (RECIPE + "[model]\ndim = 4000000000\n", "dim must lie in 1..65536"),
    "1e8-videos": (RECIPE + '[data]\nfeatures = "synthetic"\nvideos_per_seen_class = 100000000\n'
                   "videos_per_eval_class = 2\n", "videos_per_seen_class must lie in 1..10,000"),
}


@pytest.mark.parametrize("lie", list(RECIPES))
def test_a_recipe_that_lies_is_one_line(lie, tmp_path, capsys):
    """Before: RecursionError, UnicodeDecodeError, OverflowError, RuntimeError or MemoryError tracebacks."""
    text, expect = RECIPES[lie]
    path = tmp_path / "r.toml"
    if text is None:
        path.write_bytes(RECIPE.replace("hostile", "caf\xe9").encode("latin-1"))
    else:
        path.write_text(text)
    rc, said = run(["train", "--config", path, "--split", "0", "--out", tmp_path / "run", "--no-progress"], capsys)
    assert rc == 2 and "Traceback" not in said and expect in said and str(path) in said, said
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("meta", ["[1, 2]", '"a string"', "[" * 100_000 + "]" * 100_000])
def test_class_text_whose_metadata_is_not_an_object(meta, files, tmp_path, capsys):  # noqa: F811 - a fixture
    """Before: TypeError tracebacks (the meta JSON used as a dict)."""
    from actionhub.text.class_text import load_class_text

    good = load_class_text(files / "text.npz")
    bad = tmp_path / "text.npz"
    np.savez(bad, classes=np.array(good.classes), ad=good.ad, desc=good.desc, desc_offsets=good.desc_offsets,
             meta=np.asarray(meta))
    rc, text = run(["train", "--benchmark", "hmdb51", "--split", "0", "--features", files / "feats.npz",
                    "--text-features", bad, "--out", tmp_path / "run", "--epochs", "1", "--no-progress"], capsys)
    assert rc == 2 and "Traceback" not in text and f"{bad}: its metadata ('meta')" in text, text


@pytest.mark.parametrize("prefix", ["bert", "st", "hf-clip"])
def test_an_encoder_folder_with_pickled_weights_runs_no_code(prefix, tmp_path, capsys):
    marker = tmp_path / "code-ran"
    folder = tmp_path / "encoder"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"model_type": "bert"}))
    (folder / "pytorch_model.bin").write_bytes(pickle.dumps(Evil(marker)))
    rc, text = run(["text-features", "--benchmark", "hmdb51", "--encoder", f"{prefix}:{folder}", "--no-cache",
                    "--out", tmp_path / "t.npz", "--no-progress"], capsys)
    assert rc == 2 and "Traceback" not in text and "pickle (pytorch_model.bin)" in text, text
    assert not marker.exists() and not (tmp_path / "t.npz").exists()


DEEP = "[" * 100_000 + "]" * 100_000


def test_an_import_line_nested_deep_is_a_recorded_skip(tmp_path, capsys):
    """Before: one such line aborted the whole import with a RecursionError; no good line was imported."""
    src = tmp_path / "r.jsonl"
    src.write_text('{"action": "swim", "description": "a man swims"}\n' + DEEP + "\n"
                   + '{"action": "run", "description": "she runs"}\n')
    rc, text = run(["import", src, "--out", tmp_path / "s", "--no-progress"], capsys)
    assert rc == 0 and "2 added" in text and "1 malformed entries skipped" in text
    assert "first malformed lines: 2" in text
    src2 = tmp_path / "r.json"
    src2.write_text(DEEP)
    rc, text = run(["import", src2, "--out", tmp_path / "s2", "--no-progress"], capsys)
    assert rc == 2 and "is not valid JSON (nested too deeply" in text and not (tmp_path / "s2").exists()


def test_a_benchmark_file_nested_deep_is_one_line(tmp_path, capsys):
    path = tmp_path / "b.json"
    path.write_text('{"name": "x", "splits": ' + DEEP + "}")
    rc, text = run(["benchmarks", "check", path], capsys)
    assert rc == 2 and "Traceback" not in text and "is not valid JSON" in text and "nested too deeply" in text


def test_a_metas_jsonl_line_nested_deep_is_one_line(tmp_path, capsys):
    from actionhub.protocols import get_benchmark

    feats = tmp_path / "feats"
    feats.mkdir()
    classes = get_benchmark("hmdb51").classes
    for i in range(2):
        np.save(feats / f"v{i}.npy", np.ones(4, np.float32))
    (feats / "metas.jsonl").write_text(json.dumps({"videoname": "v0", "label": classes[0]}) + "\n" + DEEP + "\n")
    text_f = tmp_path / "text.npz"
    np.savez(text_f, classes=np.array(classes), ad=np.ones((len(classes), 4), np.float32),
             desc=np.zeros((0, 4), np.float32), desc_offsets=np.zeros(len(classes) + 1, np.int64), meta="{}")
    rc, text = run(["train", "--benchmark", "hmdb51", "--split", "0", "--features", feats, "--text-features", text_f,
                    "--out", tmp_path / "run", "--no-progress"], capsys)
    assert rc == 2 and "Traceback" not in text and "metas.jsonl:2: not valid JSON" in text, text


@pytest.mark.slow
@pytest.mark.parametrize("verb", ["rank", "analyze", "text-features"])
@pytest.mark.parametrize("kind", ["list", "binary"])
def test_a_topk_table_with_descriptions_of_another_type(verb, kind, tmp_path, capsys):
    tk = topk(tmp_path)
    t = pq.read_table(tk)
    col = t.column("description").to_pylist()
    new = pa.array([[d] for d in col]) if kind == "list" else pa.array([d.encode() for d in col], pa.binary())
    pq.write_table(t.set_column(t.schema.get_field_index("description"), "description", new), tk)
    args = {"rank": ["rank", tk, "--out", tmp_path / "o.parquet", "--word-vectors", vectors(tmp_path)],
            "analyze": ["analyze", "descriptions", tk, "--out", tmp_path / "o", "--word-vectors", vectors(tmp_path)],
            "text-features": ["text-features", "--benchmark", "hmdb51", "--encoder", "hostilehash:o", "--no-cache",
                              "--descriptions", tk, "--out", tmp_path / "o.npz"]}[verb]
    rc, text = run(args + ["--no-progress"], capsys)
    assert rc == 2 and "Traceback" not in text and "column 'description' is" in text, text
    assert "it must hold string (UTF-8 text)" in text
    assert not list(tmp_path.glob("o*"))


# ----------------------------------------------------------------------------- linear checks
def test_duplicate_classes_are_found_in_linear_time(monkeypatch):
    """Checking a benchmark file compared every class with every other (50,000 classes: 4x the time of
    25,000). Counted, not timed: the equality tests between class keys grow linearly."""
    import actionhub.protocols.user as user

    calls = [0]

    class Key(str):
        __hash__ = str.__hash__

        def __eq__(self, other):
            calls[0] += 1
            return str.__eq__(self, other)

    real = user.normalize_name
    monkeypatch.setattr(user, "normalize_name", lambda c: Key(real(c)))
    n = 3000
    classes = [f"class {i}" for i in range(n)] + ["class 7"]
    errs = user.check_benchmark_json({"name": "big", "splits": [{"seen": classes, "val": [], "unseen": ["other"]}]})
    assert errs == ["splits[0].seen: duplicate class(es) 'class 7'"]
    assert calls[0] < 10 * n    # before: about n * n / 2
