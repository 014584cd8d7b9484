"""StableKD against KD and the student alone across a grid of settings.

    OMP_NUM_THREADS=1 python benchmarks/kd_grid.py \
        [--work-dir work_dirs/kd_grid] [--out docs/kd_grid.md] \
        [--design cover|full] [--seeds 0 1 2] [--jobs 2] \
        [--variants default ...] [--report-only]

The student is a CIFAR-style ResNet-18 on the embedded digits; its
teachers are a ResNet-34 or a ResNet-18 at 1, 2 or 4 times the student's
base width (width ratios 1, 1/2, 1/4), each trained once on all the data
(``--teacher-epochs``). A *cell* fixes every other factor too: the
student's base width (8, 16), the input size (16, 32 px), the learning
rate (SGD with cosine decay), the KD recipe (CE 1 / KD 1, or CE 0.1 / KD
0.9; KD at T=4 on the logits), and the share of the training data (all,
or a class-balanced 20%) with its budget (``BUDGETS``: iterations at
which the student alone reaches 90% or more at that input size). Per
cell and seed the student alone, KD and StableKD (each of ``--variants``)
are trained through a real MMEngine Runner on the shipped demo configs with
``--cfg-options``-style overrides, as ``tools/train.py`` would.

``--design full`` runs the full cross of the factors (192 cells);
``--design cover`` (the default) a covering subset: every teacher depth x
width ratio x student width (the pair) once per budget, the other four
factors balanced across those cells (each level of each factor in half of
them, every pair of their levels together). ``--design narrow``: 16
cells with a student of base width 4 (teachers 2 and 4 times wider, at
16 px), where a student is short of capacity rather than of iterations:
every combination of teacher depth, width ratio, learning rate and data
share, the KD recipe set by their parity (a half fraction of the 2^5
design, in which every pair of the five factors' levels meets).

During training every distilled run records, at each validation, how the
composed student stands against what its blocks were trained on
(:class:`CompositionProbeHook`): per boundary, the relative distance
between the composed student's feature and the aligned teacher feature
that fed the next block, and the top-1 of the last block fed the
teacher's feature instead of the student's; the report plots them (seed
0) and tabulates the composed student's top-1 on both sides of each
regrouping (every seed).

Finished runs are kept in the work dir (``result.json``) and not run
again while their config and options are unchanged (a run whose config
file changed since is trained again), so the grid can be extended or
resumed; the report lists the cells
that ran and which hold the issue's targets.
"""
import argparse
import itertools
import json
import math
import os
import os.path as osp
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIGS = osp.join(ROOT, 'configs', 'demo')
sys.path[:0] = [osp.join(ROOT, 'benchmarks')]
from heterogeneous_pairs import how_it_ran  # noqa: E402
from runs import kept_result, run_digest  # noqa: E402

TRAIN_IMAGES = 1437
BATCH = 64
# input side (px) -> data share -> training iterations: where the student
# alone (w8, lr 0.05, seed 0) reaches 90% or more: 16 px 93.1 / 95.3, 32 px
# 97.8 / 91.1 (benchmarks/kd_grid.py --check-budgets). 24 px: the vary
# design's, shorter (the student alone 69.4 / 38.3).
BUDGETS = {16: {1.0: 138, 0.2: 180}, 24: {1.0: 138, 0.2: 60},
           32: {1.0: 414, 0.2: 300}}
# DigitsDataset's corruption (--clutter, --noise): a harder set, on which
# KD does not reach the digits' ceiling; in every run's and teacher's name
CORRUPTION = dict(clutter=0, noise=0.)
# the teachers' training epochs on all the data (--teacher-epochs): other
# than the default, named in the teachers' and the distilled runs' names,
# so that runs from teachers trained for another length are not reused
TEACHERS = dict(epochs=15)
DEFAULT_TEACHER_EPOCHS = TEACHERS['epochs']
FACTORS = dict(
    depth=(34, 18),  # the teacher's; the student is a ResNet-18
    ratio=(1.0, 0.5, 0.25),  # student / teacher base width
    width=(8, 16),  # the student's base width
    size=(16, 32),  # input side, px
    lr=(0.05, 0.1),
    recipe=('1/1', '0.1/0.9'),  # CE weight / KD weight
    data=(1.0, 0.2),
)
CONFIG_FILES = {
    'teacher': 'resnet18-w32_digits_teacher.py',
    'student alone': 'resnet18-w8_digits_student.py',
    'KD': 'kd_resnet18-w32-w8_digits.py',
    'StableKD': 'stablekd_resnet18-w32-w8_digits.py',
}
# the default before the relative feature loss, which the mse-* variants
# start from
MSE = {'model.feat_loss': dict(_delete_=True, type='FeatureMSELoss'),
       'model.alignment': dict(type='PCAProjection')}
# the default before the gradient clip (RecompositionHook's cap off; the
# StableKD config's only custom hook)
NOCLIP = {'custom_hooks.0.clip_grad': None}


# the half-merged groups' fed input moves from the teacher's feature to the
# student's own over the stage (what the shipped base sets)
OWN_INPUT = {'recomposition.half.own_input': [0.0, 1.0]}
# ... or is the teacher's feature throughout (the paper's)
TEACHER_FED = {'recomposition.half.own_input': 0.0}
# the merged stage trains every boundary's feature loss beside the task and
# KD losses (the 4-block students: boundaries 0-2)
HINTS = {'recomposition.merged.losses': [
    'task', 'kd', 'feat_b0', 'feat_b1', 'feat_b2']}
# PKD's standardised loss at the boundaries, weight 10
PKD_BOUNDARIES = {'model.feat_loss': dict(_delete_=True, type='PKDLoss',
                                          loss_weight=10.0)}


def _relative(weight: float) -> dict:
    return {'model.feat_loss': dict(type='FeatureMSELoss', relative=True,
                                    loss_weight=weight)}


