"""Published numbers as data: the paper's Tables 2-4 (and the rows of the works they cite).

``data/reported/paper_tables.json`` is a results file in the format of ``actionhub evaluate
--out`` (``actionhub.results/1``) whose rows are marked ``"reported": true`` and carry a
``source`` (``paper``, ``table``, ``row`` as printed, and ``cites``/``note`` where useful)
instead of runs: ``splits`` is empty and ``summary`` holds the printed mean and std (``std``
null where the table gives none; a metric the table does not give is absent). Each row names
the ActionHub method that reruns it (``actionhub_method``, null for methods not provided).

Reported rows are never mixed with runs: :func:`actionhub.evaluation.results.summarize` only
takes run records, and ``actionhub report --reported`` shows them in their own table beside
the runs (:func:`actionhub.report.tables.reported_table`).
"""
from __future__ import annotations

from typing import Any, Iterable, Sequence

from actionhub.evaluation.results import ResultsError

__all__ = ["REPORTED_FILE", "reported_results", "reported_rows", "is_reported"]

REPORTED_FILE = ("reported", "paper_tables.json")


def is_reported(row: dict[str, Any]) -> bool:
    """A results row of published numbers (not computed from runs)."""
    return bool(row.get("reported"))


def reported_results() -> dict[str, Any]:
    """The shipped results file of published numbers (the whole document)."""
    from actionhub.protocols.shipped import read_json

    return read_json(*REPORTED_FILE)


def reported_rows(tables: Sequence[str] | None = None, benchmarks: Iterable[str] | None = None) -> list[dict[str, Any]]:
    """Reported rows, optionally only those of ``tables`` (``"2"``, ``"3"``, ``"4"`` or ``"Table 3"``)
    and of ``benchmarks``; an unknown table or benchmark is an error that lists the choices."""
    rows = reported_results()["rows"]
    if tables is not None:
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
