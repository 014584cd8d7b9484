"""StableKD's output losses: distillation paths between two modules."""
import re
from typing import Dict, List, Tuple

import torch
from torch import nn

from ..blocks.module_paths import get_module
from ..blocks.nested import map_tensors, zip_tensors
from ..builder import build_component


class OutputPaths(nn.Module):
    """The output losses of a student-teacher pair, by name.

    Each path compares the outputs of two recorded modules:
    ``name -> dict(student=path, teacher=path, loss=cfg)``, optionally with
    ``connector=cfg`` (a trainable module the student's output goes through
    first) and ``teacher_module=path`` (a frozen teacher module it then goes
    through; the ``teacher`` path itself takes the student's output whole,
    e.g. CrossKD's FPN levels through the teacher's ``bbox_head``, any
    other module tensor by tensor, e.g. ``head.fc``).

    Losses and connectors are trained with the student (they are in the
    state dict as ``losses.<name>`` and ``connectors.<name>``); the teacher
    modules stay outside the module tree, like the teacher.

    Args:
        paths (dict): the paths' configs by name (``output_losses`` of
            :class:`StableKD`).
        teacher (nn.Module): the frozen teacher the ``teacher_module``
            paths are looked up in.
    """

    def __init__(self, paths: Dict[str, dict], teacher: nn.Module) -> None:
        super().__init__()
        paths = _check_paths(paths)
        self.ends: Dict[str, Tuple[str, str]] = {
            name: (cfg['student'], cfg['teacher'])
            for name, cfg in paths.items()
        }
        self.losses = nn.ModuleDict({
            name: build_component(cfg['loss'])
            for name, cfg in paths.items()
        })
        self.connectors = nn.ModuleDict({
            name: build_component(cfg['connector'])
            for name, cfg in paths.items() if cfg.get('connector')
        })
        self._teacher_modules = {
            name: get_module(teacher, cfg['teacher_module'], 'teacher')
            for name, cfg in paths.items() if cfg.get('teacher_module')
        }
        self._whole = {
            name for name, cfg in paths.items()
            if cfg.get('teacher_module') == cfg['teacher']
        }

    @property
    def names(self) -> List[str]:
        return list(self.ends)

    def forward(self, name: str, student, teacher) -> torch.Tensor:
        """Loss ``name`` between the student's and the teacher's recorded
        outputs: tensor by tensor (e.g. FPN levels), summed, or whole for
        a loss that declares ``nested_outputs`` (a head's
        ``(cls_scores, bbox_preds)``)."""
        student = self._student_side(name, student)
        loss = self.losses[name]
        if getattr(loss, 'nested_outputs', False):
            return loss(student, teacher)
        return sum(loss(s, t) for s, t in zip_tensors(
            f'output_losses[{name!r}]', student, teacher))

    def _student_side(self, name: str, out):
        """The student's output through the path's connector, then its
        frozen teacher module, where the path has them."""
        if name in self.connectors:
            out = map_tensors(out, self.connectors[name])
        if name in self._teacher_modules:
            module = self._teacher_modules[name]
            out = module(out) if name in self._whole else \
                map_tensors(out, module)
        return out


def _check_paths(paths: Dict[str, dict]) -> Dict[str, dict]:
    """Each entry needs ``student``, ``teacher`` and ``loss``."""
    allowed = {'student', 'teacher', 'loss', 'connector', 'teacher_module'}
    for name, cfg in paths.items():
        if not isinstance(cfg, dict) or not {'student', 'teacher', 'loss'
                                             } <= set(cfg) <= allowed:
            raise ValueError(
                f'output_losses[{name!r}] must be dict(student=path, '
                f'teacher=path, loss=dict(type=...)) with optional connector= '
                f'and teacher_module=, got {cfg!r}.')
        if name == 'task' or re.fullmatch(r'feat_b\d+', name):
            raise ValueError(
                f'output_losses may not be named {name!r}: that name is '
                f"taken by the student's own losses ('task') and the "
                f"boundary feature losses ('feat_b<j>'). Rename it.")
    return paths
