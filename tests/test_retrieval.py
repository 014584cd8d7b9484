"""Retrieval mAP (InDistill's protocol) and the loops that feed it, through
real MMEngine Runners."""
import json
import math
import os
import os.path as osp
import socket
import subprocess
import sys
import textwrap
from fractions import Fraction

import pytest
import torch
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.runner import Runner

from conftest import ROOT, build_model, make_cls_config, write_config
from mmstablekd.evaluation import RetrievalMAP
from mmstablekd.evaluation.metrics.retrieval_map import eleven_point_ap

# 2-D embeddings whose cosine and euclidean rankings differ (d1 points like
# d0 but is far away)
DATABASE = [[1.0, 0.0], [4.0, 0.5], [0.0, 1.0], [0.8, 0.7], [3.0, 3.2],
            [-1.0, 0.2]]
DATABASE_LABELS = [0, 1, 1, 0, 1, 0]
QUERIES = [[0.9, 0.1], [0.1, 2.0], [2.0, 2.0], [-0.5, 0.5]]
QUERY_LABELS = [0, 1, 0, 1]


def _distance_by_hand(a, b, distance):
    if distance == 'cosine':
        dot = sum(x * y for x, y in zip(a, b))
        norms = math.sqrt(sum(x * x for x in a) * sum(y * y for y in b))
        return 1 - dot / norms
    return math.sqrt(sum((x - y)**2 for x, y in zip(a, b)))


def _ap_by_hand(query, label, distance):
    """11-point interpolated AP, from the definition."""
    order = sorted(range(len(DATABASE)), key=lambda k: (_distance_by_hand(
        query, DATABASE[k], distance), k))
    relevant = [DATABASE_LABELS[k] == label for k in order]
    total = sum(relevant)
    precision, recall, hits = [], [], 0
    for rank, rel in enumerate(relevant, 1):
        hits += rel
        precision.append(hits / rank)
        recall.append(Fraction(hits, total))
    return sum(
        max(p for p, r in zip(precision, recall) if r >= Fraction(i, 10))
        for i in range(11)) / 11


def _map_by_hand(distance):
    return 100 * sum(
        _ap_by_hand(q, y, distance)
        for q, y in zip(QUERIES, QUERY_LABELS)) / len(QUERIES)


def _samples(embeddings, labels, role, first_index=0):
    return [
        dict(embedding=torch.tensor(e), gt_label=torch.tensor([y]),
             role=role, sample_idx=first_index + i)
        for i, (e, y) in enumerate(zip(embeddings, labels))
    ]


def _evaluate(metric, samples):
    metric.process({}, samples)
    return metric.evaluate(len(metric.results))


def test_eleven_point_ap_of_known_rankings():
    relevance = torch.tensor([[1, 0, 1, 0], [0, 1, 0, 0], [1, 0, 0, 0],
                              [0, 0, 1, 1]], dtype=torch.bool)
    # [1, 0, 1, 0]: precision 1 up to recall 0.5 (6 levels), then 2/3
    # [0, 1]: precision 1/2 at every level; [1, 0, 0]: 1
    # [0, 0, 1, 1]: 1/3 at recall 0.5, but 1/2 deeper: interpolated, 1/2
    # at every level
    expected = [(6 + 5 * 2 / 3) / 11, 0.5, 1.0, 0.5]
    assert eleven_point_ap(relevance).tolist() == pytest.approx(expected)


@pytest.mark.parametrize('distance', ['cosine', 'euclidean'])
def test_map_matches_the_definition_by_hand(distance):
    metric = RetrievalMAP(metric=distance)
    result = _evaluate(
        metric,
        _samples(DATABASE, DATABASE_LABELS, 'database') +
        _samples(QUERIES, QUERY_LABELS, 'query'))
    assert list(result) == [f'retrieval/mAP_{distance}']
    assert result[f'retrieval/mAP_{distance}'] == pytest.approx(
        _map_by_hand(distance))


def test_one_metric_computes_both_distances_and_they_differ():
    result = _evaluate(
        RetrievalMAP(),
        _samples(QUERIES, QUERY_LABELS, 'query') +
        _samples(DATABASE, DATABASE_LABELS, 'database'))
    assert result['retrieval/mAP_cosine'] == pytest.approx(
        _map_by_hand('cosine'))
    assert result['retrieval/mAP_euclidean'] == pytest.approx(
        _map_by_hand('euclidean'))
    assert _map_by_hand('cosine') != pytest.approx(_map_by_hand('euclidean'))


