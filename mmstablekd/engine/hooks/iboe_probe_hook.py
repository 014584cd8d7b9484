"""Measure inter-block optimisation entanglement (IBOE) during training."""
import json
import os.path as osp
from contextlib import contextmanager, nullcontext
from typing import Dict, List, Optional

import torch
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from mmstablekd.models.blocks import parameter_blocks
from mmstablekd.models.blocks.nested import iter_tensors
from mmstablekd.registry import HOOKS
from mmstablekd.utils.random_state import random_state_kept


@HOOKS.register_module()
class IBOEProbeHook(Hook):
    """Per student block, every ``interval`` iterations, at fixed weights:

    - ``grad_noise``: ``tr(Var[g]) / ||E[g]||^2`` of the block's gradient
      ``g`` of the training loss (the current grouping's losses summed) over
      ``num_batches`` fixed mini-batches;
    - ``update_cos``: cosine between the parameter updates of the probed
      iteration and the next one (what the optimizer actually applied);
    - ``input_drift``: ``||x - x_prev|| / ||x_prev||`` of what the block is
      fed on the first probe batch, against the previous probe. A block fed
      by the teacher gets the teacher's feature (through its input adapter);
      otherwise the student's own boundary output. Block 0 is fed the image
      (0 by construction); ``None`` at the first probe.

    StableKD's claim predicts, against end-to-end KD at the same iteration,
    less gradient noise, more aligned consecutive updates and less input
    drift. Figures are logged through the
    message hub as ``iboe_b<block>_<figure>`` (no ``loss`` in the names) and
    written, one record per probe, to ``out_file`` in the work dir.

    The probe leaves training exactly as it would be without it: the probe
    batches are drawn once, before training, and gradients are taken with
    ``torch.autograd.grad`` (no ``.grad``, no optimizer step). It runs in
    train mode, because the gradients of interest are those training sees
    (BatchNorm on batch statistics); the running statistics that train mode
    updates are saved before and restored after each probe, and the random
    number generators are restored after the batches are drawn. Cost: about
    ``num_batches`` forward/backward passes per probe, i.e. an overhead of
    ``num_batches / interval`` iterations per iteration.

    Args:
        interval (int): probe at iterations ``0, interval, 2 * interval...``
            (the last iteration excluded: its update has no successor);
            at least 2.
        num_batches (int): mini-batches of the training loader (the first
            ones of the first epoch, preprocessed as in training) in the
            gradient-noise estimate; at least 2.
        out_file (str): JSON file name, in the work dir.
    """

    # after RecompositionHook (NORMAL): probe the iteration's grouping
    priority = 'LOW'

    def __init__(self,
                 interval: int = 10,
                 num_batches: int = 4,
                 out_file: str = 'iboe_probe.json') -> None:
        if interval < 2 or num_batches < 2:
            raise ValueError(
                f'IBOEProbeHook needs interval >= 2 (a probe waits for the '
                f'next iteration\'s update) and num_batches >= 2 (a variance '
                f'needs two gradients), got interval={interval}, '
                f'num_batches={num_batches}.')
        self.interval, self.num_batches = interval, num_batches
        self.out_file = out_file
        self.records: List[dict] = []
        self._batches: List[dict] = []
        self._params: Dict[int, list] = {}  # block -> its student parameters
        self._inputs_before: Optional[List[torch.Tensor]] = None
        self._pending: Optional[dict] = None  # a probe awaiting its updates

    # ---------------------------------------------------------------- hooks
    def before_train(self, runner) -> None:
        model = _unwrap(runner.model)
        blocks = parameter_blocks(model.student, model.student_plan)
        self._params = {b: [] for b in range(model.num_blocks)}
        for name, param in model.student.named_parameters():
            if param.requires_grad:
                self._params[blocks[name]].append(param)
        with random_state_kept():
            loader = iter(runner.train_dataloader)
            for _ in range(self.num_batches):
                try:
                    data = next(loader)
                except StopIteration:
                    raise ValueError(
                        f'IBOEProbeHook: num_batches={self.num_batches} but '
                        f'the training loader has fewer batches: lower '
                        f'num_batches.') from None
                self._batches.append(model.data_preprocessor(data, True))

    def before_train_iter(self, runner, batch_idx, data_batch=None) -> None:
        if runner.iter % self.interval or runner.iter + 1 >= runner.max_iters:
            return
        model = _unwrap(runner.model)
        noise, inputs = self.measure(model)
        drift = [None] * len(inputs) if self._inputs_before is None else [
            _relative_change(before, now)
            for before, now in zip(self._inputs_before, inputs)
        ]
        self._inputs_before = inputs
        self._pending = dict(
            iter=runner.iter,
            groups=[list(g) for g in model.groups],
            grad_noise=noise,
            input_drift=drift,
            weights=[self._flat_weights(model)])

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None) -> None:
        if self._pending is None:
            return
        weights = self._pending['weights']
        weights.append(self._flat_weights(_unwrap(runner.model)))
        if len(weights) < 3:  # the next iteration's update is still to come
            return
        start, middle, end = weights
        update_cos = [
            _cosine(m - s, e - m) for s, m, e in zip(start, middle, end)
        ]
        pending, self._pending = self._pending, None
        record = dict(iter=pending['iter'], groups=pending['groups'],
                      blocks=[dict(grad_noise=n, update_cos=c, input_drift=d)
                              for n, c, d in zip(pending['grad_noise'],
                                                 update_cos,
                                                 pending['input_drift'])])
        self.records.append(record)
        for b, figures in enumerate(record['blocks']):
            for name, value in figures.items():
                if value is not None:
                    runner.message_hub.update_scalar(
                        f'train/iboe_b{b}_{name}', value)
        if runner.rank == 0:
            with open(osp.join(runner.work_dir, self.out_file), 'w') as f:
                json.dump(dict(interval=self.interval,
                               num_batches=self.num_batches,
                               records=self.records), f, indent=1)

    # ---------------------------------------------------------------- probe
    def measure(self, model):
        """Gradient noise per block and the blocks' inputs on the first
        probe batch, at the model's current weights and grouping; leaves
        weights, ``.grad``, buffers and random state as they were.

        Returns:
            tuple: ``grad_noise`` (list of float, one per block; None for a
            block without gradient) and ``inputs`` (list of 1-D tensors,
            what each block was fed).
        """
        blocks = sorted(self._params)
        params = [p for b in blocks for p in self._params[b]]
        buffers = [buf.detach().clone() for buf in model.buffers()]
        grads: Dict[int, List[torch.Tensor]] = {b: [] for b in blocks}
        try:
            with random_state_kept():
                for k, data in enumerate(self._batches):
                    capture = self._block_inputs(model) if k == 0 \
                        else nullcontext({})
                    with capture as fed:
                        losses = model(**data, mode='loss')
                    if k == 0:
                        fed[0] = [data['inputs']]  # block 0: the image
                        inputs = [_flat(fed.get(b, [])) for b in blocks]
                    loss, _ = model.parse_losses(losses)
                    by_param = dict(zip(params, torch.autograd.grad(
                        loss, params, allow_unused=True)))
                    for b in blocks:
                        grads[b].append(_flat([
                            torch.zeros_like(p) if by_param[p] is None else
                            by_param[p] for p in self._params[b]
                        ]))
        finally:
            with torch.no_grad():  # BatchNorm running statistics
                for buf, saved in zip(model.buffers(), buffers):
                    buf.copy_(saved)
        noise = [_gradient_noise(torch.stack(grads[b])) for b in blocks]
        return noise, inputs

    @contextmanager
    def _block_inputs(self, model):
        """Yield ``fed``: ``fed[block]`` collects what the modules that start
        blocks 1..N-1 receive during the ``with`` body. The
        forward-pre-hooks run after StableKD's own, so they see the
        teacher's feature where it is swapped in."""
        fed: Dict[int, List[torch.Tensor]] = {}
        handles = []
        for name, consumer in model.student_plan.consumers.items():

            def hook(module, args, kwargs, block=consumer.block):
                fed.setdefault(block, []).extend(iter_tensors((args, kwargs)))

            handles.append(model.student.get_submodule(
                name).register_forward_pre_hook(hook, with_kwargs=True))
        try:
            yield fed
        finally:
            for handle in handles:
                handle.remove()

    def _flat_weights(self, model) -> List[torch.Tensor]:
        """Each block's student parameters, as one 1-D copy."""
        return [_flat(self._params[b]) for b in sorted(self._params)]


