"""Two processes on the CPU through tools/dist_train.sh (torchrun + gloo)."""
import os
import os.path as osp
import socket
import subprocess
import sys
import textwrap

import torch
from mmengine.runner import Runner

from conftest import ROOT, make_cls_config

# Imported by the training processes (custom_imports): saves each rank's
# trainable parameters and the wrapper's find_unused_parameters at the end.
RANK_PROBE = '''
import torch
from mmengine.hooks import Hook
from mmengine.registry import HOOKS


@HOOKS.register_module()
class SaveRankParams(Hook):

    def before_train(self, runner):
        module = getattr(runner.model, 'module', runner.model)
        self.init = {k: v.detach().clone()
                     for k, v in module.named_parameters()}

    def after_train(self, runner):
        model = runner.model
        module = getattr(model, 'module', model)
        torch.save({'params': {k: v.detach() for k, v in
                               module.named_parameters()},
                    'init': self.init,
                    'alignments': {k: v for k, v in module.state_dict().items()
                                   if k.startswith('alignments.')},
                    'find_unused': getattr(model, 'find_unused_parameters',
                                           None),
                    'wrapper': type(model).__name__},
                   f'{runner.work_dir}/rank{runner.rank}.pth')
'''

# Deterministic set-up: BN layers use fixed statistics (norm_eval) so a
# 2 x 2 batch and a 4 batch see the same normalisation.
DETERMINISTIC = '''
custom_imports = dict(imports=['mmstablekd', 'rank_probe'])
custom_hooks = [dict(type='mmstablekd.RecompositionHook', by_epoch=False,
                     stages=[dict(begin=0, groups=[[0], [1], [2], [3]]),
                             dict(begin=3, groups=[[0, 1, 2, 3]])]),
                dict(type='mmstablekd.AlignmentFitHook', num_batches=2),
                dict(type='SaveRankParams')]
model = dict(student=dict(backbone=dict(norm_eval=True)))
train_dataloader = dict(batch_size=4)
train_cfg = dict(max_epochs=1, val_interval=10)
'''
SAME_WIDTH = '''
model = dict(teacher=dict(backbone=dict(base_channels=8, stem_channels=8),
                          head=dict(in_channels=64)))
'''


def _free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def _dist_train(cfg_path, work_dir, probe_dir, fails_with=None):
    env = dict(os.environ, PYTHON=sys.executable, PORT=str(_free_port()),
               PYTHONPATH=probe_dir, OMP_NUM_THREADS='1')
    out = subprocess.run(
        ['bash', osp.join(ROOT, 'tools', 'dist_train.sh'), cfg_path, '2',
         '--work-dir', work_dir, '--cfg-options',
         'train_dataloader.batch_size=2'],
        env=env, cwd=ROOT, capture_output=True, text=True, timeout=600)
    if fails_with is not None:
        assert out.returncode != 0 and fails_with in out.stdout + out.stderr
        return None
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    # every rank tears the process group down before exit (no SIGABRT)
    assert 'terminate called' not in out.stderr
    return [torch.load(osp.join(work_dir, f'rank{r}.pth'), weights_only=True)
            for r in (0, 1)]


def _setup(tmp_path, image_folder, extra):
    (tmp_path / 'rank_probe.py').write_text(RANK_PROBE)
    sys.path.insert(0, str(tmp_path))
    # the plain MSE: the relative default (weight 30) amplifies float
    # rounding past this test's tolerance; that it sees one joint batch is
    # tested below (test_relative_loss_sees_the_joint_batch)
    plain_mse = "\nmodel.update(feat_loss=dict(type='FeatureMSELoss'))\n"
    cfg = make_cls_config(tmp_path, image_folder, extra=textwrap.dedent(
        DETERMINISTIC + extra) + plain_mse)
    return cfg, osp.join(str(tmp_path), 'cfg.py')


