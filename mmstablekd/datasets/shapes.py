"""A generated detection data set: coloured shapes on noise, COCO format.

Offline demo and test data for MMDetection's own ``CocoDataset`` and
``CocoMetric``: each image holds a few non-overlapping circles, squares and
triangles of random colour and size; a shape's class is its form, never its
colour. The same arguments always write the same files. A harder set (for
benchmarks whose students would otherwise all converge near mAP 1) comes
from more shapes per image, a brighter background, duller shapes and
unannotated distractors (ellipses and crosses) behind them.
"""
import json
import os
import os.path as osp
from typing import Dict, List, Tuple

import numpy as np
from PIL import Image, ImageDraw

SHAPE_CLASSES = ('circle', 'square', 'triangle')


def make_shapes_coco(out_dir: str,
                     split: str,
                     num_images: int,
                     image_size: int = 128,
                     max_objects: int = 3,
                     object_size: Tuple[int, int] = (24, 56),
                     seed: int = 0,
                     noise: int = 90,
                     colours: Tuple[int, int] = (110, 256),
                     distractors: int = 0) -> str:
    """Write ``<out_dir>/<split>/<id>.png`` and
    ``<out_dir>/annotations/<split>.json`` (COCO instances format).

    Args:
        out_dir: root of the data set (created when missing).
        split: sub-folder and annotation file name, e.g. ``'train'``.
        num_images: number of images.
        image_size: side of the square RGB images, in pixels.
        max_objects: each image holds 1..``max_objects`` shapes (fewer when
            no free place is found for one).
        object_size: ``(min, max)`` side of a shape's box, in pixels.
        seed: the random seed; use another one for each split.
        noise: the background is uniform noise in ``[0, noise)`` per
            channel.
        colours: ``[low, high)`` of a shape's colour per channel; a ``low``
            under ``noise`` makes some shapes hard to tell from the
            background.
        distractors: unannotated ellipses and crosses drawn first, anywhere
            (the shapes may cover them), with the shapes' sizes and colours.

    Returns:
        str: the annotation file's path. Its categories are
        :data:`SHAPE_CLASSES` with ids 1, 2, 3.
    """
    rng = np.random.default_rng(seed)
    os.makedirs(osp.join(out_dir, split), exist_ok=True)
    os.makedirs(osp.join(out_dir, 'annotations'), exist_ok=True)
    images, annotations = [], []
    for image_id in range(1, num_images + 1):
        file_name = f'{image_id:05d}.png'
        image, boxes = draw_image(rng, image_size, max_objects, object_size,
                                  noise, colours, distractors)
        image.save(osp.join(out_dir, split, file_name))
        images.append(dict(id=image_id, file_name=file_name,
                           width=image_size, height=image_size))
        for label, (x, y, w, h) in boxes:
            annotations.append(dict(
                id=len(annotations) + 1, image_id=image_id,
                category_id=label + 1, bbox=[x, y, w, h], area=w * h,
                iscrowd=0))
    ann_file = osp.join(out_dir, 'annotations', f'{split}.json')
    with open(ann_file, 'w') as f:
        json.dump(dict(images=images, annotations=annotations,
                       categories=[dict(id=i + 1, name=name)
                                   for i, name in enumerate(SHAPE_CLASSES)]),
                  f)
    return ann_file


def draw_image(rng, size: int, max_objects: int,
               object_size: Tuple[int, int], noise: int = 90,
               colours: Tuple[int, int] = (110, 256), distractors: int = 0):
    """One image and its ``[(label, (x, y, w, h))]`` boxes."""
    image = Image.fromarray(
        rng.integers(0, noise, (size, size, 3), dtype=np.uint8))
    draw = ImageDraw.Draw(image)
    for _ in range(distractors):
        box = _free_box(rng, size, object_size, [])
        colour = tuple(int(c) for c in rng.integers(*colours, 3))
        DISTRACT[int(rng.integers(len(DISTRACT)))](draw, box, colour)
    boxes: List[Tuple[int, Tuple[int, int, int, int]]] = []
    for _ in range(int(rng.integers(1, max_objects + 1))):
        box = _free_box(rng, size, object_size, [b for _, b in boxes])
        if box is None:
            continue
        label = int(rng.integers(len(SHAPE_CLASSES)))
        colour = tuple(int(c) for c in rng.integers(*colours, 3))
        DRAW[SHAPE_CLASSES[label]](draw, box, colour)
        boxes.append((label, box))
    return image, boxes


def _free_box(rng, size, object_size, taken, tries: int = 20):
    """A square ``(x, y, w, h)`` inside the image overlapping no box in
    ``taken``, or None."""
    for _ in range(tries):
        side = int(rng.integers(object_size[0], object_size[1] + 1))
        x, y = (int(v) for v in rng.integers(0, size - side + 1, 2))
        if all(x + side <= bx or bx + bw <= x or y + side <= by
               or by + bh <= y for bx, by, bw, bh in taken):
            return x, y, side, side
    return None


# Each shape fills its box: its extreme pixels touch all four sides.
DRAW: Dict[str, callable] = {
    'circle': lambda d, b, c: d.ellipse(_corners(b), fill=c),
    'square': lambda d, b, c: d.rectangle(_corners(b), fill=c),
    'triangle': lambda d, b, c: d.polygon(
        [(b[0], b[1] + b[3] - 1), (b[0] + b[2] - 1, b[1] + b[3] - 1),
         (b[0] + (b[2] - 1) / 2, b[1])], fill=c),
}


# Unannotated look-alikes: an ellipse half as tall as wide (not a circle)
# and a cross of bars a third of the box wide (not a square).
DISTRACT = (
    lambda d, b, c: d.ellipse(
        _corners((b[0], b[1] + b[3] // 4, b[2], b[3] // 2)), fill=c),
    lambda d, b, c: [d.rectangle(_corners(bar), fill=c) for bar in (
        (b[0] + b[2] // 3, b[1], b[2] // 3, b[3]),
        (b[0], b[1] + b[3] // 3, b[2], b[3] // 3))],
)


def _corners(box):
    x, y, w, h = box
    return [x, y, x + w - 1, y + h - 1]
