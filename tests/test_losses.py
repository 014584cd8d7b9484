"""The companion methods' losses (ICD, PKT, attention transfer, Gram) against
values computed by hand, element by element, on small explicit tensors."""
import math

import pytest
import torch
from mmengine.registry import MODELS

from mmstablekd.models.losses import (ATLoss, FeatureMSELoss, GramLoss,
                                      ICDLoss, PKTLoss)

# three samples: student embeddings of width 2, teacher ones of width 3
F_S = [[1.0, 2.0], [-1.0, 0.5], [0.5, -2.0]]
F_T = [[0.2, 1.0, -1.0], [1.5, -0.5, 0.0], [-1.0, 0.3, 2.0]]
# two samples, two channels of 2 x 2: a student map, and a teacher map with
# three channels
MAP_S = [[[[1.0, -2.0], [0.5, 0.0]], [[0.0, 1.0], [-1.0, 3.0]]],
         [[[2.0, 1.0], [-1.0, 1.0]], [[0.5, 0.5], [2.0, -0.5]]]]
MAP_T = [[[[0.5, 1.0], [1.0, -1.0]], [[2.0, 0.0], [0.0, 1.0]],
          [[1.0, 1.0], [-2.0, 0.5]]],
         [[[-1.0, 0.0], [1.0, 2.0]], [[0.0, 3.0], [1.0, 1.0]],
          [[0.5, -0.5], [0.5, 1.5]]]]


def _t(values, **kwargs):
    return torch.tensor(values, dtype=torch.float32, **kwargs)


def _norm(v):
    n = math.sqrt(sum(x * x for x in v))
    return [x / n for x in v]


def _dot(a, b):
    return sum(x * y for x, y in zip(a, b))


def _softmax(row):
    m = max(row)
    e = [math.exp(x - m) for x in row]
    return [x / sum(e) for x in e]


def _mean_sq(a, b):
    return sum((x - y)**2 for x, y in zip(a, b)) / len(a)


# --------------------------------------------------------------------- ICD
W_S = [[0.5, -1.0], [1.0, 0.25]]  # student head: 2 -> 2
B_S = [0.1, -0.2]
W_T = [[0.3, 0.2, -0.5], [-0.4, 1.0, 0.6]]  # teacher head: 3 -> 2
B_T = [0.0, 0.05]


def _icd(loss_weight=1.0, **kwargs):
    loss = ICDLoss(2, 3, embed_dim=2, loss_weight=loss_weight, **kwargs)
    with torch.no_grad():
        loss.student_head.weight.copy_(_t(W_S))
        loss.student_head.bias.copy_(_t(B_S))
        loss.teacher_head.weight.copy_(_t(W_T))
        loss.teacher_head.bias.copy_(_t(B_T))
    return loss


def _icd_by_hand(tau, b):
    """(contrastive, invariance) of F_S, F_T with the heads above."""

    def head(w, bias, f):
        return _norm([_dot(row, f) + c for row, c in zip(w, bias)])

    z_s = [head(W_S, B_S, f) for f in F_S]
    z_t = [head(W_T, B_T, f) for f in F_T]
    n = len(F_S)
    s = [[tau * _dot(z_s[i], z_t[j]) + b for j in range(n)] for i in range(n)]
    p = [_softmax(s[i]) for i in range(n)]  # rows: a student over teachers
    cols = [_softmax([s[k][j] for k in range(n)]) for j in range(n)]
    q = [[cols[i][j] for j in range(n)] for i in range(n)]  # Q = cols^T
    contrastive = sum(-math.log(p[i][i]) for i in range(n)) / n
    invariance = sum(q[i][j] * (math.log(q[i][j]) - math.log(p[i][j]))
                     for i in range(n) for j in range(n)) / n
    return contrastive, invariance


def test_icd_is_contrastive_plus_half_the_invariance_kl_by_hand():
    loss = _icd(loss_weight=2.0, init_bias=0.3)
    contrastive, invariance = _icd_by_hand(tau=math.e, b=0.3)
    assert contrastive > 0 and invariance > 0
    expected = 2.0 * (contrastive + 0.5 * invariance)
    assert loss(_t(F_S), _t(F_T)).item() == pytest.approx(expected, rel=1e-5)


