"""StableKD from a transformer teacher into a CNN student: how to resize.

    OMP_NUM_THREADS=1 python benchmarks/transformer_pairs.py \
        [--work-dir work_dirs/transformer_pairs] \
        [--out docs/transformer_pairs.md] [--seeds 0 1 2] [--jobs 2] \
        [--resizes bilinear nearest conv] [--iters 92] \
        [--teacher-epochs N] [--cfg-options KEY=VALUE ...]

The teacher is the digits demo's small ViT (8 layers of 64 dims, an 8x8 grid
of 4x4-pixel patches plus a class token), trained once on all the training
data; the student is the demo's CIFAR-style ResNet-18 at base width 8, whose
first three stages output 32x32, 16x16 and 8x8 maps. ``boundaries='auto'``
pairs them with the ViT's layers 1, 3 and 5, so the teacher's tokens are
read as 8x8 maps (the class token dropped), projected to the student's width
(PCAProjection) and resized to its grid (4x and 2x up at the first two
boundaries). Per seed,
through ``tools/train.py`` on the demo configs: the student alone, KD, and
StableKD with each of ``--resizes``. Every run has the budget and recipe of
``benchmarks/heterogeneous_pairs.py`` (``--iters`` iterations of batch 64 on
all the data; SGD lr 0.1, cosine; KD T=4, CE 0.1 / KD 0.9; StableKD
decomposed / half-merged / end-to-end for 20% / 20% / 60%).

Finished runs are kept in the work dir and not run again. Writes a Markdown
report with the comparison and every run's figures.
"""
import os
import os.path as osp
import sys
import time
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from heterogeneous_pairs import (_mean_std, budget_options,  # noqa: E402
                                 epoch_options, how_it_ran, pairs_parser,
                                 run, save_report)

TEACHER = 'vit-tiny_digits_teacher.py'
CONFIGS = {
    'student alone': 'resnet18-w8_digits_student.py',
    'KD': 'kd_vit-tiny-resnet18-w8_digits.py',
    'StableKD': 'stablekd_vit-tiny-resnet18-w8_digits.py',
}
RESIZES = {
    'bilinear': 'bilinear interpolation (antialiased when shrinking)',
    'nearest': 'nearest-neighbour interpolation (each token repeated)',
    'conv': 'ConvResize: a learned depthwise transposed convolution, '
            'starting as nearest, trained by the block it feeds',
}


def plan(seeds, iters: int, resizes, teacher_ckpt: str) -> list:
    """Every run: ``(method, seed, config, options)``."""
    runs = []
    for seed in seeds:
        base = [f'randomness.seed={seed}'] + budget_options(1.0, iters)
        distill = base + [f'model.teacher_ckpt={teacher_ckpt}']
        runs += [('student alone', seed, CONFIGS['student alone'], base),
                 ('KD', seed, CONFIGS['KD'], distill)]
        runs += [(f'StableKD, {resize} resize', seed, CONFIGS['StableKD'],
                  distill + [f'model.resize={resize}'])
                 for resize in resizes]
    return runs


def _slug(method: str, seed: int, iters: int) -> str:
    name = ''.join(c if c.isalnum() else '_' for c in method)
    return osp.join(f'iters{iters}', name, f'seed{seed}')


def main():
    parser = pairs_parser('transformer_pairs', __doc__)
    parser.add_argument('--resizes', nargs='+', choices=list(RESIZES),
                        default=list(RESIZES))
    args = parser.parse_args()
    os.environ.setdefault('OMP_NUM_THREADS', '1')
    start = time.time()
    teacher_dir = osp.join(args.work_dir, 'teacher')
    teacher = run(TEACHER, teacher_dir,
                  epoch_options(args.teacher_epochs) + args.cfg_options)
    runs = plan(args.seeds, args.iters, args.resizes, teacher['ckpt'])
    with ThreadPoolExecutor(args.jobs) as pool:
        done = pool.map(
            lambda r: run(r[2], osp.join(args.work_dir, _slug(
                r[0], r[1], args.iters)), r[3] + args.cfg_options,
                not args.report_only), runs)
        results = [(method, seed, result)
                   for (method, seed, _, _), result in zip(runs, done)
                   if result is not None]
    methods = list(dict.fromkeys(m for m, _, _ in results))
    summary = '\n'.join(
        ['| method | top-1 (%) |', '|---|---:|'] + [
            f'| {m} | '
            f'{_mean_std([r["top1"] for n, _, r in results if n == m], len(args.seeds))} |'  # noqa: E501
            for m in methods])
    every = '\n'.join(
        ['| method | seed | top-1 (%) | iterations | wall (s) |',
         '|---|---:|---:|---:|---:|'] +
        [f'| {m} | {s} | {r["top1"]:.2f} | {r["iters"]} | '
         f'{r["seconds"]:.0f} |' for m, s, r in results])
    resizes = '\n'.join(f'- `{n}`: {d}' for n, d in RESIZES.items()
                        if n in args.resizes)
    minutes = None if args.report_only else (time.time() - start) / 60
    report = f'''# StableKD from a ViT teacher into a CNN student

{how_it_ran(args.jobs, minutes)}

**Set-up.** {__doc__.split(chr(10) + chr(10))[2]}

Teacher: ViT, test top-1 {teacher["top1"]:.2f}% after
{teacher["iters"]} iterations (`configs/demo/{TEACHER}`).

Resizes (where the teacher's grid differs from the student's):
{resizes}

## Final test top-1 (%), mean ± std over seeds {args.seeds}

{summary}

## Every run

{every}
'''
    save_report(args.out, report, summary)


if __name__ == '__main__':
    main()
