from typing import Optional

from mmengine.model import MMDistributedDataParallel

from mmstablekd.registry import MODEL_WRAPPERS


@MODEL_WRAPPERS.register_module()
class DistillDataParallel(MMDistributedDataParallel):
    """MMEngine's DDP for a distillation model.

    Only trainable parameters are synchronised: the teacher lies outside the
    model's parameters. ``find_unused_parameters`` (which costs a graph
    traversal every iteration) is turned on only when some grouping leaves
    trainable parameters without a gradient, as the model reports through
    ``may_leave_parameters_unused()``; an explicit value wins.
    """

    def __init__(self,
                 module,
                 find_unused_parameters: Optional[bool] = None,
                 **kwargs) -> None:
        if find_unused_parameters is None:
            find_unused_parameters = module.may_leave_parameters_unused()
        super().__init__(
            module=module,
            find_unused_parameters=find_unused_parameters,
            **kwargs)
