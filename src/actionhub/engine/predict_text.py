"""The class text ``predict`` scores with: names (or definitions) plus top-k descriptions, from wherever they come.

Descriptions come from one of (:class:`DescriptionSource`):

* ``descriptions``: a ranked file (``actionhub rank`` output) or an in-memory table of its columns;
* ``corpus``: a caption corpus, searched on the fly (:func:`actionhub.dataset.describe.describe_actions`:
  the names' queries as ``vocab`` builds them, the ``local`` provider's cached BM25 index, ``rank``'s
  ranking, the top k);
* ``store``: a description store of ``collect``/``import``, ranked on the fly the same way;

or none (the class text is the name, or ``"name: definition"``). The texts are encoded with the scoring
model's text encoder through the encoded-text cache (:func:`actionhub.text.build.build_class_text`, which
calls :func:`actionhub.text.encode_texts`), so a rerun encodes nothing. Actions without any description
fall back to their name (or definition); :func:`prediction_class_text` says so in one line that speaks
of the ``k`` asked for.
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

from actionhub.utils.errors import UserError
from actionhub.utils.names import listing

__all__ = ["DescriptionSource", "prediction_class_text", "recorded_k"]

log = logging.getLogger(__name__)


@dataclass
class DescriptionSource:
    """Where the descriptions of the actions come from (module docstring); all None: none at all."""

    descriptions: Any = None
    corpus: str | os.PathLike[str] | None = None
    store: str | os.PathLike[str] | None = None
    per_query: int = 3000
    match: str = "all"
    id_column: str = "videoid"
    caption_column: str = "name"
    corpus_format: str | None = None
    index_cache: str | os.PathLike[str] | None = None

    def __post_init__(self) -> None:
        given = [n for n, v in (("--descriptions", self.descriptions), ("--corpus", self.corpus),
                                ("--store", self.store)) if v is not None]
        if len(given) > 1:
            raise UserError(f"take the descriptions from one place: {' or '.join(given)}, not both")

    @property
    def given(self) -> bool:
        return self.descriptions is not None or self.corpus is not None or self.store is not None

    def fingerprint(self) -> dict[str, Any]:
        """What identifies the descriptions (paths with size and modification time; corpus options)."""
        if self.corpus is not None:
            return {"corpus": _stamp(self.corpus), "per_query": self.per_query, "match": self.match,
                    "id_column": self.id_column, "caption_column": self.caption_column}
        if self.store is not None:
            parts = sorted(Path(self.store).glob("*/part-*.parquet"))
            return {"store": str(Path(self.store).resolve()), "store_files": [_stamp(p) for p in parts]}
        if isinstance(self.descriptions, (str, os.PathLike)):
            return {"descriptions": _stamp(self.descriptions)}
        if self.descriptions is not None:
            return {"descriptions": f"<table of {self.descriptions.num_rows} rows>"}
        return {}

    def label(self) -> str:
        src = self.corpus if self.corpus is not None else self.store if self.store is not None else self.descriptions
        return str(src) if isinstance(src, (str, os.PathLike)) else "the descriptions table"


def _stamp(path: str | os.PathLike[str]) -> list[Any]:
    p = Path(path)
    try:
        st = p.stat()
        return [str(p.resolve()), st.st_size, st.st_mtime_ns]
    except OSError:
        return [str(p), None, None]


def recorded_k(descriptions: Any) -> int | None:
    """The ``k`` a ranked file was made with (``actionhub rank --k``, in its metadata), when it says."""
    import json  # noqa: PLC0415

    try:
        if isinstance(descriptions, (str, os.PathLike)):
            import pyarrow.parquet as pq  # noqa: PLC0415

            meta = pq.read_schema(descriptions).metadata or {}
        else:
            meta = descriptions.schema.metadata or {}
        k = json.loads(meta.get(b"actionhub", b"{}")).get("k")
        return int(k) if k else None
    except Exception:  # noqa: BLE001 - a file without the record, or unreadable: build_class_text says why
        return None


def prediction_class_text(names: Sequence[str], definitions: Mapping[str, str], source: DescriptionSource,
                          encoder: str, k: int, *, template: str | None = None, cache: Any = True,
                          progress: bool = False, keep_texts: bool = False,
                          k_asked: bool = True) -> tuple[Any, str | None]:
    """``(ClassText of names, one line about the descriptions or None)`` (module docstring). The line names
    the actions without any description, and those with fewer than ``k`` when ``k_asked`` (a ``k`` the
    user chose, not a default)."""
    from actionhub.text.build import build_class_text  # noqa: PLC0415

    table = source.descriptions
    if source.corpus is not None or source.store is not None:
        from actionhub.dataset.describe import describe_actions  # noqa: PLC0415

        table = describe_actions(names, corpus=source.corpus, store=source.store, k=k, per_query=source.per_query,
                                 match=source.match, id_column=source.id_column,
                                 caption_column=source.caption_column, corpus_format=source.corpus_format,
                                 index_cache=source.index_cache).table
    kw: dict[str, Any] = {"cache": cache, "progress": progress, "keep_texts": keep_texts, "min_descriptions": k}
    if template:
        kw["template"] = template
    # build_class_text's own warning speaks of classes and AD; predict says it in its own words below.
    quiet = logging.getLogger("actionhub.text.build")
    level = quiet.level
    quiet.setLevel(logging.ERROR)
    try:
        ct = build_class_text(list(names), dict(definitions), table, encoder, k, **kw)
    finally:
        quiet.setLevel(level)
    return ct, (_note(ct.meta.get("quality"), len(names), k, source, k_asked) if source.given else None)


def _note(q: Mapping[str, Any] | None, n: int, k: int, source: DescriptionSource, k_asked: bool) -> str | None:
    """One line on the actions that have no description, or fewer than the ``k`` asked for; None when none is
    worth a word."""
    if not q:
        return None
    bits = []
    def names(part: Mapping[str, Any]) -> str:
        shown = [e if isinstance(e, str) else f"{e[0]} ({e[1]})" for e in part["examples"]]
        return listing(shown, part["count"])

    if q["without"]["count"]:
        bits.append(f"{q['without']['count']} of {n} action(s) have none in {source.label()} and are scored by "
                    f"their name (or definition) alone: {names(q['without'])}")
    if q["few"]["count"] and k_asked:
        bits.append(f"{q['few']['count']} have fewer than the {k} asked for: {names(q['few'])}")
    if q["low_relevance"]["count"]:
        bits.append(f"{q['low_relevance']['count']} have descriptions of unusually low relevance: "
                    f"{names(q['low_relevance'])}")
    return "descriptions: " + "; ".join(bits) if bits else None
