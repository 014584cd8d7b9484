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
        clutter (int): other digits drawn behind each image at half
            intensity, each shifted by up to half the side: a harder set
            that distillation does not saturate. Default: 0.
        noise (float): std of Gaussian noise added to each image, in
            0..255 intensity units. Default: 0.
        **kwargs: other arguments of MMPretrain's ``BaseDataset``
            (``pipeline``, ``indices``, ...).
    """

    METAINFO = {'classes': tuple(str(i) for i in range(10))}

    def __init__(self,
                 split: str = 'train',
                 test_fraction: float = 0.2,
                 size: int = 32,
                 seed: int = 0,
                 clutter: int = 0,
                 noise: float = 0.,
                 **kwargs):
        if split not in ('train', 'test'):
            raise ValueError(f"DigitsDataset split must be 'train' or "
                             f"'test', got {split!r}.")
        self.split, self.test_fraction = split, test_fraction
        self.size, self.seed = size, seed
        self.clutter, self.noise = clutter, noise
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
        images = [
            cv2.resize((image * (255.0 / 16.0)).astype(np.float32),
                       (self.size, self.size),
                       interpolation=cv2.INTER_LINEAR)
            for image in digits.images
        ]
        for i in indices:
            gray = self._corrupt(images, int(i))
            gray = gray.round().clip(0, 255).astype(np.uint8)
            img = np.repeat(gray[..., None], 3, axis=2)
            data_list.append(dict(img=img, gt_label=int(digits.target[i])))
        return data_list

    def _corrupt(self, images: list, index: int) -> np.ndarray:
        """Image ``index`` (float32, size x size, 0..255) with its clutter
        and noise, drawn from a generator seeded by the split's seed and
        the image, so that every machine makes the same set."""
        gray = images[index]
        if not (self.clutter or self.noise):
            return gray
        import cv2
        rng = np.random.default_rng([self.seed, index])
        gray = gray.copy()
        for _ in range(self.clutter):
            other = images[rng.integers(len(images))]
            dx, dy = rng.uniform(-0.5, 0.5, 2) * self.size
            shift = np.float32([[1, 0, dx], [0, 1, dy]])
            moved = cv2.warpAffine(other, shift, (self.size, self.size))
            gray = np.maximum(gray, 0.5 * moved)
        return gray + rng.normal(0., self.noise, gray.shape)
