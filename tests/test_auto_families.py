"""``boundaries='auto'`` on one small config per upstream zoo family.

Each family's config is paired with itself (random teacher, tiny input),
built with ``auto``, and trained one decomposed and one end-to-end step.
Families that cannot be a block-wise student are listed with the reason
their error must give. docs/auto_boundaries.md is written by

    PYTHONPATH=. python tests/test_auto_families.py docs/auto_boundaries.md
"""
import importlib
import sys

import pytest
import torch
from mmengine.config import Config
from mmengine.hub import get_config
from mmpretrain.structures import DataSample

sys.path.insert(0, __file__.rpartition('/')[0])
from conftest import build_model, detection_batch  # noqa: E402

# a ViT of 4 layers, 64 wide (the upstream ones take minutes at 224 px)
SMALL_VIT = dict(_delete_=True, embed_dims=64, num_layers=4, num_heads=2,
                 feedforward_channels=128)
# family -> (scope, config, input size or shape, overrides of the model)
FAMILIES = {
    # BEiTViT (BEiT v2's classifier config builds the same); its last
    # layer's tokens are pooled by code, not read by a module
    'BEiT': ('mmpretrain', 'beit/benchmarks/beit-base-p16_8xb64_in1k.py', 32,
             dict(backbone=dict(arch=SMALL_VIT, img_size=32, patch_size=4),
                  head=dict(in_channels=64))),
    'CSPNet': ('mmpretrain', 'cspnet/cspresnet50_8xb32_in1k.py', 32, {}),
    'ConvMixer': ('mmpretrain', 'convmixer/convmixer-768-32_10xb64_in1k.py',
                  32, {}),
    'ConvNeXtV2': ('mmpretrain', 'convnext_v2/convnext-v2-atto_32xb32_in1k.py',
                   32, {}),
    # its 7x7 windows need 224 px: 2x2 ones at 64
    'DaViT': ('mmpretrain', 'davit/davit-tiny_4xb256_in1k.py', 64,
              dict(backbone=dict(window_size=2))),
    'DeiT3': ('mmpretrain', 'deit3/deit3-small-p16_64xb64_in1k.py', 32,
              dict(backbone=dict(arch=SMALL_VIT, img_size=32, patch_size=4),
                   head=dict(in_channels=64))),
    'DenseNet': ('mmpretrain', 'densenet/densenet121_4xb256_in1k.py', 32, {}),
    'EdgeNeXt': ('mmpretrain', 'edgenext/edgenext-xxsmall_8xb256_in1k.py', 32,
                 {}),
    # its last stage's attention is built for 7x7 maps (224 px); its
    # distillation head refuses to train, as LeViT's
    'EfficientFormer': ('mmpretrain',
                        'efficientformer/efficientformer-l1_8xb128_in1k.py',
                        224, dict(head=dict(distillation=False))),
    'EfficientNet': ('mmpretrain',
                     'efficientnet/efficientnet-b0_8xb32_in1k.py', 32, {}),
    'EfficientNetV2': ('mmpretrain',
                       'efficientnet_v2/efficientnetv2-b0_8xb32_in1k.py', 32,
                       {}),
    # its rotary position embedding is built for img_size
    'EVA02': ('mmpretrain', 'eva02/eva02-tiny-p14_in1k.py', 28,
              dict(backbone=dict(img_size=28))),
    # its early stages hold each token's 4x4 inner patches (5-d tensors):
    # cut by depth in its main stage
    'HiViT': ('mmpretrain', 'hivit/hivit-tiny-p16_16xb64_in1k.py', 64,
              dict(backbone=dict(img_size=64))),
    'HorNet': ('mmpretrain', 'hornet/hornet-tiny_8xb128_in1k.py', 32, {}),
    'HRNet': ('mmpretrain', 'hrnet/hrnet-w18_4xb32_in1k.py', 32, {}),
    # unpadded convolutions: 75 px is the smallest input it takes
    'InceptionV3': ('mmpretrain', 'inception_v3/inception-v3_8xb32_in1k.py',
                    75, {}),
    # one input size: its classifier takes the 1x1 maps of 32 px MNIST
    'LeNet': ('mmpretrain', 'lenet/lenet5_mnist.py', (1, 32, 32), {}),
    # LeViT's distillation head refuses to train (upstream trains it as
    # DeiT does, with its own distiller)
    'LeViT': ('mmpretrain', 'levit/levit-128s_8xb256_in1k.py', 224,
              dict(head=dict(distillation=False))),
    'MLP-Mixer': ('mmpretrain', 'mlp_mixer/mlp-mixer-base-p16_64xb64_in1k.py',
                  32, dict(backbone=dict(
                      arch=dict(_delete_=True, embed_dims=64, num_layers=4,
                                tokens_mlp_dims=32, channels_mlp_dims=128),
                      img_size=32, patch_size=4), head=dict(in_channels=64))),
    'MobileNetV2': ('mmpretrain', 'mobilenet_v2/mobilenet-v2_8xb32_in1k.py',
                    32, {}),
    'MobileNetV3': ('mmpretrain', 'mobilenet_v3/mobilenet-v3-small-050_'
                    '8xb128_in1k.py', 32, {}),
    'MobileOne': ('mmpretrain', 'mobileone/mobileone-s0_8xb32_in1k.py', 32,
                  {}),
    'MobileViT': ('mmpretrain', 'mobilevit/mobilevit-xxsmall_8xb128_in1k.py',
                  64, {}),
    'MViTv2': ('mmpretrain', 'mvit/mvitv2-tiny_8xb256_in1k.py', 64, {}),
    'PoolFormer': ('mmpretrain', 'poolformer/poolformer-s12_32xb128_in1k.py',
                   32, {}),
    'RegNet': ('mmpretrain', 'regnet/regnetx-400mf_8xb128_in1k.py', 32, {}),
    'RepVGG': ('mmpretrain', 'repvgg/repvgg-A0_8xb32_in1k.py', 32, {}),
    # the 31B config imports a module in its base, which mmengine refuses:
    # XL's kernels, 1-2 blocks per stage, 32 to 256 wide
    'RepLKNet': ('mmpretrain', 'replknet/replknet-XL_32xb64_in1k-320px.py',
                 32, dict(backbone=dict(arch=dict(
                     _delete_=True, large_kernel_sizes=[27, 27, 27, 13],
                     layers=[1, 1, 2, 1], channels=[32, 64, 128, 256],
                     small_kernel=None, dw_ratio=1.5)),
                     head=dict(in_channels=256))),
    # its global perceptrons are built for img_size (224 px: 25 s)
    'RepMLP': ('mmpretrain', 'repmlp/repmlp-base_8xb64_in1k.py', 64,
               dict(backbone=dict(img_size=64))),
    'Res2Net': ('mmpretrain', 'res2net/res2net50-w14-s8_8xb32_in1k.py', 32,
                {}),
    'ResNeSt': ('mmpretrain', 'resnest/resnest50_32xb64_in1k.py', 32, {}),
    'ResNeXt': ('mmpretrain', 'resnext/resnext50-32x4d_8xb32_in1k.py', 32,
                {}),
    # in training its layers run inside one autograd Function that frees
    # their outputs (RevBackProp), refused below: no_custom_backward runs
    # them as modules
    'RevViT': ('mmpretrain', 'revvit/revvit-small_8xb256_in1k.py', 32,
               dict(backbone=dict(arch=SMALL_VIT, img_size=32, patch_size=4,
                                  no_custom_backward=True),
                    head=dict(in_channels=128))),  # its two streams
    'RIFormer': ('mmpretrain', 'riformer/riformer-s12_8xb128_in1k.py', 32,
                 {}),
    'SEResNet': ('mmpretrain', 'seresnet/seresnet50_8xb32_in1k.py', 32, {}),
    'ShuffleNetV1': ('mmpretrain', 'shufflenet_v1/shufflenet-v1-1x_16xb64_'
                     'in1k.py', 32, {}),
    'ShuffleNetV2': ('mmpretrain', 'shufflenet_v2/shufflenet-v2-1x_16xb64_'
                     'in1k.py', 32, {}),
    # its windows and relative positions are built for img_size
    'SwinV2': ('mmpretrain', 'swin_transformer_v2/swinv2-tiny-w8_16xb64_'
               'in1k-256px.py', 64,
               dict(backbone=dict(img_size=64, window_size=[2, 2, 2, 2]))),
    # three soft splits (stride 16): 4x4 tokens at 64 px
    'T2T-ViT': ('mmpretrain', 't2t_vit/t2t-vit-t-14_8xb64_in1k.py', 64,
                dict(backbone=dict(img_size=64, num_layers=4))),
    'TinyViT': ('mmpretrain', 'tinyvit/tinyvit-5m_8xb256_in1k.py', 64,
                dict(backbone=dict(img_size=(64, 64),
                                   window_size=[2, 2, 4, 2]))),
    'Twins': ('mmpretrain', 'twins/twins-pcpvt-small_8xb128_in1k.py', 32, {}),
    'VAN': ('mmpretrain', 'van/van-tiny_8xb128_in1k.py', 32, {}),
    'VGG': ('mmpretrain', 'vgg/vgg11bn_8xb32_in1k.py', 224, {}),
    # its position embedding is built for 224 px
    'ViG': ('mmpretrain', 'vig/pvig-tiny_8xb128_in1k.py', 224, {}),
    'WRN': ('mmpretrain', 'wrn/wide-resnet50_8xb32_in1k.py', 32, {}),
    'Xcit': ('mmpretrain', 'xcit/xcit-nano-12-p16_8xb128_in1k.py', 224, {}),
    'det: CSPDarknet YOLOX': ('mmdet', 'yolox/yolox_tiny_8xb8-300e_coco.py',
                              64, {}),
    'det: CSPNeXt RTMDet': ('mmdet', 'rtmdet/rtmdet_tiny_8xb32-300e_coco.py',
                            64, {}),
    'det: Darknet53 YOLOv3': ('mmdet', 'yolo/yolov3_d53_8xb8-320-273e_coco.py',
                              64, {}),
    'det: EfficientNet RetinaNet': (
        'mmdet', 'efficientnet/retinanet_effb3_fpn_8xb4-crop896-1x_coco.py',
        64, {}),
    'det: MobileNetV2 SSDLite': (
        'mmdet', 'ssd/ssdlite_mobilenetv2-scratch_8xb24-600e_coco.py', 64, {}),
    'det: RegNet Faster R-CNN': (
        'mmdet', 'regnet/faster-rcnn_regnetx-400MF_fpn_ms-3x_coco.py', 64,
        {}),
    # its 4-conv SyncBN box head takes 20 s at 64 px
    'det: ResNeSt Faster R-CNN': (
        'mmdet', 'resnest/faster-rcnn_s50_fpn_syncbn-backbone+head_ms-range-'
        '1x_coco.py', 32, {}),
    # the zoo has Res2Net-101 only; 50 layers build the same stages
    'det: Res2Net Faster R-CNN': (
        'mmdet', 'res2net/faster-rcnn_res2net-101_fpn_2x_coco.py', 64,
        dict(backbone=dict(depth=50))),
    # its neck's extra layers and anchors are built for 300 px
    'det: VGG SSD300': ('mmdet', 'ssd/ssd300_coco.py', 300, {}),
    # its layer3 runs three branches in training, one in eval mode: auto
    # stops before it. Its TridentConv weights are uninitialised memory
    # but for the pretrained checkpoint: Kaiming here. 8 RoIs an image,
    # not 128, through its C4 head
    'det: TridentNet Faster R-CNN': (
        'mmdet', 'tridentnet/tridentnet_r50-caffe_1x_coco.py', 64,
        dict(backbone=dict(init_cfg=dict(
            _delete_=True, type='Kaiming', layer=['Conv2d', 'TridentConv'])),
            train_cfg=dict(rcnn=dict(sampler=dict(num=8))))),
}
TRIDENT = FAMILIES['det: TridentNet Faster R-CNN']
# family -> (scope, config, input size, overrides, what the error must
# say)
CANNOT_BE_STUDENTS = {
    'det: PVT RetinaNet': ('mmdet', 'pvt/retinanet_pvt-t_fpn_1x_coco.py', 64,
                           {}, 'in its own forward code'),
    'det: Swin RetinaNet': ('mmdet', 'swin/retinanet_swin-t-p4-w7_fpn_1x_'
                            'coco.py', 64, {}, 'in its own forward code'),
    'det: HRNet Faster R-CNN': ('mmdet', 'hrnet/faster-rcnn_hrnetv2p-w18-1x_'
                                'coco.py', 64, {}, 'called once per branch'),
    'det: ConvNeXt Mask R-CNN': (
        'mmdet', 'convnext/mask-rcnn_convnext-t-p4-w7_fpn_amp-ms-crop-3x_'
        'coco.py', 64, {}, 'passes the tensor each is made from on'),
    'det: DetectoRS Cascade R-CNN': (
        'mmdet', 'detectors/cascade-rcnn_r50-rfp_1x_coco.py', 64, {},
        'in its own forward code'),
    'det: Hourglass CornerNet': (
        'mmdet', 'cornernet/cornernet_hourglass104_8xb6-210e-mstest_coco.py',
        64, {}, 'passes the tensor each is made from on'),
    # as upstream trains it, with its custom backward (RevBackProp)
    'RevViT': ('mmpretrain', 'revvit/revvit-small_8xb256_in1k.py', 32,
               dict(backbone=dict(arch=SMALL_VIT, img_size=32, patch_size=4),
                    head=dict(in_channels=128)),
               'build RevViT with no_custom_backward=True'),
    'TNT': ('mmpretrain', 'tnt/tnt-s-p16_16xb64_in1k.py', 224, {},
            'pass several tensors on'),
    # fed only in its stem: its stages pass both branches on
    'Conformer': ('mmpretrain', 'conformer/conformer-tiny-p16_8xb128_in1k.py',
                  64, {}, 'only in its stem'),
}


