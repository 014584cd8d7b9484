# StableKD's default recomposition for 5 blocks, e.g. a detector cut at its
# four backbone stages (stage 1 | 2 | 3 | 4 | neck + head): decomposed for the
# first 20% of training, half-merged for the next 20%, end-to-end KD for the
# rest. Shares of training, so it fits any max_epochs.
_base_ = ['./4blocks_20-20.py']  # the hooks; own inputs while half-merged
recomposition = dict(
    decomposed=dict(groups=[[0], [1], [2], [3], [4]]),
    half=dict(groups=[[0, 1], [2, 3, 4]]),
    merged=dict(groups=[[0, 1, 2, 3, 4]]))
