"""The demo's Fig. 6: a SYNTHETIC description store over the real ActionHub vocabulary, and the
description analysis of :mod:`actionhub.dataset.analysis_report` on it.

The store has ``per_action`` generated descriptions for each of the 1,216 queries of
`actionhub vocab build`. A description is, with probability 1/2, the action's name, then 3-8
*context* words drawn (Zipf over their rank) from the 60 frequent GloVe words nearest to the name's
averaged vector (the name's own words left out), then 4-12 *filler* words drawn Zipf-wise from the
most frequent GloVe words (:func:`actionhub.demo.synthcaptions.zipf_words`), e.g. "yo yo yoyo
skateboard toy the in of ...". So description centres drift from the name towards its word-vector
neighbourhood, as real descriptions bring words the name lacks. Generated with vectorised Arrow
kernels (no Python loop per description). It is not real text: the figure and tables computed on it
are labelled SYNTHETIC and show the machinery, not what real descriptions say.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from actionhub.utils.lock import locks_output

__all__ = ["SYNTHETIC_STORE_NOTE", "synthetic_descriptions", "write_synthetic_store", "demo_descriptions"]

SYNTHETIC_STORE_NOTE = "SYNTHETIC: generated descriptions, not real text (actionhub.demo.descriptions)"
POOL = 60       # context words per action: the nearest frequent GloVe words to its name
FIG6_MARKER = "## Fig. 6"


def synthetic_descriptions(actions: Sequence[str], wv: Any, per_action: int = 100, seed: int = 0,
                           vocab_size: int = 20_000) -> Any:
    """``per_action`` SYNTHETIC descriptions per action (see the module docstring): a
    ``pyarrow.Table`` with ``action``, ``provider`` ("synthetic"), ``video_id``, ``description``,
    ``rank``. ``wv``: the :class:`~actionhub.dataset.wordvec.WordVectors` (GloVe 6B-50d)."""
    import pyarrow as pa  # noqa: PLC0415
    import pyarrow.compute as pc  # noqa: PLC0415

    from actionhub.demo.synthcaptions import zipf_words  # noqa: PLC0415
    from actionhub.utils.names import tokenize  # noqa: PLC0415

    rng = np.random.default_rng(seed)
    words = [w for w in zipf_words(vocab_size) if w in wv.vocab]
    mat = wv.vectors[np.array([wv.vocab[w] for w in words])].astype(np.float32)
    mat /= np.maximum(np.linalg.norm(mat, axis=1, keepdims=True), 1e-12)
    names = wv.embed(list(actions))
    names /= np.maximum(np.linalg.norm(names, axis=1, keepdims=True), 1e-12)
    word_id = {w: i for i, w in enumerate(words)}
    pool = np.empty((len(actions), POOL), np.int64)
    for lo in range(0, len(actions), 256):  # (256, V) similarities at a time
        sims = names[lo:lo + 256] @ mat.T
        for j, a in enumerate(actions[lo:lo + 256]):  # the name's own words are not context
            own = [word_id[t] for t in tokenize(a) if t in word_id]
            sims[j, own] = -np.inf
        best = np.argpartition(-sims, POOL, axis=1)[:, :POOL]
        order = np.argsort(-np.take_along_axis(sims, best, axis=1), axis=1, kind="stable")
        pool[lo:lo + 256] = np.take_along_axis(best, order, axis=1)

    n = len(actions) * per_action
    act = np.repeat(np.arange(len(actions)), per_action)
    n_ctx = rng.integers(3, 9, size=n)
    n_fill = rng.integers(4, 13, size=n)
    zipf = lambda size, m: np.minimum(np.searchsorted(  # noqa: E731 - rank r drawn with p ~ 1/r
        np.cumsum(1 / np.arange(1, m + 1)) / np.sum(1 / np.arange(1, m + 1)), rng.random(size)), m - 1)
    ctx = pool[np.repeat(act, n_ctx), zipf(int(n_ctx.sum()), POOL)]
    fill = zipf(int(n_fill.sum()), len(words))
    # per description: its context words, then its filler words
    lengths = n_ctx + n_fill
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    tokens = np.empty(int(offsets[-1]), np.int64)
    pos_ctx = np.repeat(offsets[:-1], n_ctx) + _ramp(n_ctx)
    pos_fill = np.repeat(offsets[:-1] + n_ctx, n_fill) + _ramp(n_fill)
    tokens[pos_ctx], tokens[pos_fill] = ctx, fill
    vocab = pa.array(words, pa.string())
    text = pc.binary_join(pa.LargeListArray.from_arrays(pa.array(offsets), vocab.take(pa.array(tokens))), " ")
    text = pc.cast(text, pa.string())
    action_col = pa.array(list(actions), pa.string()).take(pa.array(act))
    with_name = pa.array(rng.random(n) < 0.5)
    text = pc.if_else(with_name, pc.binary_join_element_wise(action_col, text, " "), text)
    ids = pc.cast(pa.array(np.arange(n, dtype=np.int64)), pa.string())
    return pa.table({"action": action_col, "provider": pa.repeat(pa.scalar("synthetic"), n), "video_id": ids,
                     "description": text, "rank": pa.array(np.tile(np.arange(per_action), len(actions)), pa.int32())})


def _ramp(counts: np.ndarray) -> np.ndarray:
    """0, 1, ..., c-1 for every c of ``counts``, concatenated."""
    total = int(counts.sum())
    return np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts)


@locks_output("path", what="store")   # it may remove and replace the store: under the store's own lock
def write_synthetic_store(path: str | Path, actions: Sequence[str] | None = None, wv: Any = None,
                          per_action: int = 100, seed: int = 0) -> Path:
    """A SYNTHETIC description store at ``path`` (reused when it already holds one): ``per_action``
    descriptions for each action (default: the queries of `actionhub vocab build`)."""
    from actionhub.dataset.store import Store  # noqa: PLC0415
    from actionhub.dataset.wordvec import WordVectors  # noqa: PLC0415

    path = Path(path)
    spec = {"per_action": per_action, "seed": seed, "generator": "actionhub.demo.descriptions"}
    if path.exists():
        old = Store(path)
        if old.meta().get("synthetic_descriptions") == spec and old.parts("hits"):
            return path
        import shutil  # noqa: PLC0415

        shutil.rmtree(path)
    if actions is None:
        from actionhub.dataset.vocab import build_vocabulary  # noqa: PLC0415

        actions = [q.query for q in build_vocabulary().queries]
    wv = wv if wv is not None else WordVectors.glove_6b_50d()
    tmp = path.with_name(f".{path.name}.tmp")
    if tmp.exists():
        import shutil  # noqa: PLC0415

        shutil.rmtree(tmp)
    store = Store(tmp, create=True, note=SYNTHETIC_STORE_NOTE)
    store.add(synthetic_descriptions(actions, wv, per_action=per_action, seed=seed), check_hits=False)
    store.update_meta(synthetic_descriptions=spec)
    tmp.rename(path)  # a store appears whole or not at all
    return path


def demo_descriptions(demo_dir: str | Path, say: Callable[[str], None] = print, progress: bool = False,
                      per_action: int = 100) -> dict[str, Any]:
    """Fig. 6 of the demo: the SYNTHETIC store in ``<demo>/descriptions_store``, its analysis in
    ``<demo>/report/fig6/``, and a Fig. 6 section at the end of ``<demo>/report/report.md`` when
    that exists. Returns the analysis record."""
    from actionhub.dataset.analysis_report import analyze_descriptions  # noqa: PLC0415
    from actionhub.dataset.wordvec import WordVectors  # noqa: PLC0415

    t0 = time.perf_counter()
    root = Path(demo_dir)
    wv = WordVectors.glove_6b_50d()
    store = write_synthetic_store(root / "descriptions_store", wv=wv, per_action=per_action)
    t1 = time.perf_counter()
    out = root / "report" / "fig6"
    rec = analyze_descriptions(store, out, per_action=per_action, word_vectors=wv, progress=progress,
                               overwrite=True)   # a rerun of the demo redraws it
    s = rec["summary"]
    say(f"  SYNTHETIC store of {s['actions']:,} actions x {per_action} descriptions ({t1 - t0:.1f} s); nearest "
        f"action by name = by descriptions for {100 * s['nearest_agree']:.1f}%, top-{s['top']} overlap "
        f"{100 * s['mean_overlap']:.1f}% [SYNTHETIC]")
    for r in rec["chosen"]:
        say(f"    {r['action']}: by name {r['by_name'][0][0]}, by descriptions {r['by_descriptions'][0][0]}")
    report_md = root / "report" / "report.md"
    if report_md.is_file():
        link_fig6(report_md, rec)
    say(f"  Fig. 6: {out / 'fig6_descriptions.png'} and {out / 'fig6_neighbours.md'} "
        f"({time.perf_counter() - t0:.1f} s) [SYNTHETIC]")
    return rec


def link_fig6(report_md: Path, rec: dict[str, Any]) -> None:
    """Put (or replace) a Fig. 6 section at the end of the report, linking the files in ``fig6/``
    (under the report folder's lock: no report is rendered into it meanwhile)."""
    from actionhub.utils.io import atomic_write_text  # noqa: PLC0415
    from actionhub.utils.lock import output_lock  # noqa: PLC0415

    s = rec["summary"]
    section = "\n".join([
        f"{FIG6_MARKER}: what names and descriptions say [SYNTHETIC]", "",
        f"> **{rec['note']}**", "",
        f"Averaged {rec['word_vectors']} vectors of {s['actions']:,} action names and of their first "
        f"{rec['per_action']} descriptions (`actionhub analyze descriptions`). The nearest action by name is the "
        f"nearest by descriptions for {100 * s['nearest_agree']:.1f}% of the actions; the top-{s['top']} lists "
        f"overlap by {100 * s['mean_overlap']:.1f}% on average. Neighbours of every action: "
        "[fig6/fig6_neighbours.md](fig6/fig6_neighbours.md), `fig6/fig6_neighbours.csv`.", "",
        "![Fig. 6 (SYNTHETIC)](fig6/fig6_descriptions.png)", ""])
    with output_lock(report_md.parent, what="report folder"):
        text = report_md.read_text(encoding="utf-8")
        cut = text.find("\n" + FIG6_MARKER)
        atomic_write_text(report_md, (text if cut < 0 else text[:cut]).rstrip("\n") + "\n\n" + section)
