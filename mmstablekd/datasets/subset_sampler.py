from collections import defaultdict
from typing import Iterator, List

import numpy as np
from mmengine.dataset import DefaultSampler

from mmstablekd.registry import DATA_SAMPLERS


def class_balanced_subset(dataset, fraction: float, seed: int) -> List[int]:
    """Sorted indices of a seeded ``fraction`` of every class of ``dataset``
    (by its first category id; at least one sample per class)."""
    if not 0 < fraction <= 1:
        raise ValueError(f'fraction must be in (0, 1], got {fraction}.')
    by_class = defaultdict(list)
    for i in range(len(dataset)):
        cat_ids = dataset.get_cat_ids(i)
        by_class[cat_ids[0] if len(cat_ids) else -1].append(i)
    rng = np.random.default_rng(seed)
    chosen = []
    for label in sorted(by_class):
        members = by_class[label]
        keep = max(1, round(fraction * len(members)))
        chosen += rng.choice(members, size=keep, replace=False).tolist()
    return sorted(chosen)


@DATA_SAMPLERS.register_module()
class ClassBalancedSubsetSampler(DefaultSampler):
    """``DefaultSampler`` over a class-balanced, seeded fraction of the
    dataset: a data-efficiency run of any config, e.g. 40% of the training
    set, without touching the dataset::

        --cfg-options \\
        train_dataloader.sampler.type=mmstablekd.ClassBalancedSubsetSampler \\
                      train_dataloader.sampler.fraction=0.4

    Args:
        dataset: a dataset with ``get_cat_ids(i)`` (MMPretrain, MMDetection).
        fraction (float): share of each class kept, in (0, 1].
        subset_seed (int): seed of the choice (the same subset on every rank
            and every run). Default: 0.
        **kwargs: ``shuffle``, ``seed``, ``round_up`` of ``DefaultSampler``.
    """

    def __init__(self, dataset, fraction: float, subset_seed: int = 0,
                 **kwargs) -> None:
        self.subset = class_balanced_subset(dataset, fraction, subset_seed)
        # DefaultSampler shuffles and shards positions 0..len(subset)-1
        super().__init__(self.subset, **kwargs)

    def __iter__(self) -> Iterator[int]:
        return (self.subset[i] for i in super().__iter__())
