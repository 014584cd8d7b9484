import os
import os.path as osp

import torch
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from mmstablekd.registry import HOOKS
from mmstablekd.utils import export_student, student_checkpoint


@HOOKS.register_module()
class StudentExportHook(Hook):
    """Write a student-only checkpoint next to every checkpoint that
    ``CheckpointHook`` saves (``epoch_3.pth`` -> ``epoch_3_student.pth``), and
    ``student_final.pth`` when training ends.

    A student file is removed when ``CheckpointHook`` removes its source
    (``max_keep_ckpts``). The files hold the student's weights under the
    keys the plain
    MMPretrain/MMDetection/MMSegmentation model expects, plus ``meta``; no
    teacher, adapters or loss modules. Load them with the student's own
    config, e.g. ``mmpretrain.get_model(cfg, pretrained=path)``,
    ``init_detector`` or ``mmseg.apis.init_model``.
    """

    # after CheckpointHook (VERY_LOW), which publishes the file it wrote
    priority = 'LOWEST'

    def __init__(self) -> None:
        self._exported = {}  # regular checkpoint -> its student file

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None) -> None:
        self._export_new_checkpoint(runner)

    def after_train_epoch(self, runner) -> None:
        self._export_new_checkpoint(runner)

    def after_train(self, runner) -> None:
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        checkpoint = student_checkpoint({
            'state_dict': model.state_dict(),
            'meta': dict(epoch=runner.epoch, iter=runner.iter,
                         dataset_meta=runner.train_dataloader.dataset.metainfo)
        })
        if runner.rank == 0:
            path = osp.join(runner.work_dir, 'student_final.pth')
            torch.save(checkpoint, path)
            runner.logger.info(f'Student-only checkpoint: {path}')

    def _export_new_checkpoint(self, runner) -> None:
        last = runner.message_hub.get_info('last_ckpt')
        if last is None or last in self._exported or runner.rank != 0:
            return
        self._exported[last] = export_student(last)
        runner.logger.info(f'Student-only checkpoint: {self._exported[last]}')
        for source in [s for s in self._exported if not osp.exists(s)]:
            student = self._exported.pop(source)
            if osp.exists(student):
                os.remove(student)
