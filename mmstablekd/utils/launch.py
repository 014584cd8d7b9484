"""Adapt a config to the machine it is launched on."""
import gc

import torch
import torch.distributed as dist
from mmengine.config import Config


def setup_launcher(cfg: Config) -> None:
    """Adapt a config to the launcher and the machine.

    - Distributed launch without CUDA: MMEngine's launcher would call
      ``torch.cuda.set_device``; instead the process group is initialised
      here with ``gloo`` (from torchrun's ``RANK``/``WORLD_SIZE``/
      ``MASTER_ADDR``/``MASTER_PORT``), and DDP gets ``device_ids=None``.
    - ``--amp`` without CUDA: MMEngine's ``AmpOptimWrapper`` needs a GPU;
      ``mmstablekd.AutocastOptimWrapper`` autocasts to bfloat16 on the CPU.
    """
    distributed = cfg.get('launcher', 'none') != 'none'
    if torch.cuda.is_available():
        return
    if distributed:
        if not dist.is_initialized():
            dist.init_process_group(backend='gloo')
        wrapper = dict(type='MMDistributedDataParallel')
        wrapper.update(cfg.get('model_wrapper_cfg') or {})
        wrapper['device_ids'] = None
        cfg.model_wrapper_cfg = wrapper
        cfg.merge_from_dict({'env_cfg.dist_cfg.backend': 'gloo'})
    optim_wrapper = cfg.get('optim_wrapper') or {}
    if optim_wrapper.get('type') == 'AmpOptimWrapper':
        optim_wrapper.type = 'mmstablekd.AutocastOptimWrapper'
        optim_wrapper.pop('loss_scale', None)
        optim_wrapper.dtype = 'bfloat16'


def build_runner(cfg: Config):
    """The Runner of ``cfg`` on this machine, as ``tools/train.py`` and
    ``tools/test.py`` build it: the config adapted to the launcher
    (:func:`setup_launcher`), the probe's input size read from the data
    pipeline, then MMEngine's ``Runner`` or the config's ``runner_type``."""
    from mmengine.registry import RUNNERS
    from mmengine.runner import Runner

    # imported here: the models import this package
    from mmstablekd.models.blocks.input_shape import fill_probe_input_shape
    setup_launcher(cfg)
    fill_probe_input_shape(cfg)
    if 'runner_type' not in cfg:
        return Runner.from_cfg(cfg)
    return RUNNERS.build(cfg)


def teardown_launcher() -> None:
    """Destroy the process group, if any, after a run that succeeded.

    Without it the group outlives ``main()`` and is torn down during
    interpreter finalisation, when gloo's worker threads may still hold
    work objects with Python references: the process can then abort at
    exit ("terminate called without an active exception", SIGABRT) after a
    correct run. A finished Runner is garbage in reference cycles that
    still holds its DDP model, and with it the group: collected first, the
    group's gloo threads end with ``destroy_process_group`` (uncollected,
    they were still running at exit). The barrier makes every rank finish
    its last collective before any rank closes its connections. Not for a
    run that failed: the other ranks may be inside a collective, and the
    barrier would wait for them until the timeout.
    """
    if dist.is_available() and dist.is_initialized():
        gc.collect()
        dist.barrier()
        dist.destroy_process_group()
