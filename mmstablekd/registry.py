"""Registries of the ``mmstablekd`` scope.

Each one is a child of MMEngine's root registry and declares ``locations``,
so ``type='mmstablekd.StableKD'`` imports the code that registers it.
"""
from mmengine.registry import DATA_SAMPLERS as MMENGINE_DATA_SAMPLERS
from mmengine.registry import DATASETS as MMENGINE_DATASETS
from mmengine.registry import HOOKS as MMENGINE_HOOKS
from mmengine.registry import LOOPS as MMENGINE_LOOPS
from mmengine.registry import METRICS as MMENGINE_METRICS
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import OPTIM_WRAPPERS as MMENGINE_OPTIM_WRAPPERS
from mmengine.registry import \
    PARAM_SCHEDULERS as MMENGINE_PARAM_SCHEDULERS
from mmengine.registry import RUNNERS as MMENGINE_RUNNERS
from mmengine.registry import Registry

__all__ = [
    'MODELS', 'HOOKS', 'DATASETS', 'DATA_SAMPLERS',
    'METRICS', 'OPTIM_WRAPPERS', 'PARAM_SCHEDULERS', 'LOOPS', 'RUNNERS'
]

# algorithms, connectors, losses and loss aggregators
MODELS = Registry(
    'model', parent=MMENGINE_MODELS, locations=['mmstablekd.models'])
# recomposition, student export
HOOKS = Registry(
    'hook', parent=MMENGINE_HOOKS, locations=['mmstablekd.engine.hooks'])
# the embedded demo data and dataset wrappers
DATASETS = Registry(
    'dataset', parent=MMENGINE_DATASETS, locations=['mmstablekd.datasets'])
# data-efficiency runs: class-balanced subsets of any training set
DATA_SAMPLERS = Registry(
    'data sampler',
    parent=MMENGINE_DATA_SAMPLERS,
    locations=['mmstablekd.datasets'])
# retrieval mAP of embeddings
METRICS = Registry(
    'metric', parent=MMENGINE_METRICS, locations=['mmstablekd.evaluation'])
# validation/test by retrieval (embed a database, then the queries)
LOOPS = Registry(
    'loop', parent=MMENGINE_LOOPS, locations=['mmstablekd.engine.runner'])
# a Runner that adapts the config to the machine (gloo on CPU, DDP wrapper)
RUNNERS = Registry(
    'runner', parent=MMENGINE_RUNNERS, locations=['mmstablekd.engine.runner'])
# mixed precision without CUDA
OPTIM_WRAPPERS = Registry(
    'optim_wrapper',
    parent=MMENGINE_OPTIM_WRAPPERS,
    locations=['mmstablekd.engine.optimizers'])
# learning-rate cycles aligned with the recomposition stages
PARAM_SCHEDULERS = Registry(
    'parameter scheduler',
    parent=MMENGINE_PARAM_SCHEDULERS,
    locations=['mmstablekd.engine.schedulers'])
