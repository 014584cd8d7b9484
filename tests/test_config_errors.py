"""Mistaken configs and files fail at build time with a message that names
the problem and the fix."""
import glob
import os.path as osp
import re

import pytest
import torch

from conftest import UNPICKLED, RunsHarmlessCode, build_model
from mmstablekd.models.blocks import check_groups
from mmstablekd.engine.hooks import RecompositionHook
from mmstablekd.utils import CheckpointLoadError


@pytest.mark.parametrize('extra, message', [
    ("model = dict(boundaries=dict(student=['backbone.layr1', "
     "'backbone.layer2', 'backbone.layer3']))",
     "no module at 'backbone.layr1'. Closest existing paths: "
     "['backbone.layer1'"),
    ("model = dict(boundaries=dict(student=['backbone.layer1', "
     "'backbone.layer2']))",
     'need the same, non-zero number of boundaries'),
    ("model = dict(boundaries=dict(student=['backbone.layer2', "
     "'backbone.layer1', 'backbone.layer3']))",
     'not in forward order; the forward pass reaches them as '
     "['backbone.layer1', 'backbone.layer2', 'backbone.layer3']"),
    ("model = dict(teacher=dict(head=dict(num_classes=5)))",
     'different numbers of classes (head.num_classes: student 4, '
     'teacher 5)'),
    ("model = dict(boundaries=dict(teacher=['backbone.layer1', "
     "'backbone.layer2', 'backbone.layer3.0']), resize=None, "
     "teacher=dict(backbone=dict(strides=(1, 2, 1, 2))))",
     "Spatial sizes differ at boundary 2 (student 'backbone.layer3': map "
     "32x8x8, teacher 'backbone.layer3.0': map 64x16x16) and resize is "
     'None'),
    ("model = dict(resize='bicubic')",
     "resize must be one of ['nearest', 'bilinear', 'conv'], or None (sizes "
     "must agree), got the string 'bicubic'"),
    ("model = dict(boundaries=dict(student=['backbone.layer1', "
     "'backbone.layer2', 'neck']))",
     "student boundary 'neck' returns a tuple of a tensor of shape (1, 64), "
     'which holds no feature map (N, C, H, W) or tokens (N, L, C)'),
    ("model = dict(boundaries=dict(student=['backbone.layer1', "
     "'backbone.layer2', 'neck']))",
     "boundary 'neck'"),
    # what --cfg-options model.feat_loss.normalize=True alone gives
    ("model = dict(feat_loss=dict(normalize=True))",
     "{'normalize': True} names no `type`"),
])
def test_bad_model_config_fails_at_build(cls_config, extra, message):
    with pytest.raises(ValueError) as err:
        build_model(cls_config(extra=extra))
    assert message in str(err.value)


def test_without_alignment_a_grouping_using_differing_widths_is_refused(
        cls_config):
    # the KD baseline's set-up: it builds, with no alignment to fit
    model = build_model(cls_config(extra='model = dict(alignment=None)'),
                        fit_alignments=False)
    assert not model.alignments.by_boundary
    model.set_groups([[0, 1, 2, 3]])
    with pytest.raises(ValueError, match='Channel counts differ at boundary '
                       "1 .* and alignment is None.*alignment='auto'"):
        model.set_groups([[0, 1], [2, 3]])
    with pytest.raises(ValueError, match='Channel counts differ at boundary '
                       '0'):
        model.grouping.check_losses(['feat_b0'])


def test_grouping_that_is_not_an_ordered_partition_is_refused():
    for bad in ([[0], [2], [1], [3]], [[0, 1], [1, 2, 3]], [[0, 1, 2]],
                [[0], [], [1, 2, 3]], [[0, 2], [1, 3]]):
        with pytest.raises(ValueError, match='not an ordered partition'):
            check_groups(bad, 4)
    assert check_groups([[0], [1, 2], [3]], 4) == ((0, ), (1, 2), (3, ))


