"""Which module outputs change their structure in training.

A plan is probed in eval mode, but a student block is fed in training. Where
a module returns other tensors in training than in eval mode (TridentNet's
``layer3`` runs three branches while training and one in eval mode), a
block fed the teacher's feature there would get one branch of the
teacher's and keep the others of the student's own. Where a trained module's
output carries no gradient in training (RevViT's layers run inside one
autograd Function, ``RevBackProp``, that frees their outputs), a feature
loss there would train nothing.
"""
from typing import Any, Dict, List, Tuple

import torch
from torch import nn

from .nested import iter_tensors

BATCH = 2  # batch norm in training needs more than one value per channel
NO_GRADIENT = 'without a gradient'


def changed_in_training(model: nn.Module, watched: Dict[str, nn.Module],
                        input_shape: Tuple[int, ...]) -> Dict[str, str]:
    """The ``watched`` modules (by path) whose outputs differ in training.

    Runs ``model.extract_feat`` on one random ``(2, *input_shape)`` batch in
    eval mode without gradients and once in training, leaving the model's
    buffers (batch-norm statistics), its mode and the random state as they
    were.

    Returns:
        dict[str, str]: path -> ``'<eval structure> in eval mode but
        <training structure> in training'``, e.g. ``'1 tensor (2, 64, 4, 4)
        ...'``, or ``'... without a gradient in training'``; modules that
        return the same shapes, with gradients, are not listed.
    """
    buffers = {name: b.clone() for name, b in model.named_buffers()}
    was_training = model.training
    with torch.random.fork_rng(devices=[]), torch.no_grad():
        image = torch.rand(BATCH, *input_shape)
        try:
            shapes = [_output_shapes(model, watched, image, training)
                      for training in (False, True)]
        finally:
            model.train(was_training)
            for name, b in model.named_buffers():
                b.copy_(buffers[name])
    return {
        path: f'{_describe(shapes[0][path])} in eval mode but '
        f'{_describe(shapes[1][path])} in training'
        for path in watched if shapes[0].get(path) != shapes[1].get(path)
    }


def _output_shapes(model, watched, image, training) -> Dict[str, List]:
    """Path -> the shapes of the tensors its first call returned."""
    shapes: Dict[str, List[Tuple[int, ...]]] = {}

    def record(path):

        def hook(module, args, output):
            tensors = list(iter_tensors(output))
            found = [tuple(t.shape) for t in tensors]
            if training and any(p.requires_grad
                                for p in module.parameters()) and not any(
                                    t.requires_grad for t in tensors):
                found.append(NO_GRADIENT)
            shapes.setdefault(path, found)

        return hook

    handles = [m.register_forward_hook(record(p)) for p, m in watched.items()]
    try:
        model.train(training)
        with torch.set_grad_enabled(training):
            model.extract_feat(image)
    finally:
        for handle in handles:
            handle.remove()
    return shapes


def _describe(shapes: Any) -> str:
    if shapes is None:
        return 'nothing'
    sizes = [s for s in shapes if s != NO_GRADIENT]
    listed = ', '.join(str(s) for s in sizes)
    return (f'{len(sizes)} tensor{"s" * (len(sizes) != 1)} {listed}' +
            f' {NO_GRADIENT}' * (NO_GRADIENT in shapes))


def consequence(how: str) -> str:
    """What a block fed or ending where the output changes as ``how``
    (:func:`changed_in_training`) would do."""
    if NO_GRADIENT in how:
        return ('so a feature loss there would train nothing (made under '
                'no_grad or inside an autograd Function: build RevViT '
                'with no_custom_backward=True)')
    return ("so a block fed the teacher's feature there would keep part "
            "of the student's own")
