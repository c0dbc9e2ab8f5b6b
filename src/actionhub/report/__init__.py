"""The paper's tables and figures from saved runs (``actionhub report``).

:func:`build_report` renders ``report.md`` and PNG figures from run directories, sweep
directories and results files (:mod:`~actionhub.report.collect` gathers them,
:mod:`~actionhub.report.tables` and :mod:`~actionhub.report.figures` draw them,
:mod:`~actionhub.report.analysis` computes what Fig. 11-12 show from a trained model).
"""
from actionhub.report.build import build_report, inputs_from_record
from actionhub.report.collect import Collection, collect

__all__ = ["build_report", "collect", "Collection", "inputs_from_record"]
