"""Feature layouts, automatic boundaries and the probe's input size."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.hub import get_config
from mmengine.registry import DefaultScope

from conftest import ROOT
from mmstablekd.engine.runner import PortableRunner
from mmstablekd.models.blocks.auto_boundaries import stride_levels
from mmstablekd.models.blocks.input_shape import (declared_input_shape,
                                                  input_shape_from_pipeline)
from mmstablekd.models.blocks.layouts import FeatureLayout, detect_layout
from mmstablekd.models.model_config import resolve_model_cfg
from mmstablekd.registry import MODELS

IMAGE = (224, 224)


@pytest.mark.parametrize('output, expected', [
    (torch.zeros(2, 64, 56, 56), FeatureLayout('map', 64, 4)),
    # ViT / DeiT: class token first, then a 14x14 grid of patches
    (torch.zeros(2, 1 + 196, 384), FeatureLayout('tokens', 384, 16, 1)),
    # MMPretrain's Swin stage: (tokens, hw_shape)
    ((torch.zeros(2, 3136, 96), (56, 56)),
     FeatureLayout('tokens', 96, 4, 0, index=0)),
    # MMDetection's Swin stage: (downsampled, its shape, output, its shape)
    ((torch.zeros(2, 784, 192), (28, 28), torch.zeros(2, 3136, 96),
      (56, 56)), FeatureLayout('tokens', 96, 4, 0, index=2)),
])
def test_layouts_are_read_from_what_modules_return(output, expected):
    assert detect_layout(output, IMAGE, extra_tokens=1) == expected


@pytest.mark.parametrize('output', [
    torch.zeros(2, 384),  # a pooled vector
    torch.zeros(2, 7, 384),  # tokens that tile no grid of the image
    ((56, 56), 'text'),
])
def test_outputs_without_a_feature_have_no_layout(output):
    assert detect_layout(output, IMAGE, extra_tokens=1) is None


def test_tokens_and_maps_convert_both_ways_at_any_input_size():
    layout = FeatureLayout('tokens', 8, 16, extra_tokens=1)
    tokens = torch.randn(2, 1 + 6 * 5, 8)
    feat_map = layout.to_map(tokens, (96, 80))  # a 6x5 grid
    assert feat_map.shape == (2, 8, 6, 5)
    # patch (row 2, column 3) is token 1 + 2 * 5 + 3
    assert torch.equal(feat_map[:, :, 2, 3], tokens[:, 14])
    back = layout.from_map(feat_map, layout.extra(tokens))
    assert torch.equal(back, tokens)
    with pytest.raises(ValueError, match='31 patch tokens do not form the '
                       '6x6 grid'):
        layout.to_map(torch.randn(2, 32, 8), (96, 96))


def _build(scope, path, **overrides):
    with DefaultScope.overwrite_default_scope(scope):
        return MODELS.build(resolve_model_cfg(
            dict(cfg_path=f'{scope}::{path}', **overrides)))


# what a careful user cuts at (the stages before the last, for classifiers;
# every stage up to the deepest neck input, for detectors)
STAGES = {
    ('mmpretrain', 'efficientnet/efficientnet-b0_8xb32_in1k.py'):
    [f'backbone.layers.{i}' for i in (2, 3, 4)],
    ('mmpretrain', 'regnet/regnetx-400mf_8xb128_in1k.py'):
    [f'backbone.layer{i}' for i in (1, 2, 3)],
    ('mmpretrain', 'resnet/resnet18_8xb16_cifar10.py'):  # CIFAR stem
    [f'backbone.layer{i}' for i in (1, 2, 3)],
    ('mmdet', 'yolox/yolox_s_8xb8-300e_coco.py'):  # CSPDarknet
    [f'backbone.stage{i}' for i in (1, 2, 3, 4)],
    ('mmdet', 'rtmdet/rtmdet_s_8xb32-300e_coco.py'):  # CSPNeXt
    [f'backbone.stage{i}' for i in (1, 2, 3, 4)],
    ('mmdet', 'yolo/yolov3_d53_8xb8-320-273e_coco.py'):
    [f'backbone.conv_res_block{i}' for i in (2, 3, 4, 5)],
    ('mmdet', 'yolo/yolov3_mobilenetv2_8xb24-320-300e_coco.py'):
    [f'backbone.layer{i}' for i in (2, 3, 5, 7)],
    ('mmdet', 'detr/detr_r50_8xb2-500e_coco.py'):  # the neck takes layer4
    [f'backbone.layer{i}' for i in (1, 2, 3, 4)],
}


@pytest.mark.parametrize('network', list(STAGES), ids=lambda n: n[1])
def test_auto_finds_the_stages_of_more_backbones(network):
    model = _build(*network)
    levels = stride_levels(model, (3, 64, 64), fed=True)
    assert [path for _, path in levels] == STAGES[network]


def test_a_global_pooled_output_is_no_stage():
    # ConvNeXt's last norm comes after global pooling: 1x1 at any size
    model = _build('mmpretrain', 'convnext/convnext-tiny_32xb128_in1k.py')
    levels = stride_levels(model, (3, 64, 64), fed=False)
    assert [path for _, path in levels] == [
        f'backbone.stages.{i}' for i in (0, 1, 2)]


@pytest.mark.parametrize('scope, path, shape', [
    ('mmpretrain', 'resnet/resnet18_8xb32_in1k.py', (3, 224, 224)),
    ('mmpretrain', 'resnet/resnet18_8xb16_cifar10.py', (3, 32, 32)),
    ('mmpretrain', 'deit/deit-small_4xb256_in1k.py', (3, 224, 224)),
    ('mmdet', 'retinanet/retinanet_r50_fpn_1x_coco.py', (3, 800, 1333)),
])
def test_the_probe_size_is_read_from_the_training_pipeline(
        scope, path, shape):
    pipeline = get_config(f'{scope}::{path}').train_dataloader.dataset.pipeline
    assert input_shape_from_pipeline(pipeline, scope) == shape


@pytest.mark.parametrize('transform, scope, shape', [
    (dict(type='RandomCrop', crop_size=(512, 1024)), 'mmseg', (3, 512, 1024)),
    (dict(type='RandomCrop', crop_size=(64, 32)), 'mmpretrain', (3, 64, 32)),
    (dict(type='mmdet.RandomCrop', crop_size=(64, 32)), 'mmpretrain',
     (3, 32, 64)),
    (dict(type='RandomCrop', crop_size=(64, 32)), 'mmdet', (3, 32, 64)),
    (dict(type='CenterCrop', crop_size=(64, 32)), 'mmseg', (3, 32, 64)),
])
def test_a_crops_size_pair_is_read_in_its_transforms_order(
        transform, scope, shape):
    assert input_shape_from_pipeline([transform], scope) == shape


def test_the_seg_probe_size_follows_cityscapes_crop():
    cfg = get_config(
        'mmseg::pspnet/pspnet_r18-d8_4xb2-80k_cityscapes-512x1024.py')
    pipeline = cfg.train_dataloader.dataset.pipeline
    assert input_shape_from_pipeline(pipeline, 'mmseg') == (3, 512, 1024)


def test_the_runner_probes_at_the_pipelines_size(tmp_path):
    cfg = Config.fromfile(
        osp.join(ROOT, 'configs', 'kd', 'kd_resnet34-resnet18_in1k.py'))
    cfg.model.teacher_ckpt = None
    cfg.work_dir = str(tmp_path)
    runner = PortableRunner.from_cfg(cfg)
    # RandomResizedCrop(scale=224); the model's own default would be 32
    assert runner.model.probe_input_shape == (3, 224, 224)
    assert runner.model.student_plan.describe(0) == 'map 64x56x56'


def test_a_transformer_declares_its_input_size():
    swin = _build('mmpretrain', 'swin_transformer/swin-tiny_16xb64_in1k.py')
    resnet = _build('mmpretrain', 'resnet/resnet18_8xb32_in1k.py')
    assert declared_input_shape(resnet) == (3, 32, 32)
    assert declared_input_shape(resnet, swin) == (3, 224, 224)
