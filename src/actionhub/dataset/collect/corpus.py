"""A caption corpus as the local provider sees it: one file, or many (shards) read as one corpus.

``--corpus`` names a file (CSV, JSONL or Parquet), a folder (every such file under it, hidden
files and folders skipped) or a glob (``captions/part-*.parquet``; ``**`` reaches into
subfolders). Shards are taken in path order, so the corpus order -- and with it the order of
captions with equal scores -- does not depend on how the file system lists them.
"""
from __future__ import annotations

import glob
import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional

from actionhub.dataset.collect.base import ProviderConfigError

__all__ = ["CorpusText", "corpus_shards", "index_dir", "is_glob"]


@dataclass(frozen=True)
class CorpusText:
    """How a corpus shard is read and its captions and queries become terms: the local provider's
    functions (:data:`actionhub.dataset.collect.local.TEXT`), handed to the index modules, which
    do not import the provider. Top-level functions, so a Dask worker receives them by name.

    ``read(path, id_column, caption_column, fmt) -> (ids, captions)``; ``format_of(path, fmt) ->
    fmt`` (raises ProviderConfigError for an unknown one); ``caption_terms(captions, vocabulary) ->
    (doc, term)``; ``vocabulary()``: a new, empty term vocabulary (its ``vocab`` lists the terms by
    id); ``query_words(query) -> [its content words as index terms]``.
    """

    read: Callable[..., Any]
    format_of: Callable[..., str]
    caption_terms: Callable[..., Any]
    vocabulary: Callable[[], Any]
    query_words: Callable[[str], list[str]]


def is_glob(spec: str | os.PathLike[str]) -> bool:
    return any(c in str(spec) for c in "*?[")


def corpus_shards(spec: str | os.PathLike[str], text: CorpusText, fmt: Optional[str] = None) -> list[Path]:
    """The files of the corpus ``spec`` (resolved, in path order); a folder or glob keeps the files
    whose format ``text.format_of`` knows (from their suffix, or every file when ``fmt`` is given)."""

    def is_corpus_file(p: Path) -> bool:
        if not p.is_file() or any(part.startswith(".") for part in p.parts[-1:]):
            return False
        try:
            text.format_of(p, fmt)
        except ProviderConfigError:
            return False
        return True

    p = Path(spec)
    if is_glob(spec):
        files = [Path(f) for f in glob.glob(str(spec), recursive=True)]
        what = f"no caption corpus file (CSV, JSONL, Parquet) matches {spec}"
    elif p.is_dir():
        files = [f for f in p.rglob("*") if not any(part.startswith(".") for part in f.relative_to(p).parts)]
        what = f"the corpus folder {p} holds no caption corpus file (CSV, JSONL, Parquet)"
    elif p.is_file():
        return [p.resolve()]
    else:
        raise ProviderConfigError(f"caption corpus not found: {p}")
    shards = sorted({f.resolve() for f in files if is_corpus_file(f)})
    if not shards:
        raise ProviderConfigError(what + ("" if fmt else "; name the format with --corpus-format if the files have "
                                          "no .csv/.jsonl/.parquet suffix"))
    return shards


def index_dir(spec: str | os.PathLike[str], cache_dir: str | os.PathLike[str] | None, key_parts: tuple) -> Path:
    """Where the index of corpus ``spec`` lives: ``.<name>.bm25-<key>`` in ``cache_dir``, else next to
    the corpus (beside the file or folder; in the folder of a glob). The key covers the corpus as
    named (resolved) and ``key_parts`` (columns, format, index version); each shard's own identity
    is kept in its segment."""
    p = Path(spec)
    if is_glob(spec):
        fixed = _until_glob(p.parts)
        where, name = Path(*fixed).resolve(), re.sub(r"[^\w.-]+", "_", p.name)
        ident = str(where.joinpath(*p.parts[len(fixed):]))
    else:
        where, name, ident = p.resolve().parent, p.name, str(p.resolve())
    key = hashlib.sha256("|".join(map(str, (ident, *key_parts))).encode()).hexdigest()[:16]
    return (Path(cache_dir) if cache_dir else where) / f".{name}.bm25-{key}"


def _until_glob(parts: tuple[str, ...]) -> list[str]:
    out = []
    for part in parts:
        if is_glob(part):
            break
        out.append(part)
    return out
