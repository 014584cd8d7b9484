"""``boundaries='auto'``: cut two networks where a careful user would.

A backbone's *stages* are found with one dummy forward pass: the modules that
the backbone calls itself (its children, or the items of its module lists,
e.g. ``backbone.layer2``, ``backbone.stages.1``, ``backbone.layers.7``) and
whose output holds a feature (:func:`detect_layout`). Grouped by total
stride, the last module of each stride *level* ends a stage; hierarchical
backbones have four levels (strides 4 to 32, or 1 to 8 with a CIFAR stem), and
the levels before the last four are their stems.

- A classifier keeps all levels but the deepest: the last stage is trained
  with the head.
- A detector keeps the levels up to the deepest one its neck receives, and
  at each level the neck receives, the module it receives from: every stage
  output the neck receives ends a block. A segmentor is cut the same way,
  its heads in the neck's place; in a dilated backbone (MMSegmentation's
  ``-d8`` ResNets) several stage outputs share a stride, and each ends a
  block (up to four).
- A plain ViT has a single level; it is cut by depth, into equal shares of
  its layers, as many blocks as the other network has (4 when both are
  plain).

The two networks' levels are paired from the deepest up. A student that
could be fed only in its stem (Conformer: its stages pass two branches on)
is refused. A student's plan
stops before the first boundary whose output changes in training
(TridentNet's branches, :mod:`.train_mode`), the teacher's at the same pair.
"""
import logging
import math
from collections import OrderedDict
from typing import Dict, List, Sequence, Tuple

from mmengine.logging import print_log
from mmengine.model import Sequential
from torch import nn

from .cuts import is_cut
from .detection import (is_dense_predictor, is_detector, neck_inputs,
                        refuse_unreachable_neck_inputs)
from .layouts import detect_layout
from .module_paths import get_module
from .nested import iter_tensors
from .probe import trace
from .segmentation import is_segmentor
from .train_mode import changed_in_training, consequence

MAX_LEVELS = 4  # stages of a hierarchical backbone
PLAIN_BLOCKS = 4  # blocks of a pair of plain (single-stride) networks


def auto_boundaries(student: nn.Module, teacher: nn.Module,
                    input_shape: Tuple[int, ...]) -> Dict[str, List[str]]:
    """``dict(student=[...], teacher=[...])`` for the two networks.

    Raises:
        ValueError: a network in which no stage could be found.
    """
    levels = {
        'student': stride_levels(student, input_shape, fed=True),
        'teacher': stride_levels(teacher, input_shape, fed=False)
    }
    plain = {role: len(found) == 1 for role, found in levels.items()}
    if not plain['student']:
        _refuse_a_stem_only_student(student, levels['student'], input_shape)
    hierarchical = [len(levels[r]) for r in levels if not plain[r]]
    count = min(hierarchical) if hierarchical else PLAIN_BLOCKS - 1
    chosen = {}
    for role, model in (('student', student), ('teacher', teacher)):
        if plain[role]:
            chosen[role] = _by_depth(levels[role][0][1], count)
        else:
            chosen[role] = [path for _, path in levels[role][-count:]]
        if not chosen[role]:
            raise ValueError(_no_stage(model, role, input_shape))
    return _before_training_changes(student, chosen, input_shape)


def _before_training_changes(student: nn.Module, chosen: dict,
                             input_shape) -> Dict[str, List[str]]:
    """``chosen`` up to the first student boundary whose output changes
    in training (e.g. TridentNet's ``layer3``, three branches in training,
    one in eval mode), which no block can be fed at."""
    paths = chosen['student']
    changed = changed_in_training(
        student, {p: get_module(student, p) for p in paths}, input_shape)
    if not changed:
        return chosen
    first = next(j for j, p in enumerate(paths) if p in changed)
    why = (f'the student\'s {paths[first]} returns '
           f'{changed[paths[first]]}')
    # a neck's or a segmentor's heads' inputs must all end blocks
    if first == 0 or is_segmentor(student) or is_detector(
            student) and student.with_neck:
        raise ValueError(
            f'boundaries=auto cannot cut the student '
            f'({type(student.backbone).__name__}) at its stages: {why}, '
            f'{consequence(changed[paths[first]])}. It can be the teacher '
            f'of a block-wise pair; as a student, give boundaries before '
            f'that module explicitly, or distil it end to end (KD, '
            f'configs/kd/).')
    print_log(
        f'boundaries=auto stops before {paths[first]}: {why}.',
        logger='current', level=logging.WARNING)
    return {role: found[:first] for role, found in chosen.items()}


