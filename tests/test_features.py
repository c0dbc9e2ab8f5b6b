"""Feature stores (actionhub.features) and atomic writes (actionhub.utils.io)."""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from actionhub.features import FeatureError, FeatureSet, load_features, save_features
from actionhub.utils.io import atomic_path, atomic_write_bytes, atomic_write_json, atomic_write_text
from actionhub.utils.names import normalize_name

CLASSES = ["ApplyEyeMakeup", "Archery", "BabyCrawling"]
N, D = 7, 5


@pytest.fixture
def data() -> tuple[np.ndarray, list[str], list[str]]:
    rng = np.random.default_rng(0)
    feats = rng.standard_normal((N, D)).astype(np.float32)
    labels = [CLASSES[i % 3] for i in range(N)]
    videos = [f"vid_{i:03d}" for i in range(N)]
    return feats, labels, videos


def write_per_video_dir(root: Path, feats: np.ndarray, videos: list[str], labels: list, *,
                        metas: bool = True, flat: bool = False) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for i, v in enumerate(videos):
        np.save(root / f"{v}.npy", feats[i] if flat else feats[i][None, :])
    if metas:
        lines = [json.dumps({"videoname": f"{v}.mp4", "label": lab}) for v, lab in zip(videos, labels, strict=True)]
        (root / "metas.jsonl").write_text("\n".join(lines) + "\n")
    return root


def assert_same(fs: FeatureSet, feats: np.ndarray, labels: list, videos: list[str] | None = None) -> None:
    assert fs.features.dtype == np.float32
    np.testing.assert_array_equal(np.asarray(fs.features), feats)
    assert list(fs.labels) == list(labels)
    if videos is not None:
        assert list(fs.videos) == list(videos)
    assert fs.dim == feats.shape[1] and len(fs) == feats.shape[0]


# --------------------------------------------------------------------------- round trips


def test_per_video_dir_with_metas_jsonl(tmp_path, data):
    feats, labels, videos = data
    d = write_per_video_dir(tmp_path / "feats", feats, videos, labels)
    fs = load_features(d)
    assert_same(fs, feats, labels, videos)
    assert fs.source == str(d)


def test_per_video_dir_with_text_list_flat_vectors_and_tab_labels(tmp_path, data):
    feats, labels, videos = data
    d = write_per_video_dir(tmp_path / "feats", feats, videos, labels, metas=False, flat=True)
    names = ["apply eye makeup", "Archery", "baby crawling"]
    lst = tmp_path / "list.txt"
    lst.write_text("".join(f"{v}.avi\t{names[i % 3]}\n" for i, v in enumerate(videos)))
    fs = load_features(d, video_list=lst, classes=CLASSES)
    assert_same(fs, feats, labels, videos)


def test_per_video_dir_finds_videos_txt_with_last_token_label(tmp_path, data):
    feats, labels, videos = data
    d = write_per_video_dir(tmp_path / "feats", feats, videos, labels, metas=False)
    (d / "videos.txt").write_text("".join(f"{v} 300 {lab}\n" for v, lab in zip(videos, labels, strict=True)))
    assert_same(load_features(d), feats, labels, videos)


def test_npy_with_labels_file_is_memmapped(tmp_path, data):
    feats, labels, _ = data
    np.save(tmp_path / "f.npy", feats)
    (tmp_path / "labels.txt").write_text("\n".join(labels) + "\n")
    fs = load_features(tmp_path / "f.npy", labels=tmp_path / "labels.txt")
    assert isinstance(fs.features, np.memmap)
    assert_same(fs, feats, labels)
    fs2 = load_features(tmp_path / "f.npy", labels=labels, mmap=False)
    assert not isinstance(fs2.features, np.memmap)
    assert_same(fs2, feats, labels)


def test_npy_float64_is_cast_to_float32(tmp_path, data):
    feats, labels, _ = data
    np.save(tmp_path / "f.npy", feats.astype(np.float64))
    fs = load_features(tmp_path / "f.npy", labels=labels)
    assert_same(fs, feats, labels)


def test_npz_round_trip_keeps_meta(tmp_path, data):
    feats, labels, videos = data
    out = save_features(tmp_path / "f.npz", feats, labels, videos, meta={"backbone": "tsm", "sampling": "8x8"})
    fs = load_features(out)
    assert_same(fs, feats, labels, videos)
    assert fs.meta == {"backbone": "tsm", "sampling": "8x8", "dim": D}