def _cycles(decay: float) -> dict:
    """A warm-up at every regrouping: a triangular learning-rate cycle per
    stage (from 1% of the base rate to a peak, the first at 1x, multiplied
    by ``decay`` from one stage to the next) instead of the cosine."""
    return {'param_scheduler': dict(
        _delete_=True, type='mmstablekd.StageCyclicLR', peak_ratio=1.0,
        floor_ratio=0.01, decay=decay, by_epoch=False)}


def _merge_iteration(cell: dict) -> tuple:
    """``(merge, iterations)``: the iteration at which ``cell``'s StableKD
    merges its last groups (as the demo config's ``RecompositionHook``
    counts them) and its training length."""
    from mmengine.config import Config

    from mmstablekd.engine.stages import stage_list, stage_starts
    stages = stage_list(Config.fromfile(osp.join(
        CONFIGS, CONFIG_FILES['StableKD'])).recomposition, 'kd_grid')
    epochs, per_epoch = train_length(cell['data'], budget(cell))
    iters = epochs * per_epoch
    return stage_starts([stage['begin'] for stage in stages], iters)[-1], iters


def _merge_warmup(cell: dict) -> dict:
    """The learning rate of ``cell``'s StableKD dropped to 1% when the
    last groups merge and raised linearly back to the cosine's over the
    next 10% of training (a chained ``LinearLR``)."""
    merge, iters = _merge_iteration(cell)
    return {'param_scheduler': [
        dict(type='CosineAnnealingLR', by_epoch=True, eta_min=0.0),
        # LinearLR needs two steps or more
        dict(type='LinearLR', start_factor=0.01, by_epoch=False,
             begin=merge, end=merge + max(2, round(0.1 * iters)))]}


def _merged_cosine(cell: dict) -> dict:
    """The base learning rate of ``cell``'s StableKD held until the last
    groups merge, then a cosine from it to 0 over the end-to-end stage
    alone (the shipped cosine spans the whole run: the merge starts at
    about 65% of the base rate)."""
    merge, iters = _merge_iteration(cell)
    return {'param_scheduler': [
        dict(type='CosineAnnealingLR', by_epoch=False, begin=merge,
             end=iters, T_max=iters - merge, eta_min=0.0)]}


def _softmax_regression(cell: dict) -> dict:
    """A second output path beside KD: the student's pooled feature
    widened to the teacher's (a trained ``ConvBNAdapter``) through the
    teacher's frozen classifier, KD (T=4) on the logits it gives, weighted
    as the cell's KD ("softmax regression"; CrossKD's idea for a
    classifier)."""
    kd = recipe_weights(cell)[1]
    return {'model.output_losses.sr': dict(
        student='neck', teacher='head', teacher_module='head.fc',
        connector=dict(type='ConvBNAdapter', in_channels=8 * cell['width'],
                       out_channels=8 * teacher_width(cell)),
        loss=dict(type='KDLoss', temperature=4.0, loss_weight=kd))}


def _shares(half: float, merged: float) -> dict:
    """The half-merged and merged stages beginning at these shares of
    training."""
    return {'recomposition.half.begin': half,
            'recomposition.merged.begin': merged}


