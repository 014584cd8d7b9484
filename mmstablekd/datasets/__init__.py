from .digits import DigitsDataset
from .shapes import SHAPE_CLASSES, make_shapes_coco
from .shapes_seg import SEG_CLASSES, make_shapes_seg
from .subset_sampler import ClassBalancedSubsetSampler, class_balanced_subset

__all__ = [
    'ClassBalancedSubsetSampler', 'DigitsDataset', 'SEG_CLASSES',
    'SHAPE_CLASSES', 'class_balanced_subset', 'make_shapes_coco',
    'make_shapes_seg'
]
