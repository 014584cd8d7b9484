"""How a benchmark trains its runs: each once through ``tools/train.py``,
its result kept in its work dir (``result.json``) and read from there
instead of training again while the config and options are the same,
several runs at a time."""
import argparse
import functools
import hashlib
import json
import os.path as osp
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Dict, List, Optional

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path[:0] = [osp.join(ROOT, 'tools')]
import demo_digits  # noqa: E402


# MMEngine's config loading is not thread-safe (run_parallel's threads)
_LOADING = threading.Lock()


@functools.lru_cache(maxsize=None)
def _resolved(config: str) -> str:
    """``config`` as MMEngine reads it (bases merged), as JSON text."""
    from mmengine.config import Config
    with _LOADING:
        cfg = Config.fromfile(config)
    return json.dumps(cfg.to_dict(), sort_keys=True, default=repr)


# --cfg-options of the variants the shapes benchmarks share: the relative
# feature loss weighted as the classification configs weight it (the
# model's default: 30), the gradient norm clipped at 10 in the optim
# wrapper, and RecompositionHook's gradient cap turned off
REL10 = ['model.feat_loss.type=FeatureMSELoss',
         'model.feat_loss.relative=True', 'model.feat_loss.loss_weight=10.0']
CLIP10 = ['optim_wrapper.clip_grad.max_norm=10.0']
NO_CAP = ['custom_hooks.0.clip_grad=None']


def student_options(seed: int, epochs: int, teacher_ckpt: Optional[str],
                    variant: list) -> list:
    """The ``--cfg-options`` of one student run: its seed and epochs,
    validated at the end, the teacher's checkpoint (None: the student
    alone), then what its variant sets."""
    distilled = [] if teacher_ckpt is None else [
        f'model.teacher_ckpt={teacher_ckpt}']
    return [f'randomness.seed={seed}', f'train_cfg.max_epochs={epochs}',
            f'train_cfg.val_interval={epochs}'] + distilled + variant


def run_digest(config: str, options: list) -> str:
    """A digest of what a run trains: ``config`` (a path) with its bases
    resolved, and the ``options`` given on top of it."""
    text = _resolved(config) + json.dumps(options, sort_keys=True,
                                          default=repr)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def kept_result(work_dir: str, digest: str) -> Optional[dict]:
    """The ``result.json`` kept in ``work_dir`` if it is of the run whose
    :func:`run_digest` is ``digest``; None if there is none or it is of
    another config or options (which it prints)."""
    done = osp.join(work_dir, 'result.json')
    if not osp.exists(done):
        return None
    result = json.load(open(done))
    if result.get('digest') == digest:
        return result
    print(f'{work_dir}: its result is of another config or options (or '
          'from before results had a digest): not reused', flush=True)
    return None


def train_once(config: str, work_dir: str, options: list,
               measure: Callable[[str], dict],
               train: bool = True) -> Optional[dict]:
    """The result of ``config`` (a path) trained with ``options`` in
    ``work_dir``: an earlier run's when its ``digest`` (:func:`run_digest`)
    is the current one, or ``measure(work_dir)`` after training it, with
    its wall time (``seconds``), last checkpoint (``ckpt``), ``options``
    and ``digest`` added. None when there is none and ``train`` is
    False."""
    digest = run_digest(config, options)
    kept = kept_result(work_dir, digest)
    if kept is not None or not train:
        return kept
    seconds = demo_digits.train(config, work_dir, options)
    ckpt = open(osp.join(work_dir, 'last_checkpoint')).read().strip()
    result = dict(measure(work_dir), seconds=seconds, ckpt=ckpt,
                  options=options, digest=digest)
    json.dump(result, open(osp.join(work_dir, 'result.json'), 'w'))
    return result


def run_parallel(runs: List[tuple], jobs: int, run: Callable) -> Dict:
    """``run(key, config, options)`` for every ``(key, config, options)`` of
    ``runs``, ``jobs`` at a time: results by key, those that are None (not
    trained) left out."""
    with ThreadPoolExecutor(jobs) as pool:
        done = pool.map(lambda r: run(*r), runs)
        return {key: result for (key, _, _), result in zip(runs, done)
                if result is not None}


def shapes_parser(name: str, doc: str,
                  methods: dict) -> argparse.ArgumentParser:
    """The options of a benchmark on the generated shapes (detection,
    segmentation): its runs go to ``work_dirs/<name>``, its report to
    ``docs/<name>.md``; ``--methods`` picks among ``methods``' keys. The
    caller adds its budget options (epochs, teacher)."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument('--work-dir', default=osp.join('work_dirs', name))
    parser.add_argument('--out', default=osp.join('docs', f'{name}.md'))
    parser.add_argument('--methods', nargs='+', choices=list(methods),
                        default=list(methods))
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    parser.add_argument('--images', type=int, nargs=2, default=[256, 64],
                        metavar=('TRAIN', 'VAL'),
                        help='generated training and validation images')
    parser.add_argument('--jobs', type=int, default=1,
                        help='runs in parallel (one torch thread each)')
    parser.add_argument('--report-only', action='store_true',
                        help='report the finished runs, train nothing')
    return parser
