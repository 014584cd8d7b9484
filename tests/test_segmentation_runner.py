"""StableKD on an MMSegmentation PSPNet through a real Runner: generated
shapes with label maps through MMSegmentation's BaseSegDataset, pipeline and
IoUMetric, real ``mmseg::`` Cityscapes configs made small; a grouping
change, and a student-only export that MMSegmentation's own init_model
loads and that segments as the distilled model does."""
import filecmp
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner
from mmseg.apis import inference_model, init_model
from PIL import Image

from conftest import RunRecord, small_segmentor, write_config
from mmstablekd.datasets import SEG_CLASSES, make_shapes_seg

PSPNET = 'mmseg::pspnet/pspnet_{}-d8_4xb2-80k_cityscapes-512x1024.py'


def _overrides():
    """The small student's overrides of the R-18 config's model."""
    overrides = small_segmentor(PSPNET.format('r18'), width=8)
    overrides.pop('cfg_path')
    return overrides


# The student as a user has it: a plain MMSegmentation config, made small
# (and 64x64 images instead of Cityscapes' 512x1024 crops).
STUDENT = f'''
_base_ = [{PSPNET.format('r18')!r}]
# pad to the 64x64 images, not the 512x1024 crop: the model's and the top-level
# one (which the Runner hands a StableKD model)
data_preprocessor = dict(size=(64, 64))
model = dict(data_preprocessor=data_preprocessor, **{_overrides()!r})
data_root = DATA_ROOT
metainfo = dict(classes={SEG_CLASSES!r})
dataset = dict(_delete_=True, type='BaseSegDataset', data_root=data_root,
               metainfo=metainfo, img_suffix='.png', seg_map_suffix='.png')
train_dataloader = dict(
    batch_size=2, num_workers=0, persistent_workers=False,
    dataset=dict(dataset, data_prefix=dict(img_path='img_dir/train',
                                           seg_map_path='ann_dir/train'),
                 pipeline=[dict(type='LoadImageFromFile'),
                           dict(type='LoadAnnotations'),
                           dict(type='PackSegInputs')]))
# no resize to Cityscapes' 2048x1024 (inference_model reads test_pipeline)
test_pipeline = [dict(type='LoadImageFromFile'), dict(type='LoadAnnotations'),
                 dict(type='PackSegInputs')]
val_dataloader = dict(
    batch_size=2, num_workers=0, persistent_workers=False,
    dataset=dict(dataset, data_prefix=dict(img_path='img_dir/val',
                                           seg_map_path='ann_dir/val'),
                 pipeline=test_pipeline))
test_dataloader = val_dataloader
'''
# StableKD inheriting the student's config; the teacher (twice as wide, from
# the R-101 config) gives CWD on the decode head's logits.
DISTILL = f'''
_base_ = ['./student.py']
custom_imports = dict(imports=['mmstablekd'])
model = dict(
    _delete_=True,
    type='mmstablekd.StableKD',
    student={{{{_base_.model}}}},
    teacher={small_segmentor(PSPNET.format('r101'), width=16)!r},
    # the plain MSE: the relative default diverges on a random teacher's
    # small features at this learning rate
    feat_loss=dict(type='FeatureMSELoss'),
    output_losses=dict(cwd=dict(student='decode_head', teacher='decode_head',
                                loss=dict(type='CWDLoss', tau=1.0))),
    probe_input_shape=(3, 64, 64))
train_cfg = dict(max_iters=4, val_interval=4)
param_scheduler = []
optim_wrapper = dict(optimizer=dict(lr=1e-3))
default_hooks = dict(
    logger=dict(interval=1),
    checkpoint=dict(by_epoch=False, interval=4),
    student_export=dict(type='mmstablekd.StudentExportHook'))
custom_hooks = [dict(type='mmstablekd.RecompositionHook', by_epoch=False,
                     stages=[dict(begin=0, groups=[[0], [1], [2], [3], [4]]),
                             dict(begin=2, groups=[[0, 1], [2, 3, 4]])])]
randomness = dict(seed=0)
'''
DEC, HALF = ((0, ), (1, ), (2, ), (3, ), (4, )), ((0, 1), (2, 3, 4))


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    folder = str(tmp_path_factory.mktemp('seg_runner'))
    data_root = osp.join(folder, 'shapes_seg')
    make_shapes_seg(data_root, 'train', 8, image_size=64,
                    object_size=(16, 32), seed=0)
    make_shapes_seg(data_root, 'val', 4, image_size=64,
                    object_size=(16, 32), seed=1)
    write_config(folder, STUDENT.replace('DATA_ROOT', repr(data_root)),
                 'student.py')
    cfg = Config.fromfile(write_config(folder, DISTILL, 'distill.py'))
    cfg.work_dir = osp.join(folder, 'work_dir')
    runner = Runner.from_cfg(cfg)
    record = RunRecord()
    runner.register_hook(record)
    runner.train()
    return folder, runner, record


def test_shapes_seg_is_fixed_by_its_seed_and_labels_the_shapes(tmp_path):
    a = make_shapes_seg(str(tmp_path / 'a'), 'train', 3, seed=5)
    b = make_shapes_seg(str(tmp_path / 'b'), 'train', 3, seed=5)
    c = make_shapes_seg(str(tmp_path / 'c'), 'train', 3, seed=6)
    assert filecmp.cmp(f'{a}/00001.png', f'{b}/00001.png', shallow=False)
    assert not filecmp.cmp(f'{a}/00001.png', f'{c}/00001.png', shallow=False)
    image = np.asarray(Image.open(tmp_path / 'a/img_dir/train/00001.png'))
    labels = np.asarray(Image.open(f'{a}/00001.png'))
    assert labels.shape == image.shape[:2] == (128, 128)
    assert set(np.unique(labels)) <= {0, 1, 2, 3} and labels.max() > 0
    # shapes are bright (110..255 in every channel), the noise dark (< 90)
    assert (image[labels > 0] >= 110).all()
    assert (image[labels == 0].max(axis=1) < 110).mean() > 0.99


def test_runner_trains_across_a_grouping_change_with_the_heads_losses(
        trained):
    _, _, record = trained
    assert record.groups == {0: DEC, 1: DEC, 2: HALF, 3: HALF}
    heads = {'decode.loss_ce', 'aux.loss_ce', 'loss_cwd'}
    assert record.keys[0] == heads | {f'loss_feat_b{j}' for j in range(4)}
    assert record.keys[2] == heads | {'loss_feat_b1'}


def test_iou_metric_computes_an_miou(trained):
    _, _, record = trained
    assert 0.0 <= record.metrics['mIoU'] <= 100.0


def test_exported_student_loads_with_init_model_and_segments_the_same(
        trained):
    folder, runner, _ = trained
    plain = init_model(osp.join(folder, 'student.py'),
                       osp.join(folder, 'work_dir', 'student_final.pth'),
                       device='cpu')
    batch = next(iter(runner.test_dataloader))
    distilled = runner.model.eval().test_step(batch)
    ours = inference_model(plain, [s.img_path for s in batch['data_samples']])
    assert len(ours) == len(distilled) == 2
    for a, b in zip(ours, distilled):
        torch.testing.assert_close(a.seg_logits.data, b.seg_logits.data)
        assert torch.equal(a.pred_sem_seg.data, b.pred_sem_seg.data)
