"""CoCo losses on tiny cases computed by hand (paper Eq. 3-15)."""
import math

import pytest
import torch

from actionhub.models.coco import losses as L


def t(x):
    return torch.tensor(x, dtype=torch.float64)


def test_contrastive_loss_one_video_matches_hand_value():
    # logits = [1, 0] / 0.1 = [10, 0]; -log softmax[0] = log(1 + e^-10)
    v, z, y = t([[1.0, 0.0]]), t([[1.0, 0.0], [0.0, 1.0]]), torch.tensor([0])
    assert L.contrastive_loss(v, z, y, 0.1).item() == pytest.approx(math.log1p(math.exp(-10)), rel=1e-9)


def test_contrastive_loss_is_mean_over_batch():
    v, z, y = t([[1.0, 0.0], [0.0, 1.0]]), t([[1.0, 0.0], [0.0, 1.0]]), torch.tensor([1, 1])
    wrong = math.log1p(math.exp(10))   # video 0 labelled with the orthogonal class
    right = math.log1p(math.exp(-10))
    assert L.contrastive_loss(v, z, y, 0.1).item() == pytest.approx((wrong + right) / 2, rel=1e-9)


def test_similarity_logits_shape_and_value():
    v, z = t([[0.6, 0.8]]), t([[1.0, 0.0], [0.0, 1.0], [0.6, 0.8]])
    out = L.similarity_logits(v, z, 0.5)
    assert out.shape == (1, 3)
    assert out.tolist()[0] == pytest.approx([1.2, 1.6, 2.0])


def test_fuse_is_the_convex_combination_of_eq10():
    z_l, z_c = t([[1.0, 0.0]]), t([[0.0, 1.0]])
    assert L.fuse(z_l, z_c, 0.25).tolist() == [[0.25, 0.75]]


def test_cycle_with_identity_pool_tau_one_matches_hand_computation():
    z_s = t([[1.0, 0.0], [0.0, 1.0]])
    z_u = t([[1.0, 0.0], [0.0, 1.0]])
    x_f, x_b, a_f, a_b = L.cycle_reconstruct(z_s, z_u, tau=1.0)
    a, b = math.e / (math.e + 1), 1 / (math.e + 1)          # softmax([1, 0])
    assert x_f[0].tolist() == pytest.approx([a, b])
    assert x_f[1].tolist() == pytest.approx([b, a])
    # backward pass: softmax over (x_f_0 . z_s_n) = softmax([a, b])
    pa, pb = math.exp(a) / (math.exp(a) + math.exp(b)), math.exp(b) / (math.exp(a) + math.exp(b))
    assert x_b[0].tolist() == pytest.approx([pa, pb])
    assert a_b[1].tolist() == pytest.approx([pb, pa])
    assert a_f.shape == (2, 2) and a_b.shape == (2, 2)


def test_cycle_loss_through_a_single_unseen_class_loses_all_class_information():
    # With M = 1 every seen class reconstructs to the same x_f, hence the same x_b:
    # the cycle logits of every class are equal and the loss is log(S).
    z_s = t([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    z_u = t([[0.6, 0.8, 0.0]])
    v, y = t([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]), torch.tensor([0, 2])
    assert L.cycle_loss(v, z_s, z_u, y, 0.1).item() == pytest.approx(math.log(3), rel=1e-9)


def test_cycle_loss_equals_contrastive_loss_on_hand_computed_cycle_features():
    z_s = t([[1.0, 0.0], [0.0, 1.0]])
    z_u = t([[1.0, 0.0], [0.0, 1.0]])
    v, y = t([[1.0, 0.0]]), torch.tensor([0])
    a, b = math.e / (math.e + 1), 1 / (math.e + 1)
    pa, pb = math.exp(a) / (math.exp(a) + math.exp(b)), math.exp(b) / (math.exp(a) + math.exp(b))
    # x_b = [[pa, pb], [pb, pa]]; logits of v = [pa, pb] / tau
    expected = -math.log(math.exp(pa) / (math.exp(pa) + math.exp(pb)))
    assert L.cycle_loss(v, z_s, z_u, y, 1.0).item() == pytest.approx(expected, rel=1e-9)


def test_coco_loss_sums_terms_with_gamma():
    torch.manual_seed(0)
    v = torch.nn.functional.normalize(torch.randn(5, 4, dtype=torch.float64), dim=1)
    z_l = torch.nn.functional.normalize(torch.randn(3, 4, dtype=torch.float64), dim=1)
    z_c = torch.nn.functional.normalize(torch.randn(3, 4, dtype=torch.float64), dim=1)
    z_u = torch.nn.functional.normalize(torch.randn(2, 4, dtype=torch.float64), dim=1)
    y = torch.tensor([0, 1, 2, 1, 0])
    out = L.coco_loss(v, z_l, z_c, y, tau=0.1, alpha=0.5, gamma=0.1, z_u=z_u)
    l_l = L.contrastive_loss(v, z_l, y, 0.1)
    l_c = L.contrastive_loss(v, z_c, y, 0.1)
    l_cy = L.cycle_loss(v, L.fuse(z_l, z_c, 0.5), z_u, y, 0.1)
    assert out["loss"].item() == pytest.approx((l_l + l_c + 0.1 * l_cy).item())
    assert set(out) == {"loss", "l_l", "l_c", "l_cycle"}


def test_coco_loss_ablations_drop_terms():
    v = t([[1.0, 0.0]])
    z = t([[1.0, 0.0], [0.0, 1.0]])
    y = torch.tensor([0])
    ad_only = L.coco_loss(v, z, None, y, tau=0.1, alpha=0.5, gamma=0.1)
    assert set(ad_only) == {"loss", "l_l"}
    no_cim = L.coco_loss(v, z, z, y, tau=0.1, alpha=0.5, gamma=0.1, z_u=None)
    assert no_cim["loss"].item() == pytest.approx(2 * math.log1p(math.exp(-10)))
    with pytest.raises(ValueError):
        L.coco_loss(v, None, None, y, tau=0.1, alpha=0.5, gamma=0.1)