def _build(scope, config, size, overrides):
    torch.manual_seed(0)  # the random networks, whatever ran before
    net = dict(cfg_path=f'{scope}::{config}', **overrides)
    upstream = get_config(f'{scope}::{config}')
    model = dict(
        type='mmstablekd.StableKD', student=net, teacher=net,
        boundaries='auto', alignment=dict(type='PCAProjection'),
        # a random teacher's features may shrink to almost no variance,
        # which the default relative loss divides by: compare directions
        feat_loss=dict(type='FeatureMSELoss', normalize=True),
        probe_input_shape=_shape(size))
    # initialised as the Runner does: some upstream modules hold
    # uninitialised memory until init_weights (SSD's L2Norm, TridentConv)
    return build_model(Config(dict(
        default_scope=scope, model=model,
        data_preprocessor=upstream.get('data_preprocessor'))),
        init_weights=True).train()


def _shape(size) -> tuple:
    """A family's input: a size, or a shape (LeNet's one channel)."""
    return size if isinstance(size, tuple) else (3, size, size)


def _batch(model, scope, size):
    if scope == 'mmdet':
        return detection_batch(size=size, masks=model.student.with_mask)
    torch.manual_seed(0)
    data = dict(inputs=list(torch.randint(0, 256, (2, *_shape(size)),
                                          dtype=torch.uint8)),
                data_samples=[DataSample().set_gt_label(i) for i in (0, 1)])
    data = model.data_preprocessor(data, True)
    return data['inputs'], data['data_samples']