def test_parquet_list_column_round_trip(tmp_path, data):
    feats, labels, videos = data
    out = save_features(tmp_path / "f.parquet", FeatureSet(feats, np.array(labels, object), np.array(videos, object),
                                                         meta={"backbone": "tsm"}))
    assert pa.types.is_fixed_size_list(pq.read_schema(out).field("feature").type)
    fs = load_features(out)
    assert_same(fs, feats, labels, videos)
    assert fs.meta["backbone"] == "tsm" and fs.meta["dim"] == D


def test_parquet_variable_list_column_multiple_chunks(tmp_path, data):
    feats, labels, videos = data
    t = pa.table({"video": videos, "label": labels, "feature": pa.array(feats.astype(np.float64).tolist())})
    pq.write_table(t, tmp_path / "f.parquet", row_group_size=3)
    assert_same(load_features(tmp_path / "f.parquet"), feats, labels, videos)


def test_parquet_f_columns_with_integer_labels(tmp_path, data):
    feats, labels, videos = data
    cols = {"video": videos, "label": [CLASSES.index(lab) for lab in labels]}
    cols.update({f"f{j}": feats[:, j] for j in reversed(range(D))})  # column order must not matter
    pq.write_table(pa.table(cols), tmp_path / "f.pq")
    assert_same(load_features(tmp_path / "f.pq", classes=CLASSES), feats, labels, videos)


# --------------------------------------------------------------------------- labels


def test_integer_labels_index_classes(tmp_path, data):
    feats, labels, _ = data
    idx = [CLASSES.index(lab) for lab in labels]
    np.save(tmp_path / "f.npy", feats)
    assert list(load_features(tmp_path / "f.npy", labels=np.array(idx), classes=CLASSES).labels) == labels
    (tmp_path / "l.txt").write_text("\n".join(map(str, idx)))
    assert list(load_features(tmp_path / "f.npy", labels=tmp_path / "l.txt", classes=CLASSES).labels) == labels


def test_integer_labels_without_classes_is_an_error(tmp_path, data):
    feats, _, _ = data
    np.save(tmp_path / "f.npy", feats)
    with pytest.raises(FeatureError, match="class list"):
        load_features(tmp_path / "f.npy", labels=list(range(N)))
    with pytest.raises(FeatureError, match="outside 0..2"):
        load_features(tmp_path / "f.npy", labels=[0, 1, 2, 3, 0, 1, 2], classes=CLASSES)


def test_name_normalisation_maps_to_canonical(tmp_path):
    spellings = ["apply eye makeup", "ApplyEyeMakeup", "Apply_Eye_Makeup", "ARCHERY", "baby-crawling"]
    np.save(tmp_path / "f.npy", np.ones((len(spellings), 3), np.float32))
    fs = load_features(tmp_path / "f.npy", labels=spellings, classes=CLASSES)
    assert list(fs.labels) == ["ApplyEyeMakeup"] * 3 + ["Archery", "BabyCrawling"]
    assert normalize_name("Apply_Eye_Makeup") == "applyeyemakeup"


def test_labels_kept_as_given_without_classes(tmp_path):
    np.save(tmp_path / "f.npy", np.ones((2, 3), np.float32))
    fs = load_features(tmp_path / "f.npy", labels=["apply eye makeup", "Archery"])
    assert list(fs.labels) == ["apply eye makeup", "Archery"]


def test_unknown_class_names_are_listed(tmp_path):
    np.save(tmp_path / "f.npy", np.ones((4, 3), np.float32))
    (tmp_path / "labels.txt").write_text("Archery\nSkydiving\nUnicycling\nSkydiving\n")
    with pytest.raises(FeatureError) as err:
        load_features(tmp_path / "f.npy", labels=tmp_path / "labels.txt", classes=CLASSES)
    msg = str(err.value)
    assert "'Skydiving'" in msg and "'Unicycling'" in msg and "2 label names" in msg and "labels.txt" in msg


# --------------------------------------------------------------------------- errors


def test_missing_path_is_named(tmp_path):
    with pytest.raises(FeatureError, match="nope.npz"):
        load_features(tmp_path / "nope.npz")


