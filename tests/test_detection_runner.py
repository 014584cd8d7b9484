"""StableKD on an MMDetection RetinaNet through a real Runner: generated
COCO-format shapes through MMDetection's CocoDataset, pipeline and
CocoMetric; a grouping change, checkpoints, resume, and a student-only
export that MMDetection's own init_detector loads."""
import filecmp
import json
import os.path as osp
import sys

import pytest
import torch
from mmdet.apis import inference_detector, init_detector
from mmengine.config import Config
from mmengine.runner import Runner

from conftest import ROOT, RunRecord, write_config
from mmstablekd.datasets.shapes import make_shapes_coco

# The student as a user has it: a plain MMDetection config (narrow and small
# for a fast test; no ImageNet weights offline; score_thr=0 so that an
# almost untrained detector still yields boxes for CocoMetric).
STUDENT = '''
_base_ = ['mmdet::retinanet/retinanet_r18_fpn_1x_coco.py']
model = dict(
    backbone=dict(base_channels=8, init_cfg=None),
    neck=dict(in_channels=[8, 16, 32, 64], out_channels=16),
    bbox_head=dict(num_classes=3, in_channels=16, feat_channels=16,
                   stacked_convs=1),
    test_cfg=dict(score_thr=0.0))
data_root = {data_root!r}
metainfo = dict(classes=('circle', 'square', 'triangle'))
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=(64, 64), keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs')]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(64, 64), keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='PackDetInputs', meta_keys=('img_id', 'img_path', 'ori_shape',
                                          'img_shape', 'scale_factor'))]
train_dataloader = dict(
    batch_size=2, num_workers=0, persistent_workers=False,
    dataset=dict(data_root=data_root, metainfo=metainfo,
                 ann_file='annotations/train.json',
                 data_prefix=dict(img='train/'), pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=2, num_workers=0, persistent_workers=False,
    dataset=dict(data_root=data_root, metainfo=metainfo,
                 ann_file='annotations/val.json',
                 data_prefix=dict(img='val/'), pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'annotations/val.json')
test_evaluator = val_evaluator
'''

STAGES = ['backbone.layer1', 'backbone.layer2', 'backbone.layer3',
          'backbone.layer4']
# StableKD inheriting the student's config; the teacher is twice as wide
# (alignments), from another mmdet:: config.
DISTILL = f'''
_base_ = ['./student.py']
custom_imports = dict(imports=['mmstablekd'])
model = dict(
    _delete_=True,
    type='mmstablekd.StableKD',
    student={{{{_base_.model}}}},
    teacher=dict(
        cfg_path='mmdet::retinanet/retinanet_r50_fpn_1x_coco.py',
        backbone=dict(depth=18, base_channels=16, init_cfg=None),
        neck=dict(in_channels=[16, 32, 64, 128], out_channels=16),
        bbox_head=dict(num_classes=3, in_channels=16, feat_channels=16,
                       stacked_convs=1)),
    boundaries=dict(student={STAGES!r}, teacher={STAGES!r}),
    alignment=dict(type='PCAProjection'),
    # as the shipped detection configs: the relative default diverges here
    # (a random teacher's small features; not measured on detectors yet)
    feat_loss=dict(type='FeatureMSELoss'),
    output_losses=dict(neck=dict(student='neck', teacher='neck',
                                 loss=dict(type='FeatureMSELoss'))),
    probe_input_shape=(3, 64, 64))
train_cfg = dict(_delete_=True, type='IterBasedTrainLoop', max_iters=4,
                 val_interval=4)
param_scheduler = []
log_processor = dict(by_epoch=False)
default_hooks = dict(
    logger=dict(interval=1),
    checkpoint=dict(by_epoch=False, interval=2),
    student_export=dict(type='mmstablekd.StudentExportHook'))
custom_hooks = [dict(type='mmstablekd.AlignmentFitHook', num_batches=2),
                dict(type='mmstablekd.RecompositionHook', by_epoch=False,
                     stages=[dict(begin=0, groups=[[0], [1], [2], [3], [4]]),
                             dict(begin=2, groups=[[0, 1], [2, 3, 4]])])]
randomness = dict(seed=0)
'''
DEC, HALF = ((0, ), (1, ), (2, ), (3, ), (4, )), ((0, 1), (2, 3, 4))


def _runner(folder, **overrides):
    cfg = Config.fromfile(osp.join(folder, 'distill.py'))
    cfg.work_dir = osp.join(folder, 'work_dir')
    cfg.merge_from_dict(overrides)
    runner = Runner.from_cfg(cfg)
    record = RunRecord()
    runner.register_hook(record)
    return runner, record


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    folder = str(tmp_path_factory.mktemp('det_runner'))
    data_root = osp.join(folder, 'shapes') + '/'
    make_shapes_coco(data_root, 'train', 8, image_size=64,
                     object_size=(16, 32), seed=0)
    make_shapes_coco(data_root, 'val', 4, image_size=64,
                     object_size=(16, 32), seed=1)
    write_config(folder, STUDENT.format(data_root=data_root), 'student.py')
    write_config(folder, DISTILL, 'distill.py')
    runner, record = _runner(folder)
    runner.train()
    return folder, runner, record


