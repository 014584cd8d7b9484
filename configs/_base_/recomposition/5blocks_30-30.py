# StableKD's recomposition for detectors cut into 5 blocks (backbone stages
# 1 | 2 | 3 | 4 | neck + head): decomposed for the first 30% of the
# iterations, half-merged for the next 30%, end-to-end KD for the last 40%.
# Counted in iterations, so a short schedule gets these shares exactly (at 4
# epochs the epoch-counted 20% / 40% begin at 25% / 50%).
# Chosen on the shapes detection benchmark (docs/detection_kd_diagnosis.md,
# first section): ahead of 20% / 20% counted in epochs in 6 of its 8
# RetinaNet / FCOS cells (2 budgets x 2 teachers); 10% / 10%, 20% / 20% and
# 40% / 30% of the iterations behind it in 3 of the 4 cells at 4 epochs.
# While half-merged the fed groups move to their own inputs, as in every
# shipped base (own_input 0 -> 1, from 4blocks_20-20.py): for detectors
# ahead of teacher-fed half-merged groups in 6 of 8 such cells, by little
# (+0.002 bbox mAP on average), and FCOS's classification loss no longer
# rises once merged (docs/detection_kd_own_input.md).
_base_ = ['./5blocks_20-20.py']
recomposition = dict(half=dict(begin=0.3), merged=dict(begin=0.6))
custom_hooks = [dict(type='mmstablekd.RecompositionHook', by_epoch=False)]