# StableKD variants: name -> overrides of the StableKD config, or a
# function of the cell that returns them
VARIANTS = {
    # the shipped config: MSE relative to the teacher's variance, weight 10
    # (the model's default is 30); ChannelSelection where the widths
    # differ; gradients clipped at norm 10; the half-merged groups moving
    # to their own inputs
    'default': {},
    # ... the half-merged groups fed the teacher's feature throughout (the
    # paper's, and the default before docs/diagnosis.md's section "The
    # half-merged groups move to their own inputs")
    'teacher-fed': TEACHER_FED,
    # ... the relative feature loss weighted 30, the model's default (the
    # classification configs' until the 32 px and narrow grids)
    'rel30': _relative(30.0),
    # ... weighted 10 (today's default; named for the earlier reports)
    'rel10': _relative(10.0),
    # ... weighted 3 (the step from 30 to 10 gained where the students
    # converge: does the trend go on?)
    'rel3': _relative(3.0),
    # ... without the gradient clip (the default before the narrow grid)
    'noclip': NOCLIP,
    # ... without the clip, the relative feature loss weighted 10
    'noclip-rel10': dict(NOCLIP, **_relative(10.0)),
    # ... the gradients' norm clipped at 5 (not 10)
    'clip5': {'optim_wrapper.clip_grad': dict(max_norm=5.0)},
    # ... at 3 (with the relative loss weighted 10 the clip at 10 binds in
    # 3% of the decomposed iterations, at 3 in about 60%)
    'clip3': {'optim_wrapper.clip_grad': dict(max_norm=3.0)},
    # ... the half-merged groups' fed input moves from the teacher's
    # feature to the student's own (detached) over the stage (today's
    # default; named for the earlier reports)
    'own': OWN_INPUT,
    # ... moving from the teacher's feature to the student's own over both
    # stages before the merge: half way while decomposed, the rest while
    # half-merged
    'own-early': {'recomposition.decomposed.own_input': [0.0, 0.5],
                  'recomposition.half.own_input': [0.5, 1.0]},
    # ... every boundary's feature loss kept while half-merged
    'keep': {'model.keep_internal_losses': True},
    # ... PKD's standardised loss at the boundaries (1 - Pearson r per
    # channel: the student's own per-channel mean and scale left free),
    # weight 10, with the half-merged groups fed teacher / own inputs
    'pkdb': dict(PKD_BOUNDARIES, **TEACHER_FED),
    'pkdb-own': dict(PKD_BOUNDARIES, **OWN_INPUT),
    # ... every boundary's feature loss kept end to end (FitNets-style
    # hints beside KD once the blocks are merged), or also while
    # half-merged
    'hints': HINTS,
    'keep-hints': dict(HINTS, **{'model.keep_internal_losses': True}),
    # ... the head block learns from the teacher's logits only (KD, no
    # task loss) while decomposed and half-merged
    'logits': {'recomposition.decomposed.losses': [
        'kd', 'feat_b0', 'feat_b1', 'feat_b2'],
        'recomposition.half.losses': ['kd', 'feat_b1']},
    # ... decomposed 10%, half-merged 10% (end to end from 20%)
    'short': _shares(0.1, 0.2),
    # ... decomposed 30%, half-merged 30% (end to end from 60%: the
    # detection configs' shares)
    'long': _shares(0.3, 0.6),
    # ... the learning rate warmed up linearly over the first 20 iterations
    # (from 1%), then the cosine decay
    'warmup': {'param_scheduler': [
        dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0,
             end=20),
        dict(type='CosineAnnealingLR', by_epoch=True, eta_min=0.0)]},
    # ... a warm-up at every regrouping: a cycle per stage, the peak
    # halving from one stage to the next, or not
    'cycles': _cycles(0.5),
    'cycles-flat': _cycles(1.0),
    # ... a warm-up at the merge alone (a function of the cell: the
    # merge's iteration depends on its budget), the cosine otherwise
    'merge-warmup': _merge_warmup,
    # ... the base rate until the merge, then a cosine over the end-to-end
    # stage alone (a function of the cell, as merge-warmup)
    'merged-cosine': _merged_cosine,
    # ... with softmax regression beside KD (a function of the cell: the
    # connector's widths)
    'sr': _softmax_regression,
    # ... with PCAProjection where the widths differ
    'pca': {'model.alignment': dict(type='PCAProjection')},
    'pca-rel10': dict(_relative(10.0),
                      **{'model.alignment': dict(type='PCAProjection')}),
    'pca-rel100': dict(_relative(100.0),
                       **{'model.alignment': dict(type='PCAProjection')}),
    'pca-signed': {'model.alignment': dict(type='PCAProjection',
                                           match_range=False)},
    # the earlier default: plain MSE of weight 1, PCAProjection
    'mse': MSE,
    # on the earlier default: a learning-rate cycle per stage (warm-up at
    # every regrouping)
    'mse-cycles': dict(MSE, **_cycles(0.5)),
    # ... decomposed 10%, half-merged 10%
    'mse-short': dict(MSE, **_shares(0.1, 0.2)),
    # ... every boundary's feature loss kept while half-merged
    'mse-keep': dict(MSE, **{'model.keep_internal_losses': True}),
    # ... the plain MSE weighted 10x / 100x
    'mse10': dict(MSE, **{'model.feat_loss.loss_weight': 10.0}),
    'mse100': dict(MSE, **{'model.feat_loss.loss_weight': 100.0}),
}
# variants that differ from another only in the alignment
ALIGNMENT_VARIANTS = ('pca', 'pca-rel10', 'pca-rel100', 'pca-signed')


def width_options(width: int, prefix: str) -> dict:
    """A demo ResNet's base width (and the head's input to match)."""
    return {f'{prefix}backbone.base_channels': width,
            f'{prefix}backbone.stem_channels': width,
            f'{prefix}head.in_channels': 8 * width}


