# InDistill's retrieval evaluation on the embedded digits: the test split
# (the val/test dataloaders of ../datasets/digits_bs64.py) queries the train
# split; mAP = mean 11-point interpolated precision, relevant = same digit,
# in percent, for both distances (keys retrieval/mAP_cosine and
# retrieval/mAP_euclidean).
#
# MMEngine forbids a key in two bases, and every digits config already sets
# val_cfg/val_evaluator, so this file exports retrieval_* names; a config
# turns the evaluation on with:
#
#   _base_ = ['<a digits config>.py',
#             '<path to>/_base_/evaluation/retrieval_digits.py']
#   val_cfg = _base_.retrieval_val_cfg
#   val_evaluator = _base_.retrieval_evaluator
#   test_cfg = _base_.retrieval_test_cfg
#   test_evaluator = _base_.retrieval_evaluator
#   # optional: keep the best checkpoint by it
#   default_hooks = dict(checkpoint=dict(save_best='retrieval/mAP_cosine',
#                                        rule='greater'))
retrieval_database = dict(
    batch_size=120,
    num_workers=0,
    # the train split as the database: test pipeline, in order
    dataset=dict(
        type='mmstablekd.DigitsDataset',
        split='train',
        pipeline=[dict(type='PackInputs')]),
    sampler=dict(type='DefaultSampler', shuffle=False),
)
retrieval_val_cfg = dict(
    type='mmstablekd.RetrievalValLoop', database=retrieval_database)
retrieval_test_cfg = dict(
    type='mmstablekd.RetrievalTestLoop', database=retrieval_database)
retrieval_evaluator = dict(
    _delete_=True,  # replaces the inherited Accuracy, its topk included
    type='mmstablekd.RetrievalMAP',
    metric=['cosine', 'euclidean'])
