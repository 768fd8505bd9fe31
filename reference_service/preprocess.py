"""Crop preprocessing shared by training and serving (numpy + OpenCV only, no TensorFlow).

The face verifier sees a square grayscale crop resized to ``INPUT_SIZE`` x ``INPUT_SIZE`` and standardised
per crop (zero mean, unit variance), so lighting and contrast matter less than shape.
"""

from __future__ import annotations

import numpy as np

INPUT_SIZE = 25  # the native size of skimage.data.lfw_subset(): no upsampling in training or serving
PREPROCESSING = {
    "color": "grayscale (ITU-R 601 luma, OpenCV COLOR_RGB2GRAY)",
    "crop": "the proposal box, clipped to the image",
    "resize": f"{INPUT_SIZE}x{INPUT_SIZE}, cv2.INTER_AREA",
    "normalize": "per-crop standardisation: (x - mean) / max(std, 1e-3) on 0-255 values",
    "layout": "NHWC float32, one channel",
}


def standardize(patch: np.ndarray) -> np.ndarray:
    p = patch.astype(np.float32)
    mean = float(p.mean())
    std = float(p.std())
    return (p - mean) / max(std, 1e-3)


def crop_batch(gray: np.ndarray, boxes, size: int = INPUT_SIZE, *, expand: float = 1.0) -> np.ndarray:
    """Crops ``boxes`` (x, y, w, h) out of a 2-D uint8 image -> (n, size, size, 1) float32.

    ``expand`` > 1 widens each box about its centre first (the detector's ``verify_scale``: the verifier
    learnt faces framed as ``lfw_subset`` frames them, a little wider than a Haar box); a widened box reaching
    past the image takes the image's edge pixels there (replicated), so it keeps its shape and centre.
    """
    import cv2

    out = np.zeros((len(boxes), size, size, 1), dtype=np.float32)
    if expand != 1.0 and len(boxes):
        boxes = [widen(b, expand) for b in boxes]
        height, width = gray.shape[:2]
        pad = max(0, max(max(-x, -y, x + w - width, y + h - height) for x, y, w, h in boxes))
        if pad:
            gray = cv2.copyMakeBorder(gray, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
            boxes = [(x + pad, y + pad, w, h) for x, y, w, h in boxes]
    height, width = gray.shape[:2]
    for i, (x, y, w, h) in enumerate(boxes):
        x0, y0 = max(0, int(x)), max(0, int(y))
        x1, y1 = min(width, int(x + w)), min(height, int(y + h))
        if x1 - x0 < 2 or y1 - y0 < 2:
            continue
        patch = cv2.resize(gray[y0:y1, x0:x1], (size, size), interpolation=cv2.INTER_AREA)
        out[i, :, :, 0] = standardize(patch)
    return out


def widen(box, factor: float) -> tuple[int, int, int, int]:
    """``box`` (x, y, w, h) scaled by ``factor`` about its centre, in whole pixels."""
    x, y, w, h = (int(v) for v in box)
    nw, nh = max(1, int(round(w * factor))), max(1, int(round(h * factor)))
    return x + (w - nw) // 2, y + (h - nh) // 2, nw, nh
