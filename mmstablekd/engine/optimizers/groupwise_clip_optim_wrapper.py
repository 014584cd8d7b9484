from contextlib import contextmanager

from mmengine.optim import OptimWrapper

from mmstablekd.registry import OPTIM_WRAPPERS


@OPTIM_WRAPPERS.register_module()
class GroupwiseClipOptimWrapper(OptimWrapper):
    """``OptimWrapper`` that clips the gradient of each group of StableKD's
    blocks on its own.

    While StableKD trains its blocks in several groups, each group learns
    from its own losses only (the teacher feeds it and targets its end), so
    the groups are separate problems trained in one step. ``OptimWrapper``'s
    ``clip_grad`` clips the norm of all gradients together: the group with
    the largest gradient (typically a block's feature loss) then shrinks
    every other group's step, e.g. that of the head block, which learns the
    task. Here ``clip_grad`` applies to each group's parameters separately
    (those of its student blocks; the parameters outside the student, such
    as a learned alignment, form one more set). With one group (end to end)
    it is ``OptimWrapper``'s clip.

    The model is the one :meth:`optim_context` is entered with (a
    ``StableKD``, or a DDP wrapper of one). The logged ``grad_norm`` is the
    largest group's norm before clipping.

    Args:
        **kwargs: arguments of ``OptimWrapper``; ``clip_grad`` is required
            (``type='norm'``, the default, or ``'value'``).
    """

    def __init__(self, **kwargs) -> None:
        if not kwargs.get('clip_grad'):
            raise ValueError(
                'GroupwiseClipOptimWrapper clips each group of blocks, but '
                'clip_grad is not set: add e.g. '
                'optim_wrapper.clip_grad=dict(max_norm=10.0), or use '
                "type='OptimWrapper' for no clipping.")
        super().__init__(**kwargs)
        self._distiller = None

    @contextmanager
    def optim_context(self, model):
        distiller = getattr(model, 'module', model)  # DDP wraps it
        if not callable(getattr(distiller, 'group_parameters', None)):
            raise TypeError(
                f'GroupwiseClipOptimWrapper clips the groups of a '
                f"mmstablekd.StableKD model, but the model is a "
                f"{type(distiller).__name__}: use type='OptimWrapper' "
                f'(one clip for all parameters).')
        self._distiller = distiller
        with super().optim_context(model):
            yield

    def _clip_grad(self) -> None:
        norms = []
        for params in self._distiller.group_parameters():
            params = [p for p in params if p.grad is not None]
            if params:
                norm = self.clip_func(params, **self.clip_grad_kwargs)
                if norm is not None:  # clip_grad_value_ returns None
                    norms.append(float(norm))
        if norms:
            self.message_hub.update_scalar(f'train/{self.grad_name}',
                                           max(norms))
