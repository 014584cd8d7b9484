# InDistill's channel selection as StableKD's adapter (not in either paper):
# decomposed blocks are fed, and imitate, the teacher's strongest channels
# instead of a learned 1x1 conv + BN projection; StableKD's recomposition.
_base_ = [
    '../kd/kd_resnet50-resnet18_cifar100.py',
    '../_base_/recomposition/4blocks_20-20.py'
]
model = dict(adapter=dict(type='ChannelSelection'), feat_space='student')