def _refuse_a_stem_only_student(student: nn.Module, fed: list,
                                input_shape) -> None:
    """Refuse a student fed only in its stem: its stages (read as a
    teacher's would be) all follow the modules it could be fed at, e.g.
    Conformer, whose stages pass a CNN and a transformer branch on."""
    if len(fed) >= MAX_LEVELS - 1:  # a full plan: no second trace
        return
    read = stride_levels(student, input_shape, fed=False)
    if len(read) <= len(fed) or {p for _, p in fed} & {p for _, p in read}:
        return
    if max(s for s, _ in fed) > min(s for s, _ in read):
        return
    raise ValueError(
        f'boundaries=auto can cut the student '
        f'({type(student.backbone).__name__}) only in its stem '
        f'({[p for _, p in fed]}): its stages ({[p for _, p in read]}) '
        f'pass several tensors on (as Conformer\'s CNN and transformer '
        f'branches do), and a block is fed one tensor, so every stage would '
        f'be in the last block. It can be the teacher of a block-wise pair; '
        f'as a student, give boundaries in its stem explicitly, as '
        f'dict(student=[...], teacher=[...]) at the same strides, or '
        f'distil it end to end (KD, configs/kd/).')


def _no_stage(model: nn.Module, role: str, input_shape) -> str:
    """Why no stage of ``model`` could be cut, and what to write instead."""
    if role == 'student' and stride_levels(model, input_shape, fed=False):
        why = ('every module output a later module receives comes with '
               'other tensors that the following stages take too (its '
               "stages pass several tensors on, as TNT's inner and outer "
               "tokens or Conformer's CNN and transformer branches do), and "
               'a block is fed one tensor, so a block fed there would still '
               'see the student\'s own features. It can be the teacher')
    else:
        why = ('no module output the backbone passes on holds a feature map '
               '(N, C, H, W) or tokens (N, L, C) tiling the '
               f'{tuple(input_shape[1:])} input (e.g. a classifier inside '
               'the backbone that needs a larger probe_input_shape)')
    return (f'boundaries=auto found no stage to cut the {role} '
            f'({type(model.backbone).__name__}) at: {why}. Give the '
            f'boundaries as dict(student=[...], teacher=[...]) module paths '
            f'whose outputs alone feed what follows, or distil this pair end '
            f'to end (KD, configs/kd/).')


def stride_levels(model: nn.Module, input_shape: Tuple[int, ...],
                  fed: bool) -> List[Tuple[float, object]]:
    """The stride levels :func:`auto_boundaries` may cut ``model`` at, by
    increasing stride: ``(stride, path)``, or for a single-stride network
    one ``(stride, [paths in forward order])``.

    The candidates are the backbone's own stages (:func:`stage_candidates`);
    where they show no stages (VGG's and CSPNet's live in one
    ``Sequential``), the items of its plain ``Sequential`` children too.

    Args:
        fed: keep only modules whose output a later module receives, and
            after which nothing older than that output is used (a student
            is fed there, see :func:`is_cut`). A teacher is only read: its
            stage outputs may be tuples whose other items go on (MMDetection
            Swin), which it keeps where that finds more levels.
    """
    found, missed = _levels(model, input_shape, fed, into_sequential=False)
    if _has_plain_sequential(model.backbone):
        deeper = _levels(model, input_shape, fed, into_sequential=True)
        if _usable(deeper[0]) > _usable(found) or missed and not deeper[1]:
            found, missed = deeper
    if fed:  # e.g. PVT's reshaped tokens: say why it cannot be a student
        refuse_unreachable_neck_inputs(model, missed, 'student',
                                       off_path=True)
    return found


def _levels(model, input_shape, fed: bool, into_sequential: bool):
    candidates = stage_candidates(model, into_sequential)
    traced = trace(model, candidates, input_shape)
    paths = [p for p in traced.outputs]
    layouts = _layouts(model, traced.outputs, input_shape)
    single = [p for p in paths if _positions(traced.outputs[p]) == 1]
    if single:  # a stage, or a pooled vector? Only a stage grows with the
        larger = (input_shape[0], *(2 * s for s in input_shape[1:]))
        try:
            outputs = trace(model, {p: candidates[p] for p in single},
                            larger).outputs
        except RuntimeError:  # a network of one input size (LeNet's
            outputs = {}  # classifier takes 1x1 maps): none is shown to
        for p in single:  # grow
            if p not in outputs or _positions(outputs[p]) == 1:
                layouts[p] = None
    receivers = traced.receivers(paths)
    received = {j for c in receivers.values() for j in c.boundaries}
    paths = [p for p in paths if layouts[p] is not None
             and len(traced.calls.get(p, ())) == 1]  # a shared ReLU: none

    dense = is_dense_predictor(model)
    within = 'backbone' if dense else None

    def cut(path, strict):
        out = traced.outputs[path]
        kept = iter_tensors(layouts[path].feature(out) if strict else out)
        return is_cut(traced, path, [id(t) for t in kept], within)

    lenient = [p for p in paths if cut(p, strict=False)]
    strict = [p for p in lenient if cut(p, strict=True)]
    order = list(traced.outputs)
    if not fed and within:
        # a teacher is only read: also where only code reads (MMDetection
        # Swin's norms, whose tokens it reshapes into the neck's maps)
        lenient = [p for p in paths
                   if p in lenient or order.index(p) not in received]

    def feedable(path):
        return not fed or order.index(path) in received

    options = [_by_stride(strict, layouts)]
    if not fed:  # e.g. MMDetection Swin: its stages' tuples go on
        options.append(_by_stride(lenient, layouts))
    by_stride = max(options, key=_usable)
    if not by_stride:
        return [], []
    if len(by_stride) == 1:  # a single stride: cut by depth
        # into shares of all its layers: a list's last item is never a
        # boundary, but counts where only code reads it (BEiT's pooled
        # tokens)
        return [(s, [p for p in ps if feedable(p) or p in _last_items(ps)])
                for s, ps in by_stride.items()], []
    strides = sorted(by_stride)[-MAX_LEVELS:]
    if not dense:
        # the last stage is trained with the head, unless the network goes
        # on through outputs that cut it only as tuples (HRNet after its
        # layer1: no student can be fed at its later stages)
        deepest = by_stride[strides[-1]][-1]
        if all(p in strict for p in lenient[lenient.index(deepest) + 1:]):
            strides = strides[:-1]
    levels = [(s, [p for p in by_stride[s] if feedable(p)]) for s in strides]
    levels = [(s, ps[-1]) for s, ps in levels if ps]
    if not dense:
        return levels, []
    # the neck's inputs end blocks, the levels after the deepest one go
    received_by_neck = neck_inputs(model, input_shape)
    missed = [p for p in received_by_neck if p not in strict]
    # a teacher is only read: it ends a block wherever the neck reads it
    # (MMDetection Swin's norms, off the path its next stage takes)
    readable = strict if fed else paths
    neck = {path: layouts[path].stride for path in received_by_neck
            if path in readable and feedable(path)}
    if not neck:  # the neck's inputs are made by code (e.g. reshaped)
        return levels, missed
    # at each level, every module the neck receives from (several where
    # strides are shared: dilated stages), else the level's last module
    levels = [(s, p) for s, path in levels if s <= max(neck.values())
              for p in [q for q in neck if neck[q] == s] or [path]]
    return levels[-MAX_LEVELS:], missed


