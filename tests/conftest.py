"""Shared fixtures: tiny generated data and real upstream-based configs."""
import os
import os.path as osp
import textwrap

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.hooks import Hook
from PIL import Image

import mmstablekd  # noqa: F401  (registers the mmstablekd scope)

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
# Blocks of an MMPretrain ResNet(_CIFAR) cut after layer1..3; block 3 also
# holds the neck and the head.
RESNET_BOUNDARIES = ['backbone.layer1', 'backbone.layer2', 'backbone.layer3']
RESNET_BLOCKS = {
    0: ('backbone.conv1', 'backbone.bn1', 'backbone.layer1'),
    1: ('backbone.layer2', ),
    2: ('backbone.layer3', ),
    3: ('backbone.layer4', 'neck', 'head'),
}


def pytest_configure(config):
    """Under pytest-xdist, give each worker its share of the cores (unless
    ``OMP_NUM_THREADS`` says otherwise): torch's default of one thread per
    core in every worker oversubscribes the CPU, which made the suite twice
    as slow on 2 cores. Subprocesses the tests start inherit the share."""
    workers = os.environ.get('PYTEST_XDIST_WORKER_COUNT')
    if workers and 'OMP_NUM_THREADS' not in os.environ:
        threads = max(1, len(os.sched_getaffinity(0)) // int(workers))
        torch.set_num_threads(threads)
        os.environ['OMP_NUM_THREADS'] = str(threads)


UNPICKLED = []  # the calls record_unpickling got: none, if loading is safe


def record_unpickling(tag: str) -> str:
    """Stands for code that a pickle runs when it is loaded."""
    UNPICKLED.append(tag)
    return tag


class RunsHarmlessCode:
    """An object whose unpickling calls :func:`record_unpickling`, as a
    pickle that runs code would call anything else."""

    def __reduce__(self):
        return (record_unpickling, ('unpickled',))


def block_of(param_name: str) -> int:
    """Block index of a student parameter of a ResNet classifier."""
    for block, prefixes in RESNET_BLOCKS.items():
        if any(param_name.startswith(p + '.') for p in prefixes):
            return block
    raise KeyError(param_name)


def stage_block(model, name: str) -> int:
    """The block of a parameter of a detector or segmentor student, by the
    spec: a backbone stage belongs to the block of the first boundary at or
    after it (stages in registration order); everything after the backbone
    (neck, heads) to the last block."""
    top, _, rest = name.partition('.')
    if top != 'backbone':
        return model.num_blocks - 1
    stage = f"backbone.{rest.split('.')[0]}"
    children = [f'backbone.{n}' for n, _ in
                model.student.backbone.named_children()]
    before = children[:children.index(stage)]
    return len(set(before) & set(model.student_plan.boundaries))


def reached_blocks(model, loss) -> set:
    """Blocks (:func:`stage_block`) of the student whose trainable
    parameters get a non-zero gradient from ``loss``."""
    if not loss.requires_grad:  # computed by frozen parameters only
        return set()
    params = {n: p for n, p in model.student.named_parameters()
              if p.requires_grad}
    grads = torch.autograd.grad(loss, list(params.values()),
                                allow_unused=True, retain_graph=True)
    return {stage_block(model, n) for n, g in zip(params, grads)
            if g is not None and g.abs().sum() > 0}


class RunRecord(Hook):
    """What a Runner trained: by iteration, the recomposition groups, the
    total loss and the names of the partial losses; the validation
    metrics."""
    priority = 'LOWEST'

    def __init__(self):
        self.groups, self.losses, self.keys, self.metrics = {}, {}, {}, {}

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        self.groups[runner.iter] = runner.model.groups

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        self.losses[runner.iter] = float(outputs['loss'])
        # e.g. loss_cls, loss_feat_b0, decode.loss_ce
        self.keys[runner.iter] = {k for k in outputs
                                  if 'loss' in k and k != 'loss'}

    def after_val_epoch(self, runner, metrics=None):
        self.metrics.update(metrics or {})


@pytest.fixture(scope='session')
def image_folder(tmp_path_factory):
    """A 4-class ImageNet-style folder of 32x32 PNGs (6 per class): each
    class is a bright square in its own corner, on noise."""
    root = tmp_path_factory.mktemp('images')
    rng = np.random.default_rng(0)
    for split in ('train', 'val'):
        for label in range(4):
            folder = root / split / f'class{label}'
            folder.mkdir(parents=True)
            for i in range(6):
                img = rng.integers(0, 60, (32, 32, 3), dtype=np.uint8)
                y, x = divmod(label, 2)
                img[y * 16:y * 16 + 16, x * 16:x * 16 + 16] = 200
                Image.fromarray(img).save(folder / f'{i}.png')
    return str(root)


def write_config(tmp_path, text: str, name: str = 'cfg.py') -> str:
    path = osp.join(str(tmp_path), name)
    with open(path, 'w') as f:
        f.write(textwrap.dedent(text))
    return path


# A StableKD config written the way a user writes one: it inherits a real
# MMPretrain config (student CIFAR ResNet-18, narrowed to keep tests fast)
# and takes the teacher from another (CIFAR ResNet-34, wider than the
# student at every boundary, so alignments are built).
CLS_CONFIG = '''
_base_ = ['mmpretrain::resnet/resnet18_8xb16_cifar10.py']
custom_imports = dict(imports=['mmstablekd'])
model = dict(
    _delete_=True,
    type='mmstablekd.StableKD',
    student=dict(
        cfg_path='mmpretrain::resnet/resnet18_8xb16_cifar10.py',
        backbone=dict(base_channels=8, stem_channels=8),
        head=dict(num_classes=4, in_channels=64)),
    teacher=dict(
        cfg_path='mmpretrain::resnet/resnet34_8xb16_cifar10.py',
        backbone=dict(base_channels=16, stem_channels=16),
        head=dict(num_classes=4, in_channels=128)),
    teacher_ckpt={teacher_ckpt!r},
    boundaries=dict(student={boundaries!r}, teacher={boundaries!r}),
    alignment=dict(type='PCAProjection'),  # as the StableKD configs set it
    output_losses=dict(kd=dict(student='head', teacher='head',
                               loss=dict(type='KDLoss', temperature=4.0,
                                         loss_weight=0.9))),
    task_loss_weight=0.1)
data_preprocessor = dict(num_classes=4)
dataset = dict(_delete_=True, type='CustomDataset', data_root={data_root!r},
               pipeline=[dict(type='LoadImageFromFile'),
                         dict(type='PackInputs')])
train_dataloader = dict(batch_size=4, num_workers=0,
                        dataset=dict(dataset, data_prefix='train'))
val_dataloader = dict(batch_size=8, num_workers=0,
                      dataset=dict(dataset, data_prefix='val'))
test_dataloader = val_dataloader
train_cfg = dict(by_epoch=True, max_epochs=3, val_interval=1)
param_scheduler = []
optim_wrapper = dict(optimizer=dict(lr=0.01))
default_hooks = dict(logger=dict(interval=1))
randomness = dict(seed=0)
'''


def make_cls_config(folder, image_folder, teacher_ckpt=None,
                    boundaries=RESNET_BOUNDARIES, extra=''):
    """A parsed StableKD classification config (``Config``) whose files and
    work dir live in ``folder``."""
    write_config(
        folder,
        CLS_CONFIG.format(
            teacher_ckpt=teacher_ckpt,
            boundaries=list(boundaries),
            data_root=image_folder), 'base.py')
    # `extra` is merged into the base as a user's child config would be
    cfg = Config.fromfile(
        write_config(folder,
                     "_base_ = ['./base.py']\n" + textwrap.dedent(extra)))
    cfg.work_dir = osp.join(str(folder), 'work_dir')
    return cfg


@pytest.fixture
def cls_config(tmp_path, image_folder):
    """Factory of :func:`make_cls_config` configs in the test's tmp dir."""

    def make(teacher_ckpt=None, boundaries=RESNET_BOUNDARIES, extra=''):
        return make_cls_config(tmp_path, image_folder, teacher_ckpt,
                               boundaries, extra)

    return make


def build_model(cfg, fit_alignments=True, init_weights=False):
    """Build ``cfg.model`` the way the Runner does (default scope set); with
    ``init_weights``, initialise the student as the Runner does and the
    teacher the same way (standing in for its checkpoint; ``Pretrained``
    init_cfgs are skipped: nothing is downloaded); with
    ``fit_alignments``, fit the alignments that need it (as
    ``AlignmentFitHook`` does before training) on random images."""
    from mmengine.registry import DefaultScope, MODELS
    with DefaultScope.overwrite_default_scope(cfg.default_scope):
        model = dict(cfg.model)
        model.setdefault('data_preprocessor', cfg.get('data_preprocessor'))
        model = MODELS.build(model)
    if init_weights:
        for net in (model.student, model.teacher):
            _skip_pretrained_init(net)
            net.init_weights()
    if fit_alignments and hasattr(model, 'fit_alignments'):
        generator = torch.Generator().manual_seed(0)
        images = torch.randint(0, 256, (4, *model.probe_input_shape),
                               generator=generator, dtype=torch.uint8)
        model.fit_alignments([dict(inputs=list(images))])
    return model


def _skip_pretrained_init(net: torch.nn.Module) -> None:
    """Drop the ``Pretrained`` entries of every module's ``init_cfg``."""
    for module in net.modules():
        cfg = getattr(module, 'init_cfg', None)
        if isinstance(cfg, dict):
            cfg = [cfg]
        if isinstance(cfg, list) and any(
                c.get('type') == 'Pretrained' for c in cfg):
            kept = [c for c in cfg if c.get('type') != 'Pretrained']
            module.init_cfg = kept or None


def detection_batch(n=2, size=64, masks=False):
    """``(inputs, data_samples)`` of ``n`` random ``size`` x ``size``
    images, as a detector's ``loss`` and ``predict`` take them: one box of
    class 3 each, and its mask with ``masks`` (instance segmentation)."""
    from mmdet.structures import DetDataSample
    from mmdet.structures.mask import BitmapMasks
    from mmengine.structures import InstanceData
    mask = np.zeros((1, size, size), dtype=np.uint8)
    mask[:, 8:48, 8:40] = 1
    mask = dict(masks=BitmapMasks(mask, size, size)) if masks else {}
    shape = (size, size)
    meta = dict(img_shape=shape, ori_shape=shape, pad_shape=shape,
                batch_input_shape=shape, scale_factor=(1., 1.))
    samples = [
        DetDataSample(metainfo=meta, gt_instances=InstanceData(
            bboxes=torch.tensor([[8., 8., 40., 48.]]),
            labels=torch.tensor([3]), **mask)) for _ in range(n)
    ]
    torch.manual_seed(0)
    return torch.rand(n, 3, size, size), samples


def shapes_demo_config(config: str, data_root: str, work_dir: str,
                       iters: int) -> Config:
    """A shipped shapes demo config (``configs/demo/``) on ``data_root``:
    ``iters`` iterations of batch 2 validated at the end, a checkpoint and
    a log line every iteration, a random teacher, no LR schedule."""
    cfg = Config.fromfile(osp.join(ROOT, 'configs', 'demo', config))
    cfg.model.teacher_ckpt = None
    for loader in (cfg.train_dataloader, cfg.val_dataloader):
        loader.dataset.data_root = data_root
        loader.batch_size = 2
    cfg.test_dataloader = cfg.val_dataloader
    cfg.val_evaluator.ann_file = data_root + 'annotations/val.json'
    cfg.test_evaluator = cfg.val_evaluator
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=iters,
                         val_interval=iters)
    cfg.param_scheduler = []
    cfg.log_processor = dict(by_epoch=False)
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook',
                                        by_epoch=False, interval=1)
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=1)
    cfg.work_dir = work_dir
    return cfg


