"""The output discipline every writing verb builds on: sibling locks, staged folders and files,
outputs that never overlap inputs (actionhub.utils.outputs / utils.lock)."""
from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from actionhub.utils import lock as lockmod
from actionhub.utils.lock import LockedError, OutputNotWritableError, lock_path_for, output_lock
from actionhub.utils.outputs import (
    MANIFEST,
    OutputExistsError,
    OutputOverlapError,
    check_no_overlap,
    output_state,
    staged_file,
    staged_folder,
)

HOLD = """
import sys, time
from pathlib import Path
from actionhub.utils.outputs import staged_folder
with staged_folder(sys.argv[1], kind="report") as tmp:
    (tmp / "a.txt").write_text("held")
    print("ready", flush=True)
    time.sleep(60)
"""


def _holder(out: Path) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    p = subprocess.Popen([sys.executable, "-c", HOLD, str(out)], stdout=subprocess.PIPE, text=True, env=env)
    assert p.stdout.readline().strip() == "ready"
    return p


def _tree(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): p.read_text() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_lock_sits_beside_the_output_and_is_taken_before_it_exists(tmp_path):
    out = tmp_path / "x" / ".." / "run"
    assert lock_path_for(out) == tmp_path / ".run.lock"
    assert lock_path_for(tmp_path / "run") == lock_path_for(out)   # one lock for both spellings
    with output_lock(out):
        assert (tmp_path / ".run.lock").exists()
        assert not (tmp_path / "run").exists()     # nothing created at the output itself
    assert not (tmp_path / ".run.lock").exists()
    with output_lock(tmp_path / "run", folder=True):
        assert (tmp_path / "run").is_dir()
    assert not (tmp_path / "run").exists()         # created here and left empty: removed


def test_new_folder_appears_whole_with_its_record(tmp_path):
    out = tmp_path / "rep"
    with staged_folder(out, kind="report") as tmp:
        (tmp / "report.md").write_text("r")
        (tmp / "figs").mkdir()
        (tmp / "figs" / "a.png").write_text("png")
        assert not out.exists()                     # nothing at --out until the work is complete
    assert _tree(out) == {"report.md": "r", "figs/a.png": "png", MANIFEST: (out / MANIFEST).read_text()}
    rec = json.loads((out / MANIFEST).read_text())["report"]
    assert rec["files"] == ["figs", "report.md"] and rec["state"] == "complete"
    assert output_state(out, "report") == "complete" and output_state(out, "export") is None
    assert not list(tmp_path.glob(".rep.*"))      # no staging folder, no lock file left


def test_existing_folder_is_refused_without_overwrite_before_any_work(tmp_path):
    out = tmp_path / "rep"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    ran = []
    with pytest.raises(OutputExistsError, match="--overwrite"):
        with staged_folder(out, kind="report"):
            ran.append(1)
    assert not ran and _tree(out) == {"notes.txt": "mine"}


def test_overwrite_replaces_only_what_this_kind_wrote(tmp_path):
    out = tmp_path / "rep"
    with staged_folder(out, kind="report") as tmp:
        (tmp / "report.md").write_text("old")
        (tmp / "stale.png").write_text("old")
    (out / "notes.txt").write_text("a user's file")          # put there by someone else
    with staged_folder(out, kind="report", overwrite=True) as tmp:
        (tmp / "report.md").write_text("new")
    tree = _tree(out)
    tree.pop(MANIFEST)
    assert tree == {"report.md": "new", "notes.txt": "a user's file"}   # stale.png was ours: gone
    with pytest.raises(OutputExistsError, match="notes.txt"):
        with staged_folder(out, kind="report", overwrite=True) as tmp:
            (tmp / "notes.txt").write_text("clobber")
    assert (out / "notes.txt").read_text() == "a user's file" and (out / "report.md").read_text() == "new"
    with pytest.raises(OutputExistsError, match="notes.txt"):    # known up front: refused before the work
        with staged_folder(out, kind="report", overwrite=True, names=["notes.txt"]):
            raise AssertionError("the work must not start")


def test_two_kinds_share_a_folder_without_taking_each_others_files(tmp_path):
    out = tmp_path / "d"
    with staged_folder(out, kind="stats") as tmp:
        (tmp / "fig4.png").write_text("s")
    with staged_folder(out, kind="analysis", overwrite=True) as tmp:
        (tmp / "fig6.png").write_text("a")
    with pytest.raises(OutputExistsError, match="fig4.png"):
        with staged_folder(out, kind="analysis", overwrite=True) as tmp:
            (tmp / "fig4.png").write_text("a")
    rec = json.loads((out / MANIFEST).read_text())
    assert rec["stats"]["files"] == ["fig4.png"] and rec["analysis"]["files"] == ["fig6.png"]


def test_legacy_output_counts_as_this_kinds(tmp_path):
    out = tmp_path / "exp"
    out.mkdir()
    (out / "actionhub.json").write_text("{}")
    (out / "README.md").write_text("old card")
    with staged_folder(out, kind="export", overwrite=True, legacy=lambda p: (p / "actionhub.json").is_file()) as t:
        (t / "actionhub.json").write_text("{new}")
    assert (out / "actionhub.json").read_text() == "{new}" and not (out / "README.md").exists()