def test_shapes_data_is_fixed_by_its_seed_and_boxes_fit_the_images(
        tmp_path):
    a = make_shapes_coco(str(tmp_path / 'a'), 'train', 3, seed=5)
    b = make_shapes_coco(str(tmp_path / 'b'), 'train', 3, seed=5)
    c = make_shapes_coco(str(tmp_path / 'c'), 'train', 3, seed=6)
    assert filecmp.cmp(a, b, shallow=False)
    assert filecmp.cmp(tmp_path / 'a/train/00002.png',
                       tmp_path / 'b/train/00002.png', shallow=False)
    assert not filecmp.cmp(a, c, shallow=False)
    coco = json.load(open(a))
    assert [c['name'] for c in coco['categories']] == [
        'circle', 'square', 'triangle']
    assert coco['annotations']
    for ann in coco['annotations']:
        x, y, w, h = ann['bbox']
        assert x >= 0 and y >= 0 and x + w <= 128 and y + h <= 128
        assert 24 <= w <= 56 and w == h


def test_harder_shapes_leave_distractors_unannotated(tmp_path):
    # one shape an image and two distractors: the look-alikes change the
    # pixels, never the annotations' count
    plain = json.load(open(make_shapes_coco(
        str(tmp_path / 'plain'), 'train', 6, max_objects=1, seed=2)))
    hard = json.load(open(make_shapes_coco(
        str(tmp_path / 'hard'), 'train', 6, max_objects=1, seed=2,
        noise=128, colours=(64, 256), distractors=2)))
    assert len(plain['annotations']) == len(hard['annotations']) == 6
    assert not filecmp.cmp(tmp_path / 'plain/train/00001.png',
                           tmp_path / 'hard/train/00001.png', shallow=False)


def test_shapes_made_with_other_arguments_are_never_reused(tmp_path):
    sys.path.insert(0, osp.join(ROOT, 'tools'))
    import demo_detection
    root = str(tmp_path / 'shapes')
    demo_detection.make_data(root, (2, 1), distractors=1)
    demo_detection.make_data(root, (2, 1), distractors=1)  # reused
    with pytest.raises(ValueError, match=r"distractors.*--work-dir"):
        demo_detection.make_data(root, (2, 1))
    with pytest.raises(ValueError, match="not {'distractors': 2}"):
        demo_detection.make_data(root, (2, 1), distractors=2)
    demo_detection.make_data(str(tmp_path / 'plain'), (2, 1))
    with pytest.raises(ValueError, match='made with the defaults'):
        demo_detection.make_data(str(tmp_path / 'plain'), (2, 1),
                                 noise=128)


def test_runner_trains_across_a_grouping_change_with_detection_losses(
        trained):
    _, runner, record = trained
    assert record.groups == {0: DEC, 1: DEC, 2: HALF, 3: HALF}
    detection = {'loss_cls', 'loss_bbox', 'loss_neck'}
    assert record.keys[0] == detection | {
        f'loss_feat_b{j}' for j in range(4)}
    assert record.keys[2] == detection | {'loss_feat_b1'}
    # the log drops the losses of the decomposed stage
    scalars = runner.message_hub.log_scalars
    assert 'train/loss_feat_b1' in scalars
    assert 'train/loss_feat_b0' not in scalars
    assert all(torch.isfinite(torch.tensor(v)) for v in
               record.losses.values())


def test_coco_metric_computes_a_bbox_map(trained):
    _, _, record = trained
    assert 0.0 <= record.metrics['coco/bbox_mAP'] <= 1.0


def test_resume_lands_in_the_stage_of_the_checkpoint_and_repeats_the_run(
        trained):
    folder, _, first = trained
    runner, resumed = _runner(
        folder, resume=True,
        load_from=osp.join(folder, 'work_dir', 'iter_2.pth'),
        work_dir=osp.join(folder, 'work_dir_resumed'))
    runner.train()
    assert resumed.groups == {2: HALF, 3: HALF}
    assert resumed.losses == pytest.approx(
        {i: first.losses[i] for i in (2, 3)}, rel=1e-4)


def test_exported_student_loads_with_init_detector_and_detects_the_same(
        trained):
    folder, runner, _ = trained
    plain = init_detector(osp.join(folder, 'student.py'),
                          osp.join(folder, 'work_dir', 'student_final.pth'),
                          device='cpu')
    assert plain.dataset_meta['classes'] == ('circle', 'square', 'triangle')
    batch = next(iter(runner.test_dataloader))
    distilled = runner.model.eval().test_step(batch)
    ours = inference_detector(
        plain, [s.img_path for s in batch['data_samples']])
    assert len(ours) == len(distilled) == 2
    # inference_detector runs one image at a time, the test step a batch of
    # two: float rounding may order boxes of equal scores (an untrained
    # detector's) differently, so detections are compared as sets, and the
    # raw head outputs exactly
    for a, b in zip(ours, distilled):
        assert len(b.pred_instances) > 0
        a, b = a.pred_instances, b.pred_instances
        torch.testing.assert_close(a.scores, b.scores)
        assert _detections(a) == _detections(b)
    data = runner.model.data_preprocessor(batch)
    torch.testing.assert_close(
        plain(data['inputs'], mode='tensor'),
        runner.model(data['inputs'], mode='tensor'))


def _detections(instances):
    """The (label, box) pairs, boxes rounded to 0.01 pixel, sorted."""
    return sorted(
        (int(label), *[round(float(v), 2) for v in box])
        for label, box in zip(instances.labels, instances.bboxes))
