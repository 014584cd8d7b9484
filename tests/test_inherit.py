"""``StableKD(inherit=[...])``: student modules that start from the
teacher's weights (FGD's and MGD's "inheriting strategy" for detectors:
the student's head starts as the teacher's), in a real RetinaNet pair
and through a Runner on the shipped shapes configs."""

import pytest
import torch
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.runner import Runner

from conftest import build_model, shapes_demo_config
from mmstablekd.datasets.shapes import make_shapes_coco

STAGES = ['backbone.layer1', 'backbone.layer2', 'backbone.layer3',
          'backbone.layer4']


def _pair(student_head=16, **model):
    """RetinaNet R-18 pair (``mmdet::`` configs): the student 8 wide, the
    teacher 16, both FPNs 16 wide; the student's head ``student_head``."""
    def net(width, head):
        return dict(cfg_path='mmdet::retinanet/retinanet_r18_fpn_1x_coco.py',
                    backbone=dict(base_channels=width, init_cfg=None),
                    neck=dict(in_channels=[width * 2**i for i in range(4)],
                              out_channels=16),
                    bbox_head=dict(num_classes=3, in_channels=16,
                                   feat_channels=head, stacked_convs=1))

    return Config(dict(default_scope='mmdet', model=dict(
        type='mmstablekd.StableKD', student=net(8, student_head),
        teacher=net(16, 16), boundaries=dict(student=STAGES, teacher=STAGES),
        probe_input_shape=(3, 64, 64), **model)))


def _same(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k])
                                          for k in sa)


def test_inherited_modules_start_as_the_teachers_and_nothing_else_does():
    model = build_model(_pair(inherit=['bbox_head']))
    assert not _same(model.student.bbox_head, model.teacher.bbox_head)
    model.init_weights()
    assert _same(model.student.bbox_head, model.teacher.bbox_head)
    # a copy, not the teacher's tensors: training the student leaves it
    assert all(p.data_ptr() != q.data_ptr() for p, q in zip(
        model.student.bbox_head.parameters(),
        model.teacher.bbox_head.parameters()))
    assert not _same(model.student.neck.fpn_convs,
                     model.teacher.neck.fpn_convs)


def test_without_inherit_the_student_keeps_its_own_initialisation():
    model = build_model(_pair())
    model.init_weights()
    assert not _same(model.student.bbox_head, model.teacher.bbox_head)


def test_a_module_of_other_widths_is_refused_before_training():
    with pytest.raises(ValueError, match=r"teacher's 'bbox_head'.*shape"):
        build_model(_pair(student_head=8, inherit=['bbox_head']))
    # the neck's lateral convolutions take the backbones' different widths
    with pytest.raises(ValueError, match=r"'neck'.*lateral_convs"):
        build_model(_pair(inherit=['neck']))


def test_an_unknown_path_names_the_closest_ones():
    with pytest.raises(ValueError, match="no module at 'bbox_heads'.*"
                       "'bbox_head'"):
        build_model(_pair(inherit=['bbox_heads']))


def test_a_bare_string_is_refused_with_the_list_to_write():
    with pytest.raises(ValueError, match=r"\['bbox_head'\]"):
        build_model(_pair(inherit='bbox_head'))


# --------------------------------------- through a Runner, shipped configs
class HeadAtStart(Hook):
    """Keeps the student's and teacher's head weights before training."""

    def before_train(self, runner):
        model = runner.model
        self.student = {k: v.clone() for k, v in
                        model.student.bbox_head.state_dict().items()}
        self.teacher = {k: v.clone() for k, v in
                        model.teacher.bbox_head.state_dict().items()}


def _runner(config, data_root, work_dir, **overrides):
    """The shipped demo config on ``data_root``, 2 iterations, trained end
    to end (the recomposition plays no part here), with ``overrides``."""
    cfg = shapes_demo_config(config, data_root, work_dir, iters=2)
    cfg.custom_hooks = [h for h in cfg.get('custom_hooks', [])
                        if h['type'] != 'mmstablekd.RecompositionHook']
    cfg.merge_from_dict(overrides)
    runner = Runner.from_cfg(cfg)
    hook = HeadAtStart()
    runner.register_hook(hook)
    return runner, hook


@pytest.mark.parametrize('config', [
    'crosskd-pkd_retinanet_r18-w32-w16_shapes.py',
    'stablekd-crosskd-pkd_fcos_r18-w32-w16_shapes.py',
    'stablekd-crosskd-pkd_gfl_r18-w32-w16_shapes.py',
])
def test_shipped_detection_configs_start_the_students_head_as_the_teachers(
        config, tmp_path):
    data_root = str(tmp_path / 'shapes') + '/'
    make_shapes_coco(data_root, 'train', 4, seed=0)
    make_shapes_coco(data_root, 'val', 2, seed=1)
    runner, hook = _runner(config, data_root, str(tmp_path / 'run'))
    runner.train()
    assert hook.student.keys() == hook.teacher.keys()
    assert all(torch.equal(hook.student[k], hook.teacher[k])
               for k in hook.student)
    # and the student's head trains from there
    after = runner.model.student.bbox_head.state_dict()
    assert any(not torch.equal(after[k], hook.student[k])
               for k in after if after[k].is_floating_point())

    # a resumed run keeps its trained head: the checkpoint loads after
    # the inheritance
    resumed, hook = _runner(config, data_root, str(tmp_path / 'resumed'),
                            resume=True,
                            load_from=str(tmp_path / 'run' / 'iter_1.pth'))
    resumed.train()
    saved = torch.load(tmp_path / 'run' / 'iter_1.pth', map_location='cpu',
                       weights_only=True)['state_dict']
    assert all(torch.equal(hook.student[k], saved['student.bbox_head.' + k])
               for k in hook.student)
    assert not all(torch.equal(hook.student[k], hook.teacher[k])
                   for k in hook.student)
