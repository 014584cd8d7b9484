"""Take a network's config from another config file (``cfg_path``)."""
import copy
import os.path as osp

from mmengine.config import Config, ConfigDict
from mmengine.utils import is_installed


def resolve_model_cfg(cfg: dict) -> dict:
    """Expand ``dict(cfg_path=PATH, **overrides)`` into a model config.

    ``PATH`` is ``'pkg::rel/path.py'`` (a config shipped by an installed
    OpenMMLab package, e.g.
    ``'mmpretrain::resnet/resnet50_8xb16_cifar100.py'``)
    or a file path (in configs, ``'{{ fileDirname }}/teacher.py'`` names a
    file next to the config). The ``model`` of that config is taken, with
    ``overrides`` merged in as in ``_base_`` inheritance. A dict without
    ``cfg_path`` is returned as it is. The result is a ``ConfigDict``, as
    upstream models expect (e.g. MMDetection's two-stage detectors read
    ``train_cfg.rpn``).
    """
    cfg = copy.deepcopy(dict(cfg))
    path = cfg.pop('cfg_path', None)
    if path is None:
        return ConfigDict(cfg)
    if '::' in path:
        package, relative = path.split('::', 1)
        if not is_installed(package):
            raise ValueError(f'cfg_path {path!r}: package {package!r} is '
                             f'not installed.')
        from mmengine.utils import get_installed_path
        filename = osp.join(
            get_installed_path(package), '.mim', 'configs', relative)
    else:
        filename = osp.expanduser(path)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'cfg_path {path!r}: no config file at '
                                f'{filename}.')
    base = Config.fromfile(filename)
    if 'model' not in base:
        raise ValueError(f'cfg_path {path!r} defines no `model`.')
    merged = Config(dict(model=base.model))
    merged.merge_from_dict(dict(model=cfg))
    return ConfigDict(merged.model.to_dict())
