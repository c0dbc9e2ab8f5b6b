"""The run folder's owner (utils/rundir.py): its files, the one same-run / different-run check, and
what readers get from broken records."""
from __future__ import annotations

import json

import pytest

from actionhub.evaluation.results import ResultsError, load_run
from actionhub.utils.rundir import RunDir, RunDirError
from actionhub.utils.runinfo import RUN_FORMAT

CONFIG = {"model": {"alpha": 0.5, "k": 100}, "optim": {"steps": 30}, "method": "coco",
          "method_params": {}}


def planned(**model):
    return {"config": {**CONFIG, "model": {**CONFIG["model"], **model}}, "benchmark": "hmdb51", "split": 0,
            "data": {"features": "f.npz"}}


def write(path, obj):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj), encoding="utf-8")


def test_holds_tells_this_run_from_another(tmp_path):
    d = RunDir(tmp_path / "r")
    assert d.holds(planned()) is None and d.done(planned()) is None                    # nothing there yet
    write(d.config_json, planned()["config"])                                          # a run that died early
    with pytest.raises(RunDirError, match=r"already holds a different run: it was trained with --alpha 0.5 "
                                          r"\(now 0.3\)"):
        d.holds(planned(alpha=0.3))
    rec = {**planned(), "format": RUN_FORMAT, "status": "running", "fingerprint": "abc"}
    write(d.run_json, rec)
    assert d.holds(planned()) == rec and d.done(planned()) is None                     # this run, to resume
    assert d.holds(rec, fingerprint="abc") == rec
    with pytest.raises(RunDirError, match="different run"):
        d.holds(rec, fingerprint="xyz")                                                # same settings, other data
    write(d.run_json, {**rec, "status": "finished"})
    assert d.done(planned()) is None                                                   # finished, but no model.pt
    d.model.write_bytes(b"weights")
    assert d.done(planned())["status"] == "finished"
    write(d.run_json, {**rec, "status": "diverged", "error": "nan at step 3"})
    assert d.done(planned())["status"] == "diverged"                                   # rerunning would diverge again


def test_a_refit_folder_is_judged_by_its_selection_run(tmp_path):
    d = RunDir(tmp_path / "r")
    write(d.run_json, {**planned(), "config": {**CONFIG, "optim": {"steps": 12}}})     # the refit: steps chosen on val
    write(d.select.run_json, planned())                                                # what the command asked for
    assert d.holds(planned())["config"]["optim"]["steps"] == 12
    with pytest.raises(RunDirError, match=r"--steps 30 \(now 40\)"):
        d.holds({**planned(), "config": {**CONFIG, "optim": {"steps": 40}}})


def test_mark_never_touches_a_run_that_is_not_running(tmp_path):
    d = RunDir(tmp_path)
    for status in ("finished", "diverged"):
        write(d.run_json, {"status": status})
        d.mark("failed", "boom")
        assert json.loads(d.run_json.read_text())["status"] == status
    write(d.run_json, {"status": "running"})
    d.mark("interrupted", "rerun to resume")
    assert json.loads(d.run_json.read_text())["status"] == "interrupted"


def test_readers_get_their_own_clear_errors(tmp_path):
    d = RunDir(tmp_path / "r")
    with pytest.raises(ResultsError, match="run.json not found: pass run directories"):
        load_run(d.path)
    write(d.run_json, [1, 2])
    assert d.read() is None
    with pytest.raises(ResultsError, match="holds a JSON list, not an ActionHub run record"):
        load_run(d.path)
    d.run_json.write_text("{broken", encoding="utf-8")
    with pytest.raises(RunDirError, match=r"is not valid JSON .*written by `actionhub train`"):
        d.load()
    write(d.run_json, {"format": RUN_FORMAT, "status": "diverged", "error": "loss nan at step 3"})
    with pytest.raises(ResultsError, match=r"not finished \(status 'diverged': loss nan at step 3\)"):
        load_run(d.run_json)                                                           # a record file works too
    write(d.run_json, {"format": RUN_FORMAT, "status": "finished", "benchmark": "café"})
    assert load_run(d.path)["run_dir"] == str(d.path) and RunDir.of(d.run_json).path == d.path
