"""Which block each parameter of a probed network belongs to."""
from typing import Dict

from torch import nn

from .probe import BlockPlan


def parameter_blocks(model: nn.Module, plan: BlockPlan) -> Dict[str, int]:
    """Block index of every parameter of ``model``, by parameter name.

    ``model`` is the network ``plan`` was probed on (e.g. a StableKD's
    ``student`` with its ``student_plan``). A parameter belongs to the block
    of the module that holds it; modules the probe did not run (those after
    ``extract_feat``: the head) belong to the last block.
    """
    last = plan.num_blocks - 1
    return {
        name: plan.module_blocks.get(name.rpartition('.')[0], last)
        for name, _ in model.named_parameters()
    }
