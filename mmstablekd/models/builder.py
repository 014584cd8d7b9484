from mmstablekd.registry import MODELS


def build_component(cfg: dict, **kwargs):
    """Build a loss or connector config in the ``mmstablekd`` scope, so that
    ``type='KDLoss'`` works next to scoped names such as
    ``type='mmpretrain.CrossEntropyLoss'``."""
    return MODELS.build(dict(dict(_scope_='mmstablekd'), **cfg, **kwargs))
