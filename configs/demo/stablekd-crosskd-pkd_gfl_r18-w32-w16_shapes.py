# StableKD with the CrossKD-style path and PKD on the shapes: their twin
# plus the shipped recomposition of the 5 blocks.
_base_ = [
    './crosskd-pkd_gfl_r18-w32-w16_shapes.py',
    '../_base_/recomposition/5blocks_30-30.py',
]
