from itertools import islice

import torch
from mmengine.dist import broadcast, get_dist_info
from mmengine.hooks import Hook

from mmstablekd.registry import HOOKS
from mmstablekd.utils.random_state import random_state_kept
from .distiller import distiller_of


@HOOKS.register_module()
class AlignmentFitHook(Hook):
    """Fit the model's boundary alignments (e.g. ``PCAProjection``) on
    ``num_batches`` training batches before the first iteration.

    A fitted alignment is kept in the checkpoints, so a resumed run (or one
    started with ``load_from`` a StableKD checkpoint) is not fitted again.
    The batches are drawn at random (seeded) from the training set, through
    its pipeline, by a loader of their own: the training loader's sampler
    and the random stream of training are left untouched, so a resumed run
    (not fitted again) sees the batches an uninterrupted one sees. In a
    distributed run every rank then takes rank 0's fit, so that all ranks
    align alike, bit for bit. The share of the teacher's
    variance each alignment keeps is logged.

    Args:
        num_batches (int): training batches to fit on. Default: 16.
        rows_per_batch (int): feature vectors (positions) drawn per batch
            and boundary. Default: 4096.
    """

    priority = 'VERY_HIGH'  # before anything that runs the model

    def __init__(self, num_batches: int = 16,
                 rows_per_batch: int = 4096) -> None:
        self.num_batches = num_batches
        self.rows_per_batch = rows_per_batch

    def before_train(self, runner) -> None:
        fit_before_training(
            runner, distiller_of(runner, 'AlignmentFitHook',
                                 'fit_alignments'),
            self.num_batches, self.rows_per_batch)


def fit_before_training(runner, model, num_batches: int = 16,
                        rows_per_batch: int = 4096,
                        boundaries=None) -> None:
    """Fit ``model``'s unfitted alignments (of ``boundaries``, default all)
    on ``num_batches`` random training batches of ``runner``, as
    :class:`AlignmentFitHook` describes, and log what each fit kept."""
    todo = model.alignments.unfitted(boundaries)
    if not todo:
        return
    with random_state_kept():
        reports = model.fit_alignments(
            islice(_batches(runner.train_dataloader), num_batches),
            rows_per_batch, boundaries=todo)
    if get_dist_info()[1] > 1:
        for buffer in model.alignments.buffers():
            broadcast(buffer, src=0)
    for j, report in reports.items():
        details = ', '.join(f'{k} {v:.3f}' for k, v in report.items())
        runner.logger.info(
            f'Alignment at boundary {j} '
            f'({type(model.alignments.by_boundary[str(j)]).__name__}) '
            f'fitted on {num_batches} batches: {details}')


def _batches(loader):
    """Random batches of the training set, as ``loader`` makes them."""
    dataset = loader.dataset
    generator = torch.Generator().manual_seed(0)
    return iter(torch.utils.data.DataLoader(
        dataset,
        # MMDetection's loaders batch through a batch_sampler
        batch_size=loader.batch_size or loader.batch_sampler.batch_size,
        sampler=torch.utils.data.RandomSampler(
            dataset, generator=generator),
        num_workers=loader.num_workers,
        collate_fn=loader.collate_fn))
