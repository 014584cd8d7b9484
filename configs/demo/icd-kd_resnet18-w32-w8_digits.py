# ICD + KD on the digits: the demo KD pair plus ICD between the pooled
# features (student 64-d, teacher 256-d); 1 * CE + 1 * KD + 1 * ICD.
_base_ = ['./kd_resnet18-w32-w8_digits.py']
model = dict(
    output_losses=dict(
        kd=dict(loss=dict(loss_weight=1.0)),
        icd=dict(
            student='neck',
            teacher='neck',
            loss=dict(
                type='ICDLoss', student_channels=64, teacher_channels=256))),
    task_loss_weight=1.0)
train_dataloader = dict(drop_last=True)  # negatives: the rest of the batch
