"""Find out how a network's boundaries connect, with one dummy forward pass.

The probe runs ``model.extract_feat`` (backbone and neck of MMPretrain
classifiers and MMDetection detectors; for MMSegmentation segmentors, their
heads too: :func:`run_heads`) on a dummy batch and records, for the
boundary modules:

- the order in which they produce their outputs (must be the config order);
- the layout of each output (:class:`FeatureLayout`: map or tokens, width,
  stride), for alignments and checks;
- the *consumers*: the outermost modules that receive a boundary output as
  (part of) their input, and the block each consumer belongs to. A student
  block is fed the teacher's feature by swapping its consumers' inputs.
"""
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Dict, Iterator, List, Set, Tuple

import torch
from torch import nn

from .layouts import FeatureLayout, detect_layout
from .module_paths import get_module, is_ancestor
from .nested import iter_tensors
from .segmentation import run_heads
from .train_mode import changed_in_training, consequence


@dataclass
class Consumer:
    """A module that receives boundary outputs.

    Attributes:
        block (int): the block the module belongs to (the number of
            boundaries passed before it runs).
        boundaries (list[int]): indices of the boundaries whose outputs it
            receives.
    """
    block: int
    boundaries: List[int] = field(default_factory=list)


@dataclass
class BlockPlan:
    """How ``N - 1`` boundaries cut a network into ``N`` blocks.

    Attributes:
        boundaries (list[str]): module paths, in forward order.
        layouts (list[FeatureLayout]): how each boundary returns its
            feature (map or tokens, width, stride).
        consumers (dict[str, Consumer]): by module path.
        module_blocks (dict[str, int]): the block of every module the probe
            ran, by path; modules after ``extract_feat`` (a classifier's or
            detector's head) are not listed and belong to the last block.
        input_shape (tuple): ``(C, H, W)`` of the probe image.
    """
    boundaries: List[str]
    layouts: List[FeatureLayout]
    consumers: Dict[str, Consumer]
    module_blocks: Dict[str, int] = field(default_factory=dict)
    input_shape: Tuple[int, ...] = ()

    @property
    def num_blocks(self) -> int:
        return len(self.boundaries) + 1

    @property
    def channels(self) -> List[int]:
        return [layout.channels for layout in self.layouts]

    def feature(self, j: int, outputs: Dict[str, Any]) -> torch.Tensor:
        """Boundary ``j``'s feature among recorded ``outputs`` (by path)."""
        return self.layouts[j].feature(outputs[self.boundaries[j]])

    def describe(self, j: int) -> str:
        """Boundary ``j``'s layout at the probe input, e.g. ``map
        64x8x8``."""
        return self.layouts[j].describe(self.input_shape[1:])


def probe_blocks(model: nn.Module,
                 boundaries: List[str],
                 input_shape: Tuple[int, ...],
                 role: str,
                 fed: bool = True,
                 check_training: bool = True) -> BlockPlan:
    """Probe ``model`` (eval mode, no grad) and return its :class:`BlockPlan`.

    Args:
        model: an MMPretrain classifier, MMDetection detector or
            MMSegmentation segmentor.
        boundaries: N - 1 module paths whose outputs end blocks 0..N-2.
        input_shape: ``(C, H, W)`` of the dummy image.
        role: ``'student'`` or ``'teacher'``, for error messages.
        fed: whether the blocks after the boundaries will be fed (the
            student's): each boundary's output must then reach a later
            module. A teacher's boundaries are only read.
        check_training: with ``fed``, also refuse a boundary whose output
            changes in training; ``False`` where the caller checked
            already (:func:`auto_boundaries` does).

    Raises:
        ValueError: unknown path, boundary never reached, boundaries out of
            forward order, a boundary output that holds no feature, or (with
            ``fed``) one that no later module receives or that changes in
            training (:func:`changed_in_training`).
    """
    if len(set(boundaries)) != len(boundaries):
        raise ValueError(f'{role} boundaries {boundaries} repeat a module.')
    watched = {path: get_module(model, path, role) for path in boundaries}
    traced = trace(model, watched, input_shape)
    _check_reached(boundaries, traced.outputs, role)
    if fed and check_training:
        _check_same_in_training(model, watched, input_shape, role)
    extra_tokens = getattr(getattr(model, 'backbone', None),
                           'num_extra_tokens', 0)
    layouts = []
    for path in boundaries:
        layout = detect_layout(traced.outputs[path], input_shape[1:],
                               extra_tokens)
        if layout is None:
            raise ValueError(
                f'{role} boundary {path!r} returns '
                f'{_describe(traced.outputs[path])}, which holds no feature '
                f'map (N, C, H, W) or tokens (N, L, C) tiling the '
                f'{tuple(input_shape[1:])} input: choose a module that '
                f'returns one (e.g. a ResNet stage such as backbone.layer1, '
                f'a ViT layer such as backbone.layers.5, a Swin stage such '
                f'as backbone.stages.1).')
        layouts.append(layout)

    # A module inside a consumer of the same boundary is fed through it.
    seen = traced.receivers(boundaries)
    consumers = {}
    for name, consumer in seen.items():
        hits = [
            j for j in consumer.boundaries
            if not any(j in seen[other].boundaries and is_ancestor(other, name)
                       for other in seen)
        ]
        if hits:
            consumers[name] = Consumer(consumer.block, hits)
    for j, path in enumerate(boundaries):
        if fed and not any(j in c.boundaries for c in consumers.values()):
            raise ValueError(
                f'No module receives the output of {role} boundary {path!r} '
                f'as its input (it is only used by code inside a parent '
                f"module's forward, or it is the last module of "
                f'extract_feat). Choose boundaries whose outputs are passed '
                f'to a following module, e.g. ResNet stages.')
    return BlockPlan(list(boundaries), layouts, consumers,
                     traced.module_blocks, tuple(input_shape))