def test_icd_invariance_weight_scales_only_the_kl_term():
    contrastive, invariance = _icd_by_hand(tau=math.e, b=0.0)
    only_contrastive = _icd(invariance_weight=0.0)(_t(F_S), _t(F_T))
    assert only_contrastive.item() == pytest.approx(contrastive, rel=1e-5)
    with_kl = _icd(invariance_weight=3.0)(_t(F_S), _t(F_T))
    assert with_kl.item() == pytest.approx(
        contrastive + 3.0 * invariance, rel=1e-5)


def test_icd_logit_scale_is_exp_theta_clamped_at_max():
    loss = _icd(init_logit_scale=0.5)
    assert loss.tau.item() == pytest.approx(math.exp(0.5))
    clamped = _icd(init_logit_scale=3.0, max_logit_scale=10.0)
    assert clamped.tau.item() == pytest.approx(10.0)
    contrastive, invariance = _icd_by_hand(tau=10.0, b=0.0)
    assert clamped(_t(F_S), _t(F_T)).item() == pytest.approx(
        contrastive + 0.5 * invariance, rel=1e-5)


def test_icd_accepts_pooled_maps_and_one_element_tuples():
    loss = _icd()
    flat = loss(_t(F_S), _t(F_T))
    assert loss(_t(F_S)[..., None, None],
                (_t(F_T)[..., None, None], )).item() == pytest.approx(
                    flat.item())


def test_icd_gradients_reach_both_heads_theta_and_student_not_teacher():
    loss = _icd(init_bias=0.3)
    f_s = _t(F_S, requires_grad=True)
    f_t = _t(F_T, requires_grad=True)
    loss(f_s, f_t).backward()
    for name, param in loss.named_parameters():
        assert param.grad is not None, name
    for param in (loss.student_head.weight, loss.student_head.bias,
                  loss.teacher_head.weight, loss.teacher_head.bias,
                  loss.logit_scale):
        assert param.grad.abs().sum() > 0
    # b shifts every logit alike: both softmax terms ignore it
    assert loss.bias.grad.abs().item() < 1e-6
    assert f_s.grad.abs().sum() > 0
    assert f_t.grad is None  # the teacher feature is a constant


def test_icd_clamped_scale_gets_no_gradient():
    loss = _icd(init_logit_scale=3.0)
    loss(_t(F_S), _t(F_T)).backward()
    assert loss.logit_scale.grad.item() == 0


def test_icd_width_mismatch_names_expected_and_actual_widths():
    loss = ICDLoss(student_channels=4, teacher_channels=3)
    with pytest.raises(ValueError, match=r'student.*width 4.*width 2'):
        loss(_t(F_S), _t(F_T))
    loss = ICDLoss(student_channels=2, teacher_channels=8)
    with pytest.raises(ValueError, match=r'teacher.*width 8.*width 3'):
        loss(_t(F_S), _t(F_T))
    with pytest.raises(ValueError, match='as many'):
        _icd()(_t(F_S), _t(F_T[:2]))


def test_icd_needs_explicit_positive_widths():
    with pytest.raises(ValueError, match='student_channels'):
        ICDLoss(student_channels=None, teacher_channels=3)


# --------------------------------------------------------------------- PKT
EPS = 1e-6


def _pkt_kernels_by_hand(x):
    """The two row-normalised kernels of a list of vectors."""
    n = len(x)
    norms = [math.sqrt(_dot(v, v)) for v in x]
    cosine = [[(_dot(x[i], x[j]) / (norms[i] * norms[j]) + 1) / 2
               for j in range(n)] for i in range(n)]
    inverse = [[
        1 / (1 + math.sqrt(sum((a - b)**2 for a, b in zip(x[i], x[j])) + EPS))
        for j in range(n)
    ] for i in range(n)]
    return [[[v / sum(row) for v in row] for row in k]
            for k in (cosine, inverse)]