def _unwrap(model):
    model = model.module if is_model_wrapper(model) else model
    if not hasattr(model, 'student_plan'):
        raise TypeError(
            f'IBOEProbeHook probes the blocks of a mmstablekd.StableKD model '
            f'(KD or StableKD config), got {type(model).__name__}.')
    return model


def _flat(tensors: List[torch.Tensor]) -> torch.Tensor:
    """One detached float 1-D copy of ``tensors``."""
    if not tensors:
        return torch.zeros(0)
    return torch.cat([t.detach().flatten().float() for t in tensors])


def _gradient_noise(grads: torch.Tensor) -> Optional[float]:
    """``tr(Var[g]) / ||E[g]||^2`` of ``grads`` ``(K, P)`` (unbiased
    variance over the K mini-batches); None if the mean is 0."""
    mean = grads.mean(0)
    variance = ((grads - mean)**2).sum() / (grads.shape[0] - 1)
    power = mean.square().sum()
    return (variance / power).item() if power > 0 else None


def _cosine(a: torch.Tensor, b: torch.Tensor) -> Optional[float]:
    """Cosine of two 1-D tensors; None if either is zero."""
    norms = a.norm() * b.norm()
    return (a @ b / norms).item() if norms > 0 else None


def _relative_change(before: torch.Tensor, now: torch.Tensor) -> float:
    """``||now - before|| / ||before||`` (0 for an unchanged input)."""
    if before.shape != now.shape:
        raise ValueError(
            f'IBOEProbeHook: a block input changed shape between probes '
            f'({tuple(before.shape)} -> {tuple(now.shape)}).')
    change = (now - before).norm()
    return (change / before.norm()).item() if change > 0 else 0.0
