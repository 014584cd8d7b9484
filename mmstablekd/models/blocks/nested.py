"""Walk tensors nested in tuples, lists and dicts (module inputs/outputs)."""
from typing import Any, Callable, Iterator

import torch


def iter_tensors(obj: Any) -> Iterator[torch.Tensor]:
    """Yield every tensor in ``obj``, depth first."""
    if isinstance(obj, torch.Tensor):
        yield obj
    elif isinstance(obj, (tuple, list)):
        for item in obj:
            yield from iter_tensors(item)
    elif isinstance(obj, dict):
        for item in obj.values():
            yield from iter_tensors(item)


def map_tensors(obj: Any, fn: Callable[[torch.Tensor], torch.Tensor]) -> Any:
    """Rebuild ``obj`` with ``fn`` applied to each tensor in it."""
    if isinstance(obj, torch.Tensor):
        return fn(obj)
    if isinstance(obj, (tuple, list)):
        return type(obj)(map_tensors(item, fn) for item in obj)
    if isinstance(obj, dict):
        return type(obj)((k, map_tensors(v, fn)) for k, v in obj.items())
    return obj


def zip_tensors(what: str, student: Any, teacher: Any) -> Iterator[tuple]:
    """Pair the tensors of a student and a teacher output (e.g. FPN levels,
    level by level); ``what`` names the comparison in the error.

    Raises:
        ValueError: the outputs hold different numbers of tensors, which
            ``zip`` would silently truncate.
    """
    student, teacher = list(iter_tensors(student)), list(iter_tensors(teacher))
    if len(student) != len(teacher):
        raise ValueError(
            f'{what} compares {len(student)} student tensors with '
            f'{len(teacher)} teacher tensors (e.g. FPN levels: '
            f'{[tuple(t.shape) for t in student]} vs '
            f'{[tuple(t.shape) for t in teacher]}). Compare modules whose '
            f'outputs correspond one to one, e.g. necks with the same '
            f'num_outs.')
    return zip(student, teacher)
