"""The local provider's out-of-core index (SYNTHETIC captions): the same results as the in-memory
BM25Index, caption for caption, over a corpus of several shards indexed in many chunks; corpus
shards changed, added or gone and index segments missing, truncated or damaged are re-indexed
with one line; a memory budget too small, and a disk that fills up, are refused cleanly."""
from __future__ import annotations

import errno
import json
import logging
import os
import random
import re
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from captions import write_table_as

from actionhub.cli import main
from actionhub.dataset.collect import ProviderConfigError, collect
from actionhub.dataset.collect import segment as segmod
from actionhub.dataset.collect.diskindex import DiskBM25Index
from actionhub.dataset.collect.local import TEXT, BM25Index, LocalProvider, read_corpus
from actionhub.dataset.store import read_store
from actionhub.utils.errors import DiskFullError
from actionhub.utils.parallel import InProcessBackend

pytestmark = pytest.mark.timeout(300)

WORDS = ("man woman riding rides ride horse horses play playing plays guitar guitars the a on in of beach surf "
         "surfing dog dogs walking walk park swimming swim pool baby babies waking wakes up push ups push-ups shot "
         "put red cooking cook pasta slow motion close-up man's horse, riding. 4k aerial view city night").split()
QUERIES = ["ride horse", "play guitar", "baby waking up", "push up", "shot put", "cook pasta", "surf", "dog walk park",
           "swim pool", "the", "zebra", "ride zebra", "man", "aerial view city", "slow motion", "horse horse",
           "red", "walk", "play", "woman ride horse beach"]


def captions(n: int, seed: int) -> list:
    r = random.Random(seed)
    out: list = [" ".join(r.choice(WORDS) for _ in range(r.choice((0, 1, 2, 3, 5, 8, 13, 30)))) for _ in range(n)]
    out[::97] = [None] * len(out[::97])  # rows without a caption are dropped
    return out


def write_shard(path: Path, caps: list, start: int = 0) -> Path:
    return write_table_as(path, pa.table({"videoid": [f"{path.stem}-{start + i}" for i in range(len(caps))],
                                          "name": pa.array(caps, pa.string())}))


@pytest.fixture()
def corpus(tmp_path):
    """A folder of three SYNTHETIC shards in three formats (CSV, Parquet, JSONL)."""
    root = tmp_path / "corpus"
    root.mkdir()
    for i, suffix in enumerate((".csv", ".parquet", ".jsonl")):
        write_shard(root / f"part-{i}{suffix}", captions(6000 + 1500 * i, seed=i))
    (root / "README.txt").write_text("not a shard")
    return root


def reference(root: Path) -> tuple[BM25Index, pa.Array, pa.Array]:
    """Today's in-memory index over the shards' captions, concatenated in corpus order."""
    parts = [read_corpus(p) for p in sorted(root.glob("part-*"))]
    ids = pa.concat_arrays([i for i, _ in parts])
    caps = pa.concat_arrays([c for _, c in parts])
    return BM25Index.build(caps), ids, caps


@pytest.fixture()
def small_chunks(monkeypatch):
    """Budgets in bytes without /proc: chunks of a few hundred captions, runs spilled to disk."""
    from actionhub.utils import memory

    monkeypatch.setattr(memory, "resident_bytes", lambda: 0)
    monkeypatch.setattr(segmod, "MIN_CHUNK_ROWS", 100)
    monkeypatch.setattr(segmod, "MIN_RUN_BUFFER", 4096)
    calls = {"chunks": 0, "spills": 0}
    chunk, spill = segmod.bm25.term_frequencies, segmod._Runs._spill

    def counted_chunk(*a):
        calls["chunks"] += 1
        return chunk(*a)

    def counted_spill(self):
        calls["spills"] += 1
        return spill(self)

    monkeypatch.setattr(segmod.bm25, "term_frequencies", counted_chunk)
    monkeypatch.setattr(segmod._Runs, "_spill", counted_spill)
    return calls