def _step(model, batch, groups):
    """One SGD step in ``groups``; the loss keys."""
    model.set_groups(groups)
    losses = model.loss(*batch)
    total, _ = model.parse_losses(losses)
    total.backward()
    # a random teacher's BN keeps its initial statistics, so its features
    # (fed to the student's blocks) grow stage after stage, and so do the
    # gradients (up to 1e19 on RegNet): clip, as configs may
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    torch.optim.SGD(model.parameters(), lr=1e-3).step()
    model.zero_grad()
    assert torch.isfinite(total)
    return set(losses)


@pytest.mark.parametrize('family', list(FAMILIES))
def test_auto_cuts_the_family_and_both_steps_train(family):
    scope, config, size, overrides = FAMILIES[family]
    model = _build(scope, config, size, overrides)
    n = model.num_blocks
    assert n >= 3
    # a teacher is only read: it may also be cut where a student cannot be
    assert len(model.student_plan.boundaries) == n - 1
    batch = _batch(model, scope, size)
    keys = _step(model, batch, [[j] for j in range(n)])
    assert {f'loss_feat_b{j}' for j in range(n - 1)} <= keys
    keys = _step(model, batch, [list(range(n))])
    assert not any(k.startswith('loss_feat_b') for k in keys)


@pytest.mark.parametrize('family', list(CANNOT_BE_STUDENTS))
def test_a_family_that_cannot_be_a_student_says_why_and_what_instead(family):
    scope, config, size, overrides, reason = CANNOT_BE_STUDENTS[family]
    with pytest.raises(ValueError) as err:
        _build(scope, config, size, overrides)
    assert reason in str(err.value)
    assert 'can be the teacher' in str(err.value)
    assert 'end to end (KD, configs/kd/)' in str(err.value)


