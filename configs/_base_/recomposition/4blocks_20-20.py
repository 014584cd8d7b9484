# StableKD's default recomposition for 4 blocks (methods.md): decomposed for
# the first 20% of training, half-merged for the next 20%, end-to-end KD for
# the rest. Shares of training, so it fits any max_epochs. While
# half-merged, what the fed groups receive moves linearly from the teacher's
# feature to the student's own (detached; own_input 0 -> 1; the paper feeds
# the teacher's throughout, own_input=0), so the blocks that merge were
# trained on the inputs they then get: level with teacher-fed groups on the
# digits grids at the data's ceiling, ahead where the teachers leave room
# (docs/diagnosis.md, "The half-merged groups move to their own inputs").
# Declared once, by name: a derived config moves a stage with e.g.
#   recomposition = dict(half=dict(begin=0.3))
recomposition = dict(
    decomposed=dict(begin=0, groups=[[0], [1], [2], [3]]),
    half=dict(begin=0.2, groups=[[0, 1], [2, 3]], own_input=[0.0, 1.0]),
    merged=dict(begin=0.4, groups=[[0, 1, 2, 3]]))
custom_hooks = [
    # applies `recomposition` (runner_type='mmstablekd.PortableRunner'
    # hands it over); before training it also fits the alignments that
    # need a fit (PCAProjection) on 16 training batches, and clips the
    # gradient norm at 10 (its default; the decomposed blocks' first
    # gradients are 10-30x KD's; see the hook's docstring)
    dict(type='mmstablekd.RecompositionHook'),
]