def data_options(size: int, data: float, iters: int) -> dict:
    """Images of ``size`` px, ``data`` of the training set, about
    ``iters`` iterations in whole epochs, validated once per epoch."""
    options = {'train_dataloader.dataset.pipeline.0.crop_size': size,
               'train_dataloader.dataset.pipeline.0.padding': size // 16}
    for loader in ('train', 'val', 'test'):
        options[f'{loader}_dataloader.dataset.size'] = size
        if any(CORRUPTION.values()):
            options.update({f'{loader}_dataloader.dataset.{k}': v
                            for k, v in CORRUPTION.items()})
    if data < 1.0:
        options.update({
            'train_dataloader.sampler.type':
            'mmstablekd.ClassBalancedSubsetSampler',
            'train_dataloader.sampler.fraction': data})
    options['train_cfg.max_epochs'] = train_length(data, iters)[0]
    options['train_cfg.val_interval'] = 1
    return options


def train_length(data: float, iters: int) -> tuple:
    """``(epochs, iterations per epoch)`` of training on ``data`` of the
    training set for about ``iters`` iterations in whole epochs."""
    per_epoch = -(-round(TRAIN_IMAGES * data) // BATCH)
    return max(1, round(iters / per_epoch)), per_epoch


def data_tag() -> str:
    """``''`` on the digits as shipped, e.g. ``'clutter2_noise32_'``."""
    if not any(CORRUPTION.values()):
        return ''
    return 'clutter{clutter}_noise{noise:g}_'.format(**CORRUPTION)


def teacher_tag() -> str:
    """``''`` for teachers of the default length, else e.g. ``'t45ep_'``
    (teachers trained 45 epochs)."""
    epochs = TEACHERS['epochs']
    return '' if epochs == DEFAULT_TEACHER_EPOCHS else f't{epochs}ep_'


def teacher_key(depth: int, width: int, size: int) -> str:
    return f'{data_tag()}{teacher_tag()}teacher_r{depth}_w{width}_s{size}'


def teacher_width(cell: dict) -> int:
    """The base width of ``cell``'s teacher (the student's over the
    ratio)."""
    return round(cell['width'] / cell['ratio'])


def recipe_weights(cell: dict) -> tuple:
    """``(CE weight, KD weight)`` of ``cell``'s recipe, e.g. ``'0.1/0.9'``."""
    return tuple(float(w) for w in cell['recipe'].split('/'))


def cell_teacher(cell: dict) -> str:
    """The key of ``cell``'s teacher (its depth, width and input size)."""
    return teacher_key(cell['depth'], teacher_width(cell),
                       cell['size'])


def teacher_run(depth: int, width: int, size: int):
    """``(name, config, options)`` of one teacher, on all the data."""
    epochs = TEACHERS['epochs']
    options = {**width_options(width, 'model.'),
               **data_options(size, 1.0, 1),
               'model.backbone.depth': depth,
               'train_cfg.max_epochs': epochs,
               'train_cfg.val_interval': epochs}
    return teacher_key(depth, width, size), CONFIG_FILES['teacher'], options


def cells(design: str) -> list:
    """The grid's cells as dicts of factor levels."""
    names = list(FACTORS)
    if design == 'issue':  # the cells of issue 18's independent loop
        return [dict(depth=depth, ratio=ratio, width=width, size=16,
                     lr=0.05, recipe='1/1', data=0.2)
                for depth, ratio, width in ((34, 1.0, 16), (34, 1.0, 8),
                                            (18, 0.5, 16), (34, 0.5, 16),
                                            (34, 0.25, 8))]
    if design == 'vary':  # one factor of each issue cell changed at a time
        varied = []
        for cell in cells('issue'):
            varied += [dict(cell, lr=0.1), dict(cell, recipe='0.1/0.9'),
                       dict(cell, data=1.0)]
            if cell['depth'] == 34 and cell['ratio'] == 1.0 or \
                    cell['depth'] == 18:
                varied.append(dict(cell, size=24))
        return varied
    if design == 'narrow':  # students short of capacity, not iterations
        # a half fraction of the 2^5 design: the recipe is set by the
        # parity of the other four factors' levels
        levels = dict(depth=FACTORS['depth'], ratio=(0.25, 0.5),
                      lr=FACTORS['lr'], data=FACTORS['data'])
        chosen = []
        for index in itertools.product(range(2), repeat=len(levels)):
            cell = {factor: values[i]
                    for (factor, values), i in zip(levels.items(), index)}
            chosen.append(dict(cell, width=4, size=16,
                               recipe=FACTORS['recipe'][sum(index) % 2]))
        return chosen
    if design == 'full':
        return [dict(zip(names, levels))
                for levels in itertools.product(*FACTORS.values())]
    # cover: the 12 pairs once per budget; size, lr, recipe rotate through
    # the 8 rows of a 2^3 design (rows taken in an order that balances
    # every pair of their levels within each budget)
    pairs = list(itertools.product(FACTORS['depth'], FACTORS['ratio'],
                                   FACTORS['width']))
    rows = list(itertools.product(range(2), repeat=3))
    chosen = []
    for d, data in enumerate(FACTORS['data']):
        for i, (depth, ratio, width) in enumerate(pairs):
            size, lr, recipe = rows[(3 * i + 5 * d) % len(rows)]
            chosen.append(dict(depth=depth, ratio=ratio, width=width,
                               size=FACTORS['size'][size],
                               lr=FACTORS['lr'][lr],
                               recipe=FACTORS['recipe'][recipe], data=data))
    return chosen


def budget(cell: dict) -> int:
    """Training iterations of ``cell`` (its input size and data share)."""
    return BUDGETS[cell['size']][cell['data']]


def cell_runs(cell: dict, seeds, variants, teachers: dict) -> list:
    """Every run of a cell: ``(key, config, options)``; key = ``(cell
    name, method, seed)``; the student alone depends on its own factors
    only and is shared between cells (its name says which)."""
    common = dict(data_options(cell['size'], cell['data'], budget(cell)),
                  **{'optim_wrapper.optimizer.lr': cell['lr']})
    ce, kd = recipe_weights(cell)
    t_width = teacher_width(cell)
    t_ckpt = teachers[cell_teacher(cell)]
    distill = dict(common, **width_options(cell['width'], 'model.student.'),
                   **width_options(t_width, 'model.teacher.'), **{
                       'model.teacher.backbone.depth': cell['depth'],
                       'model.teacher_ckpt': t_ckpt,
                       'model.task_loss_weight': ce,
                       'model.output_losses.kd.loss.loss_weight': kd})
    stablekd = {  # equal widths: no alignment to vary
        variant: variant_options(variant, cell) for variant in variants
        if not (cell['ratio'] == 1.0 and variant in ALIGNMENT_VARIANTS)}
    name = cell_name(cell)
    runs = []
    for seed in seeds:
        seeded = {'randomness.seed': seed}
        runs.append(alone_run(cell, seed))
        runs.append(((name, 'KD', seed), CONFIG_FILES['KD'],
                     dict(distill, **seeded)))
        for variant, options in stablekd.items():
            runs.append(((name, f'StableKD {variant}', seed),
                         CONFIG_FILES['StableKD'],
                         {**distill, **options, **seeded}))
    return runs


def variant_options(variant: str, cell: dict) -> dict:
    """The StableKD config's overrides of ``variant`` in ``cell``."""
    options = VARIANTS[variant]
    return options(cell) if callable(options) else options


def alone_run(cell: dict, seed: int) -> tuple:
    """``(key, config, options)`` of the student alone in ``cell`` (its
    width, size, learning rate and data share)."""
    options = dict(data_options(cell['size'], cell['data'], budget(cell)),
                   **width_options(cell['width'], 'model.'),
                   **{'optim_wrapper.optimizer.lr': cell['lr'],
                      'randomness.seed': seed})
    return ((alone_name(cell), 'student alone', seed),
            CONFIG_FILES['student alone'], options)


def check_budgets(work_dir: str, jobs: int) -> str:
    """A table: the student alone's top-1 (w8, lr 0.05, seed 0) at every
    input size's budgets, which should be 90% or more."""
    cells_ = [dict(width=8, size=size, lr=0.05, data=data)
              for size in BUDGETS for data in FACTORS['data']]
    results = run_all([alone_run(c, 0) for c in cells_], work_dir, jobs,
                      report_only=False)
    lines = ['| size | data | iterations | student alone top-1 (%) |',
             '|---:|---:|---:|---:|']
    for cell in cells_:
        result = results[alone_run(cell, 0)[0]]
        lines.append(f'| {cell["size"]} | {cell["data"]:.0%} | '
                     f'{result["iters"]} | {result["top1"]:.2f} |')
    return '\n'.join(lines)


def cell_name(cell: dict) -> str:
    name = ('r{depth}_ratio{ratio:g}_w{width}_s{size}_lr{lr}_'
            'ce{recipe}_d{data}_i{iters}')
    return data_tag() + teacher_tag() + name.format(
        **cell, iters=budget(cell)).replace('/', '-')


def alone_name(cell: dict) -> str:
    """The student alone's runs, shared by the cells that differ only in
    the teacher and the KD recipe."""
    name = 'alone_w{width}_s{size}_lr{lr}_d{data}_i{iters}'
    return data_tag() + name.format(**cell, iters=budget(cell))


def run_dir(work_dir: str, key) -> str:
    name, method, seed = key
    slug = ''.join(c if c.isalnum() or c in '.-' else '_' for c in method)
    return osp.join(work_dir, name, slug, f'seed{seed}')


def train(config: str, work_dir: str, options: dict, digest: str) -> dict:
    """Train ``config`` with ``options`` through a Runner (in this process,
    one torch thread) and return the validation curve and probe figures,
    also kept with ``digest`` as ``result.json`` in ``work_dir``
    (:func:`run_all` reads finished runs of the same digest from there
    instead of training them again)."""
    import torch
    from mmengine.config import Config
    from mmengine.registry import RUNNERS

    import mmstablekd  # noqa: F401  (registers the mmstablekd scope)
    torch.set_num_threads(1)
    cfg = Config.fromfile(osp.join(CONFIGS, config), format_python_code=False)
    cfg.merge_from_dict(options)
    cfg.work_dir = work_dir
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=-1,
                                        save_last=True, max_keep_ckpts=1)
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=10)
    cfg.custom_hooks = list(cfg.get('custom_hooks') or []) + [
        dict(type='mmstablekd.CompositionProbeHook')]
    cfg.log_level = 'WARNING'
    start = time.perf_counter()
    runner = RUNNERS.build(cfg)
    runner.train()
    probe = next(h for h in runner.hooks
                 if type(h).__name__ == 'CompositionProbeHook')
    result = dict(top1=probe.records[-1]['top1'], records=probe.records,
                  correct=per_image_correct(runner),
                  iters=runner.iter, seconds=time.perf_counter() - start,
                  ckpt=osp.join(work_dir, f'epoch_{runner.epoch}.pth'),
                  options=options, digest=digest)
    json.dump(result, open(osp.join(work_dir, 'result.json'), 'w'))
    return result


