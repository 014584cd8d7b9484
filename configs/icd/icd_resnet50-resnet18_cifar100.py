# ICD (Giakoumoglou & Stathaki, arXiv 2407.11802) on the CIFAR-100 pair of
# the KD baseline: a contrastive loss with an invariance penalty between the
# pooled features (student 512-d, teacher 2048-d), each through a trainable
# linear head to 128-d; in-batch negatives. Total: 1 * CE + 1 * ICD.
_base_ = ['../kd/kd_resnet50-resnet18_cifar100.py']
model = dict(
    output_losses=dict(
        _delete_=True,
        icd=dict(
            student='neck',  # GlobalAveragePooling: (N, C)
            teacher='neck',
            loss=dict(
                type='ICDLoss', student_channels=512,
                teacher_channels=2048))),
    task_loss_weight=1.0)
# the negatives are the rest of the batch: only full batches of 64
train_dataloader = dict(drop_last=True)
