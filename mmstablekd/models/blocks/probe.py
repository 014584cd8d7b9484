"""Find out how a network's boundaries connect, with one dummy forward pass.

The probe runs ``model.extract_feat`` (backbone and neck of MMPretrain
classifiers and MMDetection detectors) on a dummy batch and records, for the
boundary modules:

- the order in which they produce their outputs (must be the config order);
- the output shapes (adapters, spatial checks);
- the *consumers*: the outermost modules that receive a boundary output as
  (part of) their input, and the block each consumer belongs to. A student
  block is fed the teacher's feature by swapping its consumers' inputs.
"""
from dataclasses import dataclass, field
from typing import Dict, List, Tuple

import torch
from torch import nn

from .module_paths import get_module, is_ancestor
from .nested import iter_tensors


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
        shapes (list[torch.Size]): each boundary's output shape for the
            probe batch, ``(1, C, H, W)``.
        consumers (dict[str, Consumer]): by module path.
        module_blocks (dict[str, int]): the block of every module the probe
            ran, by path; modules after ``extract_feat`` (the head) are not
            listed and belong to the last block.
    """
    boundaries: List[str]
    shapes: List[torch.Size]
    consumers: Dict[str, Consumer]
    module_blocks: Dict[str, int] = field(default_factory=dict)

    @property
    def num_blocks(self) -> int:
        return len(self.boundaries) + 1

    @property
    def channels(self) -> List[int]:
        return [shape[1] for shape in self.shapes]


def probe_blocks(model: nn.Module, boundaries: List[str],
                 input_shape: Tuple[int, ...], role: str) -> BlockPlan:
    """Probe ``model`` (eval mode, no grad) and return its :class:`BlockPlan`.

    Args:
        model: an MMPretrain classifier or MMDetection detector.
        boundaries: N - 1 module paths whose outputs end blocks 0..N-2.
        input_shape: ``(C, H, W)`` of the dummy image.
        role: ``'student'`` or ``'teacher'``, for error messages.

    Raises:
        ValueError: unknown path, boundary never reached, boundaries out of
            forward order, a boundary output that is not a tensor, or one
            that no later module receives.
    """
    if len(set(boundaries)) != len(boundaries):
        raise ValueError(f'{role} boundaries {boundaries} repeat a module.')
    modules = {path: get_module(model, path, role) for path in boundaries}
    outputs: Dict[str, torch.Tensor] = {}
    seen: Dict[str, Consumer] = {}
    module_blocks: Dict[str, int] = {}

    def record(path):

        def hook(module, args, output):
            outputs.setdefault(path, output)

        return hook

    def find_consumer(name):

        def hook(module, args, kwargs):
            module_blocks.setdefault(name, len(outputs))
            received = {id(t) for t in iter_tensors((args, kwargs))}
            hits = [
                j for j, path in enumerate(boundaries)
                if path in outputs and id(outputs[path]) in received
            ]
            if hits and name not in seen:
                seen[name] = Consumer(block=len(outputs), boundaries=hits)

        return hook

    handles = [m.register_forward_hook(record(p)) for p, m in modules.items()]
    handles += [
        m.register_forward_pre_hook(find_consumer(name), with_kwargs=True)
        for name, m in model.named_modules() if name
    ]
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            model.extract_feat(torch.rand(1, *input_shape))
    finally:
        model.train(was_training)
        for handle in handles:
            handle.remove()

    _check_reached(boundaries, outputs, role)
    shapes = []
    for path in boundaries:
        if not isinstance(outputs[path], torch.Tensor):
            raise ValueError(
                f'{role} boundary {path!r} returns {type(outputs[path])}, '
                f'not a tensor: choose a module that returns one feature map '
                f'(e.g. a ResNet stage such as backbone.layer1).')
        shapes.append(outputs[path].shape)

    # A module inside a consumer of the same boundary is fed through it.
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
        if not any(j in c.boundaries for c in consumers.values()):
            raise ValueError(
                f'No module receives the output of {role} boundary {path!r} '
                f'as its input (it is only used by code inside a parent '
                f"module's forward, or it is the last module of "
                f'extract_feat). Choose boundaries whose outputs are passed '
                f'to a following module, e.g. ResNet stages.')
    return BlockPlan(list(boundaries), shapes, consumers, module_blocks)


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
