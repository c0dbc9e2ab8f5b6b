"""Extraction on a Dask cluster equals in-process extraction (SYNTHETIC clips made with PyAV)."""
from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("av")
distributed = pytest.importorskip("distributed")

from actionhub.demo.synthclips import write_clip  # noqa: E402
from actionhub.video.extract import encode_videos, extract_features  # noqa: E402


@pytest.fixture(scope="module")
def client():
    # TCP on the loopback interface: the same transport a real cluster uses.
    cluster = distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False, host="127.0.0.1",
                                       protocol="tcp", dashboard_address=None)
    c = distributed.Client(cluster)
    c.cluster_for_test = cluster
    yield c
    c.close()
    cluster.close()


@pytest.fixture()
def videos(tmp_path):
    root = tmp_path / "videos"
    for i, n in enumerate((12, 20, 9, 30, 16)):
        write_clip(root / f"v{i}.mp4", n)
    (root / "broken.mp4").write_bytes(b"\x00" * 100)
    return root


def _read_failures(out):
    return sorted((r["video_id"], r["kind"])
                  for r in map(json.loads, (out / "failures.jsonl").read_text().splitlines()))


@pytest.mark.slow
def test_dask_results_equal_inprocess(client, videos, tmp_path):
    local = extract_features(videos, tmp_path / "local", sampling="segments:3", batch_size=2, progress=False)
    dask = extract_features(videos, tmp_path / "dask", sampling="segments:3", batch_size=2, progress=False,
                            backend="dask", scheduler=client)
    assert (local.extracted, local.failed) == (dask.extracted, dask.failed) == (5, 1)
    assert "run_task" in client.cluster_for_test.scheduler.task_prefixes  # the work really ran on the cluster
    names = sorted(p.name for p in (tmp_path / "local").glob("*.npy"))
    assert names == sorted(p.name for p in (tmp_path / "dask").glob("*.npy")) and len(names) == 5
    for name in names:
        np.testing.assert_array_equal(np.load(tmp_path / "dask" / name), np.load(tmp_path / "local" / name))
    assert _read_failures(tmp_path / "dask") == _read_failures(tmp_path / "local") == [("broken", "unreadable")]
    for f in ("index.jsonl",):
        assert (tmp_path / "dask" / f).read_text() == (tmp_path / "local" / f).read_text()


def test_dask_resume_and_in_memory_encoding(client, videos, tmp_path):
    out = tmp_path / "feats"
    extract_features(videos, out, sampling="segments:1", batch_size=2, progress=False)
    (out / "v3.npy").unlink()
    res = extract_features(videos, out, sampling="segments:1", batch_size=2, progress=False,
                           backend="dask", scheduler=client)
    assert (res.skipped, res.extracted) == (4, 1)
    paths = [videos / "v3.mp4", videos / "broken.mp4", videos / "v0.mp4"]
    here = encode_videos(paths, sampling="segments:1")
    there = encode_videos(paths, sampling="segments:1", backend="dask", scheduler=client)
    assert [r["ok"] for r in there] == [True, False, True]
    assert there[1]["kind"] == "unreadable" and there[1]["video"].endswith("broken.mp4")
    np.testing.assert_array_equal(there[0]["feature"], here[0]["feature"])
    # Batched with other videos than during extraction: equal up to float rounding only.
    np.testing.assert_allclose(there[0]["feature"], np.load(out / "v3.npy"), rtol=1e-5, atol=1e-5)
