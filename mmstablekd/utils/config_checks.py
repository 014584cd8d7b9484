"""Type and value checks of config entries, with messages that name the key,
what it holds and what it should hold.

Each ``check_*`` returns the value when it is valid and raises
``ValueError`` otherwise (the error type of every other config mistake in
this package), e.g.::

    boundaries['student'] must be a list of module paths, got the string
    'backbone.layer1'. Write ['backbone.layer1'] for a single path.
"""
import math
import numbers
from typing import Any, Callable, Optional, Sequence

LIST_TYPES = (list, tuple)  # configs may hold either


def describe(value: Any) -> str:
    """``value`` as a message shows it: its repr and, but for strings and
    None, its type."""
    if isinstance(value, str):
        return f'the string {value!r}'
    if value is None:
        return 'None'
    return f'{value!r} ({type(value).__name__})'


def fail(key: str, expected: str, value: Any, fix: str = '') -> None:
    """Raise the error of a config entry ``key`` holding ``value``."""
    raise ValueError(f'{key} must be {expected}, got {describe(value)}.' +
                     (f' {fix}' if fix else ''))


def is_number(value: Any) -> bool:
    """A finite real number; booleans are no numbers here."""
    return isinstance(value, numbers.Real) and not isinstance(
        value, bool) and math.isfinite(value)


def is_int(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def check_number(key: str, value: Any, minimum: Optional[float] = None,
                 positive: bool = False) -> float:
    """A finite number, ``> 0`` when ``positive``, ``>= minimum`` when
    given."""
    if not is_number(value) or (positive and value <= 0) or (
            minimum is not None and value < minimum):
        bound = ' > 0' if positive else (
            f' >= {minimum}' if minimum is not None else '')
        fail(key, f'a number{bound}', value)
    return value


def check_bool(key: str, value: Any) -> bool:
    if not isinstance(value, bool):
        fail(key, 'True or False', value)
    return value


def check_dict(key: str, value: Any, optional: bool = False,
               example: str = '') -> Optional[dict]:
    """A dict (a config section), or None when ``optional``."""
    if value is None and optional:
        return value
    if not isinstance(value, dict):
        fail(key, 'a dict' + (' or None' if optional else '') +
             (f', e.g. {example}' if example else ''), value)
    return value


def check_str(key: str, value: Any, what: str = 'a string') -> str:
    if not isinstance(value, str) or not value:
        fail(key, f'{what} (a non-empty string)', value)
    return value


def check_list(key: str, value: Any, what: str, item: Callable[[Any], bool],
               item_what: str, example: Sequence = (),
               length: Optional[int] = None) -> list:
    """A non-empty list (or tuple) whose items all pass ``item``.

    ``what`` names the whole (``'a list of module paths'``), ``item_what``
    one item (``'a module path'``), ``length`` the required length if any.
    A bare string, which would be iterated character by character, gets a
    hint of its own.
    """
    eg = f', e.g. {list(example)}' if example else ''
    if isinstance(value, str):
        fail(key, what, value, f'Write [{value!r}] for a single one{eg}.')
    if not isinstance(value, LIST_TYPES) or not value or (
            length is not None and len(value) != length):
        fail(key, what + eg, value)
    for index, entry in enumerate(value):
        if not item(entry):
            fail(f'{key}[{index}]', item_what, entry)
    return list(value)


def is_nonempty_str(value: Any) -> bool:
    """E.g. a module path (``'backbone.layer1'``) or a loss name."""
    return isinstance(value, str) and bool(value)