def test_two_processes_match_one_with_the_same_global_batch(
        tmp_path, image_folder):
    cfg, cfg_path = _setup(tmp_path, image_folder, SAME_WIDTH)
    ranks = _dist_train(cfg_path, str(tmp_path / 'ddp'), str(tmp_path))
    # MMEngine's DDP, as the config (none here) declares it
    assert ranks[0]['wrapper'] == 'MMDistributedDataParallel'
    assert ranks[0]['find_unused'] is False
    for k, v in ranks[0]['params'].items():
        assert torch.equal(v, ranks[1]['params'][k]), k

    single = Runner.from_cfg(cfg)
    single.train()
    assert single.iter == 6
    ours = torch.load(osp.join(cfg.work_dir, 'rank0.pth'), weights_only=True)
    # same start, and the same training updates up to float rounding (a
    # different batch order would change the update by a comparable amount)
    for k, init in ours['init'].items():
        assert torch.equal(init, ranks[0]['init'][k]), k
    single_update = torch.cat([(ours['params'][k] - v).flatten()
                               for k, v in ours['init'].items()])
    ddp_update = torch.cat([(ranks[0]['params'][k] - v).flatten()
                            for k, v in ranks[0]['init'].items()])
    assert single_update.norm() > 1e-2
    error = (ddp_update - single_update).norm() / single_update.norm()
    assert error < 1e-2, float(error)
    sys.path.remove(str(tmp_path))


def test_learned_alignments_unused_after_a_merge_need_find_unused_parameters(
        tmp_path, image_folder):
    """A learned alignment trains only while its boundary is fed: without
    find_unused_parameters the run stops before training, saying how to fix
    it; with it (declared in the config), ranks stay identical."""
    _, cfg_path = _setup(
        tmp_path, image_folder,
        "model = dict(alignment=dict(type='ConvBNAdapter'))\n")
    _dist_train(cfg_path, str(tmp_path / 'refused'), str(tmp_path),
                fails_with='set model_wrapper_cfg=dict('
                'find_unused_parameters=True)')
    with open(cfg_path, 'a') as f:
        f.write('model_wrapper_cfg = dict(find_unused_parameters=True)\n')
    ranks = _dist_train(cfg_path, str(tmp_path / 'ddp'), str(tmp_path))
    assert ranks[0]['find_unused'] is True
    assert any(k.startswith('alignments.') for k in ranks[0]['params'])
    for k, v in ranks[0]['params'].items():
        assert torch.equal(v, ranks[1]['params'][k]), k
    sys.path.remove(str(tmp_path))


def test_every_rank_aligns_with_rank_0s_fit(tmp_path, image_folder):
    # each rank fits the default PCAProjection on its own batches, then all
    # take rank 0's: the ranks' blocks are fed and supervised alike
    _, cfg_path = _setup(tmp_path, image_folder, '')
    ranks = _dist_train(cfg_path, str(tmp_path / 'ddp'), str(tmp_path))
    fitted = ranks[0]['alignments']
    assert [k for k in fitted if k.endswith('.weight')] == [
        f'alignments.by_boundary.{j}.weight' for j in range(3)]
    assert all(bool(fitted[f'alignments.by_boundary.{j}.fitted'])
               for j in range(3))
    for k, v in fitted.items():
        assert torch.equal(v, ranks[1]['alignments'][k]), k
    # a fixed alignment has no parameters: nothing is left unused
    assert ranks[0]['find_unused'] is False
    for k, v in ranks[0]['params'].items():
        assert torch.equal(v, ranks[1]['params'][k]), k
    sys.path.remove(str(tmp_path))


CURRICULUM = SAME_WIDTH + """
custom_hooks = [dict(type='mmstablekd.RecompositionHook', by_epoch=False,
                     stages=[dict(begin=0, losses=['feat_b0']),
                             dict(begin=3, losses=['task', 'kd'])]),
                dict(type='SaveRankParams')]
"""


def test_a_loss_curriculum_needs_and_gets_find_unused_parameters(
        tmp_path, image_folder):
    """Stages that train part of the student leave parameters without
    gradients: without find_unused_parameters the run stops before
    training, saying how to fix it; with it, ranks stay identical."""
    _, cfg_path = _setup(tmp_path, image_folder, CURRICULUM)
    _dist_train(cfg_path, str(tmp_path / 'refused'), str(tmp_path),
                fails_with='set model_wrapper_cfg=dict('
                'find_unused_parameters=True)')
    with open(cfg_path, 'a') as f:
        f.write('model_wrapper_cfg = dict(find_unused_parameters=True)\n')
    ranks = _dist_train(cfg_path, str(tmp_path / 'ddp'), str(tmp_path))
    assert ranks[0]['find_unused'] is True
    for k, v in ranks[0]['params'].items():
        assert torch.equal(v, ranks[1]['params'][k]), k
    # the second stage trained the head
    assert not torch.equal(ranks[0]['params']['student.head.fc.weight'],
                           ranks[0]['init']['student.head.fc.weight'])
    sys.path.remove(str(tmp_path))


