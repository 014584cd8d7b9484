"""The teacher-fed block mechanism on a real MMPretrain ResNet pair."""
import pytest
import torch

from conftest import block_of, build_model


def _batch(model, n=4):
    torch.manual_seed(0)
    from mmpretrain.structures import DataSample
    inputs = torch.rand(n, 3, 32, 32)
    samples = [DataSample().set_gt_label(i % 4) for i in range(n)]
    return inputs, samples


def _grad_blocks(model, loss):
    """Blocks of the student whose parameters get a non-zero gradient."""
    params = dict(model.student.named_parameters())
    grads = torch.autograd.grad(
        loss, list(params.values()), retain_graph=True, allow_unused=True)
    return {
        block_of(name)
        for name, g in zip(params, grads)
        if g is not None and g.abs().sum() > 0
    }


@pytest.fixture
def model(cls_config):
    return build_model(cls_config()).train()


def test_decomposed_group_losses_touch_only_their_own_block(model):
    model.set_groups([[0], [1], [2], [3]])
    losses = model.loss(*_batch(model))
    assert _grad_blocks(model, losses['loss_feat_b0']) == {0}
    assert _grad_blocks(model, losses['loss_feat_b1']) == {1}
    assert _grad_blocks(model, losses['loss_feat_b2']) == {2}
    assert _grad_blocks(model, losses['loss_kd']) == {3}
    assert _grad_blocks(model, losses['loss_ce']) == {3}


def test_half_merged_groups_are_isolated_from_each_other(model):
    model.set_groups([[0, 1], [2, 3]])
    losses = model.loss(*_batch(model))
    assert set(losses) == {'loss_ce', 'loss_kd', 'loss_feat_b1'}
    assert _grad_blocks(model, losses['loss_feat_b1']) == {0, 1}
    assert _grad_blocks(model, losses['loss_kd']) == {2, 3}


def test_keep_internal_losses_supervises_boundaries_inside_a_group(
        cls_config):
    model = build_model(cls_config(
        extra='model = dict(keep_internal_losses=True)')).train()
    model.set_groups([[0, 1], [2, 3]])
    assert model.grouping.boundaries_used(model.groups) == [0, 1, 2]
    losses = model.loss(*_batch(model))
    assert {'loss_feat_b0', 'loss_feat_b1', 'loss_feat_b2'} <= set(losses)
    # inside the first group, block 0's loss reaches only block 0; the
    # loss at boundary 2 (inside the fed head group) only block 2
    assert _grad_blocks(model, losses['loss_feat_b0']) == {0}
    assert _grad_blocks(model, losses['loss_feat_b2']) == {2}
    # end to end there is no internal loss to keep: plain KD
    model.set_groups([[0, 1, 2, 3]])
    assert model.grouping.boundaries_used(model.groups) == []
    assert set(model.loss(*_batch(model))) == {'loss_ce', 'loss_kd'}


def test_end_to_end_gradients_flow_through_every_block(model):
    model.set_groups([[0, 1, 2, 3]])
    losses = model.loss(*_batch(model))
    assert set(losses) == {'loss_ce', 'loss_kd'}
    assert _grad_blocks(model, losses['loss_kd']) == {0, 1, 2, 3}
    assert _grad_blocks(model, losses['loss_ce']) == {0, 1, 2, 3}


def test_decomposed_block_receives_the_teachers_feature(model):
    model.set_groups([[0], [1], [2], [3]])
    inputs, samples = _batch(model)
    received = {}
    hooks = [
        model.student.backbone.get_submodule(name).register_forward_pre_hook(
            lambda m, args, name=name: received.__setitem__(name, args[0]))
        for name in ('layer2', 'layer3', 'layer4')
    ]
    teacher = {}
    t_hooks = [
        model.teacher.backbone.get_submodule(name).register_forward_hook(
            lambda m, a, out, name=name: teacher.__setitem__(name, out))
        for name in ('layer1', 'layer2', 'layer3')
    ]
    model.loss(inputs, samples)
    for h in hooks + t_hooks:
        h.remove()
    for j, (consumer, boundary) in enumerate(
            zip(('layer2', 'layer3', 'layer4'), ('layer1', 'layer2',
                                                 'layer3'))):
        # widths differ (teacher 2x wider): the alignment maps it
        expected = model.alignments(j, teacher[boundary])
        torch.testing.assert_close(received[consumer], expected)
        assert received[consumer].shape[1] == model.student_plan.channels[j]


