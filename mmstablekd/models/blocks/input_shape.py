"""The size of the dummy image a network is probed with."""
from typing import Optional, Sequence, Tuple

from torch import nn

DEFAULT_INPUT_SHAPE = (3, 32, 32)

# transform type -> its key that holds the output size
_SIZE_KEYS = {
    'RandomResizedCrop': 'scale',
    'EfficientNetRandomCrop': 'scale',
    'CenterCrop': 'crop_size',
    'EfficientNetCenterCrop': 'crop_size',
    'RandomCrop': 'crop_size',
    'Resize': 'scale',
    'RandomResize': 'scale',
    'ResizeEdge': 'scale',
    'RandomChoiceResize': 'scales',
}
# transforms whose size pair is (h, w), in every scope but these
_HEIGHT_FIRST = {'RandomCrop': {'mmdet'}}  # MMDetection's is (w, h)


def input_shape_from_pipeline(
        pipeline: Sequence[dict],
        default_scope: Optional[str] = None) -> Optional[Tuple[int, int, int]]:
    """``(3, H, W)`` of the images a data pipeline outputs, from the last
    transform that sets a size (a crop, a resize), or None when none does.

    A size given as one number is square; a pair is read as ``(W, H)``, as
    MMCV's ``Resize`` and ``CenterCrop`` take it, except the ``(h, w)`` of
    MMPretrain's and MMSegmentation's ``RandomCrop`` (a transform's scope
    is its type's prefix, else ``default_scope``).
    """
    shape = None
    for transform in pipeline:
        scope, _, kind = str(transform.get('type', '')).rpartition('.')
        height_first = kind in _HEIGHT_FIRST and (
            scope or default_scope) not in _HEIGHT_FIRST[kind]
        size = transform.get(_SIZE_KEYS.get(kind, ''))
        if isinstance(size, list) and size and isinstance(
                size[0], (list, tuple)):  # choices: take the first
            size = size[0]
        if isinstance(size, int):
            shape = (3, size, size)
        elif isinstance(size, (list, tuple)) and len(size) == 2 and all(
                isinstance(v, int) for v in size):
            shape = (3, *size) if height_first else (3, size[1], size[0])
    return shape


def declared_input_shape(*models: nn.Module) -> Tuple[int, int, int]:
    """The largest input size the models' backbones declare (the
    ``img_size`` of MMPretrain's ViT and Swin, kept by their patch
    embedding: a Swin needs its windows to fit), else
    :data:`DEFAULT_INPUT_SHAPE`."""
    sizes = []
    for model in models:
        embedding = getattr(getattr(model, 'backbone', None), 'patch_embed',
                            None)
        size = getattr(embedding, 'init_input_size', None)
        if isinstance(size, int):
            size = (size, size)
        if isinstance(size, (tuple, list)) and len(size) == 2:
            sizes.append((3, *size))
    return max(sizes, key=lambda s: s[1] * s[2], default=DEFAULT_INPUT_SHAPE)


def fill_probe_input_shape(cfg) -> None:
    """Set a StableKD config's ``model.probe_input_shape``, when it is not
    given, to the size the training pipeline outputs
    (:func:`input_shape_from_pipeline`)."""
    model = cfg.get('model') or {}
    if str(model.get('type', '')).rpartition('.')[2] != 'StableKD' or \
            model.get('probe_input_shape') is not None:
        return
    dataset = (cfg.get('train_dataloader') or {}).get('dataset') or {}
    while 'pipeline' not in dataset and isinstance(
            dataset.get('dataset'), dict):  # dataset wrappers
        dataset = dataset['dataset']
    shape = input_shape_from_pipeline(dataset.get('pipeline') or [],
                                      cfg.get('default_scope'))
    if shape is not None:
        model['probe_input_shape'] = shape