@pytest.mark.slow
def test_same_results_as_the_in_memory_index_over_shards_and_chunks(corpus, tmp_path, small_chunks):
    ref, ref_ids, ref_caps = reference(corpus)
    need = max(segmod.read_bytes_needed(p, TEXT.format_of(p, None)) for p in corpus.glob("part-*"))
    idx = DiskBM25Index.open(corpus, TEXT, tmp_path / "small", budget=need + 300_000)
    assert small_chunks["chunks"] > 20 and small_chunks["spills"] >= 3  # many chunks per shard, runs spilled
    assert len(idx.segment_paths) == 3 and idx.num_docs == ref.num_docs == len(ref_caps)
    big = DiskBM25Index.open(corpus, TEXT, tmp_path / "big", budget=1 << 40)
    for a, b in zip(idx.segment_paths, big.segment_paths, strict=True):  # a segment does not depend on the budget
        assert Path(a).read_bytes() == Path(b).read_bytes()
    rng = random.Random(7)
    queries = QUERIES + [" ".join(rng.sample(WORDS, rng.randint(1, 4))) for _ in range(300)]
    checked = 0
    for match in ("all", "any"):
        for q in queries:
            d1, s1 = idx.candidates(q, match)
            d0, s0 = ref.candidates(q, match)
            np.testing.assert_array_equal(d1, d0)
            assert s1.dtype == s0.dtype == np.float32 and np.array_equal(s1, s0), q  # bit for bit
            r1, r0 = idx.search(q, k=50, offset=5, match=match), ref.search(q, k=50, offset=5, match=match)
            np.testing.assert_array_equal(r1[0], r0[0])
            ids, caps = idx.documents(r1[0])
            assert ids.equals(ref_ids.take(pa.array(r0[0]))) and caps.equals(ref_caps.take(pa.array(r0[0])))
            checked += d0.size > 0
    assert checked > 400
    # the batch search a cluster runs gives the same best results, here through the in-process backend
    got = idx.search_many([(q, 40) for q in queries[:60]], "any", InProcessBackend())
    for q in queries[:60]:
        d0, s0 = ref.search(q, k=40, match="any")
        np.testing.assert_array_equal(got[q]["docs"], d0)
        assert np.array_equal(got[q]["scores"], s0)
        assert got[q]["count"] == ref.candidates(q, "any")[0].size
    idx.close()
    big.close()


