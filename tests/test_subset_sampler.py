"""Data-efficiency runs: a class-balanced, seeded fraction of any dataset."""
from collections import Counter

from mmengine.runner import Runner

from mmstablekd.datasets import (ClassBalancedSubsetSampler, DigitsDataset,
                                 class_balanced_subset)


def test_subset_keeps_the_fraction_of_every_class_and_is_seeded():
    train = DigitsDataset(split='train')
    subset = class_balanced_subset(train, 0.4, seed=0)
    full = Counter(train.get_cat_ids(i)[0] for i in range(len(train)))
    kept = Counter(train.get_cat_ids(i)[0] for i in subset)
    assert all(kept[c] == round(0.4 * full[c]) for c in full)
    assert subset == class_balanced_subset(train, 0.4, seed=0)
    assert subset != class_balanced_subset(train, 0.4, seed=1)


def test_sampler_yields_only_subset_indices_reshuffled_per_epoch():
    train = DigitsDataset(split='train')
    sampler = ClassBalancedSubsetSampler(train, fraction=0.4, seed=3)
    first = list(sampler)
    assert sorted(first) == sampler.subset and len(sampler) == len(first)
    sampler.set_epoch(1)
    assert sorted(list(sampler)) == sampler.subset and list(sampler) != first


def test_any_config_trains_on_a_fraction_through_the_runner(cls_config):
    cfg = cls_config(extra='''
train_dataloader = dict(sampler=dict(
    type='mmstablekd.ClassBalancedSubsetSampler', fraction=0.5))
train_cfg = dict(max_epochs=1)
''')
    runner = Runner.from_cfg(cfg)
    runner.train()
    # 24 images, 4 classes: 3 per class kept -> 12 images -> 3 batches of 4
    assert runner.iter == 3
    assert len(runner.train_dataloader.sampler.subset) == 12