def test_chunking_does_not_change_the_result():
    samples = (_samples(DATABASE, DATABASE_LABELS, 'database') +
               _samples(QUERIES, QUERY_LABELS, 'query'))
    whole = _evaluate(RetrievalMAP(), samples)
    assert _evaluate(RetrievalMAP(chunk_size=1), samples) == pytest.approx(
        whole)


def test_padding_copies_are_dropped_by_sample_index():
    database = _samples(DATABASE, DATABASE_LABELS, 'database')
    queries = _samples(QUERIES, QUERY_LABELS, 'query')
    # what a 4-rank DefaultSampler gathers: each split padded by repeats
    padded = database + database[:2] + queries[::-1] + queries[:1]
    assert _evaluate(RetrievalMAP(), padded)['retrieval/mAP_cosine'] == \
        pytest.approx(_map_by_hand('cosine'))


def test_queries_of_classes_absent_from_the_database_are_left_out():
    samples = (_samples(DATABASE, DATABASE_LABELS, 'database') +
               _samples(QUERIES + [[1.0, 1.0]], QUERY_LABELS + [7], 'query'))
    assert _evaluate(RetrievalMAP(), samples)['retrieval/mAP_cosine'] == \
        pytest.approx(_map_by_hand('cosine'))


def test_predictions_without_embeddings_point_to_the_retrieval_loop():
    with pytest.raises(KeyError, match='RetrievalValLoop'):
        RetrievalMAP().process({}, [dict(gt_label=1, pred_label=1)])


def test_unknown_distance_is_an_error():
    with pytest.raises(ValueError, match='cosine'):
        RetrievalMAP(metric='manhattan')


# ------------------------------------------------------------ through Runner
CLASSIFIER = '''
_base_ = ['mmpretrain::resnet/resnet18_8xb16_cifar10.py']
custom_imports = dict(imports=['mmstablekd'])
model = dict(backbone=dict(base_channels=8, stem_channels=8),
             head=dict(num_classes=4, in_channels=64))
data_preprocessor = dict(num_classes=4)
train_dataloader = dict(batch_size=4, num_workers=0,
                        dataset=dict(_delete_=True, **{train!r}))
val_dataloader = dict(batch_size=8, num_workers=0,
                      dataset=dict(_delete_=True, **{val!r}))
test_dataloader = val_dataloader
train_cfg = dict(by_epoch=True, max_epochs=1, val_interval=1)
param_scheduler = []
optim_wrapper = dict(optimizer=dict(lr=0.01))
randomness = dict(seed=0)
'''
# what a user adds to turn retrieval evaluation on (the database: the
# train images, unshuffled, with the test pipeline)
RETRIEVAL = '''
database = dict(batch_size={batch}, num_workers=0, dataset={train!r},
                sampler=dict(type='DefaultSampler', shuffle=False))
val_cfg = dict(_delete_=True, type='mmstablekd.RetrievalValLoop',
               database=database)
test_cfg = dict(_delete_=True, type='mmstablekd.RetrievalTestLoop',
                database=database)
val_evaluator = dict(_delete_=True, type='mmstablekd.RetrievalMAP')
test_evaluator = val_evaluator
'''


def _split(image_folder, split, **kwargs):
    return dict(type='CustomDataset', data_root=image_folder,
                data_prefix=split, pipeline=[dict(type='LoadImageFromFile'),
                                             dict(type='PackInputs')],
                **kwargs)


def _classifier_config(tmp_path, image_folder, database_batch=8):
    text = CLASSIFIER.format(train=_split(image_folder, 'train'),
                             val=_split(image_folder, 'val'))
    text += RETRIEVAL.format(batch=database_batch,
                             train=_split(image_folder, 'train'))
    cfg = Config.fromfile(write_config(tmp_path, text, 'classifier.py'))
    cfg.work_dir = str(tmp_path / 'work_dir')
    return cfg


