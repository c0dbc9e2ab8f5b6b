"""The paper's tables and figures from saved runs (``actionhub report``).

:func:`build_report` renders ``report.md`` and PNG figures from run directories, sweep
directories and results files; :func:`demo_report` trains the baselines and ablations on
the demo's SYNTHETIC inputs and renders their report.
"""
from actionhub.report.build import build_report, inputs_from_record
from actionhub.report.collect import Collection, collect
from actionhub.report.demo import demo_report

__all__ = ["build_report", "collect", "Collection", "demo_report", "inputs_from_record"]
