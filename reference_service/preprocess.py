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


def crop_batch(gray: np.ndarray, boxes, size: int = INPUT_SIZE) -> np.ndarray:
    """Crops ``boxes`` (x, y, w, h) out of a 2-D uint8 image -> (n, size, size, 1) float32."""
    import cv2

    out = np.zeros((len(boxes), size, size, 1), dtype=np.float32)
    height, width = gray.shape[:2]
    for i, (x, y, w, h) in enumerate(boxes):
        x0, y0 = max(0, int(x)), max(0, int(y))
        x1, y1 = min(width, int(x + w)), min(height, int(y + h))
        if x1 - x0 < 2 or y1 - y0 < 2:
            continue
        patch = cv2.resize(gray[y0:y1, x0:x1], (size, size), interpolation=cv2.INTER_AREA)
        out[i, :, :, 0] = standardize(patch)
    return out
