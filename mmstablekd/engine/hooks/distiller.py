"""The distillation model a hook drives."""
from mmengine.model import is_model_wrapper


def distiller_of(runner, hook: str, method: str):
    """``runner``'s model without its DDP wrapper.

    Raises:
        TypeError: the model has no ``method`` (it is not a
            :class:`~mmstablekd.models.StableKD`), naming ``hook``.
    """
    model = runner.model.module if is_model_wrapper(
        runner.model) else runner.model
    if not hasattr(model, method):
        raise TypeError(
            f'{hook} needs a model with {method}() (e.g. '
            f"type='mmstablekd.StableKD'), got {type(model).__name__}.")
    return model
