"""Tests for actionhub.text: encoder registry, MiniLM and BERT mean pooling offline, the cache, Dask."""
from __future__ import annotations

import hashlib
import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # nothing may be downloaded by these tests

import numpy as np
import pytest

from actionhub import text as T
from actionhub.text import (
    TextCache,
    TextEncoder,
    TextEncoderError,
    encode_texts,
    encoder_id,
    get_encoder,
    minilm_path,
    register_encoder,
    text_hashes,
)
from actionhub.text import encode as text_encode
from actionhub.text import encoders as text_encoders

TEXTS = ["a man riding a horse on the beach", "two kids swim in a pool, slow motion 4K",
         "hi", "Woman practising yoga at sunset in a park near the lake, aerial view"]


# ------------------------------------------------------------------ a counting encoder
class CountingEncoder(TextEncoder):
    """Deterministic 8-d features from the SHA-1 of the text; counts what it encodes."""

    loads = 0

    def __init__(self, arg: str) -> None:
        CountingEncoder.loads += 1
        self.spec, self.id, self.dim, self.normalized = f"count:{arg}", f"count:{arg}", 8, False
        self.calls: list[list[str]] = []
        self.fail_after: int | None = None

    def encode(self, texts, batch_size=64):
        if self.fail_after is not None and len(self.calls) >= self.fail_after:
            raise RuntimeError("simulated crash")
        self.calls.append(list(texts))
        return np.stack([feature(t) for t in texts]) if texts else np.zeros((0, 8), np.float32)


def feature(t: str) -> np.ndarray:
    return np.frombuffer(hashlib.sha1(t.encode()).digest()[:8], np.uint8).astype(np.float32)


register_encoder("count", CountingEncoder, help="test encoder")


@pytest.fixture()
def counting():
    text_encoders._LOADED.pop("count:x", None)
    enc = get_encoder("count:x")
    yield enc
    text_encoders._LOADED.pop("count:x", None)


# --------------------------------------------------------------------------- registry
def test_registry_lists_and_rejects():
    names = T.list_encoders()
    assert {"minilm", "st:<path-or-name>", "bert:<path-or-name>"} <= set(names)
    with pytest.raises(TextEncoderError, match="unknown text encoder 'clip'"):
        get_encoder("clip")
    with pytest.raises(TextEncoderError, match="needs a model"):
        get_encoder("bert:")
    with pytest.raises(TextEncoderError, match="takes no argument"):
        get_encoder("minilm:foo")


def test_bert_missing_weights_is_a_clear_error(tmp_path, monkeypatch):
    with pytest.raises(TextEncoderError, match="model directory not found"):
        T.load_encoder(f"bert:{tmp_path / 'no-such-dir'}")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))  # an empty Hugging Face cache
    with pytest.raises(TextEncoderError, match="not in the local Hugging Face cache.*bert:/path/to/model"):
        T.load_encoder("bert:bert-base-uncased")


def test_encoder_ids_share_weights_and_differ_by_pooling():
    path = minilm_path()
    assert encoder_id("minilm") == encoder_id(f"st:{path}")  # same model, same cache
    assert encoder_id(f"bert:{path}").startswith("bert-mean:")
    assert encoder_id("bert:bert-base-uncased") == "bert-mean:bert-base-uncased"


# ----------------------------------------------------------------- real models, offline
@pytest.fixture(scope="module")
def minilm():
    return get_encoder("minilm")


@pytest.fixture(scope="module")
def bert_on_minilm():
    """The bert: loader pointed at the MiniLM package's weights (a BERT architecture)."""
    return get_encoder(f"bert:{minilm_path()}")


