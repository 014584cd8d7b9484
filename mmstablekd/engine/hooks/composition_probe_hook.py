import json
import os.path as osp
from itertools import islice
from typing import Dict, List

import torch
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from mmstablekd.registry import HOOKS


@HOOKS.register_module()
class CompositionProbeHook(Hook):
    """After every validation, how the composed student stands against what
    its blocks were trained on.

    Recorded per validation (``records``, also written to
    ``composition_probe.json`` in the work dir and logged as
    ``probe/<figure>``): the iteration, the grouping, the validation
    top-1, and for a :class:`~mmstablekd.models.StableKD` model, on the
    first ``num_batches`` validation batches:

    - ``gap_b<j>``: ``|S_j - A_j(T_j)|^2 / |A_j(T_j)|^2``, the relative
      distance between the composed student's feature at boundary ``j``
      (its own input all the way) and the aligned teacher feature, which is
      what block ``j + 1`` is fed while decomposed and what block ``j``
      learns to output (boundaries of equal widths, or with an alignment);
    - ``fed_top1``: the top-1 of the last block fed the teacher's feature at
      the last boundary instead of the student's own (what the head block
      learns from while it is a group of its own).

    Training with it is training without it: it runs under ``no_grad`` in
    eval mode, after validation, and draws no random numbers.

    Args:
        num_batches (int): validation batches the figures are taken on.
            Default: 2.
    """

    priority = 'LOW'

    def __init__(self, num_batches: int = 2) -> None:
        self.num_batches = num_batches
        self.records: List[dict] = []

    def after_val_epoch(self, runner, metrics=None) -> None:
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        record = dict(iter=runner.iter)
        top1 = (metrics or {}).get('accuracy/top1')
        if top1 is not None:
            record['top1'] = float(top1)
        if hasattr(model, 'alignments'):
            record['groups'] = [list(g) for g in model.groups]
            batches = islice(runner.val_dataloader, self.num_batches)
            record.update(composition_figures(model, batches))
        self.records.append(record)
        for key, value in record.items():
            if isinstance(value, float) and key != 'top1':
                runner.message_hub.update_scalar(f'probe/{key}', value)
        with open(osp.join(runner.work_dir, 'composition_probe.json'),
                  'w') as f:
            json.dump(self.records, f)


@torch.no_grad()
def composition_figures(model, batches) -> Dict[str, float]:
    """``gap_b<j>`` and ``fed_top1`` of :class:`CompositionProbeHook` for a
    StableKD ``model`` on ``batches`` (as a dataloader yields them)."""
    last = model.num_blocks - 2
    usable = [j for j in range(last + 1)
              if j in model.alignments or j not in model.alignments.unaligned]
    was_training = model.student.training
    model.student.eval()
    gaps = {j: [0., 0.] for j in usable}
    correct = total = 0
    try:
        for batch in batches:
            data = model.data_preprocessor(batch, False)
            inputs, samples = data['inputs'], data['data_samples']
            teacher_out = model._run_teacher(
                inputs, samples,
                [model.teacher_plan.boundaries[j] for j in usable])
            with model.student_recorder.recording() as student_out:
                model.student(inputs, samples, mode='tensor')
            aligned = {j: model.alignments(
                j, model.teacher_plan.feature(j, teacher_out),
                model.student_plan.feature(j, student_out), inputs.shape[-2:])
                for j in usable}
            for j in usable:
                own = model.student_plan.feature(j, student_out)
                gaps[j][0] += float(((own - aligned[j])**2).sum())
                gaps[j][1] += float((aligned[j]**2).sum())
            # the fed head's top-1: classifiers only (detectors: the gaps)
            if last not in usable or not hasattr(samples[0], 'gt_label'):
                continue
            fed_groups = (tuple(range(last + 1)), (last + 1, ))
            with model.student_recorder.recording() as fed_out, \
                    model.feeding.feeding(fed_out, fed_groups,
                                          lambda j: aligned[j]):
                logits = model.student(inputs, samples, mode='tensor')
            labels = torch.cat([s.gt_label for s in samples])
            correct += int((logits.argmax(1) == labels).sum())
            total += len(labels)
    finally:
        model.student.train(was_training)
    figures = {f'gap_b{j}': num / max(den, 1e-12)
               for j, (num, den) in gaps.items()}
    if total:
        figures['fed_top1'] = 100. * correct / total
    return figures