def test_a_student_refused_in_its_stem_teaches_at_its_stages():
    # Conformer as the teacher of a ResNet: read at its stages, whose
    # strides (4, 8, 16) match the student's layer1-3
    student = 'mmpretrain::resnet/resnet18_8xb32_in1k.py'
    teacher = 'mmpretrain::' + CANNOT_BE_STUDENTS['Conformer'][1]
    torch.manual_seed(0)
    model = build_model(Config(dict(default_scope='mmpretrain', model=dict(
        type='mmstablekd.StableKD', student=dict(cfg_path=student),
        teacher=dict(cfg_path=teacher), boundaries='auto',
        alignment=dict(type='PCAProjection'),
        feat_loss=dict(type='FeatureMSELoss', normalize=True),
        probe_input_shape=(3, 64, 64)),
        data_preprocessor=get_config(student).get('data_preprocessor'))))
    model.train()
    assert model.student_plan.boundaries == [
        'backbone.layer1', 'backbone.layer2', 'backbone.layer3']
    assert model.teacher_plan.boundaries == [
        'backbone.conv_trans_4', 'backbone.conv_trans_8',
        'backbone.conv_trans_11']
    batch = _batch(model, 'mmpretrain', 64)
    keys = _step(model, batch, [[j] for j in range(4)])
    assert {'loss_feat_b0', 'loss_feat_b1', 'loss_feat_b2'} <= keys


