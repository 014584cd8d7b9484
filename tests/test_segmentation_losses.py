"""The segmentation distillation losses against hand computations:
pixel-wise KD (KDLoss on maps of logits) and channel-wise distillation
(CWDLoss)."""
import math

import pytest
import torch
from mmengine.registry import MODELS

from mmstablekd.models.losses import CWDLoss, KDLoss

# one image, two channels (classes), three positions (a 1 x 3 map)
S = [[[[1.0, 0.0, -1.0]], [[0.5, 2.0, 0.0]]]]
T = [[[[0.0, 1.0, 2.0]], [[1.0, -1.0, 0.5]]]]


def _t(values, **kwargs):
    return torch.tensor(values, dtype=torch.float32, **kwargs)


def _softmax(values, t):
    exps = [math.exp(v / t) for v in values]
    return [e / sum(exps) for e in exps]


def _kl(p, q):
    return sum(a * math.log(a / b) for a, b in zip(p, q))


def test_cwd_is_tau_squared_spatial_kl_averaged_over_channels_by_hand():
    tau = 2.0
    per_channel = [
        _kl(_softmax(T[0][c][0], tau), _softmax(S[0][c][0], tau))
        for c in range(2)]
    expected = 0.5 * tau * tau * sum(per_channel) / 2
    loss = CWDLoss(tau=tau, loss_weight=0.5)(_t(S), _t(T))
    assert loss.item() == pytest.approx(expected, rel=1e-5)


def test_pixel_kd_is_the_class_kl_averaged_over_positions_by_hand():
    t = 2.0
    per_pixel = [
        _kl(_softmax([T[0][0][0][i], T[0][1][0][i]], t),
            _softmax([S[0][0][0][i], S[0][1][0][i]], t)) for i in range(3)]
    expected = t * t * sum(per_pixel) / 3
    loss = KDLoss(temperature=t)(_t(S), _t(T))
    assert loss.item() == pytest.approx(expected, rel=1e-5)


def test_pixel_kd_on_a_map_is_kd_on_its_pixels_as_a_batch():
    generator = torch.Generator().manual_seed(0)
    s, t = torch.randn(2, 2, 5, 3, 4, generator=generator)
    rows = lambda x: x.permute(0, 2, 3, 1).reshape(-1, 5)  # noqa: E731
    torch.testing.assert_close(KDLoss()(s, t), KDLoss()(rows(s), rows(t)))


def test_both_are_zero_for_identical_inputs():
    x = torch.randn(2, 3, 4, 4)
    assert CWDLoss(tau=4.0)(x, x.clone()).item() == pytest.approx(0, abs=1e-6)
    assert KDLoss()(x, x.clone()).item() == pytest.approx(0, abs=1e-6)


def test_cwd_ignores_a_shift_of_a_channel_kd_one_of_a_pixel():
    generator = torch.Generator().manual_seed(1)
    s, t = torch.randn(2, 2, 3, 4, 4, generator=generator)
    channel_shift = torch.tensor([1.0, -2.0, 3.0]).view(1, 3, 1, 1)
    pixel_shift = torch.randn(1, 1, 4, 4, generator=generator)
    cwd, kd = CWDLoss(), KDLoss()
    torch.testing.assert_close(cwd(s + channel_shift, t), cwd(s, t))
    torch.testing.assert_close(kd(s + pixel_shift, t), kd(s, t))
    # and each sees the other's shift
    assert not torch.allclose(cwd(s + pixel_shift, t), cwd(s, t))
    assert not torch.allclose(kd(s + channel_shift, t), kd(s, t))


def test_cwd_gradient_reaches_the_student_only():
    s = _t(S, requires_grad=True)
    t = _t(T, requires_grad=True)
    CWDLoss()(s, t).backward()
    assert s.grad.abs().sum() > 0 and t.grad is None


def test_cwd_needs_maps_of_one_shape():
    with pytest.raises(ValueError, match='num_classes'):
        CWDLoss()(torch.zeros(1, 2, 4, 4), torch.zeros(1, 3, 4, 4))
    with pytest.raises(ValueError, match='tau'):
        CWDLoss(tau=0)


def test_cwd_is_built_from_the_registry_and_fp32_under_bf16():
    loss = MODELS.build(dict(type='mmstablekd.CWDLoss', tau=4.0))
    reference = loss(_t(S), _t(T))
    with torch.autocast('cpu', dtype=torch.bfloat16):
        value = loss(_t(S).bfloat16(), _t(T).bfloat16())
    assert value.dtype == torch.float32 and value.dim() == 0
    assert value.item() == pytest.approx(reference.item(), rel=0.05)
