from bisect import bisect_right
from typing import Dict, List, Optional, Union

from mmengine.hooks import Hook

from mmstablekd.registry import HOOKS
from ..optimizers import cap_grad_norm, check_grad_norm_cap
from ..stages import check_begins, stage_list, stage_starts
from .alignment_fit_hook import fit_before_training
from .distiller import distiller_of
from mmstablekd.utils.config_checks import (LIST_TYPES, check_bool,
                                            check_list, fail, is_int,
                                            is_nonempty_str, is_number)


@HOOKS.register_module()
class RecompositionHook(Hook):
    """Apply a schedule of block groupings (StableKD's recomposition).

    Each stage names the grouping the model trains with from its ``begin``
    on, until the next stage begins; the last lasts until the end. The
    stages are declared once, at the top of the config, by name (see
    :mod:`mmstablekd.engine.stages`), and handed to this hook and to the
    learning-rate cycles (``StageCyclicLR``)::

        recomposition = dict(
            decomposed=dict(begin=0, groups=[[0], [1], [2], [3]]),
            half=dict(begin=48, groups=[[0, 1], [2, 3]]),
            merged=dict(begin=96, groups=[[0, 1, 2, 3]]))
        custom_hooks = [dict(type='mmstablekd.RecompositionHook')]

    ``begin`` may also be a share of the training length in ``(0, 1)``
    (``begin=0.2``: after 20% of the epochs/iterations), so that one schedule
    serves any ``max_epochs``; it is rounded to a whole epoch/iteration.

    A stage may also list the losses it trains (``losses=[...]``, names
    from the model's ``loss_names``: ``'task'``, ``'feat_b<j>'``, output
    losses), e.g. InDistill's curriculum, with the student end to end::

        stages=[dict(begin=0, losses=['feat_b0']),
                dict(begin=3, losses=['feat_b1']),
                dict(begin=7, losses=['feat_b2']),
                dict(begin=12, losses=['pkt']),
                dict(begin=20, losses=['task', 'kd'])]

    A stage may also move what its fed blocks receive from the teacher's
    feature towards the student's own (detached) feature: ``own_input``,
    the student's share, a number or ``[at the stage's begin, at its
    end]``, linear in iterations in between (default 0, the teacher's
    feature only). The shipped bases (``4blocks_20-20.py`` and those
    inheriting it) set ``half=dict(..., own_input=[0, 1])``: the
    half-merged groups move to their own inputs before the blocks merge,
    so the composed student they make is the one they were trained as.

    Without ``groups`` a stage trains end to end; without ``losses`` it
    trains every loss its grouping implies. Such a stage leaves parameters
    without gradients, as do trainable parts outside the student (learned
    alignments, loss weights) in the stages that do not use them, so such
    configs declare ``model_wrapper_cfg=dict(find_unused_parameters=True)``
    (MMEngine's DDP, also under MMPretrain's and MMDetection's
    ``dist_train.sh``); a distributed run without it is refused before
    training.

    The hook also caps the gradient norm for the whole run (``clip_grad``):
    the decomposed blocks' first gradients are 10-30x KD's, and StableKD
    clipped at norm 10 beat it unclipped on every task measured (the
    digits grids, where the clip binds only while decomposed; RetinaNet
    and FCOS on the shapes, replacing MMDetection's 35; PSPNet on the
    shapes, unclipped before; see docs/diagnosis.md). An optim wrapper that
    already clips tighter keeps its clip.

    The grouping is derived from the runner's epoch (or iteration) before
    each one, so a resumed run lands in the stage of the resumed epoch. Every
    change is logged, and the stage index is logged with the losses as
    ``recomposition_stage``.

    Args:
        stages (dict | list[dict]): ``name -> dict(begin=..., groups=[[...],
            ...], losses=[...], own_input=...)`` (all but ``begin``
            optional), or a
            list of such dicts in the order they run; ``begin`` all integers,
            or all shares of training after the first, the first at 0.
            Default: the config's ``recomposition``, handed over by
            ``mmstablekd.PortableRunner``.
        by_epoch (bool): ``begin`` counts epochs (True) or iterations.
        clip_grad (dict, optional): the highest gradient norm the optim
            wrapper steps with, ``dict(max_norm=..., norm_type=...)`` as
            ``torch.nn.utils.clip_grad_norm_`` takes it; None leaves the
            optim wrapper's clip as configured. Default:
            ``dict(max_norm=10.0)``.
    """

    priority = 'NORMAL'

    def __init__(self,
                 stages: Union[Dict[str, dict], List[dict], None] = None,
                 by_epoch: bool = True,
                 clip_grad: Optional[dict] = dict(max_norm=10.0)) -> None:
        stages = stage_list(stages, 'RecompositionHook')
        if not all(set(s) <= {'name', 'begin', 'groups', 'losses',
                              'own_input'} for s in stages):
            raise ValueError(
                f'RecompositionHook stages hold dict(begin=..., '
                f'groups=[[...], ...], losses=[...], own_input=...) (all but '
                f'begin optional), got {stages!r}.')
        _check_stage_types(stages, by_epoch)
        begins = [s['begin'] for s in stages]
        check_begins(begins, 'RecompositionHook')
        self.stages = stages
        # whether any stage sets own_input (else the model's is never set)
        self._sets_own_input = any('own_input' in s for s in stages)
        self.begins = begins  # shares become whole numbers in before_train
        self.by_epoch = by_epoch
        self.clip_grad = check_grad_norm_cap('RecompositionHook clip_grad',
                                             clip_grad)
        self._unit = 'epoch' if by_epoch else 'iter'
        # what the model returned last iteration: keys it stops returning
        # when the stage changes are dropped from the log
        self._logged_keys = set()

    def before_train(self, runner) -> None:
        """Check every stage against the model and the training length,
        cap the gradient norm, then fit the alignments the stages use that
        need a fit (e.g. ``PCAProjection``), unless a checkpoint brought them
        fitted."""
        model = self._model(runner)
        length = runner.max_epochs if self.by_epoch else runner.max_iters
        self.begins = stage_starts([s['begin'] for s in self.stages],
                                   length)
        for index, begin in enumerate(self.begins):
            if begin >= length:
                raise ValueError(
                    f'RecompositionHook stage {index} begins at {self._unit} '
                    f'{begin}, but training lasts {length} {self._unit}s: '
                    f'move its begin before the end, or drop it.')
            if index and begin <= self.begins[index - 1]:
                raise ValueError(
                    f'RecompositionHook stage {index} begins at {self._unit} '
                    f'{begin}, no later than the stage before it, once shares '
                    f'are rounded for {length} {self._unit}s: space the '
                    f'stages further apart.')
        used = set()
        for index in range(len(self.stages)):
            try:
                used.update(
                    model.grouping.boundaries_used(*self._stage(model, index)))
            except ValueError as err:
                raise ValueError(
                    f'RecompositionHook stage {index}: {err}') from None
        if getattr(runner.model, 'find_unused_parameters', True) is False:
            self._check_all_parameters_used(model)
        self._check_cycles_follow(runner)
        if self.clip_grad is not None:
            for line in cap_grad_norm(runner.optim_wrapper, self.clip_grad,
                                      'RecompositionHook'):
                runner.logger.info(f'RecompositionHook: {line}')
        fit_before_training(runner, model, boundaries=used)

    def _check_cycles_follow(self, runner) -> None:
        """Refuse learning-rate cycles (``StageCyclicLR``) whose stages
        start elsewhere than this hook's, e.g. one counting epochs and the
        other iterations."""
        per_epoch = len(runner.train_dataloader)
        ours = self._begin_iters(runner)
        schedulers = runner.param_schedulers or []
        if isinstance(schedulers, dict):  # one list per optimizer
            schedulers = [s for group in schedulers.values() for s in group]
        for scheduler in schedulers:
            starts = getattr(scheduler, 'starts', None)
            if starts is None:
                continue
            theirs = [b * per_epoch if scheduler.by_epoch else b
                      for b in starts[:-1]]
            if theirs != ours:
                raise ValueError(
                    f'{type(scheduler).__name__} cycles start at iterations '
                    f'{theirs}, but RecompositionHook stages at {ours}: give '
                    f'both the same stages (the top-level `recomposition`) '
                    f'and count both in epochs or both in iterations.')

    def _check_all_parameters_used(self, model) -> None:
        """Refuse a schedule that leaves trainable parameters without
        gradients in some stage (DDP without ``find_unused_parameters``
        stops at the first such iteration)."""
        if any('losses' in s for s in self.stages):
            why = 'stages that list `losses` train part of the model'
        elif model.may_leave_parameters_unused():
            why = ('parameters outside the student (learned alignments, '
                   'connectors, loss weights) train only while their loss '
                   'is active')
        else:
            return
        raise ValueError(
            f'RecompositionHook: {why}, which leaves parameters without '
            f'gradients in some stage, and DDP refuses them: set '
            f'model_wrapper_cfg=dict(find_unused_parameters=True) in the '
            f'config.')

    def before_train_epoch(self, runner) -> None:
        if self.by_epoch:
            self._apply(runner, runner.epoch)

    def before_train_iter(self,
                          runner,
                          batch_idx: int,
                          data_batch: Optional[dict] = None) -> None:
        index = self._apply(runner, runner.epoch if self.by_epoch else
                            runner.iter)
        runner.message_hub.update_scalar('train/recomposition_stage', index)
        if self._sets_own_input:
            share = self._own_input(runner, index)
            self._model(runner).set_own_input(share)
            runner.message_hub.update_scalar('train/own_input', share)

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch: Optional[dict] = None,
                         outputs: Optional[dict] = None) -> None:
        """Stop logging the losses of the previous stage: MMEngine's log
        keeps showing the last value of a key that is no longer updated."""
        keys = set(outputs or {})
        for key in self._logged_keys - keys:
            runner.message_hub.log_scalars.pop(f'train/{key}', None)
        self._logged_keys = keys

    def _apply(self, runner, progress: int) -> int:
        """Set the grouping and losses of the stage that ``progress`` falls
        in."""
        index = bisect_right(self.begins, progress) - 1
        model = self._model(runner)
        groups, losses = self._stage(model, index)
        if (groups, losses) != (model.groups, model.active_losses):
            model.set_groups(groups)
            model.set_active_losses(losses)
            runner.logger.info(
                f'Recomposition: {self._unit} {progress} starts stage '
                f'{index}{_named(self.stages[index])}, groups '
                f'{[list(g) for g in groups]}' +
                (f', losses {list(losses)}' if losses else ''))
        return index

    def _own_input(self, runner, index: int) -> float:
        """Stage ``index``'s ``own_input`` at the runner's iteration: a
        ramp reaches its end value on the stage's last iteration."""
        value = self.stages[index].get('own_input', 0.0)
        if is_number(value):
            return float(value)
        start, end = (self._begin_iters(runner) +
                      [runner.max_iters])[index:index + 2]
        done = min((runner.iter - start) / max(end - start - 1, 1), 1.0)
        return value[0] + (value[1] - value[0]) * done

    def _begin_iters(self, runner) -> List[int]:
        """The iteration each stage begins at."""
        per = len(runner.train_dataloader) if self.by_epoch else 1
        return [b * per for b in self.begins]

    def _stage(self, model, index: int):
        """The validated ``(groups, losses)`` of stage ``index``."""
        stage = self.stages[index]
        groups = model.grouping.check_groups(
            stage.get('groups', [list(range(model.num_blocks))]))
        losses = stage.get('losses')
        return groups, None if losses is None else \
            model.grouping.check_losses(losses)

    @staticmethod
    def _model(runner):
        return distiller_of(runner, 'RecompositionHook', 'set_groups')


