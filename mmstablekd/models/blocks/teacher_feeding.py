"""Feed student blocks with the teacher's features instead of their own."""
from contextlib import contextmanager
from typing import Callable, Dict, Iterator, List

import torch
from torch import nn

from .direct_calls import register_direct_call_hooks
from .groups import Groups, group_index_of_blocks
from .module_paths import get_module
from .nested import map_tensors
from .probe import BlockPlan, Consumer


class TeacherFeeding:
    """Forward-pre-hooks on the student's consumer modules (see
    :func:`probe_blocks`).

    Inside :meth:`feeding`, a consumer in group ``g`` that receives the
    output of a boundary ``j`` of *another* group gets ``feed(j)`` (the
    teacher's boundary-``j`` feature, through its input adapter) in its
    place. The gradient path between groups is cut there, so every group is
    optimised on its own. Consumers in the same group as the boundary keep
    the student's own feature. Outside :meth:`feeding` the hooks do nothing.

    With :attr:`own_share` ``s`` above 0, a fed consumer receives
    ``(1 - s) * feed(j) + s * own`` instead, ``own`` being the student's
    own (detached) boundary-``j`` feature: at 1 it is fed its real input,
    still cut from the gradient of the group before it. With
    ``statistics='own'``, ``feed(j)`` is first given ``own``'s per-channel
    mean and standard deviation over the batch (:func:`match_statistics`):
    the teacher's pattern at the scale the student's block works at.

    Args:
        student (nn.Module): the student network.
        plan (BlockPlan): the student's block plan.
        statistics (str): per-channel statistics of the fed feature,
            ``'teacher'`` (as aligned) or ``'own'``. Default: 'teacher'.
    """

    def __init__(self,
                 student: nn.Module,
                 plan: BlockPlan,
                 statistics: str = 'teacher') -> None:
        self.plan = plan
        self.own_share = 0.0
        self.own_statistics = statistics == 'own'
        self._swaps = None
        for name, consumer in plan.consumers.items():
            module = get_module(student, name, 'student')
            hook = self._make_hook(consumer)
            module.register_forward_pre_hook(hook, with_kwargs=True)
            # a consumer run by consumer.forward(x) skips that hook (an
            # MMSegmentation head inside head.loss). On a call both run;
            # the second finds no student feature left to swap.
            register_direct_call_hooks(module, pre=hook)

    def _make_hook(self, consumer: Consumer):

        def hook(module, args, kwargs):
            if self._swaps is None:
                return None
            swapped = self._swaps(consumer)
            if not swapped:
                return None

            def swap(tensor):
                j = swapped.get(id(tensor))
                if j is None:
                    return tensor
                fed, own = self._feed(j), tensor.detach()
                if self.own_statistics:
                    fed = match_statistics(fed, own)
                if not self.own_share:
                    return fed
                return torch.lerp(fed, own, self.own_share)

            return map_tensors(args, swap), map_tensors(kwargs, swap)

        return hook

    def fed_boundaries(self, groups: Groups) -> List[int]:
        """Boundaries whose output some consumer in another group receives:
        in ``groups``, the teacher's feature is fed in their place."""
        group_of = group_index_of_blocks(groups)
        return sorted({
            j
            for consumer in self.plan.consumers.values()
            for j in consumer.boundaries
            if group_of[j] != group_of[consumer.block]
        })

    @contextmanager
    def feeding(self, boundary_outputs: Dict[str, torch.Tensor],
                groups: Groups,
                feed: Callable[[int], torch.Tensor]) -> Iterator[None]:
        """Swap inputs during the ``with`` body.

        Args:
            boundary_outputs: the student's boundary outputs by path, filled
                in as the forward pass goes (an :class:`OutputRecorder`'s
                ``outputs``).
            groups: the current grouping.
            feed: ``feed(j)`` returns the tensor that replaces the output of
                boundary ``j``.
        """
        group_of = group_index_of_blocks(groups)

        def swaps(consumer: Consumer) -> Dict[int, int]:
            """id of a received student tensor -> boundary to feed instead."""
            return {
                id(self.plan.feature(j, boundary_outputs)): j
                for j in consumer.boundaries
                if group_of[j] != group_of[consumer.block]
                and self.plan.boundaries[j] in boundary_outputs
            }

        self._swaps, self._feed = swaps, feed
        try:
            yield
        finally:
            self._swaps = self._feed = None


def match_statistics(feature: torch.Tensor,
                     reference: torch.Tensor,
                     eps: float = 1e-5) -> torch.Tensor:
    """``feature`` standardised per channel, then given ``reference``'s
    per-channel mean and standard deviation; both taken over the batch and
    the positions of maps ``(N, C, H, W)``, tokens ``(N, L, C)`` or vectors
    ``(N, C)``. Shapes: ``feature`` and ``reference`` alike, returned
    alike."""
    dims = {4: (0, 2, 3), 3: (0, 1), 2: (0, )}.get(feature.dim())
    if dims is None or feature.shape != reference.shape:
        raise ValueError(
            'match_statistics takes two maps (N, C, H, W), token sequences '
            '(N, L, C) or vectors (N, C) of one shape, got '
            f'{tuple(feature.shape)} and {tuple(reference.shape)}.')
    mean, var = (torch.mean(feature, dims, keepdim=True),
                 torch.var(feature, dims, unbiased=False, keepdim=True))
    ref_mean, ref_var = (torch.mean(reference, dims, keepdim=True),
                         torch.var(reference, dims, unbiased=False,
                                   keepdim=True))
    return (feature - mean) * torch.sqrt((ref_var + eps) /
                                         (var + eps)) + ref_mean
