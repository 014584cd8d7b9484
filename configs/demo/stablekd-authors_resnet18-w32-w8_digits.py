# StableKD on the digits with the authors' recipe (methods.md section 1):
# 5 blocks, the head its own block and never merged, three equal phases
# ([0][1][2][3][4] -> [0 1][2 3][4] -> [0 1 2 3][4]), CE + KL with weights
# 1, and one learning-rate cycle per phase ("triangular2", floor 0.003x and
# first peak 10x the base lr 0.1). benchmarks/recipes.py compares it with
# the project's default recipe (stablekd_resnet18-w32-w8_digits.py) and KD.
_base_ = [
    './kd_resnet18-w32-w8_digits.py',
    '../_base_/recomposition/5blocks_thirds.py',
]
# the module paths that cut both networks (block ends)
resnet_stages = [f'backbone.layer{i}' for i in (1, 2, 3, 4)]
model = dict(
    boundaries=dict(student=resnet_stages, teacher=resnet_stages),
    # the authors' feature loss: plain MSE, weight 1
    feat_loss=dict(type='FeatureMSELoss'),
    # the teacher is 4x wider: its features reach the student's blocks
    # through PCAProjection (benchmarks/heterogeneous_pairs.py)
    alignment=dict(type='PCAProjection'),
    output_losses=dict(kd=dict(loss=dict(loss_weight=1.0))),
    task_loss_weight=1.0)
param_scheduler = [_base_.stage_cycles]
