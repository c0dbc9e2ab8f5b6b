"""Published numbers as data: provenance of every reported row, values against the paper's text,
and `report --reported` keeping them apart from (never averaged with) the SYNTHETIC runs."""
import json
import re
from dataclasses import replace
from pathlib import Path

import pytest

from actionhub.cli import main
from actionhub.config import ModelConfig, OptimConfig, TrainConfig
from actionhub.demo.synthetic import SyntheticSpec, SyntheticWorld
from actionhub.engine.inputs import build_inputs
from actionhub.engine.trainer import train_run
from actionhub.evaluation.reported import reported_results, reported_rows
from actionhub.evaluation.results import ResultsError, as_run_record, evaluate_runs
from actionhub.features import save_features
from actionhub.models.registry import METHODS
from actionhub.protocols import BENCHMARKS, get_benchmark
from actionhub.report import build_report, collect
from actionhub.utils.runinfo import RESULTS_FORMAT

PAPER = Path(__file__).parent / "data" / "paper_tables.txt"   # the printed Tables 2-4, line for line
ROWS = reported_results()["rows"]


def _find(table: str, row: str, bench: str) -> dict:
    hits = [r for r in ROWS if r["source"]["table"].startswith(table) and r["source"]["row"] == row
            and r["benchmark"] == bench]
    assert len(hits) == 1, (table, row, bench, hits)
    return hits[0]


def test_every_row_says_where_it_comes_from():
    doc = reported_results()
    assert doc["format"] == RESULTS_FORMAT and doc["reported"] is True
    assert len(ROWS) == 56
    keys = set()
    for r in ROWS:
        src = r["source"]
        assert r["reported"] is True and r["splits"] == [] and r["synthetic"] is False
        assert src["paper"].startswith("Zhou, Liang") and "ActionHub" in src["paper"]
        assert re.fullmatch(r"Table [234]( \((intra|cross)-dataset protocol\))?", src["table"]), src
        assert src["row"].strip() and r["benchmark"] in BENCHMARKS
        assert r["actionhub_method"] is None or r["actionhub_method"] in METHODS
        top1 = r["summary"]["top1"]
        assert 0 < top1["mean"] < 100 and (top1["std"] is None or 0 <= top1["std"] < 10)
        key = (src["table"], src["row"], r["benchmark"])
        assert key not in keys
        keys.add(key)
    # every ActionHub method of Table 2 has its published row
    t2 = {r["actionhub_method"] for r in ROWS if r["source"]["table"] == "Table 2"}
    assert t2 == {"devise", "ale", "sje", "dem", "eszsl", "gcn", "er-vse", "coco"}


def test_spot_checks_against_the_printed_tables():
    gcn = _find("Table 2", "GCN [119]", "kinetics-zsar")["summary"]
    assert (gcn["top1"]["mean"], gcn["top1"]["std"], gcn["top5"]["mean"], gcn["top5"]["std"]) == (22.3, 0.6, 49.7, 0.6)
    ours = _find("Table 2", "Ours", "kinetics-zsar")["summary"]
    assert (ours["top1"]["mean"], ours["top5"]["mean"]) == (42.0, 71.0)
    assert _find("Table 3", "ER [9]", "hmdb51")["summary"]["top1"] == {"mean": 29.3, "std": 3.6, "n": 50}
    assert _find("Table 3", "PS-GNN [127]", "ucf101")["summary"]["top1"]["std"] is None     # printed "± N/A"
    assert _find("Table 3", "Ours (N: 1)", "ucf101-cross")["summary"]["top1"]["mean"] == 57.6
    assert not [r for r in ROWS if r["source"]["row"] == "DAP [120]" and r["benchmark"] == "hmdb51"]   # N/A
    assert _find("Table 4", "VC-only", "kinetics-zsar")["summary"]["top1"]["mean"] == 36.1
    assert "top5" not in _find("Table 4", "AD + VC", "kinetics-zsar")["summary"]


def test_table2_and_table3_rows_equal_the_paper_text():
    text = PAPER.read_text(encoding="utf-8")
    num = r"\$?\\?(?:textbf\{)?([\d.]+)\}?\s*\\?pm\s*\\?(?:textbf\{)?([\d.]+)"
    for r in [r for r in ROWS if r["source"]["table"] == "Table 2"]:
        label = re.escape(r["source"]["row"])
        m = re.search(rf"^{label}\t{num}.*?\t{num}", text, re.M)
        assert m, r["source"]["row"]
        s = r["summary"]
        assert [float(v) for v in m.groups()] == [s["top1"]["mean"], s["top1"]["std"], s["top5"]["mean"],
                                                  s["top5"]["std"]], r["source"]["row"]
    for row, bench, col in (("ESZSL [118]", "hmdb51", 0), ("TS-GCN [14]", "ucf101", 1), ("UR [125]", "hmdb51", 0)):
        line = re.search(rf"^{re.escape(row)}\t(.*)$", text.split("TABLE 3")[1], re.M).group(1)
        mean, std = re.findall(r"([\d.]+)\s*\\pm\s*([\d.]+)", line)[col]
        got = _find("Table 3", row, bench)["summary"]["top1"]
        assert (got["mean"], got["std"]) == (float(mean), float(std))
    for row in ("AD-only", "VC-only", "AD + VC"):
        printed = float(re.search(rf"^{re.escape(row)}\t([\d.]+)$", text, re.M).group(1))
        assert _find("Table 4", row, "kinetics-zsar")["summary"]["top1"]["mean"] == printed


