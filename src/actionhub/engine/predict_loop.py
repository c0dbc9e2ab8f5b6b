"""The two ways ``predict`` turns videos into rows: decoding them, or reading features ``extract`` wrote.

:func:`score_videos` decodes ``batch_size`` videos at a time and encodes them with the scoring
method's video encoder (a backbone, or ConSE's ImageNet classifier); where a core is left for it (a GPU
backbone, or more cores than torch's threads), the next batch is decoded in a second thread while the
current one is encoded and scored (``benchmarks/bench_predict.py`` measures what that buys).
:func:`score_features` reads the ``.npy`` files
in chunks of :data:`FEATURE_CHUNK` and scores them at once. Both hand rows (dicts with the resume key,
:mod:`actionhub.engine.predict_output`) to a sink as they finish; an unreadable video gets a row with
its error and the others go on.
"""
from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Sequence

import numpy as np

from actionhub.engine.predict_metrics import label_ranks
from actionhub.engine.predict_output import KEY

__all__ = ["RowMaker", "score_videos", "score_features", "FEATURE_CHUNK"]

log = logging.getLogger(__name__)

FEATURE_CHUNK = 4096   # feature files read and scored together
DECODE_AHEAD: bool | None = None   # decode the next batch in a second thread while this one is encoded:
# None = where a core is left for it (a GPU backbone, or more cores than torch's threads); see the benchmark


class RowMaker:
    """Turns features of a batch of videos into rows: scores in ``space``, the ``top`` actions, and with
    ``explain`` the closest descriptions of each; ``label_idx`` maps a label to its action (-1: none)."""

    def __init__(self, space: Any, names: Sequence[str], top: int, explain: int, labels: bool,
                 label_idx: Callable[[Sequence[str | None]], np.ndarray], imagenet: Any = None):
        self.space, self.names, self.top, self.explain = space, list(names), min(top, len(names)), explain
        self.labels, self.label_idx, self.imagenet = labels, label_idx, imagenet

    def rows(self, videos: Sequence[Any], feats: np.ndarray, errors: Sequence[str | None]) -> list[dict[str, Any]]:
        """One row per video of ``videos`` (:class:`~actionhub.engine.predict_inputs.VideoInput`); ``feats``
        ``(n, F)`` (rows of failed videos are ignored), ``errors[i]`` None for a good video."""
        out = [self._base(v, e) for v, e in zip(videos, errors, strict=True)]
        ok = [i for i, e in enumerate(errors) if e is None]
        if not ok:
            return out
        x = feats[ok]
        v, scores = self.space.scores(x)
        order = top_actions(scores, self.top)
        expl = self.space.explain(v, order, self.explain) if self.explain else None
        ranks = label_ranks(scores, self.label_idx([videos[i].label for i in ok])) if self.labels else None
        top_imagenet = self.imagenet(x) if self.imagenet is not None else None
        top_scores = np.round(np.take_along_axis(scores, order, 1).astype(np.float64), 4).tolist()
        names = self.names
        for r, (i, js) in enumerate(zip(ok, order.tolist(), strict=True)):
            preds = [{"action": names[j], "score": sc} for j, sc in zip(js, top_scores[r], strict=True)]
            if expl is not None:
                for p, e in zip(preds, expl[r], strict=True):
                    p.update(e)
            out[i]["predictions"] = preds
            if ranks is not None and ranks[r]:
                out[i]["label_rank"] = int(ranks[r])
            if top_imagenet is not None:
                out[i]["imagenet_top"] = [{"label": n, "p": round(p, 4)} for n, p in top_imagenet[r]]
        return out

    def _base(self, v: Any, error: str | None) -> dict[str, Any]:
        row: dict[str, Any] = {KEY: v.key, "video": v.video, "predictions": [], "error": error}
        if self.labels:
            row["label"] = v.label
        return row