class IterLog(Hook):
    """Records the val/test hooks a loop fires."""

    def __init__(self):
        self.events = []

    def _log(self, event, runner, batch_idx=None, outputs=None,
             metrics=None):
        mode = event.split('_')[1]
        loader = getattr(runner, f'{mode}_dataloader')
        first = outputs[0] if outputs else {}
        self.events.append(
            dict(event=event, batch_idx=batch_idx,
                 num_batches=len(loader), role=first.get('role'),
                 dtype=first.get('embedding', torch.empty(0)).dtype,
                 metrics=metrics))

    def before_val_iter(self, runner, batch_idx, data_batch=None):
        self._log('before_val_iter', runner, batch_idx)

    def after_val_iter(self, runner, batch_idx, data_batch=None,
                       outputs=None):
        self._log('after_val_iter', runner, batch_idx, outputs)

    def after_val_epoch(self, runner, metrics=None):
        self._log('after_val_epoch', runner, metrics=metrics)

    def after_test_iter(self, runner, batch_idx, data_batch=None,
                        outputs=None):
        self._log('after_test_iter', runner, batch_idx, outputs)


def _check_map(metrics):
    assert set(metrics) == {'retrieval/mAP_cosine', 'retrieval/mAP_euclidean'}
    for value in metrics.values():
        assert 0 <= value <= 100


def test_classifier_val_embeds_database_then_queries_with_hooks(
        tmp_path, image_folder):
    # 24 train images in batches of 6 (4 batches), 24 val ones of 8 (3)
    runner = Runner.from_cfg(
        _classifier_config(tmp_path, image_folder, database_batch=6))
    log = IterLog()
    runner.register_hook(log)
    metrics = runner.val()
    _check_map(metrics)
    after = [(e['batch_idx'], e['num_batches'], e['role'])
             for e in log.events if e['event'] == 'after_val_iter']
    # runner.val_dataloader is the loader being iterated
    assert after == [(i, 4, 'database') for i in range(4)] + \
        [(i, 3, 'query') for i in range(3)]
    events = [e['event'] for e in log.events]
    assert events.count('before_val_iter') == 7
    assert events[-1] == 'after_val_epoch'
    assert log.events[-1]['metrics'] == metrics
    # the query loader is back in place for the next validation
    assert runner.val_loop.dataloader.dataset.data_prefix['img_path'] \
        .endswith('val')
    assert runner.message_hub.get_scalar('val/retrieval/mAP_cosine')


def _embeddings_by_hand(runner):
    """Sample dicts of the classifier's pooled last-stage features."""
    model = runner.model.eval()
    samples = []
    for role, loader in (('database', runner.val_loop.database),
                         ('query', runner.val_dataloader)):
        for batch in loader:
            data = model.data_preprocessor(batch, False)
            with torch.no_grad():
                pooled = model.backbone(data['inputs'])[-1].mean(dim=(2, 3))
            samples += [
                dict(embedding=e, gt_label=s.gt_label, role=role)
                for e, s in zip(pooled, data['data_samples'])
            ]
    return samples


def test_classifier_map_is_the_map_of_its_pooled_features(
        tmp_path, image_folder):
    runner = Runner.from_cfg(_classifier_config(tmp_path, image_folder))
    metrics = runner.val()
    expected = _evaluate(RetrievalMAP(), _embeddings_by_hand(runner))
    assert metrics == pytest.approx(expected, rel=1e-4)


def test_classifier_test_uses_the_retrieval_test_loop_with_amp(
        tmp_path, image_folder):
    cfg = _classifier_config(tmp_path, image_folder)
    cfg.test_cfg.fp16 = True  # what tools/test.py --amp sets
    runner = Runner.from_cfg(cfg)
    log = IterLog()
    runner.register_hook(log)
    metrics = runner.test()
    _check_map(metrics)
    iters = [e for e in log.events if e['event'] == 'after_test_iter']
    assert [e['role'] for e in iters] == ['database'] * 3 + ['query'] * 3
    # embedded under CPU autocast; the metric ranks them in float64
    assert {e['dtype'] for e in iters} == {torch.bfloat16}


def test_stablekd_val_ranks_the_students_embeddings(tmp_path, image_folder):
    extra = RETRIEVAL.format(batch=8, train=_split(image_folder, 'train'))
    cfg = make_cls_config(tmp_path, image_folder, extra=extra)
    runner = Runner.from_cfg(cfg)
    assert type(runner.model).__name__ == 'StableKD'
    metrics = runner.val()
    _check_map(metrics)
    # the student's features, not the teacher's
    inputs = torch.rand(2, 3, 32, 32)
    student = runner.model.student.extract_feat(inputs)[-1]
    assert torch.equal(runner.model.extract_feat(inputs)[-1], student)


