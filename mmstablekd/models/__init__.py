from .aggregators import *  # noqa: F401,F403
from .alignments import *  # noqa: F401,F403
from .algorithms import *  # noqa: F401,F403
from .connectors import *  # noqa: F401,F403
from .losses import *  # noqa: F401,F403
