from .alignment_fit_hook import AlignmentFitHook
from .composition_probe_hook import CompositionProbeHook
from .iboe_probe_hook import IBOEProbeHook
from .recomposition_hook import RecompositionHook
from .student_export_hook import StudentExportHook

__all__ = [
    'AlignmentFitHook', 'CompositionProbeHook', 'IBOEProbeHook',
    'RecompositionHook', 'StudentExportHook'
]