@pytest.mark.slow
def test_minilm_contract(minilm):
    x = minilm.encode(TEXTS, batch_size=2)
    assert x.shape == (4, 384) and x.dtype == np.float32 and minilm.dim == 384
    assert minilm.normalized
    np.testing.assert_allclose(np.linalg.norm(x, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(minilm.encode(TEXTS[::-1])[::-1], x, atol=1e-5)  # order independent
    sim = x @ x.T
    assert sim[0, 1] < sim[0, 0] - 0.3  # different sentences are different


@pytest.mark.slow
def test_bert_mean_pooling_by_hand(bert_on_minilm, minilm):
    import torch

    enc = bert_on_minilm
    assert not enc.normalized and enc.dim == 384
    got = enc.encode(TEXTS, batch_size=4)  # one padded batch of very different lengths
    for i, t in enumerate(TEXTS):
        ids = enc.tokenizer(t, return_tensors="pt")  # this text alone: no padding at all
        with torch.inference_mode():
            tokens = enc.model(**ids).last_hidden_state[0]  # (L, H) token embeddings
        np.testing.assert_allclose(got[i], tokens.mean(dim=0).numpy(), atol=2e-5)
    # MiniLM's sentence-transformers pipeline is exactly this mean pooling plus L2 normalisation.
    unit = got / np.linalg.norm(got, axis=1, keepdims=True)
    np.testing.assert_allclose(unit, minilm.encode(TEXTS), atol=2e-5)


# ------------------------------------------------------------------------------ cache
def test_cache_hits_encode_only_new_texts(tmp_path, counting):
    loads = CountingEncoder.loads
    first = encode_texts(["a", "b", "a", "c"], "count:x", cache=tmp_path, batch_size=2, progress=False)
    assert counting.calls == [["a", "b", "c"]]  # duplicates encoded once
    np.testing.assert_array_equal(first, np.stack([feature(t) for t in "abac"]))

    again = encode_texts(["c", "d", "b"], "count:x", cache=tmp_path, progress=False)
    assert counting.calls[1:] == [["d"]]  # only the new text
    np.testing.assert_array_equal(again, np.stack([feature(t) for t in "cdb"]))

    # A new process (fresh cache object, no loaded model): all cached, the model is never loaded.
    text_encoders._LOADED.clear()
    cache = TextCache(tmp_path, "count:x")
    assert len(cache) == 4 and cache.dim == 8
    out = encode_texts(["d", "a"], "count:x", cache=cache, progress=False)
    np.testing.assert_array_equal(out, np.stack([feature(t) for t in "da"]))
    assert CountingEncoder.loads == loads  # loaded once, in the fixture


def test_cache_keeps_finished_chunks_after_a_crash(tmp_path, counting, monkeypatch):
    monkeypatch.setattr(text_encode, "SHARD_FLUSH_ROWS", 2)
    texts = [f"t{i}" for i in range(10)]
    counting.fail_after = 2  # the third chunk raises
    with pytest.raises(RuntimeError, match="simulated crash"):
        encode_texts(texts, "count:x", cache=tmp_path, chunk_size=2, progress=False)
    assert len(TextCache(tmp_path, "count:x")) == 4  # both finished chunks were written
    counting.fail_after = None
    counting.calls.clear()
    out = encode_texts(texts, "count:x", cache=tmp_path, chunk_size=2, progress=False)
    assert [t for call in counting.calls for t in call] == texts[4:]
    np.testing.assert_array_equal(out, np.stack([feature(t) for t in texts]))


def test_cache_ignores_uncommitted_shards_and_compacts(tmp_path):
    cache = TextCache(tmp_path, "count:y")
    h = text_hashes(["p", "q", "r"])
    cache.put(h[:2], np.ones((2, 3), np.float32))
    cache.put(h[2:], np.full((1, 3), 2.0, np.float32))
    np.save(cache.dir / "shard-99999999999999999999-deadbeef.npy", np.zeros((5, 3), np.float32))  # killed mid-write
    fresh = TextCache(tmp_path, "count:y")
    assert len(fresh) == 3
    fresh.compact()
    assert len(list(fresh.dir.glob("shard-*.parquet"))) == 1
    found, vec = TextCache(tmp_path, "count:y").get(text_hashes(["r", "zz", "p"]))
    assert found.tolist() == [True, False, True]
    np.testing.assert_array_equal(vec, [[2, 2, 2], [1, 1, 1]])
    with pytest.raises(TextEncoderError, match="holds 3-d vectors"):
        fresh.put(text_hashes(["s"]), np.zeros((1, 4), np.float32))


def test_compact_keeps_the_intact_shards_when_one_is_corrupt(tmp_path):
    cache = TextCache(tmp_path, "count:c")
    h = text_hashes(["p", "q", "r"])
    cache.put(h[:2], np.ones((2, 3), np.float32))
    cache.put(h[2:], np.full((1, 3), 2.0, np.float32))
    shards = sorted(cache.dir.glob("shard-*.npy"))
    data = bytearray(shards[1].read_bytes())
    data[-1] ^= 0xFF                                   # a flipped bit: same size, wrong checksum
    shards[1].write_bytes(bytes(data))
    fresh = TextCache(tmp_path, "count:c")
    fresh.compact()                                    # the corrupt shard is dropped, the rest merged
    found, vec = TextCache(tmp_path, "count:c").get(h)
    assert len(list(fresh.dir.glob("shard-*.parquet"))) == 1
    assert found.sum() == 2 and (vec == vec[0]).all()  # one shard's texts kept, the other's to re-encode


def test_hashes_with_trailing_zero_bytes_round_trip(tmp_path):
    cache = TextCache(tmp_path, "count:z")
    keys = np.array([b"\x01" * 19 + b"\x00", b"\x00" * 20, b"\x02" * 20], dtype="S20")
    cache.put(keys, np.arange(6, dtype=np.float32).reshape(3, 2))
    found, vec = TextCache(tmp_path, "count:z").get(keys[::-1])
    assert found.all()
    np.testing.assert_array_equal(vec, [[4, 5], [2, 3], [0, 1]])


def test_minilm_cache_equals_direct_encoding(tmp_path, minilm):
    out = encode_texts(TEXTS, "minilm", cache=tmp_path, progress=False)
    np.testing.assert_allclose(out, minilm.encode(TEXTS), atol=1e-5)
    np.testing.assert_array_equal(encode_texts(TEXTS[:2], "minilm", cache=tmp_path, progress=False), out[:2])


# ------------------------------------------------------------------------------- Dask
def test_dask_backend_matches_in_process(minilm):
    distributed = pytest.importorskip("distributed")
    from actionhub.utils.parallel import get_backend

    texts = [f"person number {i} is {verb} outdoors" for i, verb in
             enumerate(["running", "jumping", "cooking", "dancing", "climbing", "singing", "diving"])]
    local = encode_texts(texts, "minilm", cache=False, progress=False)
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False, host="127.0.0.1", protocol="tcp",
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        backend = get_backend("dask", scheduler=client)
        remote = encode_texts(texts, "minilm", cache=False, chunk_size=3, batch_size=2, backend=backend,
                              progress=False)
        assert "encode_chunk" in cluster.scheduler.task_prefixes  # the chunks really ran on the cluster
        backend.close()
    np.testing.assert_allclose(remote, local, atol=1e-5)
