from .launch import build_runner, setup_launcher, teardown_launcher
from .run_logs import logged_scalars
from .safe_checkpoint import CheckpointLoadError, load_from_local
from .student_export import export_student, student_checkpoint

__all__ = [
    'CheckpointLoadError', 'build_runner', 'export_student', 'load_from_local',
    'logged_scalars', 'setup_launcher', 'student_checkpoint',
    'teardown_launcher'
]
