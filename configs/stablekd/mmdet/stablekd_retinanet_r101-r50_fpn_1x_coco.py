# StableKD = the feature-imitation KD baseline + recomposition over the 5
# blocks (decomposed -> half-merged -> end-to-end for the first 30% / next
# 30% / last 40% of the iterations of the 12 epochs).
_base_ = [
    '../../kd/kd_retinanet_r101-r50_fpn_1x_coco.py',
    '../../_base_/recomposition/5blocks_30-30.py',
]
# equal widths, so no alignment; the default feature MSE relative to the
# teacher's variance: ahead of the earlier pin (plain MSE) on both shapes
# families (benchmarks/detection_kd.py, docs/detection_kd.md)
