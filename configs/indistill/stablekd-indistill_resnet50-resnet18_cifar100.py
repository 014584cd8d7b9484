# InDistill's channel selection as StableKD's alignment (not in either
# paper): decomposed blocks are fed, and imitate, the teacher's strongest
# channels instead of its principal components; StableKD's recomposition.
_base_ = [
    '../kd/kd_resnet50-resnet18_cifar100.py',
    '../_base_/recomposition/4blocks_20-20.py'
]
model = dict(alignment=dict(type='ChannelSelection'))
