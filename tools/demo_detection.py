"""The detection demo: RetinaNet on generated coloured shapes (COCO format):
the student alone, the strongest KD baseline of the benchmark (the
CrossKD-style path with PKD) and StableKD (that baseline's twin plus the
shipped recomposition), from one teacher.

The data is generated into ``data/shapes/`` when missing; every run goes
through ``tools/train.py`` as a user would run it. The teacher is trained
once (and reused while its checkpoint exists); the students train for the
benchmark's short budget (4 epochs, where the student alone is far from
its ceiling), two at a time. Afterwards a table (bbox mAP, mAP@0.5,
iterations, wall time, and the benchmark's mean over seeds for the same
method from ``docs/detection_kd.md``) is printed and written into the
work dir:

    python tools/demo_detection.py [--work-dir work_dirs/demo_detection]
        [--jobs 2] [--epochs 4] [--teacher-epochs 24] [--images 256 64]
        [--cfg-options KEY=VALUE ...]
"""
import argparse
import json
import os
import os.path as osp
import sys
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from demo_digits import ROOT, train, trained_teacher  # noqa: E402

CONFIGS = osp.join(ROOT, 'configs', 'demo')
DATA = osp.join('data', 'shapes')  # the configs' data_root
TEACHER = ('teacher (RetinaNet R-18 w32)',
           'retinanet_r18-w32_shapes_teacher.py')
TEACHER_EPOCHS = 24  # as its config trains it
STUDENTS = [  # (name, config, distilled from the teacher, its row in the
    # benchmark's report)
    ('student alone (RetinaNet R-18 w16)',
     'retinanet_r18-w16_shapes_student.py', False, 'student alone'),
    ('CrossKD-style + PKD (the best KD baseline)',
     'crosskd-pkd_retinanet_r18-w32-w16_shapes.py', True,
     'CrossKD-style + PKD'),
    ('StableKD (its twin + the recomposition)',
     'stablekd-crosskd-pkd_retinanet_r18-w32-w16_shapes.py', True,
     'StableKD with the CrossKD-style path and PKD'),
]
STUDENT_EPOCHS = 4  # detection_kd.py's short budget: 128 iterations
# what benchmarks/detection_kd.py found over seeds, shown beside the runs
REPORT = osp.join(ROOT, 'docs', 'detection_kd.md')


def make_data(data_root: str = DATA, images=(256, 64), **shapes) -> None:
    """The shapes' training and validation images (seeds 0 and 1) in
    ``data_root``, unless they are there; ``shapes``: more arguments of
    ``make_shapes_coco`` (e.g. a harder set's), kept in
    ``<data_root>/shapes.json`` so that data made with others is never
    reused for them."""
    from mmstablekd.datasets.shapes import make_shapes_coco
    record = osp.join(data_root, 'shapes.json')
    made = json.load(open(record)) if osp.isfile(record) else {}
    wanted = json.loads(json.dumps(shapes))  # tuples as the record's lists
    if osp.isdir(data_root) and made != wanted and os.listdir(data_root):
        raise ValueError(
            f'{data_root} holds shapes made with {made or "the defaults"}, '
            f'not {shapes or "the defaults"}: give this data its own work '
            'dir (--work-dir), or delete the folder to make it anew.')
    for (split, seed), num_images in zip((('train', 0), ('val', 1)), images):
        if not osp.isfile(osp.join(data_root, 'annotations',
                                   f'{split}.json')):
            make_shapes_coco(data_root, split, num_images, seed=seed,
                             **shapes)
            print(f'generated {num_images} {split} images in {data_root}')
    if shapes:
        with open(record, 'w') as f:
            json.dump(shapes, f)


def read_result(work_dir: str):
    """(bbox mAP, mAP@0.5, iterations) of a finished run's last
    validation; mAPs are 0 when the detector found no box."""
    import torch
    import mmstablekd  # noqa: F401  (safe loading of MMEngine checkpoints)
    ckpt = open(osp.join(work_dir, 'last_checkpoint')).read().strip()
    iters = torch.load(ckpt, map_location='cpu',
                       weights_only=True)['meta']['iter']
    rows = mmstablekd.utils.logged_scalars(work_dir)
    # validation rows carry no loss; CocoMetric logs nothing for no box
    last = [r for r in rows if 'loss' not in r][-1]
    return (last.get('coco/bbox_mAP', 0.0), last.get('coco/bbox_mAP_50',
                                                     0.0), iters)


