"""Student modules that start from the teacher's weights ("inheriting")."""
from typing import Sequence

from torch import nn

from ..blocks.module_paths import get_module


def check_inheritable(student: nn.Module, teacher: nn.Module,
                      paths: Sequence[str]) -> None:
    """Each of ``paths`` names a module in both networks with the same
    parameters and buffers (names and shapes).

    Raises:
        ValueError: naming the path and the first entries that differ.
    """
    for path in paths:
        ours = get_module(student, path, 'student').state_dict()
        theirs = get_module(teacher, path, 'teacher').state_dict()
        differ = [
            f'{k}: student {tuple(ours[k].shape) if k in ours else None}, '
            f'teacher {tuple(theirs[k].shape) if k in theirs else None}'
            for k in sorted(set(ours) | set(theirs))
            if k not in ours or k not in theirs
            or ours[k].shape != theirs[k].shape
        ]
        if differ:
            raise ValueError(
                f'inherit: the student cannot start from the teacher\'s '
                f'{path!r}: {len(differ)} of its weights differ in name or '
                f'shape ({differ[:3]}). Inherit only modules of the same '
                f'architecture and widths in both (e.g. a detector\'s '
                f"'bbox_head' when both heads have the same in_channels and "
                f'feat_channels), or remove {path!r} from inherit.')


def inherit_weights(student: nn.Module, teacher: nn.Module,
                    paths: Sequence[str]) -> None:
    """Copy the teacher's weights of each module in ``paths`` into the
    student's module at the same path."""
    for path in paths:
        get_module(student, path, 'student').load_state_dict(
            get_module(teacher, path, 'teacher').state_dict())