def _check_stage_types(stages: List[dict], by_epoch) -> None:
    """The type of each stage entry (the values are checked against the
    model and the training length in ``before_train``)."""
    check_bool('RecompositionHook by_epoch', by_epoch)
    for index, stage in enumerate(stages):
        key = f'RecompositionHook stages[{index}]'
        begin = stage['begin']
        if not (is_int(begin) and begin >= 0) and not (
                isinstance(begin, float) and 0 < begin < 1):
            fail(f"{key}['begin']", 'an epoch or iteration (an int >= 0) '
                 'or a share of training (a float in (0, 1))', begin)
        if 'groups' in stage:
            check_list(f"{key}['groups']", stage['groups'],
                       'a list of lists of block indices',
                       lambda g: isinstance(g, LIST_TYPES) and all(
                           is_int(b) for b in g),
                       'a list of block indices (ints)',
                       example=[[0], [1], [2], [3]])
        if 'own_input' in stage and not _is_own_input(stage['own_input']):
            fail(f"{key}['own_input']", "the student's share of a fed "
                 "block's input: a number in [0, 1], or [at the stage's "
                 'begin, at its end], e.g. [0, 1]', stage['own_input'])
        if 'losses' in stage:
            check_list(f"{key}['losses']", stage['losses'],
                       'a list of loss names', is_nonempty_str,
                       "a loss name (a string, e.g. 'feat_b0')",
                       example=['feat_b0', 'kd'])


def _is_own_input(value) -> bool:
    """A share in ``[0, 1]`` or a pair of them."""
    values = list(value) if isinstance(value, LIST_TYPES) and len(
        value) == 2 else [value]
    return all(is_number(v) and 0 <= v <= 1 for v in values)


def _named(stage: dict) -> str:
    """`` (name)`` of a stage declared by name, else nothing."""
    return f' ({stage["name"]})' if 'name' in stage else ''
