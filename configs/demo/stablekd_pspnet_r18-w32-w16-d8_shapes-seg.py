# StableKD on the segmentation shapes: the CWD KD baseline plus
# recomposition of the 5 blocks, decomposed -> half-merged -> end-to-end for
# 20% / 20% / the rest of the 8 epochs.
_base_ = [
    './kd_pspnet_r18-w32-w16-d8_shapes-seg.py',
    '../_base_/recomposition/5blocks_20-20.py',
]
