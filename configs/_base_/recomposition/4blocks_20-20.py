# StableKD's default recomposition for 4 blocks (methods.md): decomposed for
# the first 20% of training, half-merged for the next 20%, end-to-end KD for
# the rest. Shares of training, so it fits any max_epochs.
custom_hooks = [
    dict(
        type='mmstablekd.RecompositionHook',
        stages=[
            dict(begin=0, groups=[[0], [1], [2], [3]]),
            dict(begin=0.2, groups=[[0, 1], [2, 3]]),
            dict(begin=0.4, groups=[[0, 1, 2, 3]]),
        ]),
    # fits the alignments of boundaries whose widths differ (e.g. the
    # default PCAProjection) on 16 training batches before training
    dict(type='mmstablekd.AlignmentFitHook'),
]
