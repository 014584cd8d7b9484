# The authors' KD baselines: one learning-rate cycle over the whole run
# (MMEngine's OneCycleLR, updated every iteration), peak 0.1 (their peak
# 0.5 was worse).
param_scheduler = dict(
    type='OneCycleLR', eta_max=0.1, by_epoch=True, convert_to_iter_based=True)