def per_image_correct(runner) -> str:
    """Per validation image, in the (unshuffled) loader's order, ``'1'``
    where the trained model's top-1 class is its label, else ``'0'``."""
    import torch
    runner.model.eval()
    marks = []
    with torch.no_grad():
        for batch in runner.val_dataloader:
            marks += ['1' if int(s.pred_label) == int(s.gt_label) else '0'
                      for s in runner.model.val_step(batch)]
    return ''.join(marks)


def run_all(runs: list, work_dir: str, jobs: int, report_only: bool):
    """Results by key of ``runs`` that have finished with the current
    config and options (training the rest unless ``report_only``)."""
    results, todo = {}, []
    for key, config, options in runs:
        digest = run_digest(osp.join(CONFIGS, config), options)
        kept = kept_result(run_dir(work_dir, key), digest)
        if kept is not None:
            results[key] = kept
        elif not report_only:
            todo.append((key, config, options, digest))
    # each seed of every cell before the next seed: early, broad figures
    todo = sorted({run[0]: run for run in todo}.values(),
                  key=lambda run: run[0][2])
    if todo:
        with ProcessPoolExecutor(jobs, mp_context=get_context('spawn'),
                                 initializer=_worker_init) as pool:
            futures = {pool.submit(train, c, run_dir(work_dir, k), o, d): k
                       for k, c, o, d in todo}
            for future, key in futures.items():
                try:
                    results[key] = future.result()
                except Exception as err:  # reported, the others go on
                    print(f'{key}: FAILED: {err!r}', flush=True)
                    continue
                print(f'{key}: {results[key]["top1"]:.2f}', flush=True)
    return results


def _worker_init() -> None:
    os.environ['OMP_NUM_THREADS'] = '1'
    sys.path[:0] = [osp.join(ROOT, 'benchmarks')]


def train_teachers(cells_: list, work_dir: str, jobs: int,
                   report_only: bool) -> dict:
    """``ckpt``, ``top1`` and per-image ``correct`` by teacher key, for
    every teacher the cells use."""
    needed = sorted({(c['depth'], round(c['width'] / c['ratio']), c['size'])
                     for c in cells_})
    runs = []
    for depth, width, size in needed:
        name, config, options = teacher_run(depth, width, size)
        runs.append(((name, 'teacher', 0), config, options))
    results = run_all(runs, work_dir, jobs, report_only)
    return {key[0]: dict(ckpt=r['ckpt'], top1=r['top1'],
                         correct=r.get('correct'))
            for key, r in results.items()}


def mean_std(values) -> str:
    if not values:
        return ''
    if len(values) == 1:
        return f'{values[0]:.2f} (1 seed)'
    return f'{statistics.mean(values):.2f} ± {statistics.stdev(values):.2f}'


def teachers_table(teachers: dict, epochs: int) -> str:
    """The report's teachers: ``name -> {'top1': %}`` as a table under its
    heading (read back by ``tools/analysis/teacher_room.py``)."""
    rows = [f'| {k} | {t["top1"]:.2f} |' for k, t in sorted(teachers.items())]
    return '\n'.join([f'Teachers (test top-1 after {epochs} epochs on all '
                      'the data):', '', '| teacher | top-1 (%) |',
                      '|---|---:|'] + rows)


