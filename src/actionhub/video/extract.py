"""Resumable feature extraction: videos in, the per-video feature store the trainer reads out.

Input (:func:`list_videos`): a directory or a ``path [label]`` list file. Output: ``OUT/<video_id>.npy``
``(D,)`` float32 (atomic, as soon as the video is done), ``metas.jsonl`` (when every video has a
label), ``index.jsonl``, ``meta.json`` (backbone and sampling, pinned: a rerun with other settings
is refused) and ``failures.jsonl``. A video is done when its ``.npy`` exists, so a rerun skips
finished videos and retries failed ones; the lists are rewritten every 30 s and at the end and are
derived from the ``.npy`` files. With Dask, workers decode and encode and the client alone writes.

Docs: docs/video.md#extraction
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import numpy as np

from actionhub.features import VIDEO_EXTENSIONS
from actionhub.utils import jsontext
from actionhub.utils.device import check_device
from actionhub.utils.errors import UserError, disk_full_as, disk_full_message
from actionhub.utils.io import PathLike, atomic_path, atomic_write_json, atomic_write_text
from actionhub.utils.lock import locks_output
from actionhub.utils.names import UNSAFE_ID_CHARS, listing
from actionhub.utils.outputs import check_no_overlap
from actionhub.utils.parallel import get_backend
from actionhub.utils.progress import progress_bar
from actionhub.utils.runinfo import now, package_versions
from actionhub.video.backbones import DEFAULT_BACKBONE, DEFAULT_FRAME_BATCH, get_backbone
from actionhub.video.decode import DecodeError, parse_sampling, read_video

log = logging.getLogger(__name__)

__all__ = [
    "ExtractError",
    "ExtractResult",
    "VideoEntry",
    "extract_features",
    "encode_videos",
    "decode_videos",
    "encode_decoded",
    "list_videos",
    "read_jsonl",
    "video_id",
    "STORE_FORMAT",
]

STORE_FORMAT = "actionhub.features.er/1"
FLUSH_SECONDS = 30.0
MAX_ID_LENGTH = 200


class ExtractError(UserError):
    """Bad extraction input or an output directory that holds other features."""


@dataclass(frozen=True)
class VideoEntry:
    """One input video: ``path`` to open, its store id, its label (None when unknown),
    and ``source``: the path as the input named it (recorded in failures and the index)."""

    path: str
    video_id: str
    label: str | None
    source: str


@dataclass
class ExtractResult:
    """What one :func:`extract_features` call did."""

    out_dir: Path
    total: int                    # videos in the input
    skipped: int                  # already extracted before this run
    extracted: int                # extracted by this run
    failed: int                   # failed in this run
    frames: int                   # frames encoded by this run
    seconds: float
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def videos_per_second(self) -> float:
        return (self.extracted + self.failed) / self.seconds if self.seconds > 0 else 0.0

    @property
    def frames_per_second(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else 0.0


# --------------------------------------------------------------------------- inputs and ids


def video_id(rel_path: str, ids: str = "relpath") -> str:
    """Filesystem-safe store id of a video named ``rel_path`` (see the module docstring).

    >>> video_id("abseiling/x y.mp4")
    'abseiling__x_y'
    """
    rel = rel_path.replace("\\", "/")
    parts = [p for p in rel.split("/") if p not in ("", ".")]
    if not parts:
        raise ExtractError(f"cannot make a video id from the empty path {rel_path!r}")
    if ids == "stem":
        parts = parts[-1:]
    elif ids != "relpath":
        raise ValueError(f"ids must be 'relpath' or 'stem', got {ids!r}")
    root, ext = os.path.splitext(parts[-1])
    if ext.lower() in VIDEO_EXTENSIONS and root:
        parts[-1] = root
    parts = ["up" if p == ".." else p for p in parts]
    vid = "__".join(UNSAFE_ID_CHARS.sub("_", p) for p in parts).lstrip(".") or "_"
    # load_features strips one video extension from listed names: never end in one.
    root, ext = os.path.splitext(vid)
    if ext.lower() in VIDEO_EXTENSIONS:
        vid = f"{root}_{ext[1:]}"
    if len(vid) > MAX_ID_LENGTH:
        digest = hashlib.sha1(vid.encode("utf-8")).hexdigest()[:12]
        vid = f"{vid[:MAX_ID_LENGTH - 13]}-{digest}"
    return vid


def _dedupe(entries: list[VideoEntry]) -> list[VideoEntry]:
    seen: dict[str, int] = {}
    out = []
    for e in entries:
        n = seen.get(e.video_id, 0) + 1
        seen[e.video_id] = n
        if n > 1:
            new_id = f"{e.video_id}~{n}"
            log.warning("%s and an earlier video map to the id %r; using %r", e.source, e.video_id, new_id)
            e = VideoEntry(e.path, new_id, e.label, e.source)
        out.append(e)
    return out


def _check_stem_ids(entries: list[VideoEntry]) -> None:
    by_id: dict[str, list[str]] = {}
    for e in entries:
        by_id.setdefault(e.video_id, []).append(e.source)
    dup = {k: v for k, v in by_id.items() if len(v) > 1}
    if dup:
        k, v = next(iter(dup.items()))
        raise ExtractError(
            f"{len(dup)} file name(s) occur more than once, e.g. {k!r} for {v[:3]}; ids='stem' needs unique "
            "file names: rename them or use ids='relpath' (--ids relpath)")


def list_videos(input_path: PathLike, ids: str = "relpath") -> list[VideoEntry]:
    """The videos named by ``input_path``: a directory (recursive) or a ``path [label]`` list file.

    Paths are made absolute (workers of a cluster do not share the caller's working directory).
    """
    src = Path(os.path.abspath(input_path))
    if not src.exists():
        raise ExtractError(f"input {src} does not exist; pass a directory of videos or a list file of 'path [label]' "
                           "lines")
    if src.is_dir():
        entries = _list_directory(src, ids)
        if not entries:
            raise ExtractError(f"{src} holds no video files (looked for {', '.join(sorted(VIDEO_EXTENSIONS))}, "
                               "recursively)")
    else:
        entries = _list_file(src, ids)
        if not entries:
            raise ExtractError(f"list file {src} names no videos; write one 'path [label]' line per video")
    if ids == "stem":
        _check_stem_ids(entries)
        return entries
    return _dedupe(entries)


def _list_directory(root: Path, ids: str) -> list[VideoEntry]:
    found: list[tuple[str, Path]] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in filenames:
            if name.startswith(".") or os.path.splitext(name)[1].lower() not in VIDEO_EXTENSIONS:
                continue
            p = Path(dirpath) / name
            found.append((p.relative_to(root).as_posix(), p))
    found.sort(key=lambda t: t[0])
    return [VideoEntry(str(p), video_id(rel, ids), None, str(p)) for rel, p in found]


def _list_file(path: Path, ids: str) -> list[VideoEntry]:
    base = path.parent
    out: list[tuple[Path, Path, str | None, str]] = []
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ExtractError(f"{path} is not a UTF-8 text list; pass a directory of videos or a text file of "
                           "'path [label]' lines (is it a video? then pass its folder)") from None
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if "\t" in line:
            name, label = (s.strip() for s in line.split("\t", 1))
        elif (base / line).is_file() or len(line.split()) == 1:
            name, label = line, ""
        else:
            name, label = (s.strip() for s in line.rsplit(None, 1))
        if not name:
            raise ExtractError(f"{path}:{lineno}: no video path in {raw!r}")
        p = Path(name)
        full = p if p.is_absolute() else base / p
        out.append((p, full, label or None, name))
    return _entries_with_ids(out, base, ids)


def _entries_with_ids(rows: list[tuple[Path, Path, str | None, str]], base: Path, ids: str) -> list[VideoEntry]:
    """Ids of a list file's videos: relative paths as written; absolute paths relative to the list
    file's folder when they lie inside it, else to the common folder of all such paths (never the
    whole absolute path, which would give ids like ``home__me__videos__...``)."""
    outside = [full for p, full, _, _ in rows if p.is_absolute() and not full.is_relative_to(base)]
    root = Path(os.path.commonpath([str(f.parent) for f in outside])) if outside else None
    out = []
    for p, full, label, name in rows:
        if not p.is_absolute():
            rel = p.as_posix()
        elif full.is_relative_to(base):
            rel = full.relative_to(base).as_posix()
        else:
            rel = full.relative_to(root).as_posix() if root is not None else full.name
        out.append(VideoEntry(str(full), video_id(rel.replace(":", "_"), ids), label, name))
    return out


# --------------------------------------------------------------------------- work (runs on workers)


@dataclass(frozen=True)
class _Task:
    """One work item: a few videos decoded and encoded together (picklable)."""

    videos: tuple[tuple[str, str], ...]   # (video_id, path)
    backbone: str
    sampling: str
    device: str
    frame_batch: int


def _probe_backbone(args: tuple[str, str]) -> dict[str, Any]:
    """Load the backbone where the work runs and return its meta (fails early if it cannot load)."""
    name, device = args
    return dict(get_backbone(name, device).meta())


def _failure(vid: str, kind: str, reason: str) -> dict[str, Any]:
    return {"video_id": vid, "ok": False, "kind": kind, "reason": reason, "frames": 0}


def _run_task(task: _Task) -> list[dict[str, Any]]:
    """Decode + encode the task's videos; per-video failures come back as data, never raised."""
    bb = get_backbone(task.backbone, task.device, task.frame_batch)
    return encode_decoded(bb, decode_videos(task.videos, parse_sampling(task.sampling), bb.short_side))