def top_actions(scores: np.ndarray, top: int) -> np.ndarray:
    """``(N, top)`` indices of the best ``top`` columns of each row of ``scores (N, C)``, best first, ties in
    column order: the stable ``argsort`` of ``-scores`` cut at ``top``, without sorting all C per row."""
    n, c = scores.shape
    if top >= c or n == 0:
        return np.argsort(-scores, axis=1, kind="stable")[:, :top]
    cand = np.argpartition(-scores, top - 1, axis=1)[:, :top]
    kth = np.take_along_axis(scores, cand, 1).min(1, keepdims=True)
    above = (scores > kth).sum(1)
    tied = (scores == kth).sum(1)
    # rows where the cut falls inside a run of equal scores: which of them are kept is decided by order
    redo = np.flatnonzero(above + tied > top)
    key = np.take_along_axis(scores, cand, 1)
    order = np.take_along_axis(cand, np.lexsort((cand, -key), axis=1), 1)
    if redo.size:
        order[redo] = np.argsort(-scores[redo], axis=1, kind="stable")[:, :top]
    return order


def score_videos(videos: Sequence[Any], encoder: Any, sampling: Any, maker: RowMaker, sink: Any, bar: Any,
                 batch_size: int) -> None:
    """Decode, encode and score ``videos`` in batches (module docstring); ``encoder`` has ``encode``,
    ``dim``, ``name`` and ``short_side`` (a backbone)."""
    from actionhub.video.extract import decode_videos, encode_decoded  # noqa: PLC0415

    batches = [list(videos[i:i + batch_size]) for i in range(0, len(videos), batch_size)]
    ahead_on = DECODE_AHEAD if DECODE_AHEAD is not None else _spare_core(encoder)

    def decode(batch: list[Any]) -> list[dict[str, Any]]:
        return decode_videos([(str(i), v.path) for i, v in enumerate(batch) if v.error is None],
                             sampling, encoder.short_side)

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="predict-decode") as pool:
        ahead = pool.submit(decode, batches[0]) if batches and ahead_on else None
        for b, batch in enumerate(batches):
            decoded = ahead.result() if ahead is not None else decode(batch)
            ahead = pool.submit(decode, batches[b + 1]) if b + 1 < len(batches) and ahead_on else None
            results = {int(r["video_id"]): r for r in encode_decoded(encoder, decoded)}
            feats = np.zeros((len(batch), encoder.dim), np.float32)
            errors: list[str | None] = []
            for i, v in enumerate(batch):
                r = results.get(i)
                if r is None:
                    errors.append(v.error)
                elif r["ok"]:
                    feats[i] = r["feature"]
                    errors.append(None)
                else:
                    errors.append(r["reason"])
            sink.add(maker.rows(batch, feats, errors))
            bar.update(len(batch))


def _spare_core(encoder: Any) -> bool:
    """Whether decoding in a second thread can run beside the encoder: a backbone on a GPU, or a CPU with
    more cores than torch's threads (on 2 busy cores the two only take turns; docs/video.md)."""
    import os  # noqa: PLC0415

    import torch  # noqa: PLC0415

    device = str(getattr(encoder, "device", None) or getattr(getattr(encoder, "head", None), "device", "cpu"))
    return not device.startswith("cpu") or (os.cpu_count() or 1) > torch.get_num_threads()


def score_features(videos: Sequence[Any], dim: int, maker: RowMaker, sink: Any, bar: Any) -> None:
    """Score the ``.npy`` files of ``videos`` (their ``path``) in chunks (module docstring)."""
    from actionhub.engine.predict_inputs import read_feature_files  # noqa: PLC0415

    for lo in range(0, len(videos), FEATURE_CHUNK):
        chunk = list(videos[lo:lo + FEATURE_CHUNK])
        readable = [i for i, v in enumerate(chunk) if v.error is None]
        feats = np.zeros((len(chunk), dim), np.float32)
        errors: list[str | None] = [v.error for v in chunk]
        x, errs = read_feature_files([chunk[i].path for i in readable], dim)
        for i, row, err in zip(readable, x, errs, strict=True):
            feats[i], errors[i] = row, err
        sink.add(maker.rows(chunk, feats, errors))
        bar.update(len(chunk))
