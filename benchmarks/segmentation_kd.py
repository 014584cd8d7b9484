"""Segmentation distillation on the generated shapes: the PSPNet teacher,
the student alone, CWD KD and StableKD.

    OMP_NUM_THREADS=1 python benchmarks/segmentation_kd.py \
        [--work-dir work_dirs/segmentation_kd] \
        [--out docs/segmentation_kd.md] [--methods alone kd stablekd] \
        [--epochs 8] [--seeds 0 1 2] [--jobs 1] [--images 256 64] \
        [--teacher-epochs N] [--cfg-options KEY=VALUE ...]

The shipped demo configs (``configs/demo/*shapes-seg*``): PSPNet on a
dilated ResNet-18 (``-d8``), width 32 -> 16, 4 classes (background and
three shapes). The teacher is trained once (its demo config's 12 epochs
unless ``--teacher-epochs``); then per seed, through ``tools/train.py``,
for ``--epochs`` epochs: the student alone, CWD KD (channel-wise
distillation of the decode head's logits, tau 1, weight 5, end to end) and
StableKD as shipped (the KD config plus the 5-block recomposition:
decomposed / half-merged / end-to-end for 20% / 20% / 60%). Generated data:
256 training and 64 validation images of 128 x 128 pixels; mIoU (in %) on
the validation images, from MMSegmentation's IoUMetric.

Finished runs are kept in the work dir (``result.json``) and not run again
while their config and options are unchanged.
Writes a Markdown report: mIoU, mean ± std over seeds, and every run's.
"""
import glob
import json
import os
import os.path as osp
import statistics
import sys
import time

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path[:0] = [osp.join(ROOT, 'benchmarks')]
from heterogeneous_pairs import (add_budget_options, how_it_ran,  # noqa: E402
                                 save_report)
from runs import run_parallel, shapes_parser, train_once  # noqa: E402

CONFIGS = osp.join(ROOT, 'configs', 'demo')
TEACHER = 'pspnet_r18-w32-d8_shapes-seg_teacher.py'
METHODS = {  # name -> (table row, config)
    'alone': ('student alone', 'pspnet_r18-w16-d8_shapes-seg_student.py'),
    'kd': ('CWD KD', 'kd_pspnet_r18-w32-w16-d8_shapes-seg.py'),
    'stablekd': ('StableKD (shipped: CWD KD + recomposition)',
                 'stablekd_pspnet_r18-w32-w16-d8_shapes-seg.py'),
}


def data_options(data_root: str) -> list:
    """Point every dataloader at ``data_root``."""
    return [f'{loader}.dataset.data_root={data_root}' for loader in (
        'train_dataloader', 'val_dataloader', 'test_dataloader')]


def make_data(data_root: str, images) -> None:
    from mmstablekd.datasets import make_shapes_seg
    for split, num, seed in (('train', images[0], 0), ('val', images[1], 1)):
        if not osp.isdir(osp.join(data_root, 'ann_dir', split)):
            make_shapes_seg(data_root, split, num, seed=seed)


def read_result(work_dir: str) -> dict:
    """``mIoU`` (in %) of a finished run's last validation, and ``iters``."""
    import torch
    import mmstablekd  # noqa: F401  (safe loading of MMEngine checkpoints)
    ckpt = open(osp.join(work_dir, 'last_checkpoint')).read().strip()
    iters = torch.load(ckpt, map_location='cpu',
                       weights_only=True)['meta']['iter']
    path = sorted(glob.glob(osp.join(work_dir, '*', 'vis_data',
                                     'scalars.json')))[-1]
    rows = [json.loads(line) for line in open(path)]
    return dict(mIoU=[r for r in rows if 'mIoU' in r][-1]['mIoU'],
                iters=iters)


def run(config: str, work_dir: str, options: list, train=True):
    """Train once (or read the result of an earlier run); None when there
    is none and ``train`` is False."""
    return train_once(osp.join(CONFIGS, config), work_dir, options,
                      read_result, train)


def plan(methods, epochs: int, seeds, teacher_ckpt: str) -> list:
    """Every student run: ``((method, seed), config, options)``."""
    runs = []
    for seed in seeds:
        base = [f'randomness.seed={seed}', f'train_cfg.max_epochs={epochs}',
                f'train_cfg.val_interval={epochs}']  # at the end
        for method in methods:
            distilled = [] if method == 'alone' else [
                f'model.teacher_ckpt={teacher_ckpt}']
            runs.append(((method, seed), METHODS[method][1],
                         base + distilled))
    return runs


def comparison_table(results: dict, methods, seeds: int, teacher) -> str:
    """Rows: the teacher and the methods; mIoU mean ± std over seeds."""
    lines = ['| model | mIoU (%) | seeds |', '|---|---:|---:|',
             f'| teacher (width 32) | {teacher["mIoU"]:.2f} | 1 |']
    for method in methods:
        values = [v['mIoU'] for (m, _), v in results.items() if m == method]
        if not values:
            continue
        cell = f'{statistics.mean(values):.2f}'
        if len(values) > 1:
            cell += f' ± {statistics.stdev(values):.2f}'
        lines.append(f'| {METHODS[method][0]} | {cell} | {len(values)} |')
    return '\n'.join(lines)


def runs_table(results: dict) -> str:
    lines = ['| method | seed | mIoU (%) | iterations | wall (s) |',
             '|---|---:|---:|---:|---:|']
    for (method, seed), v in results.items():
        lines.append(f'| {METHODS[method][0]} | {seed} | {v["mIoU"]:.2f} | '
                     f'{v["iters"]} | {v["seconds"]:.0f} |')
    return '\n'.join(lines)


def main():
    parser = shapes_parser('segmentation_kd', __doc__, METHODS)
    parser.add_argument('--epochs', type=int, default=8,
                        help="the students' training epochs")
    add_budget_options(parser)
    args = parser.parse_args()
    os.environ.setdefault('OMP_NUM_THREADS', '1')
    start = time.time()
    data_root = osp.join(args.work_dir, 'shapes_seg')
    make_data(data_root, args.images)
    common = data_options(data_root) + args.cfg_options
    epochs = [] if args.teacher_epochs is None else [
        f'train_cfg.max_epochs={args.teacher_epochs}',
        f'train_cfg.val_interval={args.teacher_epochs}']
    teacher = run(TEACHER, osp.join(args.work_dir, 'teacher'),
                  epochs + common)
    runs = plan(args.methods, args.epochs, args.seeds, teacher['ckpt'])
    results = run_parallel(runs, args.jobs, lambda key, config, options: run(
        config, osp.join(args.work_dir, key[0], f'seed{key[1]}'),
        options + common, not args.report_only))
    table = comparison_table(results, args.methods, len(args.seeds), teacher)
    missing = len(runs) - len(results)
    minutes = None if args.report_only else (time.time() - start) / 60
    report = f'''# Segmentation KD on the shapes: StableKD against CWD KD

{how_it_ran(args.jobs, minutes)}
{f"{missing} planned runs had not run when this report was written." if
 missing else ""}

**Set-up.** {__doc__.split(chr(10) + chr(10))[2]}

Students trained for {args.epochs} epochs; teacher:
{teacher["iters"]} iterations.

## mIoU, mean ± std over seeds {args.seeds}

{table}

## Every run

{runs_table(results)}
'''
    save_report(args.out, report, table)


if __name__ == '__main__':
    main()
