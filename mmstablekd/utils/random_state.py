"""Draw batches without changing a training run's random stream."""
import random
from contextlib import contextmanager

import numpy as np
import torch


@contextmanager
def random_state_kept():
    """Restore Python's, NumPy's and torch's random state on exit, so that
    drawing extra batches (random augmentations) leaves the training run's
    random stream as if they had never been drawn."""
    python_state, numpy_state = random.getstate(), np.random.get_state()
    with torch.random.fork_rng():
        yield
    random.setstate(python_state)
    np.random.set_state(numpy_state)