def test_no_block_is_fed_where_the_output_changes_in_training(monkeypatch):
    calls = []
    train_mode = importlib.import_module('mmstablekd.models.blocks.train_mode')
    checked = train_mode.changed_in_training

    def counted(*args):
        calls.append(args[1].keys())
        return checked(*args)

    for module in ('auto_boundaries', 'probe'):
        monkeypatch.setattr(
            importlib.import_module(f'mmstablekd.models.blocks.{module}'),
            'changed_in_training', counted)
    model = _build(*TRIDENT)
    assert len(calls) == 1  # auto's plan is not checked a second time
    assert model.student_plan.boundaries == [
        'backbone.relu', 'backbone.layer1', 'backbone.layer2']
    scope, config, size, _ = TRIDENT
    net = dict(cfg_path=f'{scope}::{config}')
    explicit = dict(student=['backbone.layer1', 'backbone.layer3.4'],
                    teacher=['backbone.layer1', 'backbone.layer3.4'])
    with pytest.raises(ValueError) as err:
        build_model(Config(dict(default_scope=scope, model=dict(
            type='mmstablekd.StableKD', student=net, teacher=net,
            boundaries=explicit, probe_input_shape=(3, size, size)))))
    assert ("student boundary 'backbone.layer3.4' returns 1 tensor "
            '(2, 1024, 4, 4) in eval mode but 3 tensors') in str(err.value)
    assert 'end the blocks before that module' in str(err.value)