def _jeffreys(p_t, p_s):
    n = len(p_t)
    return sum((p_t[i][j] - p_s[i][j]) *
               (math.log(p_t[i][j] + EPS) - math.log(p_s[i][j] + EPS))
               for i in range(n) for j in range(n)) / (n * n)


def test_pkt_kernels_by_hand():
    loss = PKTLoss(eps=EPS)
    for x in (F_S, F_T):
        got = loss._probabilities(_t(x))
        for kernel, expected in zip(got, _pkt_kernels_by_hand(x)):
            assert torch.allclose(kernel, _t(expected), rtol=1e-5)


def test_pkt_is_the_sum_of_both_kernels_divergences_by_hand():
    cos_s, inv_s = _pkt_kernels_by_hand(F_S)
    cos_t, inv_t = _pkt_kernels_by_hand(F_T)
    cosine_term, distance_term = _jeffreys(cos_t, cos_s), _jeffreys(
        inv_t, inv_s)
    assert cosine_term > 0 and distance_term > 0
    loss = PKTLoss(eps=EPS, loss_weight=3.0)
    assert loss(_t(F_S), _t(F_T)).item() == pytest.approx(
        3.0 * (cosine_term + distance_term), rel=1e-5)


def test_pkt_is_zero_for_the_same_embeddings_and_flattens_maps():
    x = _t(MAP_T)
    assert PKTLoss()(x, x.clone()).item() == pytest.approx(0.0, abs=1e-9)
    flat = PKTLoss()(_t(MAP_S).flatten(1), _t(MAP_T).flatten(1))
    assert PKTLoss()(_t(MAP_S), _t(MAP_T)).item() == pytest.approx(
        flat.item())


def test_pkt_gradient_reaches_student_only_and_is_finite():
    f_s = _t(F_S, requires_grad=True)
    f_t = _t(F_T, requires_grad=True)
    PKTLoss()(f_s, f_t).backward()
    assert torch.isfinite(f_s.grad).all() and f_s.grad.abs().sum() > 0
    assert f_t.grad is None


def test_pkt_needs_equal_batches():
    with pytest.raises(ValueError, match='as many'):
        PKTLoss()(_t(F_S), _t(F_T[:2]))


# ---------------------------------------------------------------------- AT
def _attention_by_hand(maps, p=2):
    out = []
    for sample in maps:
        h, w = len(sample[0]), len(sample[0][0])
        a = [sum(abs(ch[y][x])**p for ch in sample) for y in range(h)
             for x in range(w)]
        out.append(_norm(a))
    return out


def test_at_is_mse_of_normalised_channel_energy_maps_by_hand():
    a_s, a_t = _attention_by_hand(MAP_S), _attention_by_hand(MAP_T)
    expected = sum(_mean_sq(s, t) for s, t in zip(a_s, a_t)) / len(a_s)
    loss = ATLoss(loss_weight=2.0)
    assert loss(_t(MAP_S), _t(MAP_T)).item() == pytest.approx(
        2.0 * expected, rel=1e-5)


def test_at_exponent_is_configurable():
    a_s, a_t = _attention_by_hand(MAP_S, p=1), _attention_by_hand(MAP_T, p=1)
    expected = sum(_mean_sq(s, t) for s, t in zip(a_s, a_t)) / len(a_s)
    assert ATLoss(p=1)(_t(MAP_S), _t(MAP_T)).item() == pytest.approx(
        expected, rel=1e-5)


def test_at_gradient_reaches_student_only():
    f_s = _t(MAP_S, requires_grad=True)
    f_t = _t(MAP_T, requires_grad=True)
    ATLoss()(f_s, f_t).backward()
    assert f_s.grad.abs().sum() > 0 and f_t.grad is None


def test_at_needs_equal_spatial_sizes():
    with pytest.raises(ValueError, match=r'spatial size.*\(2, 2, 2, 2\)'):
        ATLoss()(_t(MAP_S), torch.ones(2, 3, 4, 4))


# -------------------------------------------------------------------- Gram
def _gram_by_hand(maps):
    grams = []
    for sample in maps:
        vectors = [_norm([v for row in ch for v in row]) for ch in sample]
        grams.append([_dot(a, b) for a in vectors for b in vectors])
    return grams