def test_failure_in_the_work_leaves_no_trace(tmp_path):
    out = tmp_path / "rep"
    with pytest.raises(RuntimeError):
        with staged_folder(out, kind="report") as tmp:
            (tmp / "half.md").write_text("x")
            raise RuntimeError("boom")
    assert not out.exists() and not list(tmp_path.iterdir())
    with staged_folder(out, kind="report") as tmp:
        (tmp / "a").write_text("1")
    with pytest.raises(KeyboardInterrupt):
        with staged_folder(out, kind="report", overwrite=True) as tmp:
            (tmp / "a").write_text("2")
            raise KeyboardInterrupt
    assert (out / "a").read_text() == "1"


def test_stopped_while_moving_is_recorded_and_the_rerun_completes(tmp_path, monkeypatch):
    out = tmp_path / "rep"
    with staged_folder(out, kind="report") as tmp:
        for n in "abc":
            (tmp / n).write_text("old")
    real_rename, moved = os.rename, []

    def dying_rename(src, dst):
        if Path(dst).parent == out:
            moved.append(dst)
            if len(moved) == 2:
                raise KeyboardInterrupt   # stopped half-way through putting the new entries in place
        return real_rename(src, dst)

    monkeypatch.setattr(os, "rename", dying_rename)
    with pytest.raises(KeyboardInterrupt):
        with staged_folder(out, kind="report", overwrite=True) as tmp:
            for n in "abc":
                (tmp / n).write_text("new")
    monkeypatch.setattr(os, "rename", real_rename)
    assert output_state(out, "report") == "replacing"   # the torn state is visible, not silent
    with staged_folder(out, kind="report", overwrite=True) as tmp:
        for n in "abc":
            (tmp / n).write_text("new")
    assert output_state(out, "report") == "complete"
    assert {n: (out / n).read_text() for n in "abc"} == dict.fromkeys("abc", "new")
    assert not list(tmp_path.glob(".rep.*"))


def test_second_writer_is_refused_and_deletes_nothing(tmp_path):
    out = tmp_path / "rep"
    p = _holder(out)
    try:
        with pytest.raises(LockedError, match=f"process {p.pid}"):
            with staged_folder(out, kind="report", overwrite=True):
                raise AssertionError("must not run")
        staging = list(tmp_path.glob(".rep.staging-*"))
        assert len(staging) == 1 and (staging[0] / "a.txt").read_text() == "held"   # the other's work is intact
    finally:
        p.send_signal(signal.SIGKILL)
        p.wait()
    with staged_folder(out, kind="report") as tmp:   # the killed writer's leftovers are cleared
        (tmp / "b.txt").write_text("mine")
    assert _tree(out).keys() == {"b.txt", MANIFEST}
    assert [p.name for p in tmp_path.iterdir()] == ["rep"]


def test_staged_file(tmp_path):
    out = tmp_path / "sub" / "topk.parquet"
    with staged_file(out) as tmp:
        tmp.write_text("1")
        assert not out.exists()
    assert out.read_text() == "1"
    with pytest.raises(OutputExistsError, match="--overwrite"):
        with staged_file(out):
            raise AssertionError("must not run")
    with staged_file(out, overwrite=True) as tmp:
        tmp.write_text("2")
    assert out.read_text() == "2"
    with pytest.raises(OutputExistsError, match="is a folder"):
        with staged_file(tmp_path / "sub"):
            pass
    assert sorted(p.name for p in out.parent.iterdir()) == ["topk.parquet"]


def test_outputs_never_overlap_inputs(tmp_path):
    store = tmp_path / "store.parquet"
    store.write_text("x")
    (tmp_path / "sub").mkdir()
    with pytest.raises(OutputOverlapError, match="--out .* is the input --store"):
        check_no_overlap({"--out": tmp_path / "sub" / ".." / "store.parquet"}, {"--store": store})
    with pytest.raises(OutputOverlapError, match="lies inside"):
        check_no_overlap({"--out": tmp_path / "runs" / "x"}, {"--runs": [tmp_path / "a", tmp_path / "runs"]})
    with pytest.raises(OutputOverlapError, match="holds"):
        check_no_overlap({"--out": tmp_path}, {"--store": store})
    (tmp_path / "link.parquet").symlink_to(store)
    with pytest.raises(OutputOverlapError):
        check_no_overlap({"--out": tmp_path / "link.parquet"}, {"--store": store})
    check_no_overlap({"--out": tmp_path / "other.parquet", "--plots": None}, {"--store": store, "--x": None})


def test_unwritable_output_folder_is_one_line(tmp_path, monkeypatch):
    def refuse(path, *a, **k):
        raise OSError(errno.EROFS, "Read-only file system", str(path))

    monkeypatch.setattr(lockmod, "_acquire", refuse)
    with pytest.raises(OutputNotWritableError, match="Read-only file system.*folder you can write"):
        with staged_folder(tmp_path / "rep", kind="report"):
            pass
    assert not (tmp_path / "rep").exists()


def test_a_slow_holder_of_a_file_output(tmp_path):
    """Two processes on one file output: the second is refused at once, not after the first ends."""
    out = tmp_path / "t.parquet"
    code = ("import sys, time\nfrom actionhub.utils.outputs import staged_file\n"
            "with staged_file(sys.argv[1]) as t:\n    t.write_text('a'); print('ready', flush=True); time.sleep(60)\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    p = subprocess.Popen([sys.executable, "-c", code, str(out)], stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert p.stdout.readline().strip() == "ready"
        t0 = time.monotonic()
        with pytest.raises(LockedError):
            with staged_file(out):
                pass
        assert time.monotonic() - t0 < 5
    finally:
        p.kill()
        p.wait()
    assert not out.exists()   # killed before the rename: no torn file
