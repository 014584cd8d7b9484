from .auto_boundaries import auto_boundaries
from .groups import check_groups, end_to_end, group_index_of_blocks
from .parameter_blocks import parameter_blocks
from .layouts import FeatureLayout
from .pair import probe_pair
from .probe import BlockPlan, probe_blocks
from .recorder import OutputRecorder
from .teacher_feeding import TeacherFeeding

__all__ = [
    'BlockPlan', 'FeatureLayout', 'OutputRecorder', 'TeacherFeeding',
    'auto_boundaries', 'check_groups', 'end_to_end', 'group_index_of_blocks',
    'parameter_blocks', 'probe_blocks', 'probe_pair'
]
