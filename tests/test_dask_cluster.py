"""Collection and extraction on a real Dask cluster: a `dask scheduler` and two `dask worker`
processes on 127.0.0.1, started here (bounded in time, stopped at the end). One worker is killed
with SIGKILL mid-run: its work is redone by the other, nothing is lost, and the results equal an
in-process run (SYNTHETIC captions and clips)."""
from __future__ import annotations

import json
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

distributed = pytest.importorskip("distributed")

from actionhub.cli import main  # noqa: E402
from actionhub.dataset.store import read_store  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
from daskcluster import dask_cluster  # noqa: E402
from test_diskindex import QUERIES, captions, write_shard  # noqa: E402

pytestmark = pytest.mark.timeout(420)


def store_rows(store: Path) -> list[tuple]:
    t = read_store(store)
    return sorted(zip(*(t.column(c).to_pylist() for c in ("action", "provider", "video_id", "description", "rank")),
                      strict=True))


def kill_when(cluster, ready, worker: int = 0) -> dict:
    """Kill ``worker`` (SIGKILL) from a thread as soon as ``ready()`` is true; the returned dict says
    what ``ready`` saw then (``"when"``)."""
    seen: dict = {}

    def watch() -> None:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            got = ready()
            if got:
                cluster.kill_worker(worker)
                seen["when"] = got
                return
            time.sleep(0.005)

    threading.Thread(target=watch, daemon=True).start()
    return seen


@pytest.mark.slow
def test_collect_on_a_cluster_equals_in_process_even_when_a_worker_dies(tmp_path, capsys):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for i in range(12):
        write_shard(corpus / f"part-{i:02d}.{('csv', 'parquet', 'jsonl')[i % 3]}", captions(8000, seed=i))
    queries = tmp_path / "q.txt"
    queries.write_text("\n".join(QUERIES) + "\n")
    base = ["collect", "--provider", "local", "--corpus", str(corpus), "--queries", str(queries), "--per-query", "500",
            "--no-progress", "--memory-gb", "2"]
    assert main([*base, "--out", str(tmp_path / "here"), "--index-cache", str(tmp_path / "cache-here")]) == 0
    with dask_cluster(tmp_path / "cluster") as cluster:
        index = tmp_path / "cache-cluster"
        # one worker dies while the segments are being built: its shard is indexed again by the other
        seen = kill_when(cluster, lambda: len(list(index.glob("*/seg-*.bin"))) or None)
        assert main([*base, "--out", str(tmp_path / "there"), "--index-cache", str(index), "--backend", "dask",
                     "--scheduler", cluster.address]) == 0
        assert 1 <= seen["when"] < 12 and cluster.workers[0].poll() is not None  # killed mid-build
        with distributed.Client(cluster.address, timeout="30s") as c:
            prefixes = c.run_on_scheduler(lambda dask_scheduler: sorted(dask_scheduler.task_prefixes))
        assert {"ensure_segment", "answer_queries"} <= set(prefixes)  # built and searched on the workers
        # a rerun finds every segment built and the store complete
        assert main([*base, "--out", str(tmp_path / "there"), "--index-cache", str(index), "--backend", "dask",
                     "--scheduler", cluster.address]) == 0
        assert "0 new descriptions" in capsys.readouterr().out
    assert store_rows(tmp_path / "there") == store_rows(tmp_path / "here")
    assert len(store_rows(tmp_path / "here")) > 2000
    here = sorted((tmp_path / "cache-here").glob("*/*"))
    there = sorted(index.glob("*/*"))
    assert [p.name for p in here] == [p.name for p in there] and len(here) == 13  # 12 segments + manifest, no temp file
    for a, b in zip(here, there, strict=True):
        if a.suffix == ".bin":
            assert a.read_bytes() == b.read_bytes()  # identical segments, wherever they were built


@pytest.mark.slow
def test_extract_on_a_cluster_survives_a_killed_worker_and_a_rerun_is_identical(tmp_path):
    pytest.importorskip("av")
    from actionhub.demo.synthclips import write_clip
    from actionhub.video.extract import extract_features

    videos = tmp_path / "videos"
    for i in range(12):
        write_clip(videos / f"v{i:02d}.mp4", 8 + i)
    (videos / "broken.mp4").write_bytes(b"\x00" * 100)
    local = extract_features(videos, tmp_path / "local", sampling="segments:2", batch_size=1, progress=False)
    assert (local.extracted, local.failed) == (12, 1)
    with dask_cluster(tmp_path / "cluster") as cluster:
        done: list[str] = []
        seen = kill_when(cluster, lambda: len(done) or None)
        out = tmp_path / "dask"
        res = extract_features(videos, out, sampling="segments:2", batch_size=1, progress=False, backend="dask",
                               scheduler=cluster.address, on_video=lambda vid, ok: done.append(vid))
        assert seen["when"] < 13 and cluster.workers[0].poll() is not None  # killed while videos were left
        assert (res.extracted, res.failed) == (12, 1)  # the lost worker's videos were done by the other
        first = {p.name: p.read_bytes() for p in out.iterdir() if p.suffix == ".npy" or p.name == "index.jsonl"}
        again = extract_features(videos, out, sampling="segments:2", batch_size=1, progress=False, backend="dask",
                                 scheduler=cluster.address)
        assert (again.skipped, again.extracted, again.failed) == (12, 0, 1)
        assert {p.name: p.read_bytes() for p in out.iterdir() if p.suffix == ".npy" or p.name == "index.jsonl"} == first
    names = sorted(p.name for p in (tmp_path / "local").glob("*.npy"))
    assert names == sorted(p.name for p in out.glob("*.npy")) and len(names) == 12
    for name in names:  # other processes, other torch threads: equal up to float rounding
        np.testing.assert_allclose(np.load(out / name), np.load(tmp_path / "local" / name), rtol=1e-4, atol=1e-5)
    assert (out / "index.jsonl").read_text() == (tmp_path / "local" / "index.jsonl").read_text()
    fails = [{k: v for k, v in json.loads(line).items() if k != "time"}
             for line in (out / "failures.jsonl").read_text().splitlines()]
    assert [f["video_id"] for f in fails] == ["broken"]
