"""Retrieval mAP (11-point interpolated), InDistill's evaluation protocol."""
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from mmengine.evaluator import BaseMetric
from mmengine.logging import MMLogger

from mmstablekd.registry import METRICS

DISTANCES = ('cosine', 'euclidean')
ROLES = ('query', 'database')


def pairwise_distances(queries: torch.Tensor, database: torch.Tensor,
                       distance: str) -> torch.Tensor:
    """``(Q, D)`` and ``(M, D)`` -> ``(Q, M)`` distances: ``'cosine'`` is
    ``1 - cos``, ``'euclidean'`` the L2 distance."""
    if distance == 'cosine':
        return 1 - F.normalize(queries, dim=1) @ F.normalize(
            database, dim=1).t()
    if distance == 'euclidean':
        return torch.cdist(queries, database)
    raise ValueError(f'Unknown retrieval distance {distance!r}; expected one '
                     f'of {DISTANCES}.')


def eleven_point_ap(relevance: torch.Tensor) -> torch.Tensor:
    """11-point interpolated average precision of ranked result lists.

    Args:
        relevance (torch.Tensor): ``(Q, M)`` bool, ``relevance[q, k]`` says
            whether the ``k``-th nearest database item is relevant to query
            ``q``. Every row must hold at least one relevant item.

    Returns:
        torch.Tensor: ``(Q,)`` float64 APs in ``[0, 1]``: the mean, over the
        recall levels ``r = 0, 0.1, ..., 1.0``, of the interpolated
        precision ``max{precision@k : recall@k >= r}``.
    """
    hits = relevance.long().cumsum(dim=1)  # relevant items in the top k
    num_relevant = hits[:, -1:]
    if (num_relevant == 0).any():
        raise ValueError('eleven_point_ap needs at least one relevant item '
                         'per query.')
    ranks = torch.arange(1, relevance.shape[1] + 1, device=relevance.device)
    precision = hits.double() / ranks
    # the best precision at this rank or any deeper one (recall only grows)
    interpolated = precision.flip(1).cummax(dim=1).values.flip(1)
    # first rank whose recall reaches level i / 10, in integers (no
    # rounding): 10 * hits >= i * num_relevant
    levels = torch.arange(11, device=relevance.device)
    first = torch.searchsorted((10 * hits).contiguous(),
                               (levels * num_relevant).contiguous())
    return interpolated.gather(1, first).mean(dim=1)


def retrieval_map(queries: torch.Tensor,
                  query_labels: torch.Tensor,
                  database: torch.Tensor,
                  database_labels: torch.Tensor,
                  distance: str = 'cosine',
                  chunk_size: int = 128) -> Tuple[float, int]:
    """Mean 11-point interpolated AP of every query against the database.

    A database item is relevant to a query when their labels are equal; the
    database is ranked by increasing distance (ties in database order).
    Queries whose class is absent from the database have no defined AP and
    are left out.

    Args:
        queries (torch.Tensor): ``(Q, D)`` embeddings.
        query_labels (torch.Tensor): ``(Q,)`` integer labels.
        database (torch.Tensor): ``(M, D)`` embeddings.
        database_labels (torch.Tensor): ``(M,)`` integer labels.
        distance (str): ``'cosine'`` or ``'euclidean'``.
        chunk_size (int): queries ranked at once (memory is
            ``O(chunk_size * M)``).

    Returns:
        tuple: the mAP in ``[0, 1]`` and the number of queries it averages
        (NaN and 0 when no query has a relevant database item).
    """
    queries, database = queries.double(), database.double()
    total, counted = 0.0, 0
    for start in range(0, queries.shape[0], chunk_size):
        labels = query_labels[start:start + chunk_size]
        dists = pairwise_distances(queries[start:start + chunk_size],
                                   database, distance)
        order = dists.sort(dim=1, stable=True).indices
        relevance = database_labels[order] == labels[:, None]
        answerable = relevance.any(dim=1)
        if answerable.any():
            total += eleven_point_ap(relevance[answerable]).sum().item()
            counted += int(answerable.sum())
    return (total / counted if counted else float('nan')), counted


