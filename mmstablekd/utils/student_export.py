"""Turn a StableKD checkpoint into one the plain student model loads."""
import os.path as osp
from typing import Optional

import torch
from mmengine.runner import CheckpointLoader

PREFIX = 'student.'


def student_checkpoint(checkpoint: dict) -> dict:
    """Keep the student's weights (``student.`` prefix removed) and ``meta``;
    drop adapters, loss modules, optimizer and scheduler state.

    Raises:
        ValueError: the checkpoint holds no ``student.*`` weights.
    """
    state = checkpoint.get('state_dict', checkpoint)
    student = {
        k[len(PREFIX):]: v
        for k, v in state.items() if k.startswith(PREFIX)
    }
    if not student:
        raise ValueError(
            'The checkpoint has no student.* weights: it is not a StableKD '
            'checkpoint (a plain model checkpoint needs no conversion).')
    exported = {'state_dict': student}
    if 'meta' in checkpoint:
        exported['meta'] = checkpoint['meta']
    return exported


def export_student(src: str, dst: Optional[str] = None) -> str:
    """Write the student-only checkpoint of ``src`` to ``dst`` (default:
    ``<src>_student.pth``); returns ``dst``."""
    dst = dst or osp.splitext(src)[0] + '_student.pth'
    checkpoint = CheckpointLoader.load_checkpoint(src, map_location='cpu')
    torch.save(student_checkpoint(checkpoint), dst)
    return dst
