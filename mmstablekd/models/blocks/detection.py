"""What the block machinery requires of an MMDetection detector (and of an
MMSegmentation segmentor, cut the same way: :mod:`.segmentation`).

Blocks ``0..N-2`` are backbone stages and the last block is the neck and the
head(s). The neck (a segmentor without one: its heads) receives several
stage outputs at once (a tuple); each of them must end a block, so that a
last block trained on its own is fed the teacher's features only.
:func:`check_detector_pair` checks this before anything is traced or
trained; :func:`neck_inputs` names those stage outputs. (Where the two
detectors normalise images differently, the teacher gets its own
normalisation: :class:`TeacherInput`.)
"""
from typing import List, Sequence, Tuple

import torch
from torch import nn

from .module_paths import get_module
from .probe import dummy_pass
from .segmentation import is_segmentor


def is_detector(model: nn.Module) -> bool:
    """Whether ``model`` is an MMDetection detector."""
    try:
        from mmdet.models.detectors import BaseDetector
    except ImportError:  # MMDetection is not installed: no detector
        return False
    return isinstance(model, BaseDetector)


def is_dense_predictor(model: nn.Module) -> bool:
    """Whether ``model``'s backbone hands several stage outputs at once to
    what follows it: an MMDetection detector or MMSegmentation
    segmentor."""
    return is_detector(model) or is_segmentor(model)


def check_detector_pair(student: nn.Module, teacher: nn.Module,
                        boundaries: dict,
                        input_shape: Tuple[int, ...]) -> None:
    """Check a detector pair's boundaries (a no-op for other models).

    Args:
        student, teacher: the two detectors.
        boundaries: ``dict(student=[...], teacher=[...])`` module paths.
        input_shape: ``(C, H, W)`` of the dummy image the backbones run on.

    Raises:
        ValueError: a boundary outside the backbone, a neck that fails on
            the backbone's outputs (e.g. ``in_channels`` that do not match
            their widths), or a backbone output that the student's neck
            receives but no boundary ends.
    """
    for model, role in ((student, 'student'), (teacher, 'teacher')):
        if is_dense_predictor(model):
            _check_backbone_boundaries(model, list(boundaries[role]),
                                       input_shape, role,
                                       fed=role == 'student')


def neck_inputs(model: nn.Module, input_shape: Tuple[int, ...]) -> List[str]:
    """The backbone outputs a detector's neck receives, as module paths.

    Each is the outermost backbone module that returned the tensor (a
    stage, e.g. ``backbone.layer4``, not its last layer; ``'backbone'``
    for a tensor the backbone computed itself), in forward order. Every one
    of them must end a block.

    Args:
        model: an MMDetection detector.
        input_shape: ``(C, H, W)`` of the dummy image the backbone runs on.

    Returns:
        list[str]: e.g. ``['backbone.layer2', 'backbone.layer3',
        'backbone.layer4']`` for a ResNet with ``out_indices=(1, 2, 3)``.
    """
    feats, producers = _run_backbone(model, input_shape)
    order = list(producers)  # ids in the order the tensors were returned
    return _outermost(sorted(feats, key=lambda f: order.index(id(f))),
                      producers)


def _check_backbone_boundaries(model, boundaries: List[str], input_shape,
                               role: str, fed: bool) -> None:
    """``fed``: the neck will be fed at the boundaries (the student's), so
    each of its inputs must end a block; a teacher's are only read."""
    outside = [p for p in boundaries if p.split('.')[0] != 'backbone']
    if outside:
        raise ValueError(
            f'{role} boundaries {outside} are not in the backbone. In a '
            f'detector, blocks 0..N-2 are backbone stages and the last block '
            f'is the neck and the head(s): cut at stage outputs, e.g. '
            f"['backbone.layer1', ..., 'backbone.layer4'].")
    if not model.with_neck and not is_segmentor(model):
        return
    for path in boundaries:  # unknown paths: name the closest ones
        get_module(model, path, role)
    feats, producers = _run_backbone(model, input_shape)
    names = _outermost(feats, producers)
    if model.with_neck:
        _check_neck_runs(model, input_shape, feats, names, role)
    unbounded = [name for f, name in zip(feats, names)
                 if not set(producers[id(f)]) & set(boundaries)]
    if unbounded and fed:
        refuse_unreachable_neck_inputs(model, unbounded, role)
        receiver = 'neck receives' if model.with_neck else 'heads receive'
        raise ValueError(
            f'The {role} {receiver} the outputs of {unbounded}, which end no '
            f'block (boundaries: {boundaries}). Every stage output the '
            f'{receiver.split()[0]} receive must be a boundary, so that the '
            f"last block can be fed the teacher's features: add them to the "
            f"boundaries (in forward order), or drop their stages from the "
            f"backbone's out_indices.")


