"""Gather what a report is built from: run directories, sweep directories, results files.

* a run directory (``run.json``) or a ``run.json`` file: one run for the method table;
* a sweep directory (``sweep.json``): its finished runs, for the ablation tables/figures;
* a results file (``actionhub evaluate --out``): its runs, loaded from their run
  directories when those still exist, else its summary rows as they are (training-free rows of
  ``evaluate --zero-shot`` have no run directory: their rows are used as they are); rows of published
  numbers (``"reported": true``, e.g. ``data/reported/paper_tables.json``) are kept apart in
  ``reported_rows``, never mixed with runs;
* any other directory: every sweep and run found below it.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from actionhub.evaluation.reported import is_reported
from actionhub.evaluation.results import ResultsError, load_run
from actionhub.evaluation.sweeps import SWEEP_FORMAT, load_sweep
from actionhub.utils import jsontext
from actionhub.utils.runinfo import RESULTS_FORMAT, RUN_FORMAT

log = logging.getLogger(__name__)


@dataclass
class Sweep:
    """A sweep index and the records of its finished runs (``rec["point"]`` holds the grid point)."""

    dir: str
    index: dict[str, Any]
    records: list[dict[str, Any]]

    @property
    def varied(self) -> list[str]:
        return list(self.index.get("params", {}))

    @property
    def benchmark(self) -> str:
        return str(self.index.get("benchmark"))


@dataclass
class Collection:
    runs: list[dict[str, Any]] = field(default_factory=list)
    sweeps: list[Sweep] = field(default_factory=list)
    result_rows: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    reported_rows: list[dict[str, Any]] = field(default_factory=list)

    def all_records(self) -> list[dict[str, Any]]:
        return self.runs + [r for s in self.sweeps for r in s.records]


def _sweep(path: Path, skipped: list[str]) -> Sweep:
    index = load_sweep(path)
    records = []
    for entry in index.get("runs", []):
        if entry.get("status") != "finished":
            skipped.append(f"{entry['run_dir']}: {entry.get('status')} ({entry.get('error', 'not finished')})")
            continue
        try:
            rec = load_run(entry["run_dir"])
        except ResultsError as e:
            skipped.append(str(e))
            continue
        rec["point"] = entry["params"]
        records.append(rec)
    return Sweep(str(path), index, records)


def _json_format(path: Path) -> str | None:
    try:
        return jsontext.loads(path.read_text()).get("format")
    except (json.JSONDecodeError, OSError, AttributeError):
        return None


def collect(paths: Iterable[str | Path]) -> Collection:
    """Sort every input into runs, sweeps and results rows (see the module doc)."""
    out = Collection()
    seen_runs: set[str] = set()

    def add_run(rec: dict[str, Any]) -> None:
        key = str(Path(rec["run_dir"]).resolve())
        if key not in seen_runs:
            seen_runs.add(key)
            out.runs.append(rec)

    for raw in paths:
        path = Path(raw)
        if not path.exists():
            raise ResultsError(f"{path} not found: pass run directories, sweep directories or results files")
        if path.is_file():
            fmt = _json_format(path)
            if fmt == RESULTS_FORMAT:
                for row in jsontext.loads(path.read_text())["rows"]:
                    if is_reported(row):
                        out.reported_rows.append(row)
                        continue
                    if row.get("training_free"):   # evaluate --zero-shot: no run directories, the row is all
                        out.result_rows.append(row)
                        continue
                    try:
                        for s in row["splits"]:
                            add_run(load_run(s["run_dir"]))
                    except ResultsError:
                        out.result_rows.append(row)
                        out.skipped.append(f"{path}: runs of {row['benchmark']}/{row['method']} not found on disk; "
                                           "using the summary stored in the results file")
            elif fmt == RUN_FORMAT:
                add_run(load_run(path))
            elif fmt == SWEEP_FORMAT:
                out.sweeps.append(_sweep(path.parent, out.skipped))
            else:
                raise ResultsError(f"{path} is neither a run record, a sweep index nor a results file")
        elif (path / "sweep.json").exists():
            out.sweeps.append(_sweep(path, out.skipped))
        elif (path / "run.json").exists():
            add_run(load_run(path))
        else:
            sweeps = sorted(p.parent for p in path.rglob("sweep.json"))
            for sw in sweeps:
                out.sweeps.append(_sweep(sw, out.skipped))
            found = 0
            for run_json in sorted(path.rglob("run.json")):
                if any(sw in run_json.parents for sw in sweeps):
                    continue
                try:
                    add_run(load_run(run_json))
                    found += 1
                except ResultsError as e:
                    out.skipped.append(str(e))
            if not sweeps and not found:
                raise ResultsError(f"{path} holds no finished run (run.json) or sweep (sweep.json)")
    if not out.runs and not out.sweeps and not out.result_rows and not out.reported_rows:
        raise ResultsError("nothing to report: no finished runs, sweeps or results were found")
    return out
