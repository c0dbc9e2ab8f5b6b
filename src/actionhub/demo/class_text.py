"""The demo's real class text: the shipped definitions encoded with the offline MiniLM, plus
descriptions retrieved from a caption corpus when one is configured."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable, Sequence

from actionhub.text.base import DEFAULT_ENCODER
from actionhub.text.build import build_class_text
from actionhub.text.cache import TextCache, cache_root
from actionhub.text.class_text import ClassText
from actionhub.utils.errors import UserError
from actionhub.utils.names import text_name


def demo_class_text(benchmark_name: str, corpus: str | None, say: Callable[[str], None] = print,
                    k: int = 100, cache: TextCache | str | Path | bool = True) -> ClassText:
    """Real class text for the demo: every class definition encoded with the offline MiniLM.

    With ``corpus`` (a caption file), each class's descriptions are retrieved from it by the
    local provider of :mod:`actionhub.dataset.collect`, ranked by word-vector relevance and encoded as
    VC; without, the class text is AD-only. Encodings are cached, so a rerun takes seconds.
    """
    from actionhub.protocols import get_benchmark  # noqa: PLC0415

    bench = get_benchmark(benchmark_name)
    start = time.perf_counter()
    table = None
    if corpus:
        table = _local_descriptions(bench.classes, corpus, k, say)
    else:
        say("no caption corpus configured: AD-only class text")
    ct = build_class_text(bench.classes, bench.definitions, table, DEFAULT_ENCODER, k, cache=cache,
                          progress=False, meta={"benchmark": bench.name, "corpus": corpus})
    with_vc = ct.meta["num_with_descriptions"]
    say(f"class text for {bench.name}: {len(ct.classes)} definitions encoded with MiniLM ({ct.dim}-d)"
        + (f", descriptions for {with_vc} classes" if table is not None else ", AD-only")
        + f" in {time.perf_counter() - start:.1f} s (encodings cached in {cache_root(cache) or 'no cache'})")
    return ct


#: column names a demo corpus may use, in order of preference (WebVid's first)
ID_COLUMNS = ("videoid", "video_id", "id", "clip_id", "youtube_id")
CAPTION_COLUMNS = ("name", "caption", "description", "text", "title", "sentence")


def corpus_columns(corpus: str | Path) -> tuple[str, str]:
    """The ``(id, caption)`` columns of a demo caption corpus: the first of :data:`ID_COLUMNS` and of
    :data:`CAPTION_COLUMNS` it has. A corpus with neither is a :class:`UserError` listing its columns
    (the demo takes no column flags; ``actionhub collect`` does)."""
    from actionhub.dataset.collect.local import corpus_column_names  # noqa: PLC0415

    have = corpus_column_names(corpus)
    id_col = next((c for c in ID_COLUMNS if c in have), None)
    cap_col = next((c for c in CAPTION_COLUMNS if c in have), None)
    if id_col is None or cap_col is None:
        raise UserError(f"the demo's caption corpus {corpus} needs a video id column ({', '.join(ID_COLUMNS)}) and a "
                        f"caption column ({', '.join(CAPTION_COLUMNS)}); it has {', '.join(have)}. Rename the "
                        "columns, or build the descriptions with `actionhub collect --provider local --corpus FILE "
                        "--id-column ... --caption-column ...` and `actionhub rank`")
    return id_col, cap_col


def _local_descriptions(classes: Sequence[str], corpus: str, k: int, say: Callable[[str], None]) -> Any:
    """Ranked top-k descriptions per class from a caption corpus, or None (said why) when unusable.

    Each class's text name is searched in the corpus with the ``local`` provider of
    :mod:`actionhub.dataset.collect` (BM25; columns found by :func:`corpus_columns`), the best
    ``4 * k`` captions are kept, and :func:`actionhub.dataset.rank.rank_table` keeps the top ``k`` by
    word-vector relevance, as for a collected store.
    """
    import pyarrow as pa  # noqa: PLC0415

    try:
        from actionhub.dataset.collect.local import LocalProvider  # noqa: PLC0415
    except ImportError as e:
        say(f"the local caption provider (actionhub.dataset.collect) is not available ({e}): AD-only class text")
        return None
    from actionhub.dataset.rank import rank_table  # noqa: PLC0415

    id_col, cap_col = corpus_columns(corpus)  # a corpus the user gave is never silently ignored
    provider = LocalProvider(corpus, id_column=id_col, caption_column=cap_col)
    cols: dict[str, list[str]] = {"action": [], "provider": [], "video_id": [], "description": []}
    try:
        for c in classes:
            name = text_name(c)
            page = provider.search(name, None, 4 * k, lambda: None)
            for hit in page.hits:
                cols["action"].append(name)
                cols["provider"].append(provider.name)
                cols["video_id"].append(hit.video_id)
                cols["description"].append(hit.description)
    finally:
        provider.close()
    found = len(set(cols["action"]))
    say(f"caption corpus {corpus}: {len(cols['action'])} captions retrieved for {found} of {len(classes)} classes")
    if not cols["action"]:
        return None
    return rank_table(pa.table(cols), k=k)
