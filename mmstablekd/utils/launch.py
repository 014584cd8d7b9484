"""Adapt a config to the machine it is launched on."""
import torch
import torch.distributed as dist
from mmengine.config import Config


def setup_launcher(cfg: Config) -> None:
    """Make ``tools/train.py`` / ``tools/test.py`` work without CUDA too.

    - Distributed launch (``--launcher pytorch``) on a machine without CUDA:
      MMEngine's launcher would call ``torch.cuda.set_device``; instead the
      process group is initialised here with ``gloo`` (from torchrun's
      ``RANK``/``WORLD_SIZE``/``MASTER_ADDR``/``MASTER_PORT``), and DDP wraps
      the model with ``device_ids=None``.
    - ``--amp`` without CUDA: MMEngine's ``AmpOptimWrapper`` needs a GPU;
      ``mmstablekd.AutocastOptimWrapper`` autocasts to bfloat16 on the CPU.
    """
    if torch.cuda.is_available():
        return
    if cfg.get('launcher', 'none') != 'none':
        if not dist.is_initialized():
            dist.init_process_group(backend='gloo')
        wrapper = dict(type='MMDistributedDataParallel')
        wrapper.update(cfg.get('model_wrapper_cfg') or {})
        wrapper['device_ids'] = None
        cfg.model_wrapper_cfg = wrapper
        cfg.setdefault('env_cfg', {}).setdefault('dist_cfg', {})
        cfg.env_cfg.dist_cfg.backend = 'gloo'
    optim_wrapper = cfg.get('optim_wrapper') or {}
    if optim_wrapper.get('type') == 'AmpOptimWrapper':
        optim_wrapper.type = 'mmstablekd.AutocastOptimWrapper'
        optim_wrapper.pop('loss_scale', None)
        optim_wrapper.dtype = 'bfloat16'
