"""What a finished MMEngine run logged."""
import glob
import json
import os.path as osp
from typing import List


def logged_scalars(work_dir: str) -> List[dict]:
    """Every row of ``work_dir``'s newest ``<timestamp>/vis_data/
    scalars.json`` (MMEngine's ``LocalVisBackend``): training rows carry
    ``loss``, validation rows the metrics."""
    logs = sorted(glob.glob(osp.join(work_dir, '*', 'vis_data',
                                     'scalars.json')))
    if not logs:
        raise FileNotFoundError(
            f'{work_dir}: no <timestamp>/vis_data/scalars.json: give the '
            f'work dir of a finished run (MMEngine writes it there).')
    with open(logs[-1]) as f:
        return [json.loads(line) for line in f if line.strip()]