def _plan(model) -> str:
    student = model.student_plan.boundaries
    teacher = model.teacher_plan.boundaries
    plan = ', '.join(f'`{p}`' for p in student)
    if teacher != student:
        plan += ' (teacher: ' + ', '.join(f'`{p}`' for p in teacher) + ')'
    return plan


def page() -> str:
    """docs/auto_boundaries.md, from this code."""
    rows = ['| family | config (paired with itself) | input | plan | result '
            '| reason |', '|---|---|---|---|---|---|']
    for family, (scope, config, size, overrides) in FAMILIES.items():
        changed = f' with `{overrides}`' if overrides else ''
        try:
            model = _build(scope, config, size, overrides)
            batch = _batch(model, scope, size)
            _step(model, batch, [[j] for j in range(model.num_blocks)])
            _step(model, batch, [list(range(model.num_blocks))])
            plan, result, reason = _plan(model), 'pass', ''
        except Exception as err:  # the table shows it, the tests fail on it
            plan, result, reason = '', 'FAIL', f'{type(err).__name__}: {err}'
        rows.append(f'| {family} | `{scope}::{config}`{changed} | {size} | '
                    f'{plan} | {result} | {reason} |')
    refused = []
    for family, (scope, config, size, overrides,
                 _) in CANNOT_BE_STUDENTS.items():
        changed = f' with `{overrides}`' if overrides else ''
        try:
            _build(scope, config, size, overrides)
            reason, message = 'UNEXPECTED: builds', ''
        except ValueError as err:
            message = str(err)
            reason = message.split(': ', 1)[-1]
            for end in (', and a boundary', '. It can be the teacher'):
                reason = reason.split(end)[0]
        rows.append(f'| {family} | `{scope}::{config}`{changed} | {size} | '
                    f'- | refused as a student | {reason} |')
        refused.append(f'- **{family}**: {message}')
    return '\n'.join([
        '# `boundaries=\'auto\'` on the upstream zoo families', '',
        'Generated by (about 3 minutes on one core):', '', '```',
        'PYTHONPATH=. OMP_NUM_THREADS=1 python tests/test_auto_families.py '
        'docs/auto_boundaries.md', '```', '',
        'One small config per MMPretrain backbone family with stages and '
        'per MMDetection detector family with a backbone, paired with '
        'itself (random teacher, `alignment=dict(type=\'PCAProjection\')`),'
        ' built with `boundaries=\'auto\'` and trained one decomposed and '
        'one end-to-end step (`tests/test_auto_families.py` asserts the '
        'same). The plan lists the student\'s boundaries, and the '
        'teacher\'s where they differ: a teacher is only read, so it may '
        'be cut where a student cannot be fed. A student\'s plan stops '
        'before the first module whose output changes in training '
        '(TridentNet\'s layer3: three branches in training, one in eval '
        'mode) or carries no gradient there (RevViT\'s custom backward). '
        'Overrides make a large upstream config small enough for a test; '
        'the test file says why each is needed.', '', *rows, '',
        '## Families that cannot be a block-wise student', '',
        'Each can be the teacher of a block-wise pair. As a student, its '
        'error says why and what to write instead:', '', *refused, ''])


if __name__ == '__main__':  # the page's path (build logs go to stdout)
    with open(sys.argv[1], 'w') as f:
        f.write(page())
