"""Let a StableKD model load a student-only checkpoint."""
from torch import nn


def accept_student_only_weights(model: nn.Module, state_dict: dict,
                                prefix: str, *args) -> None:
    """``load_state_dict`` pre-hook: a student-only checkpoint (as exported
    by StudentExportHook, or a plain MMPretrain/MMDetection one) initialises
    the student; one that fits neither this model nor its student is an
    error rather than a run that silently starts from scratch."""
    keys = [k[len(prefix):] for k in state_dict if k.startswith(prefix)]
    if not keys or any(k.startswith('student.') for k in keys):
        return
    student = model.student.state_dict()
    missing = [k for k in student if k not in keys]
    mismatched = [
        f'{k}: {tuple(state_dict[prefix + k].shape)} vs '
        f'{tuple(v.shape)}' for k, v in student.items()
        if k in keys and state_dict[prefix + k].shape != v.shape
    ]
    if missing or mismatched:
        raise ValueError(
            f'The checkpoint holds no StableKD weights (no student.* keys) '
            f'and does not fit the student either: {len(missing)} missing '
            f'keys {missing[:5]}, {len(mismatched)} shape mismatches '
            f'{mismatched[:5]}. It was exported from another architecture: '
            f'load a checkpoint of this student config.')
    for k in keys:
        if k in student:
            state_dict[f'{prefix}student.{k}'] = state_dict.pop(prefix + k)