def test_gram_is_mse_of_channel_cosine_matrices_by_hand():
    teacher = [sample[:2] for sample in MAP_T]  # same channel count
    g_s, g_t = _gram_by_hand(MAP_S), _gram_by_hand(teacher)
    expected = sum(_mean_sq(s, t) for s, t in zip(g_s, g_t)) / len(g_s)
    loss = GramLoss(loss_weight=0.5)
    assert loss(_t(MAP_S), _t(teacher)).item() == pytest.approx(
        0.5 * expected, rel=1e-5)


def test_gram_allows_different_spatial_sizes():
    student = torch.randn(2, 3, 4, 4)
    teacher = torch.randn(2, 3, 2, 2)
    assert GramLoss()(student, teacher).item() >= 0


def test_gram_gradient_reaches_student_only():
    f_s = _t(MAP_S, requires_grad=True)
    f_t = _t([sample[:2] for sample in MAP_T], requires_grad=True)
    GramLoss()(f_s, f_t).backward()
    assert f_s.grad.abs().sum() > 0 and f_t.grad is None


def test_gram_channel_mismatch_points_to_an_adapter():
    with pytest.raises(ValueError, match=r'student 2 and teacher 3.*adapter'):
        GramLoss()(_t(MAP_S), _t(MAP_T))


# ------------------------------------------------------------ feature MSE
def test_relative_feature_mse_divides_by_the_teachers_channel_variance():
    student, teacher = _t(MAP_S), _t(MAP_T)[:, :2]
    pairs = zip(student.flatten(), teacher.flatten())
    mse = sum((s - t)**2 for s, t in pairs) / 16
    # each channel's variance over the 2 samples x 4 positions, then the mean
    variances = [teacher[:, c].flatten().var(unbiased=False) for c in (0, 1)]
    expected = 3.0 * mse / (sum(variances) / 2)
    loss = FeatureMSELoss(relative=True, loss_weight=3.0)
    assert loss(student, teacher).item() == pytest.approx(expected.item())
    # tokens (N, L, C): the same figure, channels last
    tokens = loss(student.flatten(2).transpose(1, 2),
                  teacher.flatten(2).transpose(1, 2))
    assert tokens.item() == pytest.approx(expected.item())


def test_relative_feature_mse_ignores_the_features_scale():
    student, teacher = _t(MAP_S), _t(MAP_T)[:, :2]
    loss = FeatureMSELoss(relative=True)
    assert loss(100 * student, 100 * teacher).item() == pytest.approx(
        loss(student, teacher).item())
    with pytest.raises(ValueError, match='set one'):
        FeatureMSELoss(normalize=True, relative=True)


# ---------------------------------------------------------------- together
LOSSES = {
    'ICDLoss': (dict(student_channels=2, teacher_channels=3), F_S, F_T),
    'PKTLoss': ({}, F_S, F_T),
    'ATLoss': ({}, MAP_S, MAP_T),
    'GramLoss': ({}, MAP_S, [sample[:2] for sample in MAP_T]),
}


@pytest.mark.parametrize('name', sorted(LOSSES))
def test_loss_is_built_from_the_registry(name):
    kwargs, _, _ = LOSSES[name]
    loss = MODELS.build(dict(type=f'mmstablekd.{name}', loss_weight=0.5,
                             **kwargs))
    assert type(loss).__name__ == name and loss.loss_weight == 0.5


@pytest.mark.parametrize('name', sorted(LOSSES))
def test_loss_is_fp32_scalar_under_bf16_autocast(name):
    kwargs, student, teacher = LOSSES[name]
    loss = MODELS.build(dict(type=f'mmstablekd.{name}', **kwargs))
    reference = loss(_t(student), _t(teacher))
    with torch.autocast('cpu', dtype=torch.bfloat16):
        value = loss(_t(student).bfloat16(), _t(teacher).bfloat16())
    assert value.dtype == torch.float32 and value.dim() == 0
    # only the inputs' rounding to bf16 differs
    assert value.item() == pytest.approx(reference.item(), rel=0.05)
