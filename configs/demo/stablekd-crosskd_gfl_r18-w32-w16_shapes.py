# StableKD with the CrossKD-style output path on the shapes: the CrossKD
# twin plus the shipped recomposition of the 5 blocks.
_base_ = [
    './crosskd_gfl_r18-w32-w16_shapes.py',
    '../_base_/recomposition/5blocks_30-30.py',
]
