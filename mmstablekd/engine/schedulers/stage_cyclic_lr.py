"""One learning-rate cycle per recomposition stage ("triangular2")."""
from bisect import bisect_right
from typing import Dict, List, Union

from mmengine.optim.scheduler.lr_scheduler import LRSchedulerMixin
from mmengine.optim.scheduler.param_scheduler import INF, _ParamScheduler

from mmstablekd.registry import PARAM_SCHEDULERS
from mmstablekd.utils.config_checks import check_number
from ..stages import check_begins, stage_list, stage_starts


@PARAM_SCHEDULERS.register_module()
class StageCyclicLR(LRSchedulerMixin, _ParamScheduler):
    """A warm-up at every grouping change: within each stage of the
    recomposition schedule the learning rate rises linearly from a floor to
    a peak half way through the stage and falls back, and the peak's height
    above the floor is multiplied by ``decay`` from one stage to the next
    (StableKD's "triangular2": ``decay=0.5``).

    In stage ``k`` (``k = 0, 1, ...``), ``x`` the share of the stage
    passed, ``[0, 1)``::

        lr = base_lr * (floor_ratio + (peak_ratio - floor_ratio)
                        * decay ** k * (1 - |2x - 1|))

    so the first epoch/iteration of every stage is at the floor. The stages
    are the ones ``RecompositionHook`` applies (declared once as the
    config's ``recomposition``; ``mmstablekd.PortableRunner`` hands them
    over), so moving a stage moves its cycle. ``begin`` shares of training
    are rounded like the hook rounds them: with ``convert_to_iter_based``
    in whole epochs, then counted in iterations. The value is a closed form
    of the step, so a resumed run continues the same curve.

    Args:
        optimizer (Optimizer | OptimWrapper): the wrapped optimizer.
        stages (dict | list[dict]): the recomposition schedule; only the
            ``begin`` of each stage is read.
        peak_ratio (float): the first stage's peak, times the base learning
            rate. Default: 10 (the authors').
        floor_ratio (float): the floor, times the base learning rate.
            Default: 0.003 (the authors').
        decay (float): factor of the peak's height above the floor from one
            stage to the next. Default: 0.5.
        begin, end (int): steps the scheduler acts on; ``end`` (the end of
            the last stage) defaults to the training length in the Runner.
        last_step (int): MMEngine's resume counter. Default: -1.
        by_epoch (bool): stages and steps count epochs (True) or
            iterations.
        verbose (bool): print every update.
    """

    def __init__(self,
                 optimizer,
                 stages: Union[Dict[str, dict], List[dict], None] = None,
                 peak_ratio: float = 10.,
                 floor_ratio: float = 0.003,
                 decay: float = 0.5,
                 begin: int = 0,
                 end: int = INF,
                 last_step: int = -1,
                 by_epoch: bool = True,
                 verbose: bool = False) -> None:
        self.peak_ratio = check_number('StageCyclicLR peak_ratio', peak_ratio,
                                       positive=True)
        self.floor_ratio = check_number('StageCyclicLR floor_ratio',
                                        floor_ratio, positive=True)
        self.decay = check_number('StageCyclicLR decay', decay, positive=True)
        # where each stage starts, then where the last one ends
        self.starts = _starts(stages, end) + [end]
        if any(a >= b for a, b in zip(self.starts, self.starts[1:])):
            raise ValueError(
                f'StageCyclicLR stages start at {self.starts[:-1]} and end '
                f'at {end}: every stage must last at least one step.')
        super().__init__(
            optimizer,
            begin=begin,
            end=end,
            last_step=last_step,
            by_epoch=by_epoch,
            verbose=verbose)

    @classmethod
    def build_iter_from_epoch(cls,
                              *args,
                              stages=None,
                              begin=0,
                              end=INF,
                              by_epoch=True,
                              epoch_length=None,
                              **kwargs):
        """The iteration-based twin of an epoch-based config: stage starts
        in whole epochs (as an epoch-based ``RecompositionHook`` applies
        them), counted in iterations."""
        assert by_epoch and epoch_length, \
            'convert_to_iter_based needs by_epoch=True and epoch_length.'
        stages = [
            dict(begin=start * epoch_length)
            for start in _starts(stages, end)
        ]
        return cls(
            *args,
            stages=stages,
            begin=begin * epoch_length,
            end=end * epoch_length,
            by_epoch=False,
            **kwargs)

    def _get_value(self) -> List[float]:
        step = self.begin + self.last_step
        stage = bisect_right(self.starts, step) - 1
        start, stop = self.starts[stage], self.starts[stage + 1]
        rise = 1 - abs(2 * (step - start) / (stop - start) - 1)
        ratio = self.floor_ratio + (self.peak_ratio - self.floor_ratio) * (
            self.decay**stage) * rise
        return [base * ratio for base in self.base_values]


def _starts(stages, end) -> List[int]:
    """The step each stage starts at, for training that ends at ``end``."""
    if end == INF:
        raise ValueError(
            'StageCyclicLR needs an end (the Runner sets it to the training '
            'length when the config leaves it out).')
    begins = [s['begin'] for s in stage_list(stages, 'StageCyclicLR')]
    check_begins(begins, 'StageCyclicLR')
    return stage_starts(begins, end)
