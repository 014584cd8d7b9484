# The authors' KD baseline, Imagewoof-160, 100 epochs.
_base_ = ['./kd_resnet34-resnet18_imagewoof160-bs64-200e.py']
train_cfg = dict(max_epochs=100)