def _relative_loss_gradient(rank, init_file, inputs, teacher, out):
    """On ``rank`` of 2 (gloo): the gradient of the relative feature MSE of a
    per-channel scale on its half of the batch, averaged over the ranks as
    DDP averages gradients."""
    import torch.distributed as dist

    from mmstablekd.models.losses import FeatureMSELoss
    dist.init_process_group('gloo', init_method=f'file://{init_file}',
                            rank=rank, world_size=2)
    scale = torch.ones(1, 3, 1, 1, requires_grad=True)
    half = slice(rank * 2, rank * 2 + 2)
    FeatureMSELoss(relative=True)(inputs[half] * scale,
                                  teacher[half]).backward()
    grad = scale.grad.clone()
    dist.all_reduce(grad)
    torch.save(grad / 2, f'{out}{rank}.pth')
    dist.destroy_process_group()


def test_relative_loss_sees_the_joint_batch(tmp_path):
    """Two ranks with half a batch each train as one process with the whole
    batch: the teacher's variance the loss divides by is the joint
    batch's, not each rank's."""
    from mmstablekd.models.losses import FeatureMSELoss
    generator = torch.Generator().manual_seed(0)
    inputs = torch.randn(4, 3, 2, 2, generator=generator)
    # halves of very different spread: their own variances differ 25-fold
    teacher = torch.randn(4, 3, 2, 2, generator=generator) * torch.tensor(
        [1., 1., 5., 5.]).view(4, 1, 1, 1)
    torch.multiprocessing.spawn(
        _relative_loss_gradient, nprocs=2,
        args=(str(tmp_path / 'init'), inputs, teacher,
              str(tmp_path / 'grad')))
    scale = torch.ones(1, 3, 1, 1, requires_grad=True)
    FeatureMSELoss(relative=True)(inputs * scale, teacher).backward()
    for rank in (0, 1):
        ddp = torch.load(tmp_path / f'grad{rank}.pth', weights_only=True)
        torch.testing.assert_close(ddp, scale.grad)


def _gloo_threads_after_teardown(rank, port, out):
    """On ``rank`` of 2: the process group set up and torn down by the
    launcher's functions around a DDP model, as ``tools/train.py`` does;
    saves the names of this process's threads left running after it."""
    from mmengine.config import Config
    from torch.nn.parallel import DistributedDataParallel

    from mmstablekd.utils import setup_launcher, teardown_launcher
    os.environ.update(MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port),
                      RANK=str(rank), WORLD_SIZE='2', LOCAL_RANK=str(rank))
    setup_launcher(Config(dict(launcher='pytorch')))

    def train():  # leaves its model in a reference cycle, as a Runner does
        holder = {'model': DistributedDataParallel(torch.nn.Linear(4, 2))}
        holder['self'] = holder
        holder['model'](torch.randn(2, 4)).sum().backward()

    train()
    teardown_launcher()
    threads = [open(f'/proc/self/task/{task}/comm').read().strip()
               for task in os.listdir('/proc/self/task')]
    torch.save(threads, f'{out}{rank}.pth')


def test_teardown_ends_the_gloo_threads(tmp_path):
    """After ``teardown_launcher`` no gloo thread of the group is left to
    abort the process at exit ("terminate called ...", SIGABRT), though a
    DDP model that holds the group is still uncollected garbage.
    (``torch._dynamo``, which DDP's constructor imports, also keeps the
    group when first imported after it was created; importing mmstablekd
    imports it before.)"""
    torch.multiprocessing.spawn(
        _gloo_threads_after_teardown, nprocs=2,
        args=(_free_port(), str(tmp_path / 'threads')))
    for rank in (0, 1):
        threads = torch.load(tmp_path / f'threads{rank}.pth')
        assert not [t for t in threads if 'gloo' in t], threads
