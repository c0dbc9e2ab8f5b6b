"""Published numbers as data: the paper's Tables 2-4 (and the rows of the works they cite).

``data/reported/paper_tables.json`` is a results file in the format of ``actionhub evaluate
--out`` (``actionhub.results/1``) whose rows are marked ``"reported": true`` and carry a
``source`` (``paper``, ``table``, ``row`` as printed, and ``cites``/``note`` where useful)
instead of runs: ``splits`` is empty and ``summary`` holds the printed mean and std (``std``
null where the table gives none; a metric the table does not give is absent). Each row names
the ActionHub method that reruns it (``actionhub_method``, null for methods not provided).

``data/reported/clip_era.json`` holds, in the same format, published zero-shot numbers of the
video-CLIP papers (X-CLIP, ViFi-CLIP), which use another protocol -- train on Kinetics-400, test
on all UCF101/HMDB51 classes and on the Kinetics-600 classes (ActionHub's ``ucf101-full``,
``hmdb51-full``, ``kinetics600-zs``); its rows carry ``"protocol_family": "clip-era"`` and a
``source`` naming the paper, the table, the printed row and where it was read (repository and
commit).

Reported rows are never mixed with runs: :func:`actionhub.evaluation.results.summarize` only
takes run records, and ``actionhub report --reported`` shows them in tables of their own beside
the runs (:func:`actionhub.report.tables.reported_table`), the CLIP-era rows in their own section.
"""
from __future__ import annotations

from typing import Any, Iterable, Sequence

from actionhub.evaluation.results import ResultsError

__all__ = ["REPORTED_FILE", "REPORTED_FILES", "reported_results", "reported_rows", "is_reported", "family_of"]

REPORTED_FILE = ("reported", "paper_tables.json")
#: protocol family -> its file of published numbers
REPORTED_FILES = {"paper": REPORTED_FILE, "clip-era": ("reported", "clip_era.json")}


def is_reported(row: dict[str, Any]) -> bool:
    """A results row of published numbers (not computed from runs)."""
    return bool(row.get("reported"))


def family_of(row: dict[str, Any]) -> str:
    """``"clip-era"`` for published video-CLIP rows, ``"paper"`` for the ActionHub paper's tables."""
    return str(row.get("protocol_family") or "paper")


def reported_results(family: str = "paper") -> dict[str, Any]:
    """A shipped results file of published numbers (the whole document): the paper's Tables 2-4
    (``family="paper"``) or the video-CLIP papers' zero-shot numbers (``"clip-era"``)."""
    from actionhub.protocols.shipped import read_json

    if family not in REPORTED_FILES:
        raise ResultsError(f"no reported numbers of family {family!r}; choose one of {', '.join(REPORTED_FILES)}")
    return read_json(*REPORTED_FILES[family])


def reported_rows(tables: Sequence[str] | None = None, benchmarks: Iterable[str] | None = None,
                  family: str = "paper") -> list[dict[str, Any]]:
    """Reported rows of ``family`` (``"paper"``: the ActionHub paper's Tables 2-4 and the rows they
    cite; ``"clip-era"``: the video-CLIP papers), optionally only those of ``tables`` (``"2"``,
    ``"3"``, ``"4"`` or ``"Table 3"``; paper rows only) and of ``benchmarks``; an unknown table is
    an error that lists the choices."""
    rows = reported_results(family)["rows"]
    if tables is not None:
        if family != "paper":
            raise ResultsError("tables= selects rows of the ActionHub paper's tables (family='paper')")
        want = {str(t).replace("Table", "").strip() for t in tables}
        have = {_table_no(r) for r in rows}
        unknown = sorted(want - have)
        if unknown:
            raise ResultsError(f"no reported table {', '.join(unknown)}; the paper's tables here are "
                               f"{', '.join(sorted(have))}")
        rows = [r for r in rows if _table_no(r) in want]
    if benchmarks is not None:
        want_b = set(benchmarks)
        rows = [r for r in rows if r["benchmark"] in want_b]
    return rows


def _table_no(row: dict[str, Any]) -> str:
    """``"Table 3 (intra-dataset protocol)"`` -> ``"3"``."""
    return row["source"]["table"].split()[1]
