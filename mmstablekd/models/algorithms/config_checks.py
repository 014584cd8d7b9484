"""Type and value checks of StableKD's arguments, run before anything is
built, so that a mistyped config fails at once with a message naming the
key, what it holds and what it expects."""
import re
from typing import Any, Callable, Dict

from mmstablekd.models.alignments.boundary_alignments import RESIZE_MODES
from mmstablekd.utils.config_checks import (check_bool, check_dict,
                                            check_list, check_number,
                                            check_str, fail, is_int,
                                            is_nonempty_str)

LOSS_EXAMPLE = "dict(type='KDLoss', temperature=4.0, loss_weight=0.9)"
BOUNDARY_EXAMPLE = ['backbone.layer1', 'backbone.layer2', 'backbone.layer3']


def check_loss_cfg(key: str, cfg: Any) -> None:
    """A loss config: a dict whose ``loss_weight`` is a number >= 0 and
    whose ``temperature`` (KD) is a number > 0."""
    check_dict(key, cfg, example=LOSS_EXAMPLE)
    if 'loss_weight' in cfg:
        check_number(f"{key}['loss_weight']", cfg['loss_weight'], minimum=0)
    if 'temperature' in cfg:
        check_number(f"{key}['temperature']", cfg['temperature'],
                     positive=True)


def check_boundaries(boundaries: Any) -> None:
    """Each side's boundaries: a list of module paths. (Whether
    ``boundaries`` is ``dict(student=..., teacher=...)`` is checked where
    the networks are probed.)"""
    if not isinstance(boundaries, dict):
        return
    for side in ('student', 'teacher'):
        if side in boundaries and boundaries[side] != 'auto':
            check_list(f'boundaries[{side!r}]', boundaries[side],
                       'a list of module paths', is_nonempty_str,
                       'a module path (a non-empty string)',
                       example=BOUNDARY_EXAMPLE)


def check_output_losses(output_losses: Any) -> None:
    """Names usable in ``loss_<name>`` and as module keys; module paths as
    strings; loss and connector configs as dicts. (Which keys an entry
    needs is checked when the losses are built.)"""
    check_dict('output_losses', output_losses, optional=True,
               example=f"dict(kd=dict(student='head', teacher='head', "
               f'loss={LOSS_EXAMPLE}))')
    for name, cfg in (output_losses or {}).items():
        if not isinstance(name, str) or not re.fullmatch(r'\w+', name):
            fail('an output_losses name', 'letters, digits and _ (it is '
                 'logged as loss_<name>)', name)
        if not isinstance(cfg, dict):
            continue
        key = f'output_losses[{name!r}]'
        for path in ('student', 'teacher', 'teacher_module'):
            if path in cfg:
                check_str(f'{key}[{path!r}]', cfg[path], 'a module path')
        if 'loss' in cfg:
            check_loss_cfg(f"{key}['loss']", cfg['loss'])
        if 'connector' in cfg:
            check_dict(f"{key}['connector']", cfg['connector'],
                       optional=True)


def check_task_loss_names(names: Any) -> None:
    """Renames of the student's loss keys: strings to strings, and a loss
    stays a loss (MMEngine sums only the keys that contain 'loss')."""
    check_dict('task_loss_names', names,
               example="dict(loss='loss_ce')")
    for old, new in names.items():
        key = f'task_loss_names[{old!r}]'
        if not isinstance(old, str):
            fail('task_loss_names keys', "strings (the student's loss keys)",
                 old)
        check_str(key, new, 'a loss key')
        if 'loss' in old and 'loss' not in new:
            fail(key, "a name containing 'loss'", new,
                 'MMEngine sums only the keys that contain "loss": this '
                 'loss would be logged but never trained.')


def check_resize(mode: Any) -> None:
    if mode is not None and mode not in RESIZE_MODES:
        fail('resize', f'one of {list(RESIZE_MODES)}, or None (sizes must '
             f'agree)', mode)


def check_alignment(alignment: Any) -> None:
    if alignment != 'auto' and not isinstance(alignment, (dict, type(None))):
        fail('alignment', "'auto', an alignment config (e.g. "
             "dict(type='PCAProjection')) or None", alignment)


def check_probe_input_shape(shape: Any) -> None:
    if shape is None:
        return
    check_list('probe_input_shape', shape, '(C, H, W): 3 positive ints',
               lambda v: is_int(v) and v > 0, 'a positive int',
               example=(3, 32, 32), length=3)


# argument name -> its check
CHECKS: Dict[str, Callable[[Any], Any]] = {
    'student': lambda v: check_dict(
        'student', v, example="{{_base_.model}} or dict(cfg_path=...)"),
    'teacher': lambda v: check_dict(
        'teacher', v, example="{{_base_.model}} or dict(cfg_path=...)"),
    'boundaries': check_boundaries,
    'teacher_ckpt': lambda v: v is None or check_str(
        'teacher_ckpt', v, 'a path or URL, or None'),
    'feat_loss': lambda v: check_loss_cfg('feat_loss', v),
    'output_losses': check_output_losses,
    'task_loss_weight': lambda v: check_number(
        'task_loss_weight', v, minimum=0),
    'task_loss_names': check_task_loss_names,
    'keep_internal_losses': lambda v: check_bool('keep_internal_losses', v),
    'alignment': check_alignment,
    'loss_aggregator': lambda v: check_dict(
        'loss_aggregator', v, optional=True,
        example="dict(type='AdaptiveLossAggregator')"),
    'resize': check_resize,
    'probe_input_shape': check_probe_input_shape,
    'inherit': lambda v: v in ([], ()) or check_list(
        'inherit', v, 'a list of module paths', is_nonempty_str,
        'a module path (a non-empty string)', example=['bbox_head']),
    'data_preprocessor': lambda v: check_dict(
        'data_preprocessor', v, optional=True),
}


def check_arguments(arguments: Dict[str, Any]) -> None:
    """Check the arguments of ``StableKD.__init__`` (its ``locals()``) that
    take a list, dict, number or choice.

    Raises:
        ValueError: naming the argument, what it got and what it expects.
    """
    for name, check in CHECKS.items():
        if name in arguments:
            check(arguments[name])