@dataclass
class Trace:
    """What one dummy forward pass did (see :func:`trace`).

    Attributes:
        outputs (dict): watched path -> its output, in the order produced.
        calls (dict): every module that ran -> for each call, the number
            of watched outputs produced before it and the ids of the tensors
            it received (positional and keyword inputs).
        timeline (list): every call in the order it started, ``(step,
            module path, ids received)``; steps count calls and returns.
        returned (dict): id of every tensor a module returned -> the step
            at which it was first returned.
        finished (dict): module path -> the step at which its first call
            returned.
    """
    outputs: Dict[str, Any]
    calls: Dict[str, List[Tuple[int, Set[int]]]]
    timeline: List[Tuple[int, str, Set[int]]] = field(default_factory=list)
    returned: Dict[int, int] = field(default_factory=dict)
    finished: Dict[str, int] = field(default_factory=dict)

    @property
    def module_blocks(self) -> Dict[str, int]:
        """Module path -> the number of watched outputs produced before it
        first ran."""
        return {name: calls[0][0] for name, calls in self.calls.items()}

    def receivers(self, paths: List[str]) -> Dict[str, Consumer]:
        """Every module that received (part of) the output of a watched
        path in ``paths`` after it was produced, by module path, at the
        first call where it did."""
        order = {path: i for i, path in enumerate(self.outputs)}
        ids = [{id(t) for t in iter_tensors(self.outputs[p])}
               if p in order else set() for p in paths]
        found = {}
        for name, calls in self.calls.items():
            for block, received in calls:
                hits = [j for j, path in enumerate(paths)
                        if order.get(path, block) < block
                        and ids[j] & received]
                if hits:
                    found[name] = Consumer(block, hits)
                    break
        return found


def trace(model: nn.Module, watched: Dict[str, nn.Module],
          input_shape: Tuple[int, ...]) -> Trace:
    """Run ``model.extract_feat`` (and a segmentor's heads) once on a
    random ``(1, *input_shape)`` batch (eval mode, no grad), recording the
    outputs of the ``watched`` modules and what every module received."""
    outputs: Dict[str, Any] = {}
    calls: Dict[str, List[Tuple[int, Set[int]]]] = {}
    traced = Trace(outputs, calls)
    alive = []  # every returned tensor, so that no id is reused meanwhile

    def record(path):

        def hook(module, args, output):
            outputs.setdefault(path, output)

        return hook

    def receive(name):

        def hook(module, args, kwargs):
            ids = {id(t) for t in iter_tensors((args, kwargs))}
            calls.setdefault(name, []).append((len(outputs), ids))
            traced.timeline.append((len(alive), name, ids))
            alive.append(None)

        return hook

    def returned(name):

        def hook(module, args, output):
            alive.append(output)
            traced.finished.setdefault(name, len(alive))
            for t in iter_tensors(output):
                traced.returned.setdefault(id(t), len(alive))

        return hook

    handles = [m.register_forward_hook(record(p)) for p, m in watched.items()]
    for name, m in model.named_modules():
        if name:
            handles.append(
                m.register_forward_pre_hook(receive(name), with_kwargs=True))
            handles.append(m.register_forward_hook(returned(name)))
    try:
        with dummy_pass(model):
            run_heads(model, model.extract_feat(torch.rand(1, *input_shape)))
    finally:
        for handle in handles:
            handle.remove()
    return traced


@contextmanager
def dummy_pass(model: nn.Module) -> Iterator[None]:
    """Eval mode and no grad for a dummy forward pass; the mode is
    restored."""
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            yield
    finally:
        model.train(was_training)


def _describe(output: Any) -> str:
    if isinstance(output, torch.Tensor):
        return f'a tensor of shape {tuple(output.shape)}'
    if isinstance(output, (tuple, list)):
        return f'a {type(output).__name__} of ' + ', '.join(
            _describe(item) for item in output)
    return repr(type(output))


def _check_same_in_training(model, watched, input_shape, role):
    changed = changed_in_training(model, watched, input_shape)
    if changed:
        path, how = next(iter(changed.items()))
        raise ValueError(
            f'{role} boundary {path!r} returns {how} (e.g. TridentNet\'s '
            f'branches), {consequence(how)}: end the blocks before that '
            f"module (boundaries='auto' does).")


def _check_reached(boundaries, outputs, role):
    missing = [p for p in boundaries if p not in outputs]
    if missing:
        raise ValueError(
            f'{role} boundaries {missing} are never reached by '
            f'extract_feat (e.g. a stage that out_indices/num_stages leave '
            f'unused); boundaries must lie in the backbone or neck.')
    order = sorted(boundaries, key=list(outputs).index)
    if order != list(boundaries):
        raise ValueError(
            f'{role} boundaries {list(boundaries)} are not in forward order; '
            f'the forward pass reaches them as {order}. List them in that '
            f'order.')