def small_segmentor(cfg_path, width, classes=4):
    """``dict(cfg_path=..., **overrides)`` of an MMSegmentation ResNetV1c
    segmentor config (PSPNet, DeepLabV3+, FCN) made small: ResNet-18-deep,
    ``width`` stem and base channels, its heads' input widths to match,
    BN for SyncBN (one process), ``classes`` classes, no pretrained
    weights."""
    bn = dict(type='BN', requires_grad=True)
    head = dict(in_channels=8 * width, channels=4 * width, norm_cfg=bn,
                num_classes=classes)
    if 'deeplabv3plus' in cfg_path:  # its low-level branch takes stage 1
        head.update(c1_in_channels=width, c1_channels=width)
    return dict(
        cfg_path=cfg_path, pretrained=None,
        backbone=dict(depth=18, stem_channels=width, base_channels=width,
                      norm_cfg=bn),
        decode_head=head,
        auxiliary_head=dict(in_channels=4 * width, channels=2 * width,
                            norm_cfg=bn, num_classes=classes))


def segmentation_batch(n=2, size=64, classes=4):
    """``(inputs, data_samples)`` of ``n`` random ``size`` x ``size``
    images with random label maps, as a segmentor's ``loss`` and
    ``predict`` take them."""
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample
    generator = torch.Generator().manual_seed(0)
    shape = (size, size)
    meta = dict(img_shape=shape, ori_shape=shape, pad_shape=shape)
    samples = [SegDataSample(metainfo=meta, gt_sem_seg=PixelData(
        data=torch.randint(0, classes, (1, size, size), generator=generator)))
        for _ in range(n)]
    return torch.rand(n, 3, size, size, generator=generator), samples