def test_merged_block_receives_the_students_own_feature(model):
    model.set_groups([[0, 1], [2, 3]])
    inputs, samples = _batch(model)
    received, own = {}, {}
    model.student.backbone.layer2.register_forward_pre_hook(
        lambda m, args: received.__setitem__('layer2', args[0]))
    model.student.backbone.layer1.register_forward_hook(
        lambda m, a, out: own.__setitem__('layer1', out))
    model.loss(inputs, samples)
    assert received['layer2'] is own['layer1']


@pytest.mark.parametrize('share', [0.0, 0.25, 1.0])
def test_own_input_mixes_the_students_feature_into_a_fed_block(
        model, share):
    model.set_groups([[0, 1], [2, 3]])
    model.set_own_input(share)
    inputs, samples = _batch(model)
    seen = {}
    model.student.backbone.layer3.register_forward_pre_hook(
        lambda m, args: seen.__setitem__('received', args[0]))
    model.student.backbone.layer2.register_forward_hook(
        lambda m, a, out: seen.__setitem__('own', out))
    model.teacher.backbone.layer2.register_forward_hook(
        lambda m, a, out: seen.__setitem__('teacher', out))
    losses = model.loss(inputs, samples)
    teacher = model.alignments(1, seen['teacher'])
    torch.testing.assert_close(
        seen['received'], (1 - share) * teacher + share * seen['own'])
    # the fed input is detached however much of it is the student's: the
    # head group's losses still reach only its own blocks
    assert _grad_blocks(model, losses['loss_kd']) == {2, 3}
    # ... and block 1 still learns the teacher's feature, not its own
    torch.testing.assert_close(
        losses['loss_feat_b1'],
        model.feat_loss(seen['own'], teacher.detach()))


@pytest.mark.parametrize('share', [-0.1, 1.5, True, 'half', None])
def test_own_input_outside_zero_one_is_refused(model, share):
    with pytest.raises(ValueError, match=r'own_input must be a number in '
                       r'\[0, 1\]'):
        model.set_own_input(share)
    assert model.own_input == 0.0


def test_predict_and_tensor_modes_use_the_plain_student(model):
    model.set_groups([[0], [1], [2], [3]])
    model.eval()
    inputs, samples = _batch(model)
    with torch.no_grad():
        ours = model(inputs, samples, mode='tensor')
        plain = model.student(inputs, samples, mode='tensor')
        predictions = model(inputs, samples, mode='predict')
    torch.testing.assert_close(ours, plain)
    assert len(predictions) == len(samples)
    assert predictions[0].pred_score.shape == (4, )


def test_teacher_is_frozen_in_eval_mode_and_not_optimised(model):
    model.train()
    assert all(not m.training for m in model.teacher.modules())
    assert all(not p.requires_grad for p in model.teacher.parameters())
    teacher = {id(p) for p in model.teacher.parameters()}
    assert not teacher & {id(p) for p in model.parameters()}
    assert not any(k.startswith('teacher.') for k in model.state_dict())
    before = [t.clone() for t in model.teacher.state_dict().values()]
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9,
                                weight_decay=0.1)
    for _ in range(2):
        loss, _ = model.parse_losses(model.loss(*_batch(model)))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert all(not m.training for m in model.teacher.modules())
    # weights and BN running statistics alike
    assert all(torch.equal(a, b)
               for a, b in zip(before, model.teacher.state_dict().values()))


def test_device_and_dtype_moves_reach_the_teacher(model):
    model.to(torch.float64)
    assert next(model.teacher.parameters()).dtype == torch.float64
    assert next(model.student.parameters()).dtype == torch.float64


def _teacher_modules_run(model, names=('layer1', 'layer2', 'layer3',
                                       'layer4')):
    ran = []
    handles = [
        model.teacher.backbone.get_submodule(name).register_forward_pre_hook(
            lambda m, a, name=name: ran.append(name)) for name in names
    ]
    model.loss(*_batch(model))
    for handle in handles:
        handle.remove()
    return ran


def test_teacher_runs_only_as_far_as_the_iteration_needs(model):
    # end to end with KD on logits: up to the head
    assert _teacher_modules_run(model) == ['layer1', 'layer2', 'layer3',
                                           'layer4']
    # decomposed, KD off: up to the last boundary fed to a student block
    model.set_groups([[0], [1], [2], [3]])
    model.set_active_losses(['task', 'feat_b0', 'feat_b1', 'feat_b2'])
    assert _teacher_modules_run(model) == ['layer1', 'layer2', 'layer3']
    # a curriculum stage on boundary 0 only, the student end to end
    model.set_groups([[0, 1, 2, 3]])
    model.set_active_losses(['feat_b0'])
    assert _teacher_modules_run(model) == ['layer1']
    # nothing of the teacher is used: it does not run
    model.set_active_losses(['task'])
    assert _teacher_modules_run(model) == []
