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
    still cut from the gradient of the group before it.

    Args:
        student (nn.Module): the student network.
        plan (BlockPlan): the student's block plan.
    """

    def __init__(self, student: nn.Module, plan: BlockPlan) -> None:
        self.plan = plan
        self.own_share = 0.0
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
                if not self.own_share:
                    return self._feed(j)
                return torch.lerp(self._feed(j), tensor.detach(),
                                  self.own_share)

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