def summarise(cells_: list, results: dict, variants,
              teachers: dict) -> tuple:
    """The grid table (a row per cell) and the targets' verdicts, with the
    room the cells leave above KD: up to 100% top-1 and up to the teacher
    (points, means over the cells)."""
    methods = ['student alone', 'KD'] + [f'StableKD {v}' for v in variants]
    header = ['teacher', 'ratio', 'student w', 'size', 'lr', 'CE/KD',
              'data', 'iters'] + methods + [
                  f'{m} - max(KD, alone)' for m in methods[2:]]
    lines = ['| ' + ' | '.join(header) + ' |',
             '|' + '---|' * 8 + '---:|' * (len(header) - 8)]
    margins = {m: [] for m in methods[2:]}
    room = []  # per cell: (100 - KD, teacher - KD), points
    for cell in cells_:
        name = cell_name(cell)
        alone = alone_name(cell)
        top1 = {m: [r['top1'] for (n, method, _), r in results.items()
                    if method == m and n == (alone if m == 'student alone'
                                             else name)]
                for m in methods}
        if not all(top1.values()):
            continue
        kd = statistics.mean(top1['KD'])
        best = max(kd, statistics.mean(top1['student alone']))
        teacher = teachers.get(cell_teacher(cell), {}).get('top1', math.nan)
        room.append((100. - kd, teacher - kd))
        row = [f'R-{cell["depth"]}', f'{cell["ratio"]:g}', str(cell['width']),
               str(cell['size']), str(cell['lr']), cell['recipe'],
               f'{cell["data"]:.0%}', str(budget(cell))]
        row += [mean_std(top1[m]) for m in methods]
        for m in methods[2:]:
            margin = statistics.mean(top1[m]) - best
            margins[m].append((margin, statistics.mean(top1[m]) - kd,
                               cell['data']))
            row.append(f'{margin:+.2f}')
        lines.append('| ' + ' | '.join(row) + ' |')
    verdicts = []
    teacher_over_kd = statistics.mean(t for _, t in room) if room \
        else math.nan
    for m, values in margins.items():
        if not values:
            continue
        worst = min(v for v, _, _ in values)
        over_kd = statistics.mean(d for _, d, _ in values)
        held = sum(v >= -0.5 for v, _, _ in values)
        by_share = ', '.join(
            f'{share:.0%}: ' + format(statistics.mean(
                d for _, d, s in values if s == share), '+.2f')
            for share in sorted({s for _, _, s in values}, reverse=True))
        verdicts.append(
            f'| {m} | {len(values)} | {held} | {worst:+.2f} | '
            f'{over_kd:+.2f} | {over_kd - teacher_over_kd:+.2f} | '
            f'{by_share} |')
    if room:
        to_100 = statistics.mean(h for h, _ in room)
        verdicts.append(f'| (room above KD) | {len(room)} | | | '
                        f'{to_100:+.2f} (to 100%) | {teacher_over_kd:+.2f} '
                        '(the teacher over KD) | |')
    verdict = '\n'.join([
        '| method | cells | cells within 0.5 of max(KD, alone) | worst '
        'margin | mean over KD | mean over the teacher | mean over KD by '
        'share of the data |',
        '|---|---:|---:|---:|---:|---:|---|'] + verdicts)
    return '\n'.join(lines), verdict


def picked_per_cell(cells_: list, results: dict, variants,
                    seeds) -> str:
    """Whether picking a StableKD variant per cell pays: the mean over KD
    (points, over the cells) of each cell's best variant, picked on all
    the seeds (scored on the seeds it was picked on: an upper bound) and
    picked on the other seeds, scored on the one left out (each seed in
    turn: what a pick is worth on a new seed)."""
    if len(variants) < 2 or len(seeds) < 2:
        return 'One variant or one seed: nothing to pick from.'

    def top1(cell, method, among):
        return statistics.mean(results[(cell_name(cell), method, s)]['top1']
                               for s in among)

    def best(cell, among):
        return max(variants,
                   key=lambda v: top1(cell, f'StableKD {v}', among))

    done = [c for c in cells_ if all(
        (cell_name(c), m, s) in results for s in seeds
        for m in ['KD'] + [f'StableKD {v}' for v in variants])]
    if not done:
        return 'No cell has every run.'
    in_sample = [top1(c, f'StableKD {best(c, seeds)}', seeds)
                 - top1(c, 'KD', seeds) for c in done]
    held_out = [
        top1(c, f'StableKD {best(c, [o for o in seeds if o != s])}', [s])
        - top1(c, 'KD', [s]) for c in done for s in seeds]
    rows = [('picked on all the seeds', statistics.mean(in_sample)),
            ('picked on the other seeds, scored on the one left out',
             statistics.mean(held_out))]
    lines = [f'| the best StableKD variant per cell ({len(done)} cells) '
             '| mean over KD |', '|---|---:|']
    lines += [f'| {name} | {value:+.2f} |' for name, value in rows]
    return '\n'.join(lines)


def sign_test(wins: int, losses: int) -> float:
    """Exact two-sided p-value of ``wins`` against ``losses`` discordant
    pairs under a fair coin (the sign test; McNemar's exact test)."""
    n, k = wins + losses, min(wins, losses)
    if n == 0:
        return 1.
    return min(1., 2 * sum(math.comb(n, i) for i in range(k + 1)) / 2**n)


def final_train_loss(result: dict, key: str = 'loss_kd') -> float:
    """Mean of the logged training loss ``key`` over the last tenth of a
    run's iterations (read from its newest ``vis_data/scalars.json``)."""
    run = osp.dirname(result['ckpt'])
    newest = max(d for d in os.listdir(run) if osp.isfile(
        osp.join(run, d, 'vis_data', 'scalars.json')))
    with open(osp.join(run, newest, 'vis_data', 'scalars.json')) as f:
        logged = [r for r in map(json.loads, f) if key in r]
    last = logged[-1]['iter']
    return statistics.mean(r[key] for r in logged if r['iter'] >= 0.9 * last)