@pytest.mark.slow
def test_changed_added_and_gone_shards_and_broken_segments_are_reindexed_with_one_line(corpus, tmp_path, caplog):
    cache = tmp_path / "cache"
    caplog.set_level(logging.WARNING)
    first = DiskBM25Index.open(corpus, TEXT, cache)
    said = lambda: [r.getMessage() for r in caplog.records if r.name.endswith(".diskindex")]  # noqa: E731
    assert not first.from_cache and not said()
    segs = {Path(p).name: os.stat(p).st_mtime_ns for p in first.segment_paths}
    first.close()
    assert DiskBM25Index.open(corpus, TEXT, cache).from_cache

    def reopen() -> tuple[DiskBM25Index, list[str]]:
        caplog.clear()
        idx = DiskBM25Index.open(corpus, TEXT, cache)
        ref = reference(corpus)[0]
        for q in QUERIES:
            for match in ("all", "any"):
                d1, s1 = idx.candidates(q, match)
                d0, s0 = ref.candidates(q, match)
                assert np.array_equal(d1, d0) and np.array_equal(s1, s0)
        return idx, said()

    # a shard changed after indexing: that shard alone is re-indexed
    write_shard(corpus / "part-1.parquet", captions(3000, seed=11))
    idx, lines = reopen()
    assert len(lines) == 1
    assert re.search(r"re-indexed the corpus shard .*part-1\.parquet: the corpus shard changed", lines[0])
    now = {Path(p).name: os.stat(p).st_mtime_ns for p in idx.segment_paths}
    assert [now[k] == segs[k] for k in sorted(now)].count(True) == 2  # the other two segments untouched
    seg1 = idx.segment_paths[1]
    idx.close()

    # index segments lost, truncated, damaged
    Path(seg1).unlink()
    _, lines = reopen()
    assert len(lines) == 1 and "part-1.parquet: its index segment is missing" in lines[0]
    data = bytearray(Path(seg1).read_bytes())
    Path(seg1).write_bytes(data[: len(data) // 2])
    _, lines = reopen()
    assert len(lines) == 1 and "its index segment is truncated" in lines[0]
    at = json.loads(_footer(seg1))["arrays"]["post_doc"]["offset"] + 8
    data = bytearray(Path(seg1).read_bytes())
    data[at] ^= 0xFF
    Path(seg1).write_bytes(bytes(data))
    _, lines = reopen()
    assert len(lines) == 1 and "its index segment is damaged (array post_doc fails its checksum)" in lines[0]

    # a new shard, and a shard gone
    write_shard(corpus / "part-3.csv", captions(500, seed=3))
    idx, lines = reopen()
    assert len(lines) == 1 and "indexed the new corpus shard" in lines[0]
    assert idx.num_docs == reference(corpus)[0].num_docs
    (corpus / "part-0.csv").unlink()
    idx, lines = reopen()
    assert len(lines) == 1 and re.search(r"corpus shard .*part-0\.csv is gone since the index was built", lines[0])
    assert len(list(cache.glob("*/seg-*.bin"))) == 3


def _footer(path: str) -> bytes:
    raw = Path(path).read_bytes()
    length, _ = segmod.TAIL.unpack(raw[-segmod.TAIL.size - len(segmod.MAGIC):-len(segmod.MAGIC)])
    return raw[-segmod.TAIL.size - len(segmod.MAGIC) - length:-segmod.TAIL.size - len(segmod.MAGIC)]


def test_a_budget_too_small_names_the_smallest_that_works(corpus, tmp_path):
    with pytest.raises(ProviderConfigError,
                       match=r"memory budget of 0\.1 GB is too small to index the corpus shard") as e:
        DiskBM25Index.open(corpus, TEXT, tmp_path / "c", budget=50 << 20)
    smallest = float(re.search(r"the smallest that works is about ([\d.]+) GB \(--memory-gb\)", str(e.value)).group(1))
    assert smallest > 0.05
    idx = DiskBM25Index.open(corpus, TEXT, tmp_path / "c", budget=int(smallest * (1 << 30)))
    assert idx.num_docs == reference(corpus)[0].num_docs


def test_a_full_disk_while_writing_segments_is_one_line_and_a_rerun_completes(corpus, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    writes = {"n": 0}
    append = segmod._Writer.append

    def fills_up(self, arr):
        writes["n"] += 1
        if writes["n"] == 20:  # while writing the second shard's segment
            raise OSError(errno.ENOSPC, "No space left on device")
        return append(self, arr)

    monkeypatch.setattr(segmod._Writer, "append", fills_up)
    with pytest.raises(DiskFullError) as e:
        DiskBM25Index.open(corpus, TEXT, cache)
    assert "\n" not in str(e.value) and "the disk is full" in str(e.value) and "rerun the same command" in str(e.value)
    (index,) = cache.iterdir()
    assert [p.name for p in index.iterdir()] == [p.name for p in index.glob("seg-*.bin")]  # no temporary file left
    assert len(list(index.glob("seg-*.bin"))) == 1  # the first shard's segment, whole
    monkeypatch.setattr(segmod._Writer, "append", append)
    idx = DiskBM25Index.open(corpus, TEXT, cache)
    assert len(idx.segment_paths) == 3
    ref = reference(corpus)[0]
    d, s = idx.candidates("ride horse", "any")
    assert np.array_equal(d, ref.candidates("ride horse", "any")[0])


@pytest.mark.slow
def test_collect_from_a_folder_of_shards_equals_one_file(corpus, tmp_path, capsys):
    _, ids, caps = reference(corpus)
    one = tmp_path / "one.parquet"
    pq.write_table(pa.table({"videoid": ids, "name": caps}), one)
    queries = tmp_path / "q.txt"
    queries.write_text("\n".join(QUERIES) + "\n")
    base = ["collect", "--provider", "local", "--queries", str(queries), "--per-query", "300", "--no-progress"]
    assert main([*base, "--corpus", str(corpus), "--out", str(tmp_path / "a"), "--memory-gb", "2"]) == 0
    assert main([*base, "--corpus", str(one), "--out", str(tmp_path / "b")]) == 0
    assert main([*base, "--corpus", str(corpus / "part-*"), "--out", str(tmp_path / "c")]) == 0  # a glob

    def rows(store):
        t = read_store(store)
        return sorted(zip(*(t.column(c).to_pylist() for c in ("action", "video_id", "description", "rank")),
                          strict=True))

    assert rows(tmp_path / "a") == rows(tmp_path / "b") == rows(tmp_path / "c") and len(rows(tmp_path / "a")) > 1000
    with pytest.raises(SystemExit):
        main([*base, "--corpus", str(corpus), "--out", str(tmp_path / "d"), "--memory-gb", "0"])
    assert "--memory-gb: must be a finite number > 0" in capsys.readouterr().err
    assert main(["collect", "--provider", "local", "--queries", str(queries), "--out", str(tmp_path / "e"),
                 "--corpus", str(tmp_path / "nothing-*.csv")]) == 2
    assert "no caption corpus file (CSV, JSONL, Parquet) matches" in capsys.readouterr().err


def test_the_provider_api_keeps_working(corpus, tmp_path):
    p = LocalProvider(corpus, match="any", page_size=7)
    first = p.search("ride horse", None, None, None)
    second = p.search("ride horse", first.next_cursor, None, None)
    ref, ids, _ = reference(corpus)
    want = ids.take(pa.array(ref.search("ride horse", k=14, match="any")[0])).to_pylist()
    assert [h.video_id for h in first.hits + second.hits] == want
    assert p.cache_path.is_dir() and not p.index_from_cache
    p.close()
    s = collect(["ride horse"], "local", tmp_path / "s", per_query=5, corpus=corpus)
    assert s["added"] == 5
