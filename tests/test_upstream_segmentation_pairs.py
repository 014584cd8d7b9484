"""StableKD on segmentor pairs of the upstream MMSegmentation zoo
(``mmseg::`` Cityscapes configs, made small: ResNet-18-deep, 8 and 16
channels wide, BN for SyncBN, 4 classes, 64x64 images, teachers random).
Dilated ``-d8`` backbones: stages 3 and 4 run at the stride of stage 2.
Each pair: ``boundaries='auto'``'s plan (every stage output the heads
receive ends a block, the heads the last block), a decomposed step whose
blocks are isolated, an end-to-end step that trains every block, and
``predict`` with the student alone."""
import copy
import importlib

import pytest
import torch
from mmengine.config import Config

from conftest import (build_model, reached_blocks, segmentation_batch,
                      small_segmentor, stage_block)

auto_boundaries = importlib.import_module(
    'mmstablekd.models.blocks.auto_boundaries').auto_boundaries

STAGES = [f'backbone.layer{i}' for i in '1234']
PAIRS = {
    'pspnet_r101-d8_to_r18-d8': (
        'pspnet/pspnet_r101-d8_4xb2-80k_cityscapes-512x1024.py',
        'pspnet/pspnet_r18-d8_4xb2-80k_cityscapes-512x1024.py'),
    'deeplabv3plus_r101-d8_to_r18-d8': (
        'deeplabv3plus/deeplabv3plus_r101-d8_4xb2-80k_cityscapes-512x1024.py',
        'deeplabv3plus/deeplabv3plus_r18-d8_4xb2-80k_cityscapes-512x1024.py'),
}


@pytest.fixture(scope='module', params=list(PAIRS))
def model(request):
    teacher, student = PAIRS[request.param]
    cfg = Config(dict(default_scope='mmseg', model=dict(
        type='mmstablekd.StableKD',
        student=small_segmentor(f'mmseg::{student}', width=8),
        teacher=small_segmentor(f'mmseg::{teacher}', width=16),
        probe_input_shape=(3, 64, 64))))
    return build_model(copy.deepcopy(cfg)).train()


def test_auto_cuts_after_every_stage_including_the_dilated_ones(model):
    assert model.student_plan.boundaries == STAGES
    assert model.teacher_plan.boundaries == STAGES
    assert auto_boundaries(model.student, model.teacher, (3, 64, 64)) == \
        dict(student=STAGES, teacher=STAGES)
    # stages 2, 3 and 4 share the stride 8
    assert [layout.stride for layout in model.student_plan.layouts] == [
        4, 8, 8, 8]


def test_the_heads_are_the_last_block_and_fed_at_every_stage(model):
    consumers = model.student_plan.consumers
    assert consumers['decode_head'].block == 4
    assert consumers['auxiliary_head'].block == 4
    assert consumers['decode_head'].boundaries == [0, 1, 2, 3]


def test_decomposed_step_trains_each_block_by_its_own_losses_only(model):
    model.set_groups([[j] for j in range(model.num_blocks)])
    losses = model.loss(*segmentation_batch())
    for j in range(model.num_blocks - 1):
        assert reached_blocks(model, losses[f'loss_feat_b{j}']) == {j}
    # the decode and auxiliary heads' cross-entropies reach the heads only
    assert {'decode.loss_ce', 'aux.loss_ce'} <= set(losses)
    task = losses['decode.loss_ce'] + losses['aux.loss_ce']
    assert reached_blocks(model, task) == {model.num_blocks - 1}


def test_end_to_end_step_updates_every_block(model):
    model.set_groups([list(range(model.num_blocks))])
    losses = model.loss(*segmentation_batch())
    assert not any(k.startswith('loss_feat_b') for k in losses)
    total, _ = model.parse_losses(losses)
    before = {n: p.detach().clone()
              for n, p in model.student.named_parameters()}
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-2)
    total.backward()
    optimizer.step()
    optimizer.zero_grad()
    changed = {n for n, p in model.student.named_parameters()
               if not torch.equal(p, before[n])}
    assert {stage_block(model, n) for n in changed} == set(range(5))


def test_predict_runs_the_student_alone(model):
    ran = []
    handle = model.teacher.backbone.register_forward_pre_hook(
        lambda *args: ran.append('teacher'))
    model.eval()
    try:
        with torch.no_grad():
            predictions = model(*segmentation_batch(), mode='predict')
    finally:
        handle.remove()
        model.train()
    assert not ran and len(predictions) == 2
    assert all(p.pred_sem_seg.data.shape == (1, 64, 64) for p in predictions)