def errors(correct: str, teacher: str) -> tuple:
    """``(wrong, also the teacher's)``: how many test images a run gets
    wrong, and how many of those its teacher gets wrong too."""
    wrong = [i for i, c in enumerate(correct) if c == '0']
    return len(wrong), sum(teacher[i] == '0' for i in wrong)


def paired(cells_: list, results: dict, variants, teachers: dict) -> str:
    """Per cell and StableKD variant, over the seeds both ran: the test
    images only StableKD gets right, only KD gets right, the sign test's
    p-value on them (same image, same seed: a paired comparison), both
    methods' KD loss on the training batches at the end, and their test
    errors with how many of those the teacher makes too."""
    lines = ['| cell | variant | seeds | StableKD only right | KD only right '
             '| difference (points) | sign test p '
             '| training KD loss at the end, KD / StableKD '
             '| teacher\'s errors | test errors (the teacher\'s too), '
             'KD / StableKD |',
             '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|']
    for cell in cells_:
        name = cell_name(cell)
        teacher = teachers.get(cell_teacher(cell), {}).get('correct')
        for variant in variants:
            wins = losses = images = 0
            fits, wrong = [], []
            for (n, method, seed), kd in results.items():
                other = results.get((n, f'StableKD {variant}', seed), {})
                if n != name or method != 'KD' or 'correct' not in other \
                        or 'correct' not in kd:
                    continue
                pairs = list(zip(other['correct'], kd['correct']))
                wins += pairs.count(('1', '0'))
                losses += pairs.count(('0', '1'))
                images += len(pairs)
                fits.append((final_train_loss(kd), final_train_loss(other)))
                if teacher is not None:
                    wrong.append((errors(kd['correct'], teacher),
                                  errors(other['correct'], teacher)))
            if fits:
                fit_kd, fit_skd = map(statistics.mean, zip(*fits))
                if teacher is None:
                    shared, teacher_wrong = 'no per-image record', ''
                else:
                    shared = ' / '.join(
                        '{} ({})'.format(*map(sum, zip(*run)))
                        for run in zip(*wrong))
                    teacher_wrong = teacher.count('0')
                lines.append(
                    f'| {name} | {variant} | {len(fits)} | {wins} | {losses} '
                    f'| {100. * (wins - losses) / images:+.2f} | '
                    f'{sign_test(wins, losses):.3f} | '
                    f'{fit_kd:.3f} / {fit_skd:.3f} | {teacher_wrong} | '
                    f'{shared} |')
    return '\n'.join(lines)


def regroupings_of(records: list) -> list:
    """The pairs of consecutive probe records between which the grouping
    changed (the last validation before a regrouping, the first after)."""
    return [(a, b) for a, b in zip(records, records[1:])
            if a['groups'] != b['groups']]


def regroupings(results: dict, cells_: list, variants) -> str:
    """Per StableKD variant and regrouping (groups before -> after), over
    the runs whose probe validated on both sides of it: the composed
    student's top-1 (%) at the last validation before and the first after
    (means), their change, and the runs where it fell by more than 2
    points."""
    names = {cell_name(cell) for cell in cells_}
    lines = ['| variant | regrouping | runs | top-1 before | top-1 after | '
             'change | runs falling > 2 points |',
             '|---|---|---:|---:|---:|---:|---:|']
    for variant in variants:
        tops = {}  # (groups before, after) -> [(top-1 before, after)]
        for (name, method, _), result in results.items():
            if name in names and method == f'StableKD {variant}':
                for a, b in regroupings_of(result.get('records', [])):
                    tops.setdefault((len(a['groups']), len(b['groups'])),
                                    []).append((a['top1'], b['top1']))
        for (before, after), pairs in sorted(tops.items(), reverse=True):
            first, then = (statistics.mean(side) for side in zip(*pairs))
            lines.append(
                f'| {variant} | {before} -> {after} groups | {len(pairs)} | '
                f'{first:.2f} | {then:.2f} | {then - first:+.2f} | '
                f'{sum(b - a > 2 for b, a in pairs)} |')
    return '\n'.join(lines)


