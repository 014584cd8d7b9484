"""The detection demo: teacher, student alone, feature-imitation KD and
StableKD RetinaNets on generated coloured shapes (COCO format).

The data is generated into ``data/shapes/`` when missing; every run goes
through ``tools/train.py`` as a user would run it. Afterwards a table (bbox
mAP, mAP@0.5, iterations, wall time) is printed and written into the work
dir:

    python tools/demo_detection.py [--work-dir work_dirs/demo_detection]
"""
import argparse
import glob
import json
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from demo_digits import ROOT, train_runs  # noqa: E402

CONFIGS = osp.join(ROOT, 'configs', 'demo')
DATA = osp.join('data', 'shapes')  # the configs' data_root
SPLITS = dict(train=(256, 0), val=(64, 1))  # images, seed
TEACHER = 'retinanet_r18-w32_shapes_teacher.py'
RUNS = [  # (name, config, distilled from the teacher)
    ('teacher (RetinaNet R-18 w32)', TEACHER, False),
    ('student alone (RetinaNet R-18 w16)',
     'retinanet_r18-w16_shapes_student.py', False),
    ('feature-imitation KD', 'kd_retinanet_r18-w32-w16_shapes.py', True),
    ('StableKD', 'stablekd_retinanet_r18-w32-w16_shapes.py', True),
]


def make_data() -> None:
    from mmstablekd.datasets.shapes import make_shapes_coco
    for split, (num_images, seed) in SPLITS.items():
        if not osp.isfile(osp.join(DATA, 'annotations', f'{split}.json')):
            make_shapes_coco(DATA, split, num_images, seed=seed)
            print(f'generated {num_images} {split} images in {DATA}')


def read_result(work_dir: str):
    """(bbox mAP, mAP@0.5, iterations) of a finished run's last
    validation; mAPs are 0 when the detector found no box."""
    import torch
    import mmstablekd  # noqa: F401  (safe loading of MMEngine checkpoints)
    ckpt = open(osp.join(work_dir, 'last_checkpoint')).read().strip()
    iters = torch.load(ckpt, map_location='cpu',
                       weights_only=True)['meta']['iter']
    path = sorted(glob.glob(osp.join(work_dir, '*', 'vis_data',
                                     'scalars.json')))[-1]
    rows = [json.loads(line) for line in open(path)]
    # validation rows carry no loss; CocoMetric logs nothing for no box
    last = [r for r in rows if 'loss' not in r][-1]
    return (last.get('coco/bbox_mAP', 0.0), last.get('coco/bbox_mAP_50',
                                                     0.0), iters)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--work-dir',
                        default=osp.join('work_dirs', 'demo_detection'))
    args = parser.parse_args()
    make_data()
    table = [(name, *read_result(work_dir), seconds)
             for name, work_dir, seconds in train_runs(
                 RUNS, CONFIGS, TEACHER, args.work_dir)]

    lines = ['| run | bbox mAP | mAP@0.5 | iterations | wall time (s) |',
             '|---|---:|---:|---:|---:|']
    lines += [f'| {n} | {m:.3f} | {m50:.3f} | {it} | {s:.0f} |'
              for n, m, m50, it, s in table]
    report = '\n'.join(lines)
    print('\n' + report)
    with open(osp.join(args.work_dir, 'results.md'), 'w') as f:
        f.write(report + '\n')
    print(f'\nTable: {osp.join(args.work_dir, "results.md")}')


if __name__ == '__main__':
    main()
