from .recomposition_hook import RecompositionHook
from .student_export_hook import StudentExportHook

__all__ = ['RecompositionHook', 'StudentExportHook']
