"""Iteration time and peak memory of StableKD's decomposed grouping vs plain
(end-to-end) KD on the same pair and batch, measured side by side.

    python benchmarks/iteration_cost.py [--config CFG] [--batch 64] \
        [--iters 20] [--out REPORT.md]
    # a detector pair (RetinaNet R-50 -> R-18): its KD twin is feature
    # imitation (detection losses + FPN imitation, end to end)
    python benchmarks/iteration_cost.py --config \
        configs/stablekd/mmdet/stablekd_retinanet_r50-r18_fpn_1x_coco.py \
        --batch 2 --size 320

Time: both groupings alternate in one process (KD, StableKD, KD, ...), so
machine noise hits both alike; the ratio of the medians is reported. Memory:
each grouping trains in a fresh subprocess, whose resident memory is sampled
every 2 ms; the peak grown during training (above the resident memory after
building the model) and the whole process's peak are compared.
The teacher keeps random weights and the student its initial ones (costs do
not depend on them).
"""
import argparse
import json
import os.path as osp
import resource
import statistics
import subprocess
import sys
import time

import torch

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
DEFAULT_CONFIG = osp.join(
    ROOT, 'configs/stablekd/mmpretrain/stablekd_resnet50-resnet18_cifar100.py')


def build(config: str):
    from mmengine.config import Config
    from mmengine.registry import DefaultScope, MODELS
    import mmstablekd  # noqa: F401
    cfg = Config.fromfile(config)
    model_cfg = dict(cfg.model, teacher_ckpt=None)
    model_cfg.setdefault('data_preprocessor', cfg.get('data_preprocessor'))
    with DefaultScope.overwrite_default_scope(cfg.default_scope):
        model = MODELS.build(model_cfg)
        # the configs' own initialisation (e.g. RetinaNet's classification
        # prior, without which the focal loss diverges), minus pretrained
        # weights, which are not downloaded here
        for module in model.modules():
            init_cfg = getattr(module, 'init_cfg', None)
            if isinstance(init_cfg, dict) and \
                    init_cfg.get('type') == 'Pretrained':
                module.init_cfg = None
        model.init_weights()
        groups = first_groups(cfg)
    if groups is None:  # the first stage trains end to end
        groups = [list(range(model.num_blocks))]
    return model.train(), groups


def first_groups(cfg):
    """The grouping the config's ``RecompositionHook`` trains with first
    (None where it trains end to end), read as the runner reads it: the
    stages the hook sets itself, or the top-level ``recomposition``
    (:func:`~mmstablekd.engine.stages.hand_over_stages`), in the order they
    run.

    Raises:
        SystemExit: the config has no ``RecompositionHook``.
    """
    from mmengine.registry import HOOKS
    from mmstablekd.engine.hooks import RecompositionHook
    from mmstablekd.engine.stages import hand_over_stages
    hand_over_stages(cfg)
    for hook in cfg.get('custom_hooks') or []:
        if HOOKS.get(hook['type']) is RecompositionHook:
            return HOOKS.build(hook).stages[0].get('groups')
    sys.exit(f'{cfg.filename} has no RecompositionHook: no decomposed '
             f'grouping to measure')


def set_up(config: str, batch: int, size: int):
    """``(model, decomposed grouping, optimizer, (inputs, data_samples))``:
    the model of ``config`` with its alignments fitted (as
    ``AlignmentFitHook`` fits them before training) on the random batch
    of ``batch`` images of ``size`` x ``size`` it then trains on."""
    model, decomposed = build(config)
    inputs, samples = make_batch(model, batch, size)
    # what the alignments are fitted on does not change what they cost
    model.fit_alignments([dict(inputs=inputs, data_samples=samples)])
    optimizer = torch.optim.SGD(
        [p for p in model.parameters() if p.requires_grad], lr=0.01)
    return model, decomposed, optimizer, (inputs, samples)


def make_batch(model, batch: int, size: int):
    from mmstablekd.models.blocks.detection import is_detector
    if is_detector(model.student):
        return make_detection_batch(model, batch, size)
    from mmpretrain.structures import DataSample
    num_classes = model.student.head.num_classes
    inputs = torch.rand(batch, 3, size, size)
    samples = [DataSample().set_gt_label(i % num_classes)
               for i in range(batch)]
    return inputs, samples


def make_detection_batch(model, batch: int, size: int):
    """``batch`` images with three ground-truth boxes each."""
    from mmdet.structures import DetDataSample
    from mmengine.structures import InstanceData
    num_classes = model.student.bbox_head.num_classes
    shape = dict(img_shape=(size, size), ori_shape=(size, size),
                 pad_shape=(size, size), batch_input_shape=(size, size),
                 scale_factor=(1., 1.))
    boxes = torch.tensor([[0.1, 0.1, 0.4, 0.5], [0.5, 0.2, 0.9, 0.6],
                          [0.2, 0.6, 0.7, 0.95]]) * size
    samples = []
    for i in range(batch):
        sample = DetDataSample(metainfo=shape)
        sample.gt_instances = InstanceData(
            bboxes=boxes, labels=torch.arange(3) * (i + 1) % num_classes)
        samples.append(sample)
    return torch.rand(batch, 3, size, size), samples


