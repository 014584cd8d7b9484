"""The keys a StableKD model logs its losses under, checked for collisions
at build time: two losses under one key would silently overwrite each
other (and only one of them would be trained)."""
import random
from collections import defaultdict
from typing import Dict, List, Sequence

import numpy as np
import torch
from mmengine.logging import MMLogger
from torch import nn

from ..blocks.detection import is_detector
from ..blocks.segmentation import is_segmentor

BATCH = 2  # dummy images per loss forward (BatchNorm needs more than 1)


def student_loss_keys(student: nn.Module,
                      input_shape: Sequence[int]) -> List[str]:
    """The keys of ``student.loss`` (e.g. ``['loss']`` for an MMPretrain
    classifier, ``['loss_cls', 'loss_bbox']`` for a RetinaNet), from one
    forward pass on a dummy batch of ``input_shape = (C, H, W)`` images with
    one label (classifiers), one box (detectors; with its mask for
    instance segmentation) or a label map (segmentors) each. Eval mode, no
    gradient, and random states restored: building the model is unchanged
    by it."""
    was_training = student.training
    states = random.getstate(), np.random.get_state()
    try:
        with torch.random.fork_rng(devices=[]), torch.no_grad():
            student.eval()
            inputs = torch.rand(BATCH, *input_shape)
            losses = student(inputs, _dummy_samples(student, input_shape),
                             mode='loss')
    finally:
        student.train(was_training)
        random.setstate(states[0])
        np.random.set_state(states[1])
    return list(losses)


def _dummy_samples(student: nn.Module, input_shape: Sequence[int]) -> list:
    height, width = input_shape[1:]
    if is_segmentor(student):  # every pixel of class 0
        from mmengine.structures import PixelData
        from mmseg.structures import SegDataSample
        labels = torch.zeros(1, height, width, dtype=torch.long)
        meta = dict(img_shape=(height, width), ori_shape=(height, width))
        return [SegDataSample(metainfo=meta,
                              gt_sem_seg=PixelData(data=labels))
                for _ in range(BATCH)]
    if not is_detector(student):
        from mmpretrain.structures import DataSample
        return [DataSample().set_gt_label(0) for _ in range(BATCH)]
    from mmdet.structures import DetDataSample
    from mmdet.structures.mask import BitmapMasks
    from mmengine.structures import InstanceData
    masks = {}
    if student.with_mask:  # instance segmentation: the box's mask
        mask = np.zeros((1, height, width), dtype=np.uint8)
        mask[:, :height // 2, :width // 2] = 1
        masks['masks'] = BitmapMasks(mask, height, width)
    samples = []
    for _ in range(BATCH):
        sample = DetDataSample(metainfo=dict(
            img_shape=(height, width), ori_shape=(height, width),
            pad_shape=(height, width), batch_input_shape=(height, width),
            scale_factor=(1.0, 1.0)))
        sample.gt_instances = InstanceData(
            bboxes=torch.tensor([[0.0, 0.0, width / 2, height / 2]]),
            labels=torch.tensor([0]), **masks)
        samples.append(sample)
    return samples


def check_distinct_keys(keys_by_source: Dict[str, List[str]]) -> None:
    """Raise when two sources log under one key.

    Args:
        keys_by_source: e.g. ``{"the student's own 'loss'": ['loss_ce'],
            "output_losses['ce']": ['loss_ce']}``.

    Raises:
        ValueError: naming the key, the sources and the fix.
    """
    sources = defaultdict(list)
    for source, keys in keys_by_source.items():
        for key in keys:
            sources[key].append(source)
    clashes = {k: s for k, s in sources.items() if len(s) > 1}
    if clashes:
        where = '; '.join(f'{k!r} by {" and ".join(s)}'
                          for k, s in clashes.items())
        raise ValueError(
            f'Two losses would be logged under one key, and one would '
            f'silently replace the other: {where}. Rename the output loss '
            f'(output_losses=dict(<name>=...) is logged as loss_<name>) or '
            f'the student\'s loss (task_loss_names=dict(<key>=<new key>)).')


def check_loss_keys(model) -> None:
    """Check that a StableKD model's losses log under distinct keys: the
    student's own (after ``task_loss_names``), ``loss_feat_b<j>`` and
    ``loss_<name>`` of each output loss."""
    keys = {}
    try:
        student = student_loss_keys(model.student, model.probe_input_shape)
    except Exception as err:
        # e.g. a head needing annotations the dummy batch lacks (a
        # panoptic head's semantic maps): the other keys are still checked
        MMLogger.get_current_instance().warning(
            f'StableKD: the student computes no loss on a dummy batch '
            f'({type(err).__name__}: {err}), so its loss keys are not '
            f'checked against the distillation losses\' keys.')
        student = []
    for key in student:
        logged = model.task_loss_names.get(key, key)
        source = f"the student's own {key!r}" + (
            ' (renamed by task_loss_names)' if logged != key else '')
        keys[source] = [logged]
    keys['the feature losses'] = [
        f'loss_feat_b{j}' for j in range(model.num_blocks - 1)]
    for name in model.output_paths.names:
        keys[f'output_losses[{name!r}]'] = [f'loss_{name}']
    check_distinct_keys(keys)
