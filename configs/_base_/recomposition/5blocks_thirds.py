# The authors' recomposition (methods.md section 1) for 5 blocks, the head
# its own block: three equal phases, [0][1][2][3][4] -> [0 1][2 3][4] ->
# [0 1 2 3][4]. The head is never merged (merging it made the model
# overfit): it always learns from the teacher's layer4 feature.
# Declared once, by name: a derived config moves a stage with e.g.
#   recomposition = dict(half=dict(begin=0.3))
# and the hook and the learning-rate cycles both follow.
recomposition = dict(
    decomposed=dict(begin=0, groups=[[0], [1], [2], [3], [4]]),
    half=dict(begin=1 / 3, groups=[[0, 1], [2, 3], [4]]),
    merged=dict(begin=2 / 3, groups=[[0, 1, 2, 3], [4]]))
# RecompositionHook also fits the alignments that need it before training
# (none in the authors' pairs: equal widths); the authors clip nothing, so
# neither does the hook here (its default caps the gradient norm at 10)
custom_hooks = [dict(type='mmstablekd.RecompositionHook', clip_grad=None)]
# A warm-up at every grouping change (without it accuracy drops sharply):
# "triangular2", one cycle per stage, floor 0.003x -> peak 10x -> floor of
# the base learning rate, the peak's height halving every stage; updated
# every iteration. A named entry (a config may not take param_scheduler
# from two bases): configs set param_scheduler = [_base_.stage_cycles]
stage_cycles = dict(
    type='mmstablekd.StageCyclicLR',
    peak_ratio=10.,
    floor_ratio=0.003,
    decay=0.5,
    by_epoch=True,
    convert_to_iter_based=True)
