"""A Runner that adapts a config to the machine it is launched on."""
import atexit

import torch.distributed as dist
from mmengine.runner import Runner

from mmstablekd.models.blocks.input_shape import fill_probe_input_shape
from mmstablekd.registry import RUNNERS
from mmstablekd.utils.launch import setup_launcher, teardown_launcher
from ..stages import hand_over_stages


@RUNNERS.register_module()
class PortableRunner(Runner):
    """MMEngine's Runner, set up by :func:`~mmstablekd.utils.setup_launcher`
    and torn down by :func:`~mmstablekd.utils.teardown_launcher`.

    Named by ``runner_type = 'mmstablekd.PortableRunner'`` in a config, so
    that MMPretrain's and MMDetection's own ``tools/train.py``,
    ``tools/test.py`` and ``dist_train.sh`` (which call
    ``RUNNERS.build(cfg)`` when a config names a ``runner_type``) run it as
    this project's tools do: distributed on the CPU with gloo (MMEngine's
    ``pytorch`` launcher would call ``torch.cuda.set_device``; DDP is the
    config's ``model_wrapper_cfg``, as MMEngine builds it), ``--amp`` in
    bfloat16 without CUDA. It also hands the config's ``recomposition``
    (the stages, declared once) to the ``RecompositionHook`` and
    ``StageCyclicLR`` that do not set ``stages``
    (:func:`~mmstablekd.engine.stages.hand_over_stages`), and probes a
    StableKD model without ``probe_input_shape`` at the training pipeline's
    image size. Those scripts end without destroying the process group, so
    after a run that succeeded it is destroyed at interpreter exit (not
    right away: the script may run another loop).
    """

    @classmethod
    def from_cfg(cls, cfg) -> 'PortableRunner':
        setup_launcher(cfg)
        hand_over_stages(cfg)
        fill_probe_input_shape(cfg)
        return super().from_cfg(cfg)

    def train(self):
        model = super().train()
        _teardown_at_exit()
        return model

    def val(self) -> dict:
        metrics = super().val()
        _teardown_at_exit()
        return metrics

    def test(self) -> dict:
        metrics = super().test()
        _teardown_at_exit()
        return metrics


def _teardown_at_exit() -> None:
    if dist.is_available() and dist.is_initialized():
        atexit.unregister(teardown_launcher)  # once, however many runs
        atexit.register(teardown_launcher)