def test_missing_per_video_npy_named_or_skipped(tmp_path, data, caplog):
    feats, labels, videos = data
    d = write_per_video_dir(tmp_path / "feats", feats, videos, labels)
    (d / "vid_003.npy").unlink()
    with pytest.raises(FeatureError) as err:
        load_features(d)
    assert "vid_003.npy" in str(err.value) and "1 of 7" in str(err.value)
    fs = load_features(d, missing="skip")
    assert len(fs) == N - 1 and "vid_003" not in set(fs.videos)
    keep = [i for i in range(N) if i != 3]
    assert_same(fs, feats[keep], [labels[i] for i in keep], [videos[i] for i in keep])
    assert "skipping" in caplog.text


def test_directory_without_video_list_explains(tmp_path, data):
    feats, labels, videos = data
    d = write_per_video_dir(tmp_path / "feats", feats, videos, labels, metas=False)
    with pytest.raises(FeatureError, match="--video-list"):
        load_features(d)


def test_wrong_dimension_in_one_per_video_file(tmp_path, data):
    feats, labels, videos = data
    d = write_per_video_dir(tmp_path / "feats", feats, videos, labels)
    np.save(d / "vid_004.npy", np.ones((1, D + 2), np.float32))
    with pytest.raises(FeatureError) as err:
        load_features(d)
    msg = str(err.value)
    assert "vid_004.npy" in msg and f"(1, {D + 2})" in msg and f"(1, {D})" in msg


def test_nan_and_inf_name_videos(tmp_path, data):
    feats, labels, videos = data
    feats = feats.copy()
    feats[2, 1] = np.nan
    feats[5, 0] = np.inf
    save_features(tmp_path / "f.npz", feats, labels, videos)
    with pytest.raises(FeatureError) as err:
        load_features(tmp_path / "f.npz")
    assert "2 of 7 rows" in str(err.value) and "'vid_002'" in str(err.value) and "'vid_005'" in str(err.value)
    assert len(load_features(tmp_path / "f.npz", check_finite=False)) == N


def test_nan_check_on_memmap_in_chunks(tmp_path, monkeypatch):
    import actionhub.features.formats as F

    monkeypatch.setattr(F, "_FINITE_CHUNK_MAX_ROWS", 4)  # force several chunks
    feats = np.zeros((11, 3), np.float32)
    feats[9, 2] = np.nan
    np.save(tmp_path / "f.npy", feats)
    with pytest.raises(FeatureError, match="row|video") as err:
        load_features(tmp_path / "f.npy", labels=["a"] * 11)
    assert "'9'" in str(err.value) and "1 of 11" in str(err.value)


def test_n_mismatch(tmp_path, data):
    feats, labels, _ = data
    np.save(tmp_path / "f.npy", feats)
    (tmp_path / "labels.txt").write_text("\n".join(labels[:-1]))
    with pytest.raises(FeatureError) as err:
        load_features(tmp_path / "f.npy", labels=tmp_path / "labels.txt")
    assert "7 feature rows" in str(err.value) and "6 labels" in str(err.value) and "labels.txt" in str(err.value)


def test_not_2d_non_numeric_and_empty(tmp_path):
    np.save(tmp_path / "three.npy", np.ones((2, 3, 4), np.float32))
    with pytest.raises(FeatureError, match="2-D"):
        load_features(tmp_path / "three.npy", labels=["a", "b"])
    np.save(tmp_path / "str.npy", np.array([["x"]]))
    with pytest.raises(FeatureError, match="numeric"):
        load_features(tmp_path / "str.npy", labels=["a"])
    np.save(tmp_path / "empty.npy", np.ones((0, 3), np.float32))
    with pytest.raises(FeatureError, match="empty"):
        load_features(tmp_path / "empty.npy", labels=[])


def test_parquet_inconsistent_list_lengths(tmp_path):
    t = pa.table({"video": ["a", "b"], "label": ["x", "y"], "feature": [[1.0, 2.0], [1.0, 2.0, 3.0]]})
    pq.write_table(t, tmp_path / "f.parquet")
    with pytest.raises(FeatureError) as err:
        load_features(tmp_path / "f.parquet")
    assert "'b'" in str(err.value) and "(3,)" in str(err.value) and "(2,)" in str(err.value)


