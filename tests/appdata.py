"""A small store and a few runs for the web app's tests (HTTP and browser): hand-written text, shared videos,
SYNTHETIC features."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

TEXT = ["a man playing an acoustic guitar on stage", "woman strumming her guitar in the park",
        "girl riding a horse in a field", "a horse running on the beach in slow motion"]


def make_store(path: Path, guitar: int = 130) -> Path:
    """play guitar (``guitar`` + 1 junk), strum guitar (10 shared with play guitar), ride horse (40),
    ride camel (1 own + 1 shared with ride horse), yo yo (1)."""
    from actionhub.dataset.store import Store

    st = Store(path, create=True, note="SYNTHETIC: app test store")
    rows = [{"action": "play guitar", "provider": "local", "video_id": f"g{i}",
             "description": f"{TEXT[i % 2]}, take {i}"}
            for i in range(guitar)]
    rows.append({"action": "play guitar", "provider": "local", "video_id": "junk1",
                 "description": "stock footage loop background 4k"})
    rows += [{"action": "ride horse", "provider": "local", "video_id": f"h{i}",
              "description": f"{TEXT[2 + i % 2]}, {i}"}
             for i in range(40)]
    rows += [{"action": "strum guitar", "provider": "local", "video_id": f"g{i}", "description": "x"}
             for i in range(10)]
    rows += [{"action": "ride camel", "provider": "local", "video_id": "h3", "description": "x"},
             {"action": "ride camel", "provider": "local", "video_id": "c1", "description": "camel ride in the desert"},
             {"action": "yo yo", "provider": "local", "video_id": "y1", "description": "a boy doing yo yo tricks"}]
    with st.lock():
        st.add(rows)
    return path


def make_runs(root: Path) -> Path:
    """CoCo and ESZSL on hmdb51 split 0 and a sweep over k: SYNTHETIC features, a few epochs."""
    from actionhub.config import ModelConfig, OptimConfig, TrainConfig
    from actionhub.demo.synthetic import SyntheticSpec, SyntheticWorld
    from actionhub.engine.inputs import build_inputs
    from actionhub.engine.sweep import parse_param, run_sweep
    from actionhub.engine.trainer import train_run
    from actionhub.features import save_features
    from actionhub.protocols import get_benchmark

    bench = get_benchmark("hmdb51")
    w = SyntheticWorld(bench.classes, SyntheticSpec(visual_dim=32, text_dim=16, latent_dim=12, num_concepts=30,
                                                    descriptions_per_class=12, seed=5))
    save_features(root / "f.npz", w.videos(bench.classes, 10, seed=1))
    w.class_text().save(root / "t.npz")
    inp = build_inputs(bench, 0, features=root / "f.npz", text_features=root / "t.npz")
    base = TrainConfig(model=ModelConfig(dim=24, k=6), optim=replace(OptimConfig(), epochs=3, batch_size=64))
    for method in ("coco", "eszsl"):
        train_run(replace(base, method=method), inp, root / "runs" / method, progress=False)
    run_sweep(base, [parse_param("k=2,6")], [0], lambda s: inp, root / "runs" / "sweep_k", benchmark="hmdb51",
              data={"features": str(root / "f.npz")}, progress=False, say=lambda s: None)
    return root / "runs"