def diagnosis_plot(results: dict, cells_: list, methods: list, seed: int,
                   filename: str) -> None:
    """Per cell (a row), against the iteration: the composed student's
    top-1, the top-1 of the last block fed the teacher's feature, and the
    relative gap at the last boundary; ``seed`` of each of ``methods``."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(len(cells_), 3, squeeze=False,
                             figsize=(12, 2.6 * len(cells_)))
    for row, cell in zip(axes, cells_):
        for method in methods:
            result = results.get((cell_name(cell), method, seed))
            if result is None:
                continue
            records = result['records']
            iters = [r['iter'] for r in records]
            row[0].plot(iters, [r['top1'] for r in records], marker='.',
                        label=method)
            row[1].plot(iters, [r.get('fed_top1') for r in records],
                        marker='.', label=method)
            blocks = sum(len(g) for g in records[0]['groups'])
            gap = f'gap_b{blocks - 2}'
            row[2].plot(iters, [r.get(gap) for r in records], marker='.',
                        label=method)
            changes = [b['iter'] for _, b in regroupings_of(records)]
            for ax in row:
                for x in changes:
                    ax.axvline(x, color='grey', linestyle=':', linewidth=0.7)
        row[0].set_ylabel(f'R-{cell["depth"]} ratio {cell["ratio"]:g}\n'
                          f'w{cell["width"]}')
        row[2].set_yscale('log')
    for ax, title in zip(axes[0], ('composed student top-1 (%)',
                                   'head block fed the teacher: top-1 (%)',
                                   'gap at the last boundary')):
        ax.set_title(title, fontsize=9)
    handles = {}
    for ax in axes.flat:
        handles.update(zip(*reversed(ax.get_legend_handles_labels())))
    if handles:  # none when no run of ``seed`` probed its composition
        fig.legend(list(handles.values()), list(handles),
                   loc='upper center', ncol=len(handles), fontsize=8)
    for ax in axes[-1]:
        ax.set_xlabel('iteration (dotted: first validation after a '
                      'regrouping)')
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.3 / len(cells_)))
    fig.savefig(filename, dpi=100)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--work-dir', default=osp.join('work_dirs',
                                                       'kd_grid'))
    parser.add_argument('--out', default=osp.join('docs', 'kd_grid.md'))
    parser.add_argument('--design', default='cover', choices=[
        'cover', 'full', 'issue', 'vary', 'narrow'])
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    parser.add_argument('--variants', nargs='+', choices=list(VARIANTS),
                        default=['default'])
    parser.add_argument('--teacher-epochs', type=int,
                        default=DEFAULT_TEACHER_EPOCHS)
    parser.add_argument('--cells', type=int, nargs='+',
                        help='indices of the design\'s cells to run (all '
                        'by default)')
    parser.add_argument('--budgets', type=int, nargs=2, metavar=('ALL',
                                                                 'FIFTH'),
                        help='iterations on all the data and on 20%%, at '
                        'every input size (default: BUDGETS, per size)')
    parser.add_argument('--check-budgets', action='store_true',
                        help='train the student alone at every size\'s '
                        'budgets, print its top-1, and stop')
    parser.add_argument('--clutter', type=int, default=0,
                        help='other digits drawn behind each image '
                        '(DigitsDataset clutter)')
    parser.add_argument('--noise', type=float, default=0.,
                        help='std of the Gaussian noise on each image, '
                        '0..255 (DigitsDataset noise)')
    parser.add_argument('--jobs', type=int, default=2)
    parser.add_argument('--report-only', action='store_true')
    args = parser.parse_args()
    if args.budgets:
        for budgets in BUDGETS.values():
            budgets.update({1.0: args.budgets[0], 0.2: args.budgets[1]})
    CORRUPTION.update(clutter=args.clutter, noise=args.noise)
    TEACHERS.update(epochs=args.teacher_epochs)
    os.environ.setdefault('OMP_NUM_THREADS', '1')
    if args.check_budgets:
        print(check_budgets(args.work_dir, args.jobs))
        return
    start = time.time()
    chosen = cells(args.design)
    if args.cells is not None:
        chosen = [chosen[i] for i in args.cells]
    teachers = train_teachers(chosen, args.work_dir, args.jobs,
                              args.report_only)
    runs = [run for cell in chosen
            for run in cell_runs(cell, args.seeds, args.variants,
                                 {k: t['ckpt'] for k, t in teachers.items()})]
    results = run_all(runs, args.work_dir, args.jobs, args.report_only)
    table, verdict = summarise(chosen, results, args.variants, teachers)
    minutes = None if args.report_only else (time.time() - start) / 60
    png = osp.splitext(args.out)[0] + '_composition.png'
    given = ', given by --budgets' if args.budgets else ''
    budgets = '; '.join(f'{size} px: {BUDGETS[size][1.0]} / '
                        f'{BUDGETS[size][0.2]}'
                        for size in sorted({c['size'] for c in chosen}))
    data = ('Data: the digits as shipped.' if not data_tag() else
            'Data: the digits with `DigitsDataset(clutter={clutter}, '
            'noise={noise:g})` in every split (--clutter, --noise): other '
            'digits behind each image at half intensity and Gaussian '
            'noise.'.format(**CORRUPTION))
    report = f'''# StableKD against KD across a grid of settings

{how_it_ran(args.jobs, minutes)}

**Set-up.** {__doc__.split(chr(10) + chr(10))[2]}

Budgets here (iterations on all / a fifth of the data{given}): {budgets}.
{data}

{teachers_table(teachers, args.teacher_epochs)}

## Targets

{verdict}

Means over the cells, in points. The last row is the room the cells leave
above KD: up to 100% top-1 (the most any method could gain over KD) and up
to the teacher; "mean over the teacher" is StableKD's top-1 minus its
teacher's (positive: the student passes its teacher).

Picking a variant per cell, and what the pick is worth on a seed it was
not picked on:

{picked_per_cell(chosen, results, args.variants, args.seeds)}

## Final test top-1 (%), mean ± std over seeds {args.seeds}

{table}

## KD and StableKD on the same test images

Over the seeds: the test images one method classifies right and the other
wrong (the same image, the same seed), the difference in points of top-1
averaged over the seeds, the exact sign test's p-value (small: the
difference is more than the luck of which images flip), how well each
fits its training batches (the KD loss, mean over the last tenth of the
iterations and the seeds), and the test images each gets wrong, summed
over the seeds, with how many of them the teacher gets wrong too (the
teacher's own errors: one run).

{paired(chosen, results, args.variants, teachers)}

## How the composed student stands (seed {args.seeds[0]})

Per cell, at every validation: the composed student's top-1, the top-1 of
its head block fed the teacher's feature instead of its own, and the gap
between the composed student's feature at the last boundary and the
aligned teacher feature (``CompositionProbeHook``).

![composition]({osp.basename(png)})

Around each regrouping, every seed: the composed student's top-1 at the
last validation before it and at the first after it (up to one epoch
later; runs that validated on both sides only).

{regroupings(results, chosen, args.variants)}
'''
    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    diagnosis_plot(results, chosen,
                   [f'StableKD {v}' for v in args.variants], args.seeds[0],
                   png)
    with open(args.out, 'w') as f:
        f.write(report)
    print(verdict + '\n\n' + table + f'\n\nReport: {args.out}')


if __name__ == '__main__':
    main()