def refuse_unreachable_neck_inputs(model, unbounded: List[str], role: str,
                                   off_path: bool = False) -> None:
    """Refuse, saying why, a student whose neck inputs no boundary can end:
    made by code (PVT, MMDetection Swin: tokens reshaped to maps in the
    backbone's forward), returned by one module for several of them
    (HRNet's shared ReLU, called once per branch), or made off the path
    the next stage takes (ConvNeXt's norms; ``off_path``: the caller found
    that none of ``unbounded`` cuts the backbone)."""
    if not unbounded:
        return
    backbone = type(model.backbone).__name__
    if 'backbone' in unbounded:
        why = (f'{backbone} makes {unbounded.count("backbone")} of the '
               f"tensors its neck receives in its own forward code (e.g. "
               f'reshaping normed tokens (N, L, C) into maps (N, C, H, W)), '
               f'so no module returns them')
    elif len(set(unbounded)) < len(unbounded):
        why = (f'{backbone} returns the neck\'s inputs from one module '
               f'called once per branch ({sorted(set(unbounded))}), so no '
               f'module path tells them apart')
    elif off_path:
        why = (f'the neck receives the outputs of {unbounded}, and '
               f'{backbone} passes the tensor each is made from on to its '
               f'next stage too (a norm hanging off each stage, as '
               f'mmpretrain.ConvNeXt\'s norm<i> after stages.<i>), so no '
               f'module output cuts the backbone there')
    else:
        return
    raise ValueError(
        f'The {role} cannot be distilled block-wise: {why}, and a boundary '
        f'must be a module whose output the neck receives, for the neck to '
        f"be fed the teacher's features. This detector can be the teacher "
        f'of a block-wise pair; as a student, give it a backbone whose '
        f'stages return the neck\'s inputs (ResNet, RegNet, '
        f'CSPNeXt, ...), or distil it end to end (KD, '
        f'configs/kd/). See docs/auto_boundaries.md.')


def _run_backbone(model, input_shape):
    """The backbone's outputs (a tuple) for a dummy image, and for each
    output tensor (by ``id``) the paths of the backbone modules that
    returned it, in the order they returned (a stage after its last
    layer)."""
    producers, alive = {}, []

    def record(path):

        def hook(module, args, output):
            if isinstance(output, torch.Tensor):
                alive.append(output)  # keeps ids unique during the pass
                producers.setdefault(id(output), []).append(path)

        return hook

    handles = [
        m.register_forward_hook(record(f'backbone.{name}'))
        for name, m in model.backbone.named_modules() if name
    ]
    try:
        with dummy_pass(model):
            feats = model.backbone(torch.rand(1, *input_shape))
    finally:
        for handle in handles:
            handle.remove()
    feats = tuple(feats) if isinstance(feats, Sequence) else (feats, )
    for f in feats:
        producers.setdefault(id(f), ['backbone'])
    return feats, producers


def _outermost(feats, producers) -> List[str]:
    """For each backbone output, the outermost module that returned it (a
    stage such as ``backbone.layer4`` rather than its last layer)."""
    return [producers[id(f)][-1] for f in feats]


def _check_neck_runs(model, input_shape, feats, names: List[str],
                     role: str) -> None:
    """Run ``extract_feat`` as the probe will, the backbone being known to
    run: only a neck that fails on the backbone's outputs is refused, with
    their widths. ``in_channels`` is not compared with the widths, since
    necks take their inputs in their own order (YOLOv3's deepest first) or
    give one width for all levels."""
    neck = model.neck
    try:
        with dummy_pass(model):
            model.extract_feat(torch.rand(1, *input_shape))
    except Exception as err:  # any failure, re-raised with the widths
        widths = [f.shape[1] for f in feats]
        raise ValueError(
            f'The {role} neck ({type(neck).__name__}, in_channels='
            f'{getattr(neck, "in_channels", None)}) fails on the backbone\'s '
            f'{len(feats)} stage outputs of widths {widths} (from {names}) '
            f'with {err!r}. Set the neck\'s in_channels to those widths, in '
            f'the order it takes them, or change the backbone\'s out_indices.'
        ) from err
