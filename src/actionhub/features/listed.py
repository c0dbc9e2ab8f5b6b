"""The videos of a feature store that a published list names: the official test lists of
``ucf101-full`` / ``hmdb51-full`` select their test videos out of whatever a store holds (a
store of all 13,320 UCF101 videos, or only the test ones), matched by file name.

A list entry ``v_ApplyEyeMakeup_g08_c01.avi`` matches a store video whose id is that name, or ends
in it after a ``__`` folder separator (``actionhub extract`` ids: ``ApplyEyeMakeup__v_ApplyEyeMakeup_g08_c01``
by default, the name alone with ``--ids stem``), with a video extension or not, ignoring case, and
with the characters ``extract`` replaces by ``_`` replaced alike (HMDB51's ``boomsnapclap!_clap_...``
is ``boomsnapclap__clap_...`` in a store). Nothing looser: HMDB51 holds distinct videos whose names
differ only in punctuation (``Boom_Snap_Clap_clap_...``, ``boom-snap-clap_clap_...``)."""
from __future__ import annotations

import logging
from typing import Any, Sequence

import numpy as np

from actionhub.features.featureset import FeatureError, FeatureSet
from actionhub.features.video_lists import strip_video_ext
from actionhub.utils.names import UNSAFE_ID_CHARS, listing

__all__ = ["video_key", "select_listed"]

log = logging.getLogger(__name__)


def video_key(name: str) -> str:
    """The matching key of a video file name or id: the last path part, no video extension, the
    characters ``actionhub extract`` replaces replaced by ``_``, lower case."""
    base = strip_video_ext(str(name).replace("\\", "/").rsplit("/", 1)[-1])
    return UNSAFE_ID_CHARS.sub("_", base).lstrip(".").lower()


def _keys_of_id(video_id: str) -> list[str]:
    """Keys an id may match, longest first: the whole id and every tail after a ``__`` folder separator."""
    parts = str(video_id).split("__")
    return [video_key("__".join(parts[i:])) for i in range(len(parts))]


def select_listed(fs: FeatureSet, listed: Sequence[tuple[str, str]], what: str) -> tuple[FeatureSet, dict[str, Any]]:
    """The rows of ``fs`` whose video is in ``listed`` (``(video name, class)`` pairs), in store order.

    Raises :class:`FeatureError` when none is found, or when a found video carries another label
    than the list gives it (a mislabelled store would give wrong numbers). Listed videos missing
    from the store are counted and named in a warning. Returns the subset and
    ``{"listed", "found", "missing", "missing_examples", "not_listed"}``.
    """
    want: dict[str, str] = {}
    for name, cls in listed:
        want.setdefault(video_key(name), cls)
    keep, mislabelled, found = [], [], set()
    for row, (vid, label) in enumerate(zip(fs.videos, fs.labels, strict=True)):
        key = next((k for k in _keys_of_id(vid) if k in want), None)
        if key is None:
            continue
        if str(label) != want[key]:
            mislabelled.append(f"{vid} ({label}; the list: {want[key]})")
        keep.append(row)
        found.add(key)
    if mislabelled:
        raise FeatureError(f"{fs.source}: {len(mislabelled)} video(s) of {what} carry another label than the list "
                           f"gives them: {listing(mislabelled[:5], len(mislabelled))}; fix the labels of the store")
    if not keep:
        example = next(iter(listed), ("?", "?"))[0]
        raise FeatureError(f"{fs.source} holds none of the {len(want)} videos of {what} (e.g. {example!r}); video ids "
                           "are matched by file name (an `actionhub extract` id such as Class__v_Class_g08_c01 or "
                           "the name alone): extract the dataset's videos under their own file names")
    missing = [name for name, _ in listed if video_key(name) not in found]
    if missing:
        log.warning("%s: %d of the %d videos of %s are not in the store (evaluated on the %d found): %s",
                    fs.source, len(missing), len(want), what, len(found), listing(missing[:5], len(missing)))
    idx = np.asarray(keep, dtype=np.int64)
    subset = FeatureSet(np.asarray(fs.features[idx]), fs.labels[idx], fs.videos[idx], fs.source, dict(fs.meta))
    info = {"listed": len(want), "found": len(found), "missing": len(missing), "missing_examples": missing[:5],
            "not_listed": len(fs) - len(keep)}
    return subset, info