@METRICS.register_module()
class RetrievalMAP(BaseMetric):
    """Retrieval mAP: mean over the queries of the 11-point interpolated
    average precision (InDistill's protocol: the test set as queries, the
    training set as the database, relevant = same class).

    It needs embeddings, not predictions: run it with
    :class:`~mmstablekd.engine.runner.RetrievalValLoop` (or
    ``RetrievalTestLoop``), which feeds one sample dict per image::

        dict(embedding=(D,) tensor, gt_label=int or (1,) tensor,
             role='query' or 'database', sample_idx=int (optional))

    Results are gathered across ranks by the Evaluator like any MMEngine
    metric; ``sample_idx`` (set by MMEngine datasets) lets the metric drop
    the duplicates that a distributed sampler pads each split with.

    Keys: ``retrieval/mAP_<distance>`` for each distance, in percent
    (``[0, 100]``), like MMPretrain's accuracy.

    Args:
        metric (str | Sequence[str]): the distance(s) to rank the database
            by: ``'cosine'`` (``1 - cos``) and/or ``'euclidean'``.
            Default: both, computed from the same embeddings.
        chunk_size (int): queries ranked at once; the working memory is
            about 64 bytes per query-database pair of a chunk. Default: 128.
        collect_device (str): ``'cpu'`` or ``'gpu'``, where results are
            gathered across ranks. Default: ``'cpu'``.
        prefix (str, optional): key prefix. Default: ``'retrieval'``.
        collect_dir (str, optional): shared folder for ``'cpu'``
            collection across machines.
    """

    default_prefix = 'retrieval'

    def __init__(self,
                 metric: Union[str, Sequence[str]] = DISTANCES,
                 chunk_size: int = 128,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None,
                 collect_dir: Optional[str] = None) -> None:
        super().__init__(
            collect_device=collect_device,
            prefix=prefix,
            collect_dir=collect_dir)
        self.distances = [metric] if isinstance(metric, str) else list(metric)
        unknown = [d for d in self.distances if d not in DISTANCES]
        if unknown or not self.distances:
            raise ValueError(f'RetrievalMAP metric must name distances among '
                             f'{DISTANCES}, got {metric!r}.')
        if chunk_size < 1:
            raise ValueError(f'RetrievalMAP chunk_size must be >= 1, got '
                             f'{chunk_size}.')
        self.chunk_size = chunk_size

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        for sample in data_samples:
            missing = {'embedding', 'gt_label', 'role'} - set(sample)
            if missing:
                raise KeyError(
                    f'RetrievalMAP got a sample without {sorted(missing)}: '
                    f"it ranks embeddings, so evaluate with val_cfg=dict("
                    f"type='mmstablekd.RetrievalValLoop', database=...) (or "
                    f"test_cfg=dict(type='mmstablekd.RetrievalTestLoop', "
                    f'...)).')
            if sample['role'] not in ROLES:
                raise ValueError(f"RetrievalMAP sample role must be one of "
                                 f"{ROLES}, got {sample['role']!r}.")
            label = torch.as_tensor(sample['gt_label'])
            if label.numel() != 1:
                raise ValueError(f'RetrievalMAP needs one class label per '
                                 f'image, got {tuple(label.shape)}.')
            self.results.append(
                dict(
                    embedding=sample['embedding'].detach().flatten().float()
                    .cpu(),
                    label=int(label.item()),
                    role=sample['role'],
                    sample_idx=sample.get('sample_idx')))

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        splits = {role: _unique(r for r in results if r['role'] == role)
                  for role in ROLES}
        for role, items in splits.items():
            if not items:
                raise ValueError(f'RetrievalMAP got no {role} embeddings.')
        queries, query_labels = _stack(splits['query'])
        database, database_labels = _stack(splits['database'])
        if queries.shape[1] != database.shape[1]:
            raise ValueError(f'RetrievalMAP: query embeddings have '
                             f'{queries.shape[1]} values, database ones '
                             f'{database.shape[1]}.')
        metrics = {}
        for distance in self.distances:
            value, counted = retrieval_map(queries, query_labels, database,
                                           database_labels, distance,
                                           self.chunk_size)
            metrics[f'mAP_{distance}'] = 100.0 * value
        skipped = queries.shape[0] - counted
        if skipped:
            MMLogger.get_current_instance().warning(
                f'RetrievalMAP: {skipped} of {queries.shape[0]} queries have '
                f'no database item of their class and are left out.')
        return metrics


def _unique(items) -> List[dict]:
    """Items in ``sample_idx`` order without the copies that distributed
    samplers pad with (items without an index are all kept, in order)."""
    items = list(items)
    if any(item['sample_idx'] is None for item in items):
        return items
    by_index = {item['sample_idx']: item for item in items}
    return [by_index[i] for i in sorted(by_index)]


def _stack(items: List[dict]) -> Tuple[torch.Tensor, torch.Tensor]:
    return (torch.stack([item['embedding'] for item in items]),
            torch.tensor([item['label'] for item in items]))
