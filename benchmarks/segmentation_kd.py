"""Segmentation distillation on the generated shapes: the PSPNet teacher,
the student alone, CWD KD and StableKD.

    OMP_NUM_THREADS=1 python benchmarks/segmentation_kd.py \
        [--work-dir work_dirs/segmentation_kd] \
        [--out docs/segmentation_kd.md] [--methods alone kd kd-clip \
        stablekd stablekd-noclip stablekd-rel10 stablekd-teacher-fed \
        stablekd-short] \
        [--epochs 8 [4 ...]] [--seeds 0 1 2] [--jobs 1] [--images 256 64] \
        [--teacher-epochs N] [--cfg-options KEY=VALUE ...]

The shipped demo configs (``configs/demo/*shapes-seg*``): PSPNet on a
dilated ResNet-18 (``-d8``), width 32 -> 16, 4 classes (background and
three shapes). The teacher is trained once (its demo config's 12 epochs
unless ``--teacher-epochs``); then per seed and budget (``--epochs``),
through ``tools/train.py``: the student alone; CWD KD (channel-wise
distillation of the decode head's logits, tau 1, weight 5, end to end),
also with the gradient norm clipped at 10; StableKD as shipped (the KD
config plus the 5-block recomposition: decomposed / half-merged /
end-to-end for 20% / 20% / 60%, the half-merged groups moving from the
teacher's features to their own; the RecompositionHook clips the gradient
norm at 10) and its variants: without the clip, with the relative
feature loss weighted 10 (the model's default: 30) as the classification
configs weight it, with the half-merged groups fed the teacher's features
throughout (``own_input`` 0, the paper's), and decomposed / half-merged
for 10% / 10% (refused by the recomposition under 10 epochs, where its
stages would share an epoch). Generated data: 256 training and 64
validation images of 128 x 128 pixels; mIoU (in %) on the validation
images, from MMSegmentation's IoUMetric.

Finished runs are kept in the work dir (``result.json``) and not run again
while their config and options are unchanged.
Writes a Markdown report: mIoU, mean ± std over seeds, and every run's.
"""
import os
import os.path as osp
import statistics
import sys
import time

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path[:0] = [osp.join(ROOT, 'benchmarks')]
from heterogeneous_pairs import (add_budget_options, how_it_ran,  # noqa: E402
                                 save_report)
from runs import (CLIP10, NO_CAP, REL10, run_parallel,  # noqa: E402
                  shapes_parser, student_options, train_once)

CONFIGS = osp.join(ROOT, 'configs', 'demo')
TEACHER = 'pspnet_r18-w32-d8_shapes-seg_teacher.py'
KD = 'kd_pspnet_r18-w32-w16-d8_shapes-seg.py'
STABLEKD = 'stablekd_pspnet_r18-w32-w16-d8_shapes-seg.py'
METHODS = {  # name -> (table row, config, what the run sets on top of it)
    'alone': ('student alone', 'pspnet_r18-w16-d8_shapes-seg_student.py',
              []),
    'kd': ('CWD KD', KD, []),
    'kd-clip': ('CWD KD, gradient norm clipped at 10', KD, CLIP10),
    'stablekd': ('StableKD (shipped: CWD KD + recomposition)', STABLEKD, []),
    'stablekd-noclip': ('StableKD without the gradient clip', STABLEKD,
                        NO_CAP),
    'stablekd-rel10': ('StableKD, relative feature loss weight 10',
                       STABLEKD, REL10),
    'stablekd-teacher-fed': ("StableKD, half-merged groups fed the "
                             "teacher's features throughout (own_input 0)",
                             STABLEKD, ['recomposition.half.own_input=0.0']),
    'stablekd-short': ('StableKD, decomposed 10% / half-merged 10%',
                       STABLEKD, ['recomposition.half.begin=0.1',
                                  'recomposition.merged.begin=0.2']),
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
    rows = mmstablekd.utils.logged_scalars(work_dir)
    return dict(mIoU=[r for r in rows if 'mIoU' in r][-1]['mIoU'],
                iters=iters)


def run(config: str, work_dir: str, options: list, train=True):
    """Train once (or read the result of an earlier run); None when there
    is none and ``train`` is False."""
    return train_once(osp.join(CONFIGS, config), work_dir, options,
                      read_result, train)


def plan(methods, budgets, seeds, teacher_ckpt: str) -> list:
    """Every student run: ``((method, epochs, seed), config, options)``."""
    runs = []
    for epochs in budgets:
        for seed in seeds:
            for method in methods:
                _, config, variant = METHODS[method]
                ckpt = None if method == 'alone' else teacher_ckpt
                runs.append(((method, epochs, seed), config,
                             student_options(seed, epochs, ckpt, variant)))
    return runs


def comparison_table(results: dict, methods, budgets, seeds: int,
                     teacher) -> str:
    """Rows: the teacher and the methods; columns: the budgets; cells: mIoU
    mean ± std over seeds, with the count where seeds are missing."""
    lines = ['| model | ' + ' | '.join(f'{b} epochs' for b in budgets) +
             ' |', '|---|' + '---:|' * len(budgets),
             f'| teacher (width 32, one run) | {teacher["mIoU"]:.2f} |' +
             ' |' * (len(budgets) - 1)]
    for method in methods:
        cells = []
        for epochs in budgets:
            values = [v['mIoU'] for (m, b, _), v in results.items()
                      if (m, b) == (method, epochs)]
            cell = f'{statistics.mean(values):.2f}' if values else ''
            if len(values) > 1:
                cell += f' ± {statistics.stdev(values):.2f}'
            if values and len(values) != seeds:
                cell += f' ({len(values)} seeds)'
            cells.append(cell)
        lines.append(f'| {METHODS[method][0]} | ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines)


def runs_table(results: dict) -> str:
    lines = ['| method | epochs | seed | mIoU (%) | iterations | wall (s) |',
             '|---|---:|---:|---:|---:|---:|']
    for (method, epochs, seed), v in results.items():
        lines.append(f'| {METHODS[method][0]} | {epochs} | {seed} | '
                     f'{v["mIoU"]:.2f} | {v["iters"]} | {v["seconds"]:.0f} |')
    return '\n'.join(lines)


def main():
    parser = shapes_parser('segmentation_kd', __doc__, METHODS)
    parser.add_argument('--epochs', type=int, nargs='+', default=[8],
                        help="the students' training epochs (budgets)")
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
        config, osp.join(args.work_dir, f'{key[1]}ep', key[0],
                         f'seed{key[2]}'), options + common,
        not args.report_only))
    table = comparison_table(results, args.methods, args.epochs,
                             len(args.seeds), teacher)
    missing = len(runs) - len(results)
    minutes = None if args.report_only else (time.time() - start) / 60
    report = f'''# Segmentation KD on the shapes: StableKD against CWD KD

{how_it_ran(args.jobs, minutes)}
{f"{missing} planned runs had not run when this report was written." if
 missing else ""}

**Set-up.** {__doc__.split(chr(10) + chr(10))[2]}

Students trained for {' and '.join(map(str, args.epochs))} epochs;
teacher: {teacher["iters"]} iterations.

## mIoU, mean ± std over seeds {args.seeds}

{table}

## Every run

{runs_table(results)}
'''
    save_report(args.out, report, table)


if __name__ == '__main__':
    main()
