"""Assembling run inputs from files: Kinetics-ZSAR evaluation from an ER-style directory."""
import json

import numpy as np
import pytest

from actionhub.engine.inputs import build_inputs
from actionhub.features import FeatureError
from actionhub.protocols import get_benchmark
from actionhub.text.class_text import ClassText


@pytest.fixture(scope="module")
def kinetics():
    return get_benchmark("kinetics-zsar")


def _text(classes, dim=8):
    rng = np.random.default_rng(0)
    return ClassText(list(classes), rng.normal(size=(len(classes), dim)).astype(np.float32),
                     np.zeros((0, dim), np.float32), np.zeros(len(classes) + 1, np.int64))


def test_kinetics_eval_uses_the_shipped_video_list_and_skips_missing_videos(tmp_path, kinetics):
    sp = kinetics.split(0)
    # Training store: integer labels index the 620 ER classes, as ER's metas do.
    train_dir = tmp_path / "train"
    train_dir.mkdir()
    seen_idx = [kinetics.classes.index(c) for c in sp.seen[:5]]
    with open(train_dir / "metas.jsonl", "w") as f:
        for j, ci in enumerate(seen_idx * 2):
            np.save(train_dir / f"t{j}.npy", np.full((1, 4), j, np.float32))
            f.write(json.dumps({"videoname": f"t{j}.mp4", "label": ci}) + "\n")
    # Evaluation store: features for only a few of the published val/test videos.
    test_videos = kinetics.eval_videos(0, "test")
    val_videos = kinetics.eval_videos(0, "val")
    eval_dir = tmp_path / "eval"
    eval_dir.mkdir()
    chosen = test_videos[:7] + val_videos[:3]
    for vid, _ in chosen:
        np.save(eval_dir / f"{vid}.npy", np.ones(4, np.float32))
    inp = build_inputs(kinetics, 0, features=train_dir, eval_features=eval_dir, text_features=_text(kinetics.classes))
    assert len(inp.train) == 10 and set(inp.train.labels) == set(sp.seen[:5])
    assert sorted(inp.test.videos) == sorted(v for v, _ in test_videos[:7])
    assert list(inp.test.labels) == [dict(test_videos)[v] for v in inp.test.videos]
    assert set(inp.test.labels) <= set(sp.unseen)
    assert len(inp.val_set) == 3 and set(inp.val_set.labels) <= set(sp.val)
    assert inp.select_epoch_on_val


def test_no_training_videos_of_the_seen_classes_is_explained(tmp_path, kinetics):
    sp = kinetics.split(0)
    path = tmp_path / "f.npz"
    np.savez(path, features=np.ones((2, 4), np.float32), labels=np.array([sp.unseen[0]] * 2))
    with pytest.raises(FeatureError, match="no videos of the 400 seen classes"):
        build_inputs(kinetics, 0, features=path, text_features=_text(kinetics.classes))


def test_text_features_must_cover_the_split(tmp_path):
    hmdb = get_benchmark("hmdb51")
    path = tmp_path / "f.npz"
    np.savez(path, features=np.ones((len(hmdb.classes), 4), np.float32), labels=np.array(hmdb.classes))
    with pytest.raises(ValueError, match="no text features"):
        build_inputs(hmdb, 0, features=path, text_features=_text(hmdb.classes[:10]))