# ---------------------------------------------------- the digits base file
DIGITS = '''
_base_ = [{student!r}, {retrieval!r}]
val_cfg = _base_.retrieval_val_cfg
val_evaluator = _base_.retrieval_evaluator
test_cfg = _base_.retrieval_test_cfg
test_evaluator = _base_.retrieval_evaluator
train_cfg = dict(max_epochs=1)
'''


def test_digits_retrieval_base_turns_on_retrieval_evaluation(tmp_path):
    text = DIGITS.format(
        student=osp.join(ROOT, 'configs', 'demo',
                         'resnet18-w8_digits_student.py'),
        retrieval=osp.join(ROOT, 'configs', '_base_', 'evaluation',
                           'retrieval_digits.py'))
    cfg = Config.fromfile(write_config(tmp_path, text, 'digits.py'))
    cfg.work_dir = str(tmp_path / 'work_dir')
    assert cfg.val_evaluator == dict(
        type='mmstablekd.RetrievalMAP', metric=['cosine', 'euclidean'])
    database = cfg.val_cfg.database.dataset
    assert (database.split, cfg.val_dataloader.dataset.split) == (
        'train', 'test')
    assert cfg.test_cfg.database.dataset == database
    # a slice of each split keeps the test short
    for dataset in (database, cfg.test_cfg.database.dataset,
                    cfg.val_dataloader.dataset, cfg.test_dataloader.dataset):
        dataset.indices = 100
    runner = Runner.from_cfg(cfg)
    _check_map(runner.val())
    _check_map(runner.test())


# ------------------------------------------------------------- distributed
SAVE_METRICS = '''
import json
from mmengine.hooks import Hook
from mmengine.registry import HOOKS


@HOOKS.register_module()
class SaveTestMetrics(Hook):

    def after_test_epoch(self, runner, metrics=None):
        with open(f'{runner.work_dir}/metrics_rank{runner.rank}.json',
                  'w') as f:
            json.dump(metrics, f)
'''


def _free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def test_two_processes_give_the_single_process_map(tmp_path, image_folder):
    """Odd split sizes make the distributed sampler pad both splits; the
    gathered, de-duplicated result must equal one process's."""
    (tmp_path / 'save_metrics.py').write_text(SAVE_METRICS)
    text = CLASSIFIER.format(
        train=_split(image_folder, 'train'),
        val=_split(image_folder, 'val', indices=21))
    text += RETRIEVAL.format(
        batch=4, train=_split(image_folder, 'train', indices=23))
    text += textwrap.dedent('''
        custom_imports = dict(imports=['mmstablekd', 'save_metrics'])
        custom_hooks = [dict(type='SaveTestMetrics')]
        ''')
    cfg_path = write_config(tmp_path, text, 'dist.py')
    sys.path.insert(0, str(tmp_path))
    try:
        cfg = Config.fromfile(cfg_path)
        cfg.work_dir = str(tmp_path / 'single')
        ckpt = str(tmp_path / 'model.pth')
        torch.save({'state_dict': build_model(cfg).state_dict(), 'meta': {}},
                   ckpt)
        cfg.load_from = ckpt
        single = Runner.from_cfg(cfg).test()
    finally:
        sys.path.remove(str(tmp_path))

    env = dict(os.environ, PYTHON=sys.executable, PORT=str(_free_port()),
               PYTHONPATH=str(tmp_path), OMP_NUM_THREADS='1')
    out = subprocess.run(
        ['bash', osp.join(ROOT, 'tools', 'dist_test.sh'), cfg_path, ckpt,
         '2', '--work-dir', str(tmp_path / 'ddp')],
        env=env, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    # every rank tears the process group down before exit (no SIGABRT)
    assert 'terminate called' not in out.stderr
    ranks = [json.load(open(tmp_path / 'ddp' / f'metrics_rank{r}.json'))
             for r in (0, 1)]
    assert ranks[0] == ranks[1]  # broadcast to every rank
    assert ranks[0] == pytest.approx(single, rel=1e-4)
