from .digits import DigitsDataset
from .shapes import SHAPE_CLASSES, make_shapes_coco
from .subset_sampler import ClassBalancedSubsetSampler, class_balanced_subset

__all__ = [
    'ClassBalancedSubsetSampler', 'DigitsDataset', 'SHAPE_CLASSES',
    'class_balanced_subset', 'make_shapes_coco'
]
