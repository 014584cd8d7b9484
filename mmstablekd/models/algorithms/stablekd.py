"""StableKD: block-wise distillation with teacher-fed blocks."""
from typing import Dict, Iterable, List, Optional, Sequence, Tuple, Union

import torch
from mmengine.logging import MMLogger
from mmengine.model import BaseModel
from mmengine.registry import DefaultScope
from torch import nn

from mmstablekd.registry import MODELS
from mmstablekd.utils.config_checks import is_number
from ..alignments import BoundaryAlignments
from ..alignments.boundary_alignments import feature_rows, subsample_rows
from ..blocks import OutputRecorder, TeacherFeeding
from ..blocks.input_shape import declared_input_shape
from ..blocks.module_paths import get_module
from ..blocks.pair import probe_pair
from ..blocks.teacher_input import TeacherInput
from ..blocks.nested import iter_tensors
from ..builder import build_component
from ..model_config import resolve_model_cfg
from .block_grouping import BlockGrouping
from .config_checks import check_arguments
from .inheritance import check_inheritable, inherit_weights
from .loss_keys import check_loss_keys
from .output_paths import OutputPaths
from .student_checkpoint import accept_student_only_weights
from .teacher_checkpoint import load_teacher_weights


@MODELS.register_module()
class StableKD(BaseModel):
    """Distil a student from a frozen teacher, block by block.

    Both networks are cut at ``N - 1`` boundaries into ``N`` blocks. Blocks
    are arranged into *groups* of consecutive blocks (:meth:`set_groups`); a
    group that does not start at block 0 takes the teacher's (detached)
    feature as input, and a group that does not end at the last block is
    trained to reproduce the teacher's feature at its end (``feat_loss``).
    Where widths differ, both are the teacher's feature through the
    boundary's ``alignment``: the one tensor a block learns to output is the
    one the next block is fed. A schedule may move what a group is fed
    from the teacher's feature towards the student's own (detached) one
    (:meth:`set_own_input`; ``own_input`` of a recomposition stage).
    The last group ends at the model output: the student's own losses plus
    the ``output_losses`` (e.g. KD on logits). All groups train in the same
    iteration from one teacher and one student forward pass. With a single
    group (the default) this is ordinary end-to-end KD.

    Evaluation, ``predict`` and ``tensor`` modes use the plain student.

    Args:
        student (dict): the student's config, an MMPretrain classifier, an
            MMDetection detector or an MMSegmentation segmentor (usually
            ``{{_base_.model}}``), or
            ``dict(cfg_path=..., **overrides)`` to take the ``model`` of
            another config file (see :func:`resolve_model_cfg`).
        teacher (dict): the teacher's config, in the same forms.
        boundaries (dict | str): ``student=[...]`` and ``teacher=[...]``,
            the same number of module paths each, in forward order; e.g.
            ``['backbone.layer1', 'backbone.layer2', 'backbone.layer3']``.
            A boundary module may return a map ``(N, C, H, W)``, tokens
            ``(N, L, C)`` (ViT, DeiT) or a tuple holding either (Swin's
            ``(tokens, hw_shape)``). ``'auto'`` (the default) pairs the
            networks' stages (see :func:`auto_boundaries`;
            ``tools/analysis/inspect_blocks.py`` prints the plan).
        teacher_ckpt (str, optional): path or URL of the teacher's weights.
            None leaves the teacher randomly initialised (tests only).
        feat_loss (dict): loss between a group's output and the teacher's
            feature at that boundary. Default: the MSE relative to the
            teacher feature's variance, weight 30 (chosen by
            ``benchmarks/kd_grid.py``: with the plain MSE of weight 1 the
            blocks barely learn while decomposed, see
            ``docs/kd_grid.md``).
        output_losses (dict): distillation paths between any two modules,
            ``name -> dict(student=path, teacher=path, loss=cfg)``; the
            outputs of the modules at ``path`` are compared (tuples of
            feature maps, e.g. FPN levels, level by level, summed). Logged as
            ``loss_<name>``. Optional keys: ``connector=cfg``, a trainable
            module applied to the student's output first (e.g.
            ``dict(type='ConvBNAdapter', in_channels=512,
            out_channels=2048)``), and ``teacher_module=path``, a frozen
            teacher module the student's output then passes through (e.g.
            ``'head.fc'``: "softmax regression", the student's feature
            through the teacher's classifier). A teacher module that is
            the ``teacher`` path itself takes the student's output whole:
            ``dict(student='neck', teacher='bbox_head',
            teacher_module='bbox_head', loss=dict(type='DenseHeadKDLoss'))``
            is CrossKD's path, the student's FPN levels through the
            teacher's frozen head, against that head's outputs on the
            teacher's own levels.
        task_loss_weight (float): multiplier of the student's own losses
            (classification CE, or the detector's losses).
        task_loss_names (dict): renames of the student's loss keys. MMPretrain
            heads return a bare ``loss``, logged as ``loss_ce``.
        alignment (dict | str, optional): built at each boundary where
            teacher and student widths differ, ``in_channels`` (teacher) ->
            ``out_channels`` (student); see :class:`BoundaryAlignments`.
            Default ``'auto'``: per boundary, :class:`ChannelSelection`
            where the wider teacher ends the boundary with a convolution
            (CNN stages; no parameters, so a KD model carries it for
            nothing), else :class:`PCAProjection`, fitted on training batches
            by ``RecompositionHook`` before training (chosen by
            ``benchmarks/kd_grid.py``; see :func:`auto_alignment`). None
            builds nothing, and a grouping or loss that would use a boundary
            whose widths differ is an error.
        resize (str, optional): where the two features' spatial sizes
            differ at a boundary (other strides, tokens against maps), the
            teacher's is resized to the student's: ``'nearest'`` (the
            default, chosen by ``benchmarks/transformer_pairs.py``),
            ``'bilinear'``, or ``'conv'`` (a learned :class:`ConvResize` by
            integer factors, others nearest). None makes a size mismatch an
            error.
        keep_internal_losses (bool): also apply ``feat_loss`` at boundaries
            inside a group (after blocks are merged). Default: False.
        loss_aggregator (dict, optional): how the distillation losses
            (``feat_b<j>`` and the output losses, not the student's own
            losses) are weighted, e.g. ``dict(type='AdaptiveLossAggregator')``;
            built with ``paths=`` the names of those losses. None: each
            loss's own ``loss_weight``.
        probe_input_shape (tuple, optional): ``(C, H, W)`` of the dummy
            image used once at build time to trace the blocks. None: the
            training pipeline's crop size, filled in by
            :class:`PortableRunner` and this project's tools; else the
            largest size the backbones declare (ViT, Swin), else
            ``(3, 32, 32)``.
        inherit (list[str]): student module paths that start from the
            teacher's weights at the same path, e.g. ``['bbox_head']``
            (FGD's and MGD's "inheriting" for detectors whose heads have
            the same widths). Checked at build time (same parameter names
            and shapes); copied in :meth:`init_weights`, so a checkpoint the
            runner loads or resumes overwrites them. Default: none.
        data_preprocessor (dict, optional): MMPretrain configs keep it at the
            top level (the Runner passes it here); when None, the student's
            own (MMDetection keeps it inside the model) is used.
    """

    def __init__(self,
                 student: dict,
                 teacher: dict,
                 boundaries: Union[dict, str] = 'auto',
                 teacher_ckpt: Optional[str] = None,
                 feat_loss: dict = dict(
                     type='FeatureMSELoss', relative=True, loss_weight=30.),
                 output_losses: Optional[Dict[str, dict]] = None,
                 task_loss_weight: float = 1.0,
                 task_loss_names: Dict[str, str] = dict(loss='loss_ce'),
                 alignment: Union[dict, str, None] = 'auto',
                 resize: Optional[str] = 'nearest',
                 keep_internal_losses: bool = False,
                 loss_aggregator: Optional[dict] = None,
                 probe_input_shape: Optional[Sequence[int]] = None,
                 inherit: Sequence[str] = (),
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        check_arguments(locals())
        with DefaultScope.overwrite_default_scope(_task_scope()):
            student_model = MODELS.build(resolve_model_cfg(student))
            teacher_model = MODELS.build(resolve_model_cfg(teacher))
            if data_preprocessor is None:
                data_preprocessor = student_model.data_preprocessor
            else:  # MMPretrain leaves the type to the classifier
                data_preprocessor = dict(data_preprocessor)
                data_preprocessor.setdefault(
                    'type', type(student_model.data_preprocessor))
            super().__init__(
                data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.student = student_model
        # Kept outside the module tree: the teacher is no trained state, so
        # it stays out of parameters() (optimizer, DDP), state_dict()
        # (checkpoints hold the student side only), init_weights() and
        # train(); _apply() still moves it with the model.
        self._teacher = (teacher_model, )
        _check_same_classes(self.student, self.teacher)
        if teacher_ckpt is not None:
            load_teacher_weights(self.teacher, teacher_ckpt)
        else:
            MMLogger.get_current_instance().warning(
                'StableKD: teacher_ckpt is None, the teacher keeps random '
                'weights. Set teacher_ckpt for a real distillation.')
        self.teacher.requires_grad_(False)
        self.teacher.eval()
        self.inherit = list(inherit)
        check_inheritable(self.student, self.teacher, self.inherit)
        self.teacher_input = TeacherInput(self.student, self.teacher)
        if self.teacher_input.active:
            MMLogger.get_current_instance().info(
                'StableKD: student and teacher normalise images '
                'differently; the teacher gets its own normalisation.')

        self.probe_input_shape = tuple(
            probe_input_shape
            or declared_input_shape(self.student, self.teacher))
        self.student_plan, self.teacher_plan = probe_pair(
            self.student, self.teacher, boundaries, self.probe_input_shape)
        self.alignments = BoundaryAlignments(
            self.student_plan, self.teacher_plan, alignment,
            teacher_boundaries=[
                get_module(self.teacher, p, 'teacher')
                for p in self.teacher_plan.boundaries
            ],
            resize=resize)
        self.feat_loss = build_component(feat_loss)
        self.output_paths = OutputPaths(output_losses or {}, self.teacher)
        self.task_loss_weight = task_loss_weight
        self.task_loss_names = dict(task_loss_names)
        self.feeding = TeacherFeeding(self.student, self.student_plan)
        self.grouping = BlockGrouping(
            self.num_blocks, self.feeding, self.alignments,
            self.output_paths.names, keep_internal_losses)
        check_loss_keys(self)
        self.loss_aggregator = None if loss_aggregator is None else \
            build_component(loss_aggregator, paths=self.loss_names[1:])

        student_outputs = [p for p, _ in self.output_paths.ends.values()]
        teacher_outputs = [p for _, p in self.output_paths.ends.values()]
        self.student_recorder = OutputRecorder(
            self.student, self.student_plan.boundaries + student_outputs,
            'student', direct_calls=True)  # segmentors: head.forward(x)
        self.teacher_recorder = OutputRecorder(
            self.teacher,
            self.teacher_plan.boundaries + teacher_outputs,
            'teacher',
            stop_when_complete=True,
            direct_calls=True)  # heads run by head.forward(x)
        self._register_load_state_dict_pre_hook(accept_student_only_weights,
                                                with_module=True)

    def init_weights(self) -> None:
        """The student's own initialisation, then the modules of
        ``inherit`` take the teacher's weights (before any checkpoint the
        runner loads or resumes, which overwrites them)."""
        super().init_weights()
        inherit_weights(self.student, self.teacher, self.inherit)

    # ------------------------------------------------------------- grouping
    @property
    def num_blocks(self) -> int:
        return self.student_plan.num_blocks

    @property
    def groups(self) -> Tuple[Tuple[int, ...], ...]:
        """The current grouping, e.g. ``((0,), (1,), (2, 3))``."""
        return self.grouping.groups

    def set_groups(self, groups: Sequence[Sequence[int]]) -> None:
        """Train with ``groups`` from the next forward pass on."""
        self.grouping.set_groups(groups)

    @property
    def own_input(self) -> float:
        """The share of a fed block's input that is the student's own
        (detached) feature; the rest is the teacher's. 0 by default."""
        return self.feeding.own_share

    def set_own_input(self, share: float) -> None:
        """Feed blocks ``(1 - share) * teacher + share * own`` from the
        next forward pass on (see :class:`TeacherFeeding`).

        Raises:
            ValueError: ``share`` is not a number in ``[0, 1]``.
        """
        if not (is_number(share) and 0 <= share <= 1):
            raise ValueError(
                f'StableKD own_input must be a number in [0, 1] (0: fed '
                f"blocks get the teacher's feature, 1: the student's own), "
                f'got {share!r}.')
        self.feeding.own_share = float(share)

    @property
    def loss_names(self) -> List[str]:
        """The losses a schedule may switch on and off: ``'task'`` (the
        student's own losses), ``'feat_b<j>'`` for each boundary, and the
        output losses by name."""
        return list(self.grouping.loss_names)

    @property
    def active_losses(self) -> Optional[Tuple[str, ...]]:
        """The losses computed, or None for those the grouping implies."""
        return self.grouping.active_losses

    def set_active_losses(self, names: Optional[Sequence[str]]) -> None:
        """Compute only the losses ``names`` from the next forward pass on;
        None restores the default: the student's own losses, the output
        losses, and the feature loss at every group end."""
        self.grouping.set_active_losses(names)

    def may_leave_parameters_unused(self) -> bool:
        """Whether some grouping trains without some parameter, so that DDP
        needs ``find_unused_parameters`` (checked by ``RecompositionHook``
        before a distributed run): any trainable part outside the
        student (learned alignments, connectors, loss parts, aggregation
        weights) works only while its loss is active, e.g. an alignment at
        boundary j only while j ends a group, which the end-to-end grouping
        (that every schedule reaches) never does."""
        return any(not name.startswith('student.')
                   for name, _ in self.named_parameters())

    # ------------------------------------------------------------- modes
    @property
    def teacher(self) -> nn.Module:
        """The frozen teacher, always in eval mode."""
        return self._teacher[0]

    def _apply(self, fn, *args, **kwargs):
        """Device and dtype moves (``.to()``, ``.cuda()``) reach the
        teacher too."""
        self.teacher._apply(fn, *args, **kwargs)
        return super()._apply(fn, *args, **kwargs)

    def forward(self,
                inputs: torch.Tensor,
                data_samples: Optional[list] = None,
                mode: str = 'tensor'):
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        return self.student(inputs, data_samples, mode=mode)

    def extract_feat(self, inputs: torch.Tensor):
        """The student's features (e.g. for retrieval evaluation)."""
        return self.student.extract_feat(inputs)

    def loss(self, inputs: torch.Tensor,
             data_samples: Optional[list]) -> Dict[str, torch.Tensor]:
        """Losses of every group for one batch (see the class docstring)."""
        teacher_out = self._run_teacher(inputs, data_samples)
        fed: Dict[int, torch.Tensor] = {}

        def feed(j: int) -> torch.Tensor:
            if j not in fed:
                fed[j] = self.alignments(
                    j, self.teacher_plan.feature(j, teacher_out),
                    self.student_plan.feature(j, student_out),
                    inputs.shape[-2:])
            return fed[j]

        with self.student_recorder.recording() as student_out, \
                self.feeding.feeding(student_out, self.groups, feed):
            task_losses = self.student(inputs, data_samples, mode='loss')

        losses = {
            self.task_loss_names.get(k, k): _scale(v, self.task_loss_weight)
            if 'loss' in k else v
            for k, v in task_losses.items() if self.grouping.is_active('task')
        }
        distill = {}
        for j in self.grouping.supervised_boundaries():
            # detached: a learned alignment trains only with the block it
            # feeds, never towards what block j happens to output
            distill[f'loss_feat_b{j}'] = self.feat_loss(
                self.student_plan.feature(j, student_out), feed(j).detach())
        for name, (s_path, t_path) in self.output_paths.ends.items():
            if self.grouping.is_active(name):
                distill[f'loss_{name}'] = self.output_paths(
                    name, student_out[s_path], teacher_out[t_path])
        if self.loss_aggregator is not None:
            distill = self.loss_aggregator(distill)
        losses.update(distill)
        self._check_finite(losses)
        return losses

    def _check_finite(self, losses: Dict[str, torch.Tensor]) -> None:
        """Stop before the backward pass when a loss is NaN or infinite, so
        that no weight and no checkpoint is touched by it."""
        values = {k: torch.stack([t.detach().float().sum()
                                  for t in iter_tensors(v)]).sum()
                  for k, v in losses.items() if 'loss' in k}
        if torch.isfinite(torch.stack(list(values.values()))).all():
            return
        bad = [k for k, v in values.items() if not torch.isfinite(v)]
        ends = {f'loss_feat_b{g[-1]}': list(g) for g in self.groups}
        where = ', '.join(
            f'{k} = {values[k].item()} (group '
            f'{ends.get(k, list(self.groups[-1]))})' for k in bad)
        groups = [list(g) for g in self.groups]
        raise FloatingPointError(
            f'Non-finite loss: {where}; groups {groups}. Training stopped '
            f'before the update, so the '
            f'weights and the checkpoints written so far are intact. Lower '
            f'the learning rate or that loss\'s loss_weight, or use '
            f'FeatureMSELoss(normalize=True), then resume from the last '
            f'checkpoint.')

    def _run_teacher(self, inputs, data_samples,
                     needed: Optional[List[str]] = None) -> dict:
        """Run the teacher (eval, no grad) only as far as the last output
        ``needed`` (default: what this iteration uses), or not at all;
        returns its recorded outputs by module path."""
        if needed is None:
            boundaries = self.grouping.boundaries_used(
                self.groups, self.active_losses)
            self.alignments.check_fitted(boundaries)
            needed = [self.teacher_plan.boundaries[j] for j in boundaries] + [
                t for name, (_, t) in self.output_paths.ends.items()
                if self.grouping.is_active(name)
            ]
        if not needed:
            return {}
        with torch.no_grad(), self.teacher_recorder.recording(
                needed) as outputs:
            self.teacher(self.teacher_input(inputs), data_samples,
                         mode='tensor')
        return outputs

    @torch.no_grad()
    def fit_alignments(self, data_batches: Iterable[dict],
                       rows_per_batch: int = 4096,
                       boundaries: Optional[Iterable[int]] = None
                       ) -> Dict[int, dict]:
        """Fit the alignments that need it (e.g. :class:`PCAProjection`) on
        training batches, as the dataloader yields them.

        Each batch contributes at most ``rows_per_batch`` feature vectors
        per boundary (positions drawn at random, seeded), of the teacher and
        of the student (eval mode; only its range is used).
        ``boundaries`` limits the fit to those (default: every unfitted
        one).

        Returns:
            dict: what each fit reports (e.g. ``kept_variance``) by boundary.
        """
        todo = self.alignments.unfitted(
            None if boundaries is None else set(boundaries))
        if not todo:
            return {}
        rows = {j: ([], []) for j in todo}
        generator = torch.Generator().manual_seed(0)
        was_training = self.student.training
        self.student.eval()
        try:
            for batch in data_batches:
                # no batch augmentation (Mixup, YOLOX's random resize)
                data = self.data_preprocessor(batch, False)
                teacher_out = self._run_teacher(
                    data['inputs'], data['data_samples'],
                    [self.teacher_plan.boundaries[j] for j in todo])
                with self.student_recorder.recording() as student_out:
                    self.student.extract_feat(data['inputs'])
                for j in todo:
                    for plan, out, kept in (
                            (self.teacher_plan, teacher_out, rows[j][0]),
                            (self.student_plan, student_out, rows[j][1])):
                        kept.append(subsample_rows(
                            feature_rows(plan.feature(j, out)).float().cpu(),
                            rows_per_batch, generator))
        finally:
            self.student.train(was_training)
        if not rows[todo[0]][0]:
            raise ValueError('fit_alignments got no batches.')
        return self.alignments.fit(
            {j: torch.cat(t) for j, (t, _) in rows.items()},
            {j: torch.cat(s) for j, (_, s) in rows.items()})


def _task_scope() -> str:
    """The scope student and teacher are built in: the config's
    ``default_scope`` (``'mmpretrain'``, ``'mmdet'`` or ``'mmseg'``)."""
    scope = DefaultScope.get_current_instance()
    name = scope.scope_name if scope is not None else None
    if name in (None, 'mmengine', 'mmstablekd'):
        raise ValueError(
            f'StableKD builds student and teacher in the default scope, but '
            f'it is {name!r}. Inherit an mmpretrain::, mmdet:: or mmseg:: '
            f"config (they set default_scope), or set default_scope="
            f"'mmpretrain' / 'mmdet' / 'mmseg' in the config.")
    return name


def _scale(loss: Union[torch.Tensor, List[torch.Tensor]], weight: float):
    if isinstance(loss, (list, tuple)):  # MMDetection: one loss per level
        return [weight * item for item in loss]
    return weight * loss


def _check_same_classes(student: nn.Module, teacher: nn.Module) -> None:
    """Heads at the same path must predict the same number of classes."""
    def classes(model):
        return {
            name: m.num_classes
            for name, m in model.named_modules()
            if getattr(m, 'num_classes', None) is not None
        }

    teacher_classes = classes(teacher)
    for name, ours in classes(student).items():
        theirs = teacher_classes.get(name, ours)
        if theirs != ours:
            raise ValueError(
                f'Student and teacher predict different numbers of classes '
                f'({name}.num_classes: student {ours}, teacher {theirs}). '
                f'Distil from a '
                f'teacher trained on the same classes: set num_classes of '
                f'both heads to match the dataset.')