# --------------------------------------------------------------------------- FeatureSet


def test_subset_keeps_order(tmp_path, data):
    feats, labels, videos = data
    fs = load_features(save_features(tmp_path / "f.npz", feats, labels, videos))
    sub = fs.subset(["BabyCrawling", "ApplyEyeMakeup"])
    rows = [i for i, lab in enumerate(labels) if lab in ("BabyCrawling", "ApplyEyeMakeup")]
    assert_same(sub, feats[rows], [labels[i] for i in rows], [videos[i] for i in rows])
    assert len(fs.subset([])) == 0
    assert fs.classes == CLASSES


def test_subset_of_memmap_is_in_memory(tmp_path, data):
    feats, labels, _ = data
    np.save(tmp_path / "f.npy", feats)
    sub = load_features(tmp_path / "f.npy", labels=labels).subset(["Archery"])
    assert not isinstance(sub.features, np.memmap)
    np.testing.assert_array_equal(sub.features, feats[1::3])


# --------------------------------------------------------------------------- atomic writes


def _leftovers(d: Path, keep: set[str]) -> list[str]:
    return sorted(p.name for p in d.iterdir() if p.name not in keep)


def test_atomic_writes_round_trip_without_temp_files(tmp_path):
    atomic_write_bytes(tmp_path / "a.bin", b"\x00\x01")
    atomic_write_text(tmp_path / "a.txt", "héllo")
    atomic_write_json(tmp_path / "a.json", {"z": np.float32(0.5), "a": np.arange(3), "é": np.int64(2)})
    assert (tmp_path / "a.bin").read_bytes() == b"\x00\x01"
    assert (tmp_path / "a.txt").read_text(encoding="utf-8") == "héllo"
    text = (tmp_path / "a.json").read_text(encoding="utf-8")
    assert text.endswith("\n") and "é" in text and text.index('"z"') < text.index('"a"')
    assert json.loads(text) == {"z": 0.5, "a": [0, 1, 2], "é": 2}
    assert _leftovers(tmp_path, {"a.bin", "a.txt", "a.json"}) == []


def test_atomic_json_failure_keeps_old_file(tmp_path):
    atomic_write_json(tmp_path / "c.json", {"v": 1})
    with pytest.raises(TypeError):
        atomic_write_json(tmp_path / "c.json", {"v": object()})
    assert json.loads((tmp_path / "c.json").read_text()) == {"v": 1}
    assert _leftovers(tmp_path, {"c.json"}) == []


def test_atomic_path_failure_keeps_old_file_and_cleans_up(tmp_path):
    dest = tmp_path / "m.npy"
    np.save(dest, np.arange(3))
    with pytest.raises(RuntimeError):
        with atomic_path(dest) as tmp:
            assert tmp.parent == dest.parent and tmp.suffix == ".npy" and not tmp.exists()
            np.save(tmp, np.arange(100))
            assert tmp.exists()
            raise RuntimeError("writer crashed")
    np.testing.assert_array_equal(np.load(dest), np.arange(3))
    assert _leftovers(tmp_path, {"m.npy"}) == []
    with atomic_path(dest) as tmp:
        np.save(tmp, np.arange(5))
    np.testing.assert_array_equal(np.load(dest), np.arange(5))
    assert _leftovers(tmp_path, {"m.npy"}) == []


def test_atomic_write_bytes_failure_keeps_old_file(tmp_path, monkeypatch):
    dest = tmp_path / "b.bin"
    atomic_write_bytes(dest, b"old")

    def boom(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError, match="disk full"):
        atomic_write_bytes(dest, b"new")
    monkeypatch.undo()
    assert dest.read_bytes() == b"old"
    assert _leftovers(tmp_path, {"b.bin"}) == []


def test_save_features_failure_keeps_old_file(tmp_path, data, monkeypatch):
    feats, labels, videos = data
    dest = save_features(tmp_path / "f.npz", feats, labels, videos)

    def boom(*a, **k):
        raise RuntimeError("killed mid-write")

    monkeypatch.setattr(np, "savez", boom)
    with pytest.raises(RuntimeError):
        save_features(dest, feats * 2, labels, videos)
    monkeypatch.undo()
    assert_same(load_features(dest), feats, labels, videos)
    assert _leftovers(tmp_path, {"f.npz"}) == []
