"""The generated shapes as a semantic segmentation data set.

The images of :mod:`.shapes` (coloured circles, squares and triangles on
noise; the class is the form, never the colour) with a label map each, in
the layout MMSegmentation's ``BaseSegDataset`` reads:
``img_dir/<split>/<id>.png`` and ``ann_dir/<split>/<id>.png``, one ``uint8``
label per pixel, 0 the background. The same arguments always write the same
files.
"""
import os
import os.path as osp
from typing import Tuple

import numpy as np
from PIL import Image, ImageDraw

from .shapes import DRAW, SHAPE_CLASSES, draw_image

SEG_CLASSES = ('background', ) + SHAPE_CLASSES


def make_shapes_seg(out_dir: str,
                    split: str,
                    num_images: int,
                    image_size: int = 128,
                    max_objects: int = 4,
                    object_size: Tuple[int, int] = (24, 56),
                    seed: int = 0) -> str:
    """Write ``num_images`` RGB images and their label maps.

    Args:
        out_dir: root of the data set (created when missing).
        split: sub-folder of ``img_dir`` and ``ann_dir``, e.g. ``'train'``.
        num_images: number of images.
        image_size: side of the square images, in pixels.
        max_objects: each image holds 1..``max_objects`` shapes (fewer when
            no free place is found for one).
        object_size: ``(min, max)`` side of a shape's box, in pixels.
        seed: the random seed; use another one for each split.

    Returns:
        str: the split's label map folder. Labels index
        :data:`SEG_CLASSES` (0 background, then circle, square, triangle).
    """
    rng = np.random.default_rng(seed)
    img_dir = osp.join(out_dir, 'img_dir', split)
    ann_dir = osp.join(out_dir, 'ann_dir', split)
    os.makedirs(img_dir, exist_ok=True)
    os.makedirs(ann_dir, exist_ok=True)
    for index in range(num_images):
        image, boxes = draw_image(rng, image_size, max_objects, object_size)
        labels = Image.new('L', (image_size, image_size), 0)
        draw = ImageDraw.Draw(labels)
        for label, box in boxes:  # the same rasterisation as the image's
            DRAW[SHAPE_CLASSES[label]](draw, box, label + 1)
        name = f'{index:05d}.png'
        image.save(osp.join(img_dir, name))
        labels.save(osp.join(ann_dir, name))
    return ann_dir