def student_runs(teacher_ckpt: str, work_root: str, epochs: int, jobs: int,
                 options: list) -> list:
    """``(name, bbox mAP, mAP@0.5, iterations, wall seconds)`` of every
    student, trained ``epochs`` epochs (seed 0), ``jobs`` at a time."""
    def one(run):
        name, config, distilled, _ = run
        work_dir = osp.join(work_root, osp.splitext(config)[0])
        seconds = train(osp.join(CONFIGS, config), work_dir, [
            f'train_cfg.max_epochs={epochs}',
            f'train_cfg.val_interval={epochs}'] + (
            [f'model.teacher_ckpt={teacher_ckpt}'] if distilled else []) +
            options)
        return (name, *read_result(work_dir), seconds)

    with ThreadPoolExecutor(jobs) as pool:
        return list(pool.map(one, STUDENTS))


def benchmark_cells(report: str, column: str) -> dict:
    """The cells of ``column`` (e.g. ``'retinanet, 4 epochs'``) in the
    first table of the Markdown ``report`` that has it, by row name; empty
    when there is none."""
    rows = [[c.strip() for c in line.strip().strip('|').split('|')]
            for line in report.splitlines() if line.startswith('|')]
    for i, row in enumerate(rows):
        if column in row:
            at = row.index(column)
            return {r[0]: r[at] for r in rows[i + 1:]
                    if len(r) > at and not r[0].startswith('---')}
    return {}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--work-dir',
                        default=osp.join('work_dirs', 'demo_detection'))
    parser.add_argument('--jobs', type=int, default=2,
                        help='students trained at once (the torch threads '
                        'shared among them)')
    parser.add_argument('--epochs', type=int, default=STUDENT_EPOCHS,
                        help="the students' training epochs")
    parser.add_argument('--teacher-epochs', type=int, default=TEACHER_EPOCHS)
    parser.add_argument('--images', type=int, nargs=2, default=[256, 64],
                        metavar=('TRAIN', 'VAL'),
                        help='generated images when data/shapes is missing')
    parser.add_argument('--cfg-options', nargs='+', default=[],
                        metavar='KEY=VALUE',
                        help='appended to every run, the teacher\'s too (a '
                        'quick check: train_dataloader.batch_size=4)')
    args = parser.parse_args()
    os.environ.setdefault('OMP_NUM_THREADS', str(max(
        1, len(os.sched_getaffinity(0)) // args.jobs)))
    make_data(DATA, args.images)
    teacher_ckpt = trained_teacher(
        args.work_dir, TEACHER[1], args.teacher_epochs,
        [f'train_cfg.max_epochs={args.teacher_epochs}'] + args.cfg_options)
    teacher = (TEACHER[0], *read_result(osp.dirname(teacher_ckpt)), None)
    table = [teacher] + student_runs(teacher_ckpt, args.work_dir,
                                     args.epochs, args.jobs,
                                     args.cfg_options)

    found = benchmark_cells(open(REPORT).read(), f'retinanet, {args.epochs} '
                            'epochs') if osp.exists(REPORT) else {}
    found = [''] + [found.get(row, '') for *_, row in STUDENTS]
    lines = ['| run | bbox mAP | mAP@0.5 | iterations | wall time (s) | '
             'the benchmark, 3 seeds |', '|---|---:|---:|---:|---:|---:|']
    lines += [f'| {n} | {m:.3f} | {m50:.3f} | {it} | '
              f'{"" if s is None else f"{s:.0f}"} | {b} |'
              for (n, m, m50, it, s), b in zip(table, found)]
    lines += ['', f'One run each (seed 0), the students {args.epochs} '
              'epochs: one run is one draw. The last column is what '
              f'benchmarks/detection_kd.py found for these methods over 3 '
              f'seeds on the machine of {osp.relpath(REPORT, ROOT)} (seeded '
              'runs repeat on one machine, not across machines), with FCOS '
              'and 12 epochs beside.']
    report = '\n'.join(lines)
    print('\n' + report)
    with open(osp.join(args.work_dir, 'results.md'), 'w') as f:
        f.write(report + '\n')
    print(f'\nTable: {osp.join(args.work_dir, "results.md")}')


if __name__ == '__main__':
    main()
