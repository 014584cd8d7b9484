from mmstablekd.registry import MODELS


def build_component(cfg: dict, **kwargs):
    """Build a loss or connector config in the ``mmstablekd`` scope, so that
    ``type='KDLoss'`` works next to scoped names such as
    ``type='mmpretrain.CrossEntropyLoss'``.

    Raises:
        ValueError: ``cfg`` names no ``type`` (e.g. a ``--cfg-options``
            override of an argument left at its default).
    """
    if 'type' not in cfg:
        raise ValueError(
            f'{dict(cfg)!r} names no `type`. A loss, connector or '
            f"aggregator config needs one, e.g. dict(type='FeatureMSELoss', "
            f'normalize=True); with --cfg-options, set '
            f'model.feat_loss.type=FeatureMSELoss next to '
            f'model.feat_loss.normalize=True.')
    return MODELS.build(dict(dict(_scope_='mmstablekd'), **cfg, **kwargs))
