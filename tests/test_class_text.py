import numpy as np
import pytest

from actionhub.text.class_text import ClassText, ClassTextError, load_class_text


def make():
    ad = np.array([[1, 0], [0, 1], [1, 1]], np.float32)
    desc = np.array([[2, 0], [4, 0], [6, 0],   # class a, rank order
                     [0, 3]], np.float32)      # class b; class c has none
    return ClassText(["a", "b", "c"], ad, desc, np.array([0, 3, 4, 4]), {"encoder": "hand"})


def test_vc_is_the_topk_mean_and_falls_back_to_ad():
    ct = make()
    vc, missing = ct.vc(2)
    assert vc.tolist() == [[3.0, 0.0], [0.0, 3.0], [1.0, 1.0]]
    assert missing == ["c"]
    vc_all, _ = ct.vc(100)
    assert vc_all[0].tolist() == [4.0, 0.0]


def test_select_maps_names_loosely_and_reports_fallbacks():
    ct = ClassText(["ApplyEyeMakeup", "brush_hair"], np.eye(2, dtype=np.float32), np.zeros((0, 2), np.float32),
                   np.array([0, 0, 0]))
    ad, vc, fb = ct.select(["brush hair", "apply eye makeup"], 5)
    assert ad.tolist() == [[0, 1], [1, 0]]
    assert fb == ["brush hair", "apply eye makeup"]
    with pytest.raises(ClassTextError, match="no text features.*'kiss'"):
        ct.select(["kiss"], 5)


@pytest.mark.parametrize("suffix", [".npz", ".parquet"])
def test_round_trip(tmp_path, suffix):
    ct = make()
    path = tmp_path / f"text{suffix}"
    ct.save(path)
    back = load_class_text(path)
    assert back.classes == ct.classes
    np.testing.assert_array_equal(back.ad, ct.ad)
    np.testing.assert_array_equal(back.desc, ct.desc)
    np.testing.assert_array_equal(back.desc_offsets, ct.desc_offsets)
    assert back.meta["encoder"] == "hand" and back.meta["path"] == str(path)


def test_bad_inputs_are_explained(tmp_path):
    with pytest.raises(ClassTextError, match="not found"):
        load_class_text(tmp_path / "nope.npz")
    with pytest.raises(ClassTextError, match="NaN"):
        ClassText(["a"], np.array([[np.nan, 0]], np.float32), np.zeros((0, 2)), np.array([0, 0]))
    with pytest.raises(ClassTextError, match="desc_offsets"):
        ClassText(["a"], np.zeros((1, 2)), np.zeros((2, 2)), np.array([0, 1]))
    np.savez(tmp_path / "x.npz", foo=np.zeros(3))
    with pytest.raises(ClassTextError, match="lacks"):
        load_class_text(tmp_path / "x.npz")