@pytest.mark.parametrize('stages, message', [
    ([dict(begin=2, groups=[[0, 1, 2, 3]])], 'start at 0'),
    ([dict(begin=0, groups=[[0], [1], [2], [3]]),
      dict(begin=0, groups=[[0, 1, 2, 3]])], 'strictly increase'),
    ([dict(begin=0, groups=[[0], [1], [2], [3]]),
      dict(begin=5, groups=[[0, 1], [2, 3]]),
      dict(begin=3, groups=[[0, 1, 2, 3]])], 'strictly increase'),
    ([dict(start=0, groups=[[0]])], 'non-empty list of dict(begin=...'),
    (dict(decomposed=dict(groups=[[0]])), 'dict(name=dict(begin=...'),
    (dict(half=dict(begin=0, own_input=1.5)),
     "stages[0]['own_input'] must be the student's share"),
    (dict(half=dict(begin=0, own_input=[0, 1, 1])),
     "stages[0]['own_input'] must be the student's share"),
    (dict(half=dict(begin=0, own_input='ramp')),
     "stages[0]['own_input'] must be the student's share"),
    (dict(half=dict(begin=0, ownput=[0, 1])), 'own_input=...'),
])
def test_malformed_stages_are_refused(stages, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        RecompositionHook(stages)


def test_missing_teacher_checkpoint_is_an_error(cls_config, tmp_path):
    missing = str(tmp_path / 'nope.pth')
    with pytest.raises(FileNotFoundError, match='teacher_ckpt .* does not '
                       'exist'):
        build_model(cls_config(teacher_ckpt=missing))


def test_corrupt_teacher_checkpoint_is_an_error(cls_config, tmp_path):
    path = tmp_path / 'corrupt.pth'
    path.write_bytes(b'not a checkpoint at all')
    with pytest.raises(RuntimeError, match='truncated or not a PyTorch'):
        build_model(cls_config(teacher_ckpt=str(path)))


def _diverged(state: dict) -> dict:
    """``state`` with a NaN and an inf, as a diverged run leaves them."""
    state = {k: v.clone() for k, v in state.items()}
    state['backbone.conv1.weight'][0, 0, 0, 0] = float('nan')
    state['head.fc.bias'][1] = float('inf')
    return state


@pytest.mark.parametrize('where', ['file', 'url'])
def test_teacher_checkpoint_with_nan_or_inf_weights_fails_at_build(
        cls_config, tmp_path, monkeypatch, where):
    """Not at the first loss, with advice to lower the learning rate."""
    from mmengine.runner import CheckpointLoader
    teacher = build_model(cls_config(), fit_alignments=False).teacher
    state = _diverged(teacher.state_dict())
    path = str(tmp_path / 'teacher.pth')
    torch.save({'state_dict': state}, path)
    if where == 'url':  # what MMEngine's loader would download
        path = 'https://example.com/teacher.pth'
        monkeypatch.setitem(CheckpointLoader._schemes, 'https://',
                            lambda filename, map_location: {
                                'state_dict': state})
    floats = sum(v.is_floating_point() for v in state.values())
    with pytest.raises(CheckpointLoadError) as err:
        build_model(cls_config(teacher_ckpt=path))
    message = str(err.value)
    assert (f'Checkpoint {path} holds NaN or infinite weights in 2 of its '
            f'{floats} floating-point tensors: backbone.conv1.weight (1 of '
            f'{teacher.backbone.conv1.weight.numel()} values), head.fc.bias '
            '(1 of 4 values). It is damaged or was saved by a training run '
            'that diverged') in message
    assert 'use another checkpoint' in message


@pytest.mark.parametrize('resume', [False, True])
def test_load_from_a_checkpoint_with_nan_weights_fails_before_training(
        cls_config, resume):
    from mmengine.runner import Runner
    cfg = cls_config()
    cfg.resume = resume
    state = build_model(cfg, fit_alignments=False).student.state_dict()
    cfg.load_from = osp.join(osp.dirname(cfg.work_dir), 'diverged.pth')
    torch.save({'state_dict': _diverged(state)}, cfg.load_from)
    runner = Runner.from_cfg(cfg)
    with pytest.raises(CheckpointLoadError, match=re.escape(
            f'Checkpoint {cfg.load_from} holds NaN or infinite weights in 2 '
            'of its')):
        runner.train()
    assert runner.iter == 0
    assert not glob.glob(osp.join(cfg.work_dir, '*.pth'))


def test_teacher_checkpoint_that_would_run_code_is_refused_as_such(
        cls_config, tmp_path):
    """Not as 'truncated': torch's weights-only unpickler reads no pickle
    protocol 4 (as torch.save(..., pickle_protocol=4) writes it)."""
    teacher = build_model(cls_config(), fit_alignments=False).teacher
    path = str(tmp_path / 'teacher.pth')
    torch.save({'state_dict': teacher.state_dict(),
                'meta': RunsHarmlessCode()}, path, pickle_protocol=4)
    with pytest.raises(CheckpointLoadError) as err:
        build_model(cls_config(teacher_ckpt=path))
    message = str(err.value)
    assert (f'Refused to load {path}: its pickle loads the global(s) '
            'conftest.record_unpickling, which are code') in message
    assert 'truncated' not in message and UNPICKLED == []


def test_teacher_checkpoint_of_another_architecture_is_an_error(
        cls_config, tmp_path):
    student = build_model(cls_config()).student
    path = str(tmp_path / 'student.pth')
    torch.save({'state_dict': student.state_dict()}, path)
    with pytest.raises(ValueError) as err:
        build_model(cls_config(teacher_ckpt=path))
    msg = str(err.value)
    assert 'does not match the teacher config' in msg
    assert 'missing keys' in msg and 'shape mismatches' in msg


def test_stage_beyond_the_end_of_training_fails_before_any_step(cls_config):
    from mmengine.runner import Runner
    cfg = cls_config(extra='''
custom_hooks = [dict(type='mmstablekd.RecompositionHook',
                     stages=[dict(begin=0, groups=[[0], [1], [2], [3]]),
                             dict(begin=5, groups=[[0, 1, 2, 3]])])]
''')
    runner = Runner.from_cfg(cfg)
    with pytest.raises(ValueError, match='stage 1 begins at epoch 5, but '
                       'training lasts 3 epochs'):
        runner.train()
    assert runner.iter == 0


def test_stage_grouping_for_another_block_count_fails_before_any_step(
        cls_config):
    from mmengine.runner import Runner
    cfg = cls_config(extra='''
custom_hooks = [dict(type='mmstablekd.RecompositionHook',
                     stages=[dict(begin=0, groups=[[0], [1], [2]])])]
''')
    runner = Runner.from_cfg(cfg)
    with pytest.raises(ValueError, match='RecompositionHook stage 0: groups '
                       r'\[\[0\], \[1\], \[2\]\] is not an ordered partition '
                       'of the 4 blocks'):
        runner.train()
    assert runner.iter == 0


def test_stage_with_an_unknown_loss_fails_before_any_step(cls_config):
    from mmengine.runner import Runner
    cfg = cls_config(extra='''
custom_hooks = [dict(type='mmstablekd.RecompositionHook',
                     stages=[dict(begin=0, losses=['feat_b0', 'pkt'])])]
''')
    runner = Runner.from_cfg(cfg)
    with pytest.raises(ValueError, match=r"RecompositionHook stage 0: losses "
                       r"\['feat_b0', 'pkt'\] must be a non-empty list of "
                       r"\['task', 'feat_b0', 'feat_b1', 'feat_b2', 'kd'\] "
                       r"\(the unknown ones: \['pkt'\]\)"):
        runner.train()
    assert runner.iter == 0


def test_a_mistake_in_a_rerun_leaves_earlier_checkpoints_and_logs_intact(
        cls_config, tmp_path):
    """A bad config run in the work dir of an earlier run fails before it
    writes anything but its own new log folder."""
    import hashlib
    import os
    from mmengine.runner import Runner
    cfg = cls_config()
    cfg.train_cfg.max_epochs = 1
    Runner.from_cfg(cfg).train()

    def snapshot():
        files = {}
        for folder, _, names in os.walk(cfg.work_dir):
            for name in names:
                path = os.path.join(folder, name)
                with open(path, 'rb') as f:
                    files[path] = hashlib.sha256(f.read()).hexdigest()
        return files

    before = snapshot()
    assert any(p.endswith('epoch_1.pth') for p in before)
    code = str(tmp_path / 'code.pth')
    torch.save({'meta': RunsHarmlessCode()}, code, pickle_protocol=4)
    diverged = str(tmp_path / 'diverged.pth')
    torch.save({'state_dict': {'w': torch.tensor(float('nan'))}}, diverged)
    mistakes = [
        ("model = dict(boundaries=dict(student=['backbone.layr1', "
         "'backbone.layer2', 'backbone.layer3']))", ValueError),
        ("custom_hooks = [dict(type='mmstablekd.RecompositionHook', "
         "stages=[dict(begin=0, groups=[[0], [1, 3], [2]])])]", ValueError),
        ("model = dict(teacher_ckpt='missing.pth')", FileNotFoundError),
        (f'model = dict(teacher_ckpt={code!r})', CheckpointLoadError),
        (f'model = dict(teacher_ckpt={diverged!r})', CheckpointLoadError),
    ]
    for extra, error in mistakes:
        bad = cls_config(extra=extra)
        bad.train_cfg.max_epochs, bad.resume = 2, True
        with pytest.raises(error):
            Runner.from_cfg(bad).train()
    after = snapshot()
    # MMEngine copies the config of the latest run it starts to the work
    # dir; each run keeps its own copy in its log folder
    latest_config = os.path.join(cfg.work_dir, 'cfg.py')
    assert {p: h for p, h in after.items()
            if p in before and p != latest_config} == {
                p: h for p, h in before.items() if p != latest_config}
    # nothing but new log folders
    assert all(p in before or '/20' in p for p in after)


# -------------------------------------------------- types of config values
KD = "model = dict(output_losses=dict(kd=dict({})))"


@pytest.mark.parametrize('extra, message', [
    # a string where a list belongs would be split into characters
    ("model = dict(boundaries=dict(student='backbone.layer1', "
     "teacher='backbone.layer1'))",
     "boundaries['student'] must be a list of module paths, got the string "
     "'backbone.layer1'. Write ['backbone.layer1'] for a single one"),
    ("model = dict(boundaries=dict(teacher=['backbone.layer1', 2, "
     "'backbone.layer3']))",
     "boundaries['teacher'][1] must be a module path (a non-empty string), "
     'got 2 (int)'),
    ("model = dict(feat_loss=dict(type='FeatureMSELoss', loss_weight='1'))",
     "feat_loss['loss_weight'] must be a number >= 0, got the string '1'"),
    ("model = dict(feat_loss='FeatureMSELoss')",
     'feat_loss must be a dict, e.g. '),
    (KD.format("loss=dict(temperature='4')"),
     "output_losses['kd']['loss']['temperature'] must be a number > 0, got "
     "the string '4'"),
    (KD.format('loss=dict(temperature=0)'),
     "output_losses['kd']['loss']['temperature'] must be a number > 0, got "
     '0 (int)'),
    (KD.format('loss=dict(loss_weight=True)'),
     "output_losses['kd']['loss']['loss_weight'] must be a number >= 0, got "
     'True (bool)'),
    (KD.format("student=['head']"),
     "output_losses['kd']['student'] must be a module path (a non-empty "
     "string), got ['head'] (list)"),
    ("model = dict(output_losses=[dict(student='head', teacher='head', "
     "loss=dict(type='KDLoss'))])",
     'output_losses must be a dict or None, e.g. dict(kd=dict('),
    ("model = dict(output_losses={'kd.v2': dict(student='head', "
     "teacher='head', loss=dict(type='KDLoss'))})",
     "an output_losses name must be letters, digits and _ (it is logged as "
     "loss_<name>), got the string 'kd.v2'"),
    ("model = dict(task_loss_weight='0.1')",
     "task_loss_weight must be a number >= 0, got the string '0.1'"),
    ("model = dict(task_loss_weight=float('nan'))",
     'task_loss_weight must be a number >= 0, got nan (float)'),
    ("model = dict(keep_internal_losses='yes')",
     "keep_internal_losses must be True or False, got the string 'yes'"),
    ("model = dict(task_loss_names=dict(loss=1))",
     "task_loss_names['loss'] must be a loss key (a non-empty string), got "
     '1 (int)'),
    ("model = dict(task_loss_names=dict(loss='ce'))",
     "task_loss_names['loss'] must be a name containing 'loss', got the "
     "string 'ce'. MMEngine sums only the keys that contain \"loss\""),
    ("model = dict(task_loss_names=['loss_ce'])",
     "task_loss_names must be a dict, e.g. dict(loss='loss_ce'), got "
     "['loss_ce'] (list)"),
    ('model = dict(probe_input_shape=(3, 32))',
     'probe_input_shape must be (C, H, W): 3 positive ints, e.g. [3, 32, '
     '32], got (3, 32) (tuple)'),
    ('model = dict(probe_input_shape=(3, 32, -32))',
     'probe_input_shape[2] must be a positive int, got -32 (int)'),
    ('model = dict(probe_input_shape=(3, 32.0, 32))',
     'probe_input_shape[1] must be a positive int, got 32.0 (float)'),
    ("model = dict(loss_aggregator='AdaptiveLossAggregator')",
     'loss_aggregator must be a dict or None'),
    ('model = dict(teacher_ckpt=3)',
     'teacher_ckpt must be a path or URL, or None (a non-empty string), got '
     '3 (int)'),
])
def test_config_value_of_the_wrong_type_fails_at_build(cls_config, extra,
                                                       message):
    with pytest.raises(ValueError) as err:
        build_model(cls_config(extra=extra))
    assert message in str(err.value)


HOOK = '''
custom_hooks = [dict(type='mmstablekd.RecompositionHook', {})]
'''


@pytest.mark.parametrize('arguments, message', [
    ("stages=[dict(begin=0), dict(begin='0.2')]",
     "RecompositionHook stages[1]['begin'] must be an epoch or iteration (an "
     'int >= 0) or a share of training (a float in (0, 1)), got the string '
     "'0.2'"),
    ('stages=[dict(begin=False)]',
     "RecompositionHook stages[0]['begin'] must be an epoch or iteration "),
    ("stages=[dict(begin=0, groups='0123')]",
     "RecompositionHook stages[0]['groups'] must be a list of lists of block "
     "indices, got the string '0123'"),
    ("stages=[dict(begin=0, groups=[[0, 1], '23'])]",
     "RecompositionHook stages[0]['groups'][1] must be a list of block "
     "indices (ints), got the string '23'"),
    ('stages=[dict(begin=0, groups=[[0, 1.0], [2, 3]])]',
     "RecompositionHook stages[0]['groups'][0] must be a list of block "
     'indices (ints), got [0, 1.0] (list)'),
    ("stages=[dict(begin=0, losses='feat_b0')]",
     "RecompositionHook stages[0]['losses'] must be a list of loss names, "
     "got the string 'feat_b0'. Write ['feat_b0'] for a single one"),
    ("stages=[dict(begin=0, losses=['task', None])]",
     "RecompositionHook stages[0]['losses'][1] must be a loss name"),
    ("stages=[dict(begin=0)], by_epoch='False'",
     "RecompositionHook by_epoch must be True or False, got the string "
     "'False'"),
    ('stages=dict(begin=0)',
     'RecompositionHook stages must be the recomposition schedule: '
     'dict(name=dict(begin=..., ...), ...)'),
    ('', 'RecompositionHook stages must be the recomposition schedule'),
    ('stages=[dict(begin=0)], clip_grad=10',
     'RecompositionHook clip_grad must be None or dict(max_norm=..., '
     'norm_type=...), e.g. dict(max_norm=10.0), got 10 (int)'),
    ("stages=[dict(begin=0)], clip_grad=dict(max_norm='10')",
     "RecompositionHook clip_grad['max_norm'] must be a number > 0, got the "
     "string '10'"),
])
def test_recomposition_hook_value_of_the_wrong_type_fails_at_build(
        cls_config, arguments, message):
    from mmengine.runner import Runner
    cfg = cls_config(extra=HOOK.format(arguments))
    with pytest.raises(ValueError) as err:
        Runner.from_cfg(cfg)
    assert message in str(err.value)


# ------------------------------------------------------- loss key collisions
@pytest.mark.parametrize('extra, message', [
    # the classifier's own CE is logged as loss_ce (task_loss_names)
    ("model = dict(output_losses=dict(ce=dict(student='head', "
     "teacher='head', loss=dict(type='KDLoss'))))",
     "'loss_ce' by the student's own 'loss' (renamed by task_loss_names) "
     "and output_losses['ce']"),
    ("model = dict(task_loss_names=dict(loss='loss_kd'))",
     "'loss_kd' by the student's own 'loss' (renamed by task_loss_names) "
     "and output_losses['kd']"),
    ("model = dict(task_loss_names=dict(loss='loss_feat_b1'))",
     "'loss_feat_b1' by the student's own 'loss' (renamed by "
     'task_loss_names) and the feature losses'),
])
def test_losses_logged_under_one_key_fail_at_build(cls_config, extra,
                                                   message):
    with pytest.raises(ValueError) as err:
        build_model(cls_config(extra=extra))
    assert message in str(err.value)
    assert 'Rename the output loss' in str(err.value)


def test_finding_the_students_loss_keys_changes_no_state(cls_config):
    from mmstablekd.models.algorithms.loss_keys import student_loss_keys
    student = build_model(cls_config()).student.train()
    bn = student.backbone.bn1
    stats = bn.running_mean.clone(), int(bn.num_batches_tracked)
    rng = torch.random.get_rng_state()
    assert student_loss_keys(student, (3, 32, 32)) == ['loss']
    assert torch.equal(torch.random.get_rng_state(), rng)
    assert torch.equal(bn.running_mean, stats[0])
    assert int(bn.num_batches_tracked) == stats[1]
    assert student.training and bn.training


def test_a_student_without_a_loss_on_the_dummy_batch_still_builds(
        cls_config, monkeypatch):
    """E.g. a head needing annotations the dummy batch lacks: a warning,
    and the distillation losses' own keys are still checked."""
    from mmengine.logging import MMLogger

    from mmstablekd.models.algorithms import loss_keys

    def no_loss(student, shape):
        raise KeyError('gt_masks')

    monkeypatch.setattr(loss_keys, 'student_loss_keys', no_loss)
    warnings = []
    monkeypatch.setattr(MMLogger.get_current_instance(), 'warning',
                        warnings.append)
    assert build_model(cls_config()).num_blocks == 4
    assert any("the student computes no loss on a dummy batch (KeyError: "
               "'gt_masks')" in w for w in warnings)
