# StableKD "towards end-to-end": the authors' recomposition (5blocks_thirds)
# in four equal phases, the last one fully merged (the head too), so that
# training ends as plain end-to-end KD.
_base_ = ['./5blocks_thirds.py']
recomposition = dict(
    half=dict(begin=0.25),
    merged=dict(begin=0.5),
    end_to_end=dict(begin=0.75, groups=[[0, 1, 2, 3, 4]]))