def test_reported_rows_filters_and_are_never_runs():
    assert len(reported_rows(tables=["2"])) == 8
    assert {r["benchmark"] for r in reported_rows(tables=["Table 3"])} == {
        "hmdb51", "ucf101", "hmdb51-cross", "ucf101-cross"}
    assert all(r["benchmark"] == "hmdb51" for r in reported_rows(benchmarks=["hmdb51"]))
    with pytest.raises(ResultsError, match="no reported table 7"):
        reported_rows(tables=["7"])
    with pytest.raises(ResultsError, match="not an ActionHub run record"):
        as_run_record(ROWS[0])
    with pytest.raises(ResultsError):
        evaluate_runs([ROWS[0]])


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """SYNTHETIC CoCo and ESZSL runs on hmdb51 splits 0-1."""
    root = tmp_path_factory.mktemp("reported")
    bench = get_benchmark("hmdb51")
    w = SyntheticWorld(bench.classes, SyntheticSpec(visual_dim=16, text_dim=8, latent_dim=6, num_concepts=20,
                                                    descriptions_per_class=4, seed=2))
    save_features(root / "f.npz", w.videos(bench.classes, 4, seed=1))
    w.class_text().save(root / "t.npz")
    cfg = TrainConfig(model=ModelConfig(dim=8, k=3), optim=replace(OptimConfig(), epochs=1, batch_size=64))
    out = []
    for method in ("coco", "eszsl"):
        for s in (0, 1):
            inp = build_inputs(bench, s, features=root / "f.npz", text_features=root / "t.npz")
            train_run(replace(cfg, method=method), inp, root / f"{method}_{s}", progress=False)
            out.append(root / f"{method}_{s}")
    return out


def _section(md: str, title: str) -> str:
    return md.split(f"## {title}")[1].split("\n## ")[0]


@pytest.mark.slow
def test_report_keeps_reported_rows_apart(runs, tmp_path):
    path = build_report(runs, tmp_path / "rep", reported=True, say=lambda s: None)
    md = path.read_text()
    data = json.loads((tmp_path / "rep" / "report.json").read_text())
    # the tables computed from runs hold the runs only, with their own mean ± std over the 2 splits
    assert {(m["method"], m["benchmark"]) for m in data["methods"]} == {("coco", "hmdb51"), ("eszsl", "hmdb51")}
    assert all(m["summary"]["top1"]["n"] == 2 for m in data["methods"])
    assert evaluate_runs(runs)["rows"][0]["summary"]["top1"] == data["methods"][0]["summary"]["top1"]
    runs_md = _section(md, "Tables 2-3")
    assert "REPORTED" not in runs_md and "[119]" not in runs_md and "Table 2" not in runs_md
    # the published rows have their own section, marked, with our SYNTHETIC runs in a separate column
    rep_md = _section(md, "Reported in the paper")
    assert "**REPORTED**" in rep_md and "SYNTHETIC" in rep_md
    assert len(data["reported"]) == len(ROWS)
    line = next(ln for ln in rep_md.splitlines() if "| ESZSL [118] | hmdb51 |" in ln)
    cells = [c.strip() for c in line.strip("|").split("|")]
    ours = data["methods"][[m["method"] for m in data["methods"]].index("eszsl")]["summary"]["top1"]
    assert cells[4] == "18.5 ± 2.0" and cells[6] == "eszsl"
    assert cells[7] == f"{ours['mean']:.1f} ± {ours['std']:.1f} (2) [SYNTHETIC]"
    # rows of methods not provided, and benchmarks without runs, show no run numbers
    o2a = next(ln for ln in rep_md.splitlines() if "| O2A [36] | ucf101 |" in ln)
    assert o2a.rstrip(" |").endswith("not provided | –")
    # without --reported: no published numbers at all
    plain = build_report(runs, tmp_path / "plain", say=lambda s: None).read_text()
    assert "Reported in the paper" not in plain and "reported" not in json.loads(
        (tmp_path / "plain" / "report.json").read_text())


@pytest.mark.slow
def test_reported_results_file_as_input_and_cli(runs, tmp_path):
    from actionhub.protocols.shipped import data_file

    src = data_file("reported", "paper_tables.json")
    coll = collect([src])
    assert coll.runs == [] and coll.result_rows == [] and len(coll.reported_rows) == len(ROWS)
    path = build_report([src], tmp_path / "only", say=lambda s: None)
    assert "No plain runs" in path.read_text() and "Reported in the paper" in path.read_text()
    assert main(["report", str(runs[0]), "--reported", "--out", str(tmp_path / "cli")]) == 0
    md = (tmp_path / "cli" / "report.md").read_text()
    assert "| Table 2 | GCN [119] | kinetics-zsar | as reported | 22.3 ± 0.6 | 49.7 ± 0.6 | gcn | – |" in md
