"""--amp without CUDA: bfloat16 autocast on the CPU, losses in float32."""
import torch
from mmengine.hooks import Hook
from mmengine.runner import Runner

from mmstablekd.utils import setup_launcher


class Dtypes(Hook):
    """Records the dtype of a student conv output and of the losses."""

    def before_train(self, runner):
        self.conv, self.losses = set(), set()

        def record(module, args, out):
            if module.training:  # validation runs without autocast
                self.conv.add(out.dtype)

        runner.model.student.backbone.layer2.register_forward_hook(record)

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        self.losses |= {v.dtype for k, v in outputs.items() if 'loss' in k}


def test_amp_trains_in_bfloat16_with_float32_losses(cls_config):
    cfg = cls_config(extra='''
custom_hooks = [dict(type='mmstablekd.AlignmentFitHook', num_batches=2),
                dict(type='mmstablekd.RecompositionHook',
                     stages=[dict(begin=0, groups=[[0], [1], [2], [3]]),
                             dict(begin=1, groups=[[0, 1, 2, 3]])])]
train_cfg = dict(max_epochs=2)
''')
    # what tools/train.py --amp sets
    cfg.optim_wrapper.type = 'AmpOptimWrapper'
    setup_launcher(cfg)
    assert cfg.optim_wrapper.type == 'mmstablekd.AutocastOptimWrapper'
    runner = Runner.from_cfg(cfg)
    dtypes = Dtypes()
    runner.register_hook(dtypes)
    runner.train()
    assert dtypes.conv == {torch.bfloat16}
    assert dtypes.losses == {torch.float32}
    assert all(torch.isfinite(p).all() for p in runner.model.parameters())
    assert runner.message_hub.get_scalar('val/accuracy/top1') is not None
