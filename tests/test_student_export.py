"""Student-only checkpoints load with MMPretrain's own API and predict
exactly what the distilled model predicts."""
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner
from mmpretrain import get_model
from mmpretrain.structures import DataSample

from conftest import ROOT, make_cls_config
from mmstablekd.models.model_config import resolve_model_cfg

EXPORT = '''
default_hooks = dict(student_export=dict(type='mmstablekd.StudentExportHook'))
train_cfg = dict(max_epochs=2)
'''


@pytest.fixture(scope='module')
def trained(tmp_path_factory, image_folder):
    cfg = make_cls_config(tmp_path_factory.mktemp('export'), image_folder,
                          extra=EXPORT)
    runner = Runner.from_cfg(cfg)
    runner.train()
    return cfg, runner


def _plain_student(cfg, checkpoint):
    """The student as a user deploys it: its own config + the export."""
    plain = Config(dict(model=resolve_model_cfg(cfg.model.student),
                        data_preprocessor=cfg.data_preprocessor))
    return get_model(plain, pretrained=checkpoint).eval()


def _predict(model, inputs):
    samples = [DataSample() for _ in range(len(inputs))]
    with torch.no_grad():
        return torch.stack([
            s.pred_score for s in model.test_step(
                dict(inputs=list(inputs), data_samples=samples))
        ])


def test_export_hook_writes_student_checkpoints_next_to_regular_ones(
        trained):
    cfg, _ = trained
    for name in ('epoch_1_student.pth', 'epoch_2_student.pth',
                 'student_final.pth'):
        ckpt = torch.load(osp.join(cfg.work_dir, name), weights_only=True)
        assert set(ckpt) == {'state_dict', 'meta'}
        keys = set(ckpt['state_dict'])
        assert keys and not any(
            k.startswith(('student.', 'teacher', 'alignments',
                          'output_losses', 'feat_loss'))
            for k in keys)
        assert ckpt['meta']['dataset_meta']['classes']


def test_exported_student_predicts_like_the_distilled_model(trained):
    cfg, runner = trained
    inputs = (torch.rand(5, 3, 32, 32) * 255).to(torch.uint8)
    distilled = _predict(runner.model.eval(), inputs)
    for name in ('epoch_2_student.pth', 'student_final.pth'):
        plain = _plain_student(cfg, osp.join(cfg.work_dir, name))
        torch.testing.assert_close(_predict(plain, inputs), distilled)
    # an earlier epoch differs: the comparison can fail
    earlier = _plain_student(cfg, osp.join(cfg.work_dir,
                                           'epoch_1_student.pth'))
    assert not torch.allclose(_predict(earlier, inputs), distilled)


def test_convert_tool_matches_the_hook(trained, tmp_path):
    cfg, _ = trained
    out = str(tmp_path / 'converted.pth')
    subprocess.run([
        sys.executable,
        osp.join(ROOT, 'tools', 'convert_to_student.py'),
        osp.join(cfg.work_dir, 'epoch_2.pth'), out
    ], check=True, cwd=ROOT)
    ours = torch.load(out, weights_only=True)['state_dict']
    hooks = torch.load(osp.join(cfg.work_dir, 'epoch_2_student.pth'),
                       weights_only=True)['state_dict']
    assert ours.keys() == hooks.keys()
    assert all(torch.equal(ours[k], hooks[k]) for k in ours)


def test_converting_a_plain_checkpoint_is_refused(tmp_path):
    from mmstablekd.utils import student_checkpoint
    with pytest.raises(ValueError, match='not a StableKD checkpoint'):
        student_checkpoint({'state_dict': {'backbone.conv1.weight': 1}})


def test_student_files_follow_max_keep_ckpts(tmp_path, image_folder):
    cfg = make_cls_config(
        tmp_path, image_folder,
        extra="default_hooks = dict(checkpoint=dict(max_keep_ckpts=1), "
        "student_export=dict(type='mmstablekd.StudentExportHook'))\n"
        "train_cfg = dict(max_epochs=3)\n")
    Runner.from_cfg(cfg).train()
    files = sorted(f for f in os.listdir(cfg.work_dir) if f.endswith('.pth'))
    assert files == ['epoch_3.pth', 'epoch_3_student.pth',
                     'student_final.pth']


def test_load_from_a_student_only_checkpoint_initialises_the_student(
        trained, cls_config):
    cfg, runner = trained
    new = cls_config()
    new.load_from = osp.join(cfg.work_dir, 'student_final.pth')
    new.train_cfg.max_epochs = 1
    fresh = Runner.from_cfg(new)
    fresh.load_or_resume()
    for k, v in runner.model.student.state_dict().items():
        torch.testing.assert_close(fresh.model.student.state_dict()[k], v)


def test_load_from_a_student_of_another_architecture_is_an_error(
        trained, cls_config):
    cfg, _ = trained
    wider = cls_config(extra='''
model = dict(student=dict(backbone=dict(base_channels=16, stem_channels=16),
                          head=dict(in_channels=128)))
''')
    wider.load_from = osp.join(cfg.work_dir, 'student_final.pth')
    with pytest.raises(ValueError, match='exported from another architecture'):
        Runner.from_cfg(wider).load_or_resume()