def _by_stride(paths, layouts) -> Dict[float, List[str]]:
    """Stride -> the paths at it, in forward order."""
    by_stride: Dict[float, List[str]] = OrderedDict()
    for path in paths:
        by_stride.setdefault(layouts[path].stride, []).append(path)
    return by_stride


def _usable(levels) -> int:
    """How many boundaries ``levels`` (a list of ``(stride, path)``, or a
    dict stride -> paths) can give."""
    items = list(levels.items()) if isinstance(levels, dict) else levels
    if len(items) == 1 and isinstance(items[0][1], list):
        return len(_by_depth(items[0][1], PLAIN_BLOCKS - 1))
    return len(items)


def _last_items(paths: Sequence[str]) -> List[str]:
    """The last of ``paths`` in each module (e.g. a ViT's last layer)."""
    return list({p.rpartition('.')[0]: p for p in paths}.values())


def _has_plain_sequential(module: nn.Module) -> bool:
    return any(_is_plain_sequential(c) for c in module.children())


def _is_plain_sequential(module: nn.Module) -> bool:
    """An ``nn.Sequential`` as such (VGG's ``features``), not a subclass
    that stands for one stage (ResNet's ``ResLayer``)."""
    return type(module) in (nn.Sequential, Sequential)


def _layouts(model, outputs, input_shape) -> Dict[str, object]:
    extra = getattr(model.backbone, 'num_extra_tokens', 0)
    return {p: detect_layout(out, input_shape[1:], extra)
            for p, out in outputs.items()}


def _positions(output) -> int:
    """Spatial positions of a map among ``output``, else 0."""
    maps = [t for t in iter_tensors(output) if t.dim() == 4]
    return maps[0].shape[2] * maps[0].shape[3] if maps else 0


def stage_candidates(model: nn.Module,
                     into_sequential: bool = False) -> Dict[str, nn.Module]:
    """Modules the backbone calls itself: its children, and the items of
    its module lists and dicts (which are never called), recursively; with
    ``into_sequential``, also the items of plain ``Sequential`` modules."""
    found = {}

    def visit(prefix: str, module: nn.Module) -> None:
        for name, child in module.named_children():
            path = f'{prefix}.{name}'
            if isinstance(child, (nn.ModuleList, nn.ModuleDict)):
                visit(path, child)
                continue
            found[path] = child
            if into_sequential and _is_plain_sequential(child):
                visit(path, child)

    visit('backbone', model.backbone)
    return found


def _by_depth(paths: Sequence[str], count: int) -> List[str]:
    """``count`` boundaries that cut the longest module list among
    ``paths`` (e.g. a ViT's ``backbone.layers``) into ``count + 1`` equal
    shares."""
    lists: Dict[str, List[str]] = OrderedDict()
    for path in paths:
        parent, _, index = path.rpartition('.')
        if index.isdigit():
            lists.setdefault(parent, []).append(path)
    if not lists:
        return []
    layers = max(lists.values(), key=len)
    n = len(layers)
    ends = sorted({math.floor(i * n / (count + 1) + 0.5) - 1
                   for i in range(1, count + 1)})
    return [layers[e] for e in ends if 0 <= e < n - 1]