def step(model, optimizer, inputs, samples) -> float:
    start = time.perf_counter()
    losses = model.loss(inputs, samples)
    loss, _ = model.parse_losses(losses)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return time.perf_counter() - start


def current_rss_mib() -> float:
    with open('/proc/self/statm') as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20


def measure_memory(args) -> None:
    """Child process: print the peak resident memory of training one
    grouping, above the resident memory of the built model."""
    import threading
    model, decomposed, optimizer, batch = set_up(args.config, args.batch,
                                                 args.size)
    model.set_groups(decomposed if args.grouping == 'stablekd' else
                     [list(range(model.num_blocks))])
    before, peak, done = current_rss_mib(), [0.0], threading.Event()

    def sample():  # every 2 ms, the process's resident memory
        while not done.is_set():
            peak[0] = max(peak[0], current_rss_mib())
            time.sleep(0.002)

    sampler = threading.Thread(target=sample)
    sampler.start()
    for _ in range(3):
        step(model, optimizer, *batch)
    done.set()
    sampler.join()
    print(json.dumps(dict(peak_growth_mib=peak[0] - before,
                          peak_mib=peak[0])))


def measure(config: str, batch: int = 64, size: int = 32,
            iters: int = 20) -> dict:
    """Median iteration time (s) and peak memory (MiB) of both groupings,
    and the StableKD / KD ratios."""
    model, decomposed, optimizer, inputs = set_up(config, batch, size)
    groupings = {'KD': [list(range(model.num_blocks))],
                 'StableKD': decomposed}
    times = {name: [] for name in groupings}
    for i in range(iters + 2):
        for name, groups in groupings.items():
            model.set_groups(groups)
            seconds = step(model, optimizer, *inputs)
            if i >= 2:  # warm-up
                times[name].append(seconds)

    memory = {}
    for name in groupings:
        out = subprocess.run(
            [sys.executable, __file__, '--config', config, '--batch',
             str(batch), '--size', str(size), '--grouping',
             name.lower()], check=True, capture_output=True, text=True)
        memory[name] = json.loads(out.stdout.strip().splitlines()[-1])
    median = {name: statistics.median(t) for name, t in times.items()}
    return dict(
        groupings=groupings, median_iter_s=median, memory_mib=memory,
        threads=torch.get_num_threads(),
        time_ratio=median['StableKD'] / median['KD'],
        growth_ratio=memory['StableKD']['peak_growth_mib'] / max(
            memory['KD']['peak_growth_mib'], 1e-9),
        peak_ratio=memory['StableKD']['peak_mib'] / memory['KD']['peak_mib'])


def report(args, cost: dict) -> str:
    """The Markdown report of :func:`measure`'s ``cost``."""
    lines = [
        f'config: {osp.relpath(args.config, ROOT)}  batch {args.batch} x '
        f'3x{args.size}x{args.size}, {args.iters} timed iterations, '
        f'{cost["threads"]} threads', '',
        '| grouping | median iter (s) | peak RSS growth (MiB) | '
        'peak RSS (MiB) |', '|---|---:|---:|---:|'
    ]
    for name, groups in cost['groupings'].items():
        memory = cost['memory_mib'][name]
        lines.append(
            f'| {name} {groups} | {cost["median_iter_s"][name]:.3f} | '
            f'{memory["peak_growth_mib"]:.0f} | {memory["peak_mib"]:.0f} |')
    lines += [
        '', f'StableKD / KD: iteration time x{cost["time_ratio"]:.3f} '
        f'(target <= 1.10), peak RSS growth x{cost["growth_ratio"]:.3f}, '
        f'peak RSS x{cost["peak_ratio"]:.3f} (target <= 1.15)'
    ]
    return '\n'.join(lines) + '\n'


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--config', default=DEFAULT_CONFIG)
    parser.add_argument('--batch', type=int, default=64)
    parser.add_argument('--size', type=int, default=32)
    parser.add_argument('--iters', type=int, default=20)
    parser.add_argument('--out', help='also write the report (Markdown) '
                        'there')
    parser.add_argument('--grouping', help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.grouping:
        return measure_memory(args)

    text = report(args, measure(args.config, args.batch, args.size,
                                args.iters))
    print(text, end='')
    if args.out:
        with open(args.out, 'w') as f:
            f.write(text)


if __name__ == '__main__':
    main()
