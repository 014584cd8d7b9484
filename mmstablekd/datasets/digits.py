import numpy as np
from mmpretrain.datasets import BaseDataset

from mmstablekd.registry import DATASETS


@DATASETS.register_module()
class DigitsDataset(BaseDataset):
    """scikit-learn's handwritten digits (1,797 real 8x8 images, 10 classes)
    as a small offline classification set: the embedded demo data.

    The split is stratified and seeded, so it is the same on every machine.
    Images are rescaled from 0..16 to 0..255 and upsampled (bilinear) to
    ``size`` x ``size`` RGB ``uint8`` arrays (H, W, 3), ready for MMPretrain
    pipelines (no ``LoadImageFromFile``) and its ``Accuracy`` metric.

    Args:
        split (str): ``'train'`` or ``'test'``.
        test_fraction (float): share of each class in the test split.
            Default: 0.2 (1,437 train / 360 test images).
        size (int): output image side in pixels. Default: 32.
        seed (int): seed of the split. Default: 0.
        **kwargs: other arguments of MMPretrain's ``BaseDataset``
            (``pipeline``, ``indices``, ...).
    """

    METAINFO = {'classes': tuple(str(i) for i in range(10))}

    def __init__(self,
                 split: str = 'train',
                 test_fraction: float = 0.2,
                 size: int = 32,
                 seed: int = 0,
                 **kwargs):
        if split not in ('train', 'test'):
            raise ValueError(f"DigitsDataset split must be 'train' or "
                             f"'test', got {split!r}.")
        self.split, self.test_fraction = split, test_fraction
        self.size, self.seed = size, seed
        super().__init__(ann_file='', **kwargs)

    def load_data_list(self):
        import cv2
        from sklearn.datasets import load_digits
        from sklearn.model_selection import train_test_split

        digits = load_digits()
        train, test = train_test_split(
            np.arange(len(digits.target)),
            test_size=self.test_fraction,
            stratify=digits.target,
            random_state=self.seed)
        indices = np.sort(train if self.split == 'train' else test)
        data_list = []
        for i in indices:
            gray = (digits.images[i] * (255.0 / 16.0)).astype(np.float32)
            gray = cv2.resize(
                gray, (self.size, self.size), interpolation=cv2.INTER_LINEAR)
            gray = gray.round().clip(0, 255).astype(np.uint8)
            img = np.repeat(gray[..., None], 3, axis=2)
            data_list.append(dict(img=img, gt_label=int(digits.target[i])))
        return data_list
