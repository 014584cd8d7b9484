from .digits import DigitsDataset
from .subset_sampler import ClassBalancedSubsetSampler, class_balanced_subset

__all__ = [
    'ClassBalancedSubsetSampler', 'DigitsDataset', 'class_balanced_subset'
]
