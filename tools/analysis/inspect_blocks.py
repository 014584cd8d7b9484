"""Print the block plan of a StableKD config, without training.

    python tools/analysis/inspect_blocks.py CONFIG [--cfg-options k=v ...]

Builds student and teacher (the teacher checkpoint is not loaded unless
--load-teacher is given), traces one dummy forward, and prints for every
boundary the module paths, output layouts (map C x H x W, or tokens
extra + patches x C) and alignment, the modules that start each block, the
student's parameters per block, and the config lines that pin the boundaries
(what ``boundaries='auto'`` chose). A config with a
problem (unknown path, out-of-order or unreached boundary, shape mismatch,
...) prints the problem and exits with status 1.
"""
import argparse
import sys
from collections import Counter

from mmengine.config import Config, DictAction
from mmengine.registry import MODELS, DefaultScope

import mmstablekd  # noqa: F401
from mmstablekd.models.blocks import parameter_blocks
from mmstablekd.models.blocks.input_shape import fill_probe_input_shape


def build(cfg: Config, load_teacher: bool):
    fill_probe_input_shape(cfg)
    model_cfg = dict(cfg.model)
    if not load_teacher:
        model_cfg['teacher_ckpt'] = None
    model_cfg.setdefault('data_preprocessor', cfg.get('data_preprocessor'))
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope')):
        return MODELS.build(model_cfg)


def block_params(model) -> Counter:
    """Student parameters per block (modules the probe did not reach, e.g.
    the head, are counted in the last block)."""
    blocks = parameter_blocks(model.student, model.student_plan)
    counts = Counter()
    for name, param in model.student.named_parameters():
        counts[blocks[name]] += param.numel()
    return counts


def alignment_of(model, j: int) -> str:
    """What turns the teacher's boundary-``j`` feature into the student's:
    a layout change, a resize, a width alignment, or nothing."""
    teacher, student = model.alignments.layouts[j]
    steps = []
    if teacher.kind != student.kind:
        steps.append(f'{teacher.kind} -> {student.kind}')
    if teacher.stride != student.stride:
        steps.append(f'{model.alignments.resize} resize')
    if j in model.alignments:
        steps.append(type(model.alignments.by_boundary[str(j)]).__name__)
    return ', '.join(steps) or 'none'


def pinning_lines(model) -> str:
    """The config lines that give these boundaries explicitly (what
    ``boundaries='auto'`` chose, to pin it)."""
    def paths(plan):
        return ',\n'.join(f'            {p!r}' for p in plan.boundaries)

    return (f'model = dict(\n    boundaries=dict(\n        student=[\n'
            f'{paths(model.student_plan)}],\n        teacher=[\n'
            f'{paths(model.teacher_plan)}]))')


def report(model) -> str:
    s_plan, t_plan = model.student_plan, model.teacher_plan
    lines = ['| boundary | student module | student output | teacher module '
             '| teacher output | alignment |', '|---|---|---|---|---|---|']
    for j in range(model.num_blocks - 1):
        lines.append(
            f'| {j} | {s_plan.boundaries[j]} | {s_plan.describe(j)} '
            f'| {t_plan.boundaries[j]} | {t_plan.describe(j)} | '
            f'{alignment_of(model, j)} |')
    params = block_params(model)
    starts = {}
    for name, consumer in s_plan.consumers.items():
        starts.setdefault(consumer.block, []).append(name)
    lines += ['', '| block | fed at (student modules) | student parameters |',
              '|---|---|---:|']
    for b in range(model.num_blocks):
        fed = ', '.join(starts.get(b, [])) or '(input image)'
        lines.append(f'| {b} | {fed} | {params[b]:,} |')
    shape = (1, *model.probe_input_shape)
    lines.append(f'\nprobe input: {shape}; groups without a schedule: '
                 f'{[list(g) for g in model.groups]}')
    lines.append(f'\nTo pin these boundaries in the config:\n\n'
                 f'{pinning_lines(model)}')
    return '\n'.join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config')
    parser.add_argument('--load-teacher', action='store_true',
                        help='also load and check teacher_ckpt')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    args = parser.parse_args()
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    try:
        model = build(cfg, args.load_teacher)
    except (ValueError, KeyError, FileNotFoundError, RuntimeError) as err:
        print(f'PROBLEM: {err}')
        sys.exit(1)
    print(report(model))


if __name__ == '__main__':
    main()
