"""Validation/test loops that evaluate a model's embeddings by retrieval."""
from typing import Dict, List, Sequence, Union

import torch
from mmengine.dist import all_reduce
from mmengine.evaluator import Evaluator
from mmengine.model import is_model_wrapper
from mmengine.runner import TestLoop, ValLoop
from mmengine.runner.amp import autocast
from torch.utils.data import DataLoader

from mmstablekd.registry import LOOPS


def embed_batch(model, data_batch: dict, role: str,
                fp16: bool = False) -> List[dict]:
    """Embed one batch: the model's ``data_preprocessor`` (eval mode), then
    ``extract_feat``; the embedding is the last tensor of its output,
    flattened to ``(N, D)``.

    Returns:
        list[dict]: per image, ``dict(embedding=(D,), gt_label=(1,),
        role=role, sample_idx=int or None)``.
    """
    module = model.module if is_model_wrapper(model) else model
    data = module.data_preprocessor(data_batch, False)
    with autocast(enabled=fp16):
        feats = module.extract_feat(data['inputs'])
    while isinstance(feats, (tuple, list)):
        feats = feats[-1]
    embeddings = feats.flatten(1)
    data_samples = data.get('data_samples')
    if data_samples is None or len(data_samples) != len(embeddings):
        raise ValueError('Retrieval evaluation needs one data sample with a '
                         'gt_label per image (a labelled dataset).')
    return [
        dict(
            embedding=embedding,
            gt_label=sample.gt_label,
            role=role,
            sample_idx=sample.metainfo.get('sample_idx'))
        for embedding, sample in zip(embeddings, data_samples)
    ]


class _RetrievalLoopMixin:
    """What the val and test retrieval loops share; their ``mode`` names
    the hooks they fire (``before_<mode>_iter``...)."""

    def __init__(self,
                 runner,
                 dataloader: Union[DataLoader, Dict],
                 evaluator: Union[Evaluator, Dict, List],
                 database: Union[DataLoader, Dict],
                 fp16: bool = False) -> None:
        super().__init__(runner, dataloader, evaluator, fp16)
        self.database = self._build_database(database)
        self.role, self.num_embedded = 'query', 0

    def _build_database(self, database: Union[DataLoader, Dict]):
        if isinstance(database, dict):
            # seeded like BaseLoop seeds the loop's own loader
            diff_rank_seed = self.runner._randomness_cfg.get(
                'diff_rank_seed', False)
            return self.runner.build_dataloader(
                database, seed=self.runner.seed, diff_rank_seed=diff_rank_seed)
        return database

    def run(self) -> dict:
        """Embed the database, then the queries, and evaluate."""
        mode = self.mode
        self.runner.call_hook(f'before_{mode}')
        self.runner.call_hook(f'before_{mode}_epoch')
        self.runner.model.eval()
        self.num_embedded = 0
        queries = self.dataloader
        try:
            # the loader being iterated is `self.dataloader`, so progress
            # logs count the batches of the database while it is embedded
            self.dataloader, self.role = self.database, 'database'
            for idx, data_batch in enumerate(self.dataloader):
                self.run_iter(idx, data_batch)
        finally:
            self.dataloader, self.role = queries, 'query'
        for idx, data_batch in enumerate(self.dataloader):
            self.run_iter(idx, data_batch)
        metrics = self.evaluator.evaluate(self._num_results())
        self.runner.call_hook(f'after_{mode}_epoch', metrics=metrics)
        self.runner.call_hook(f'after_{mode}')
        return metrics

    @torch.no_grad()
    def run_iter(self, idx: int, data_batch: Sequence[dict]) -> None:
        """Embed one batch of the current role and hand it to the
        evaluator; the ``<mode>_iter`` hooks see the sample dicts as
        ``outputs``."""
        mode = self.mode
        self.runner.call_hook(
            f'before_{mode}_iter', batch_idx=idx, data_batch=data_batch)
        outputs = embed_batch(self.runner.model, data_batch, self.role,
                              self.fp16)
        self.num_embedded += len(outputs)
        self.evaluator.process(data_samples=outputs, data_batch=data_batch)
        self.runner.call_hook(
            f'after_{mode}_iter',
            batch_idx=idx,
            data_batch=data_batch,
            outputs=outputs)

    def _num_results(self) -> int:
        """All ranks' results, padding included: the evaluator must not cut
        any (the metric drops padded copies by ``sample_idx``)."""
        count = torch.tensor(self.num_embedded)
        all_reduce(count)
        return int(count)


@LOOPS.register_module()
class RetrievalValLoop(_RetrievalLoopMixin, ValLoop):
    """Validation by retrieval: embeds ``database`` and then the val
    dataloader (the queries) with the model's ``data_preprocessor`` and
    ``extract_feat`` (eval mode, no grad) and evaluates the embeddings, e.g.
    with :class:`~mmstablekd.evaluation.RetrievalMAP`. The embedding is the
    last tensor of ``extract_feat``'s output, flattened: the pooled feature
    of an MMPretrain classifier with a neck (without a neck, the flattened
    last feature map). Works for any model with ``extract_feat``: an
    MMPretrain ``ImageClassifier``, or ``mmstablekd.StableKD`` (its
    student's).

    Every batch, of the database and of the queries, fires
    ``before/after_val_iter`` as in ``ValLoop`` (``outputs`` are the sample
    dicts); ``batch_idx`` restarts at 0 for the queries, and while the
    database is embedded ``self.dataloader`` (so ``runner.val_dataloader``
    and the progress logs) is the database loader. Every metric of the
    evaluator must take these sample dicts.

    Args:
        runner (Runner): the runner.
        dataloader (DataLoader | dict): the queries (``val_dataloader``).
        evaluator (Evaluator | dict | list): ``val_evaluator``.
        database (DataLoader | dict): the database loader (config), e.g.
            the training split with the test pipeline, unshuffled.
        fp16 (bool): embed under autocast. Default: False.
    """

    mode = 'val'


@LOOPS.register_module()
class RetrievalTestLoop(_RetrievalLoopMixin, TestLoop):
    """:class:`RetrievalValLoop` for ``runner.test()``: the test dataloader
    holds the queries, ``database`` the database; fires the ``test`` hooks.
    """

    mode = 'test'