def decode_videos(videos: Sequence[tuple[str, str]], sampling: Any, short_side: int | None) -> list[dict[str, Any]]:
    """Sampled frames of ``videos`` (``(video_id, path)`` pairs) with a :class:`~actionhub.video.decode.Sampling`:
    one dict per video, ``{"video_id", "frames"}`` or a failure (``ok`` False, ``kind``, ``reason``).
    Never raises for a bad file (the first half of a work item; :func:`encode_decoded` is the second)."""
    out: list[dict[str, Any]] = []
    for vid, path in videos:
        try:
            out.append({"video_id": vid, "frames": read_video(path, sampling, short_side=short_side).frames})
        except DecodeError as e:
            out.append(_failure(vid, e.kind, e.detail))
        except Exception as e:  # noqa: BLE001 - one bad file must not end the batch
            out.append(_failure(vid, "error", f"unexpected error while decoding: {type(e).__name__}: {e}"))
    return out


def encode_decoded(bb: Any, decoded: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Encode the videos :func:`decode_videos` gave with backbone ``bb`` (anything with ``encode``, ``dim``
    and ``name``): ``{"video_id", "ok": True, "feature" (D,), "frames"}`` per video, failures kept (a video
    whose encoding fails or gives NaN/inf fails alone, as ``encode_error``)."""
    results: list[dict[str, Any]] = list(decoded)
    slots = [i for i, r in enumerate(decoded) if "ok" not in r]   # decoded, not yet encoded
    if slots:
        frames = [decoded[i]["frames"] for i in slots]
        feats = _encode_isolated(bb, frames, [decoded[i]["video_id"] for i in slots])
        for slot, f, (feat, err) in zip(slots, frames, feats, strict=True):
            vid = decoded[slot]["video_id"]
            if err is not None:
                results[slot] = _failure(vid, "encode_error", err)
            elif not np.isfinite(feat).all():
                results[slot] = _failure(vid, "encode_error", "the backbone returned NaN/inf features")
            else:
                results[slot] = {"video_id": vid, "ok": True, "feature": feat, "frames": int(f.shape[0])}
    return results


def _encode_isolated(bb: Any, frames: list[np.ndarray], ids: list[str]) -> list[tuple[np.ndarray | None, str | None]]:
    """Encode all videos at once; if that fails, one by one so only the bad video fails."""
    try:
        out = np.asarray(bb.encode(frames), dtype=np.float32)
        if out.shape != (len(frames), bb.dim):
            raise RuntimeError(f"backbone {bb.name} returned shape {out.shape}, expected {(len(frames), bb.dim)}")
        return [(row, None) for row in out]
    except Exception as e:  # noqa: BLE001
        if len(frames) == 1:
            return [(None, f"{type(e).__name__}: {e}")]
        log.warning("encoding a batch of %d videos failed (%s); retrying one by one", len(frames), e)
        res: list[tuple[np.ndarray | None, str | None]] = []
        for f, vid in zip(frames, ids, strict=True):
            res.extend(_encode_isolated(bb, [f], [vid]))
        return res


# --------------------------------------------------------------------------- the store


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """Records of a JSONL file; a torn last line (killed writer) is ignored."""
    if not path.is_file():
        return []
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            rec = jsontext.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(rec, dict):
            out.append(rec)
    return out


def _jsonl(records: Sequence[dict[str, Any]]) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)


_OWN_FILES = ("meta.json", "index.jsonl", "metas.jsonl", "failures.jsonl")


def _check_input(out: Path, entries: list[VideoEntry], input_path: PathLike, overwrite: bool) -> None:
    """Refuse to extract into a folder that holds features of videos of another input that this input
    does not list (their labels would be dropped from the lists, their files orphaned); resuming the same
    input, or one that lists every video already extracted, goes on. ``overwrite``: that earlier
    extraction is removed first (its .npy files and lists; other files are kept)."""
    meta_path = out / "meta.json"
    if not meta_path.is_file():
        return
    try:
        old = jsontext.loads(meta_path.read_text(encoding="utf-8"))
    except (ValueError, OSError):
        return   # refused with its own message by _check_store
    old = old if isinstance(old, dict) else {}
    before = str(old.get("input_path") or Path(str(old.get("input", ""))).resolve())
    if before == str(Path(input_path).resolve()):
        return
    done = {name[:-4] for name in os.listdir(out) if name.endswith(".npy") and not name.startswith(".")}
    gone = sorted(done - {e.video_id for e in entries})
    if not gone:
        return
    if overwrite:
        log.warning("%s: removing the extraction of %s (%d videos) to extract %s", out, old.get("input"), len(done),
                    input_path)
        for name in [f"{v}.npy" for v in done] + list(_OWN_FILES):
            (out / name).unlink(missing_ok=True)
        return
    raise ExtractError(
        f"{out} holds the features of {len(done)} videos extracted from another input, {old.get('input')!r} "
        f"({meta_path}); {len(gone)} of them are not in {input_path}, e.g. {listing(gone[:3], len(gone))}, and "
        "extracting it there would drop their labels and orphan their files: give a new --out folder, or pass "
        "--overwrite to replace that extraction")


def _check_store(out: Path, meta_path: Path, bb_meta: dict[str, Any], sampling: str) -> dict[str, Any] | None:
    if not meta_path.is_file():
        if any(out.glob("*.npy")):
            raise ExtractError(
                f"{out} already holds .npy files but no meta.json, so their backbone and sampling are unknown; "
                "extract into a new --out directory")
        return None
    try:
        old = jsontext.loads(meta_path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ExtractError(f"{meta_path} is not valid JSON ({e}); fix or delete it, or use a new --out "
                           "directory") from None
    if not isinstance(old, dict):
        raise ExtractError(f"{meta_path} must hold a JSON object, not a {type(old).__name__}; fix or delete it, or "
                           "use a new --out directory")
    want = {"backbone": bb_meta.get("backbone"), "sampling": sampling, "dim": bb_meta.get("dim")}
    diff = {k: (old.get(k), v) for k, v in want.items() if old.get(k) != v}
    if diff:
        what = ", ".join(f"{k} {a!r} (requested {b!r})" for k, (a, b) in diff.items())
        raise ExtractError(
            f"{out} holds features with {what} according to {meta_path}; mixing them would give a wrong "
            "store. Rerun with the same settings to resume, or use a new --out directory")
    return old


def encode_videos(paths: Sequence[PathLike], backbone: str = DEFAULT_BACKBONE, sampling: str = "segments:8", *,
                  device: str = "cpu", batch_size: int = 8, frame_batch: int = DEFAULT_FRAME_BATCH,
                  backend: Any = "inprocess", scheduler: Any = None) -> list[dict[str, Any]]:
    """Features of a few videos in memory (no store): one dict per path, in order.

    Each dict has ``video`` (the path), ``ok``, and either ``feature`` ``(D,)`` float32 and
    ``frames``, or ``kind`` and ``reason`` for a video that could not be read.
    """
    smp = parse_sampling(sampling).name
    items = [(str(i), str(p)) for i, p in enumerate(paths)]
    tasks = [_Task(tuple(items[i:i + batch_size]), backbone, smp, device, frame_batch)
             for i in range(0, len(items), max(1, batch_size))]
    be = backend if not isinstance(backend, str) else get_backend(backend, scheduler)
    out: dict[int, dict[str, Any]] = {}
    try:
        for _, results in be.map(_run_task, tasks):
            for r in results:
                out[int(r["video_id"])] = r
    finally:
        if isinstance(backend, str):
            be.close()
    res = []
    for i, p in enumerate(paths):
        r = dict(out[i])
        r.pop("video_id", None)
        res.append({"video": str(p), **r})
    return res


@locks_output("out_dir", folder=True, what="feature folder")
def extract_features(
    input_path: PathLike,
    out_dir: PathLike,
    *,
    backbone: str = DEFAULT_BACKBONE,
    sampling: str = "segments:8",
    batch_size: int = 8,
    frame_batch: int = DEFAULT_FRAME_BATCH,
    device: str = "cpu",
    backend: Any = "inprocess",
    scheduler: Any = None,
    ids: str = "relpath",
    progress: bool = True,
    extra_meta: dict[str, Any] | None = None,
    on_video: Callable[[str, bool], None] | None = None,
    overwrite: bool = False,
) -> ExtractResult:
    """Extract one feature vector per video of ``input_path`` into the store ``out_dir``.

    Args:
        input_path: a directory of videos (recursive) or a ``path [label]`` list file.
        out_dir: the feature store directory (created; rerun the same call to resume).
        backbone: registry name (see :func:`actionhub.video.backbones.list_backbones`).
        sampling: ``segments:T`` or ``clip:LxS`` (see :mod:`actionhub.video.decode`).
        batch_size: videos per work item (decoded and encoded together).
        frame_batch: frames per forward pass of the backbone.
        device: torch device where the backbone runs (on the workers for Dask).
        backend: ``"inprocess"``, ``"dask"`` or a :class:`actionhub.utils.parallel.Backend`.
        scheduler: Dask scheduler address or ``distributed.Client`` (backend ``"dask"``).
        ids: ``"relpath"`` (default) or ``"stem"`` video ids (module docstring).
        progress: show a tqdm bar.
        extra_meta: JSON-able entries added to ``meta.json`` (e.g. ``{"synthetic": True}``).
        on_video: called as ``on_video(video_id, ok)`` after each video is recorded.
        overwrite: replace an extraction of another input in ``out_dir`` (refused without it).

    Returns:
        An :class:`ExtractResult`.  Per-video failures are recorded, not raised.
    """
    if batch_size < 1 or frame_batch < 1:
        raise ExtractError(f"batch sizes must be positive, got batch_size={batch_size}, frame_batch={frame_batch}")
    smp = parse_sampling(sampling)
    check_no_overlap({"--out": out_dir}, {"INPUT": input_path})
    entries = list_videos(input_path, ids)
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise ExtractError(f"--out {out} exists and is not a directory; pass a directory for the feature store")
    _check_input(out, entries, input_path, overwrite)
    if backend == "inprocess":
        check_device(device)   # on a cluster the workers' devices count, not this machine's
    be = backend if not isinstance(backend, str) else get_backend(backend, scheduler)
    meta_path = out / "meta.json"
    try:
        with disk_full_as(lambda e: disk_full_message(out, e, "the videos extracted so far are kept: free space "
                                                              "and rerun the same command to resume")):
            out.mkdir(parents=True, exist_ok=True)
            return _extract(entries, input_path, out, meta_path, be, backbone, smp.name, smp.num_frames,
                            batch_size, frame_batch, device, ids, progress, extra_meta or {}, on_video)
    finally:
        if isinstance(backend, str):
            be.close()


def _extract(entries: list[VideoEntry], input_path: PathLike, out: Path, meta_path: Path, be: Any, backbone: str,
             sampling: str, frames_per_video: int, batch_size: int, frame_batch: int, device: str, ids: str,
             progress: bool, extra_meta: dict[str, Any], on_video: Callable[[str, bool], None] | None) -> ExtractResult:
    bb_meta = next(iter(be.map(_probe_backbone, [(backbone, device)])))[1]
    old = _check_store(out, meta_path, bb_meta, sampling)
    from_list = Path(input_path).is_file()   # a list file (else a folder of videos)
    meta: dict[str, Any] = {
        "format": STORE_FORMAT,
        **bb_meta,
        "sampling": sampling,
        "frames_per_video": frames_per_video,
        "input": str(input_path),
        "input_path": str(Path(input_path).resolve()),
        "video_ids": ids,
        **extra_meta,
        "created_at": (old or {}).get("created_at", now()),
        "versions": package_versions(("av",)),
    }
    meta["status"] = "running"
    atomic_write_json(meta_path, meta)

    on_disk = {name[:-4] for name in os.listdir(out) if name.endswith(".npy") and not name.startswith(".")}
    done = {e.video_id for e in entries if e.video_id in on_disk}
    pending = [e for e in entries if e.video_id not in done]
    by_id = {e.video_id: e for e in entries}
    # Failures of earlier runs stay on record until their video is retried.
    failures: dict[str, dict[str, Any]] = {}
    for rec in read_jsonl(out / "failures.jsonl"):
        vid = rec.get("video_id")
        if isinstance(vid, str) and vid in by_id and vid not in done:
            failures[vid] = rec
    skipped = len(entries) - len(pending)
    if skipped:
        log.info("%s: %d of %d videos already extracted; %d to go", out, skipped, len(entries), len(pending))

    state = {"extracted": 0, "failed": 0, "frames": 0}
    tasks = [_Task(tuple((e.video_id, e.path) for e in pending[i:i + batch_size]), backbone, sampling, device,
                   frame_batch) for i in range(0, len(pending), batch_size)]
    t0 = time.perf_counter()
    last_flush = t0
    finished = False
    bar = progress_bar(enabled=progress, total=len(pending), desc=f"extract {backbone}", unit="video", smoothing=0.05)
    try:
        for _, results in be.map(_run_task, tasks):
            for r in results:
                vid = r["video_id"]
                if r["ok"]:
                    _save_npy(out / f"{vid}.npy", r["feature"])
                    done.add(vid)
                    failures.pop(vid, None)
                    state["extracted"] += 1
                    state["frames"] += r["frames"]
                else:
                    reason = r["reason"]
                    if r["kind"] == "not_found" and from_list and not Path(by_id[vid].source).is_absolute():
                        reason += " (paths in a list file are relative to the list file's folder)"
                    failures[vid] = {"video": by_id[vid].source, "video_id": vid, "kind": r["kind"],
                                     "reason": reason, "time": now()}
                    state["failed"] += 1
                    log.info("failed: %s (%s)", by_id[vid].source, r["reason"])
                bar.update(1)
                bar.set_postfix(failed=state["failed"], refresh=False)
                if on_video is not None:
                    on_video(vid, bool(r["ok"]))
            if time.perf_counter() - last_flush > FLUSH_SECONDS:
                _write_lists(out, entries, done, failures)
                last_flush = time.perf_counter()
        finished = True
    finally:
        bar.close()
        seconds = time.perf_counter() - t0
        meta.update({
            "num_videos": len(entries), "num_extracted": len(done), "num_failed": len(failures),
            "status": "complete" if finished else "partial", "updated_at": now(),
        })
        try:
            _write_lists(out, entries, done, failures)
            atomic_write_json(meta_path, meta)
        except OSError as e:
            if finished:
                raise
            # Already failing (e.g. a full disk): the lists are derived from the .npy files and are
            # rewritten by the next run; do not hide the first error behind this one.
            log.warning("could not update the lists of %s: %s", out, e)
    if failures:
        log.warning("%d of %d videos could not be extracted; see %s", len(failures), len(entries),
                    out / "failures.jsonl")
    return ExtractResult(out_dir=out, total=len(entries), skipped=skipped, extracted=state["extracted"],
                         failed=state["failed"], frames=state["frames"], seconds=seconds, meta=meta)


def _save_npy(path: Path, feature: np.ndarray) -> None:
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            np.save(fh, np.asarray(feature, dtype=np.float32))


def _write_lists(out: Path, entries: list[VideoEntry], done: set[str], failures: dict[str, dict[str, Any]]) -> None:
    """Rewrite index.jsonl, metas.jsonl (when every extracted video has a label) and failures.jsonl."""
    ok = [e for e in entries if e.video_id in done]
    atomic_write_text(out / "index.jsonl",
                      _jsonl([{"video": e.video_id, "path": e.source, "label": e.label} for e in ok]))
    metas = out / "metas.jsonl"
    if ok and all(e.label is not None for e in ok):
        atomic_write_text(metas, _jsonl([{"videoname": e.video_id, "label": e.label} for e in ok]))
    elif metas.exists():
        metas.unlink()
    order = {e.video_id: i for i, e in enumerate(entries)}
    fails = sorted(failures.values(), key=lambda r: order.get(r.get("video_id"), len(order)))
    if fails or (out / "failures.jsonl").exists():
        atomic_write_text(out / "failures.jsonl", _jsonl(fails))


def iter_failures(out_dir: PathLike) -> Iterator[dict[str, Any]]:
    """The failure records of a store (``failures.jsonl``)."""
    yield from read_jsonl(Path(out_dir) / "failures.jsonl")
