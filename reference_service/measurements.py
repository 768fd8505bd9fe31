"""Skin measurements: classical OpenCV image measurements on the face's skin pixels.

These describe the photo (colour, uniformity, fine detail, highlights, small dark spots), not the person's
skin health: lighting, camera and compression change every one of them. They are not diagnoses.

The face box is resized to 128x128 first, so the numbers do not depend on the face's size in pixels.
Skin pixels: inside the ellipse inscribed in the box AND inside the YCrCb skin range (Cr 133-173,
Cb 77-127). When fewer than 5% of the ellipse qualifies (unusual light, grayscale photo), the whole
ellipse is used and ``skin_mask`` says ``ellipse_fallback``.
"""

from __future__ import annotations

import math

import numpy as np

SIZE = 128
MEASUREMENTS: dict[str, dict] = {
    "skin_fraction": {"range": [0.0, 1.0], "unit": "fraction",
                      "description": "share of the face ellipse whose colour falls in the YCrCb skin range"},
    "redness_a_star": {"range": [-128.0, 127.0], "unit": "CIELAB a*",
                       "description": "mean a* (green-red axis) of the skin pixels; higher is redder"},
    "red_patch_fraction": {"range": [0.0, 1.0], "unit": "fraction",
                           "description": "share of skin pixels whose a* exceeds the skin's median a* by more than 8"},
    "tone_evenness": {"range": [0.0, 1.0], "unit": "score",
                      "description": "1 - std(L*)/25 over skin pixels, clipped to [0, 1]; 1 is perfectly uniform"},
    "texture_laplacian_var": {"range": [0.0, None], "unit": "gray levels^2",
                              "description": "variance of the Laplacian of the gray face over interior skin pixels "
                                           "(fine detail: pores, hair, noise, JPEG artefacts); no upper bound"},
    "shine_fraction": {"range": [0.0, 1.0], "unit": "fraction",
                       "description": "share of the face ellipse that is a specular highlight (HSV V >= 230, S <= 60)"},
    "blemish_count": {"range": [0, None], "unit": "count",
                      "description": "small dark spots on skin: connected regions 4-80 px (of 128x128) at least "
                                     "12 gray levels darker than a 15-px median background"},
    "ita_degrees": {"range": [-90.0, 90.0], "unit": "degrees",
                    "description": "individual typology angle atan((L*-50)/b*) of the mean skin colour "
                                   "(colorimetric skin tone; higher is lighter)"},
}


def _ellipse_mask() -> np.ndarray:
    import cv2

    mask = np.zeros((SIZE, SIZE), np.uint8)
    cv2.ellipse(mask, (SIZE // 2, SIZE // 2), (int(SIZE * 0.42), int(SIZE * 0.48)), 0, 0, 360, 255, -1)
    return mask > 0


def measure(rgb: np.ndarray, box: tuple[int, int, int, int]) -> dict:
    """Measurements of the face at ``box`` (x, y, w, h) of an RGB uint8 image."""
    import cv2

    x, y, w, h = box
    H, W = rgb.shape[:2]
    x0, y0, x1, y1 = max(0, x), max(0, y), min(W, x + w), min(H, y + h)
    if x1 - x0 < 8 or y1 - y0 < 8:
        raise ValueError("face box too small to measure")
    face = cv2.resize(np.ascontiguousarray(rgb[y0:y1, x0:x1]), (SIZE, SIZE), interpolation=cv2.INTER_AREA)
    ellipse = _ellipse_mask()
    ycrcb = cv2.cvtColor(face, cv2.COLOR_RGB2YCrCb)
    cr, cb = ycrcb[..., 1], ycrcb[..., 2]
    skin = ellipse & (cr >= 133) & (cr <= 173) & (cb >= 77) & (cb <= 127)
    skin_fraction = float(skin.sum() / ellipse.sum())
    mask_kind = "ycrcb"
    if skin.sum() < 0.05 * ellipse.sum():
        skin, mask_kind = ellipse.copy(), "ellipse_fallback"

    lab = cv2.cvtColor(face.astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab)  # L in [0,100], a/b in ~[-127,127]
    L, A, B = lab[..., 0][skin], lab[..., 1][skin], lab[..., 2][skin]
    redness = float(A.mean())
    red_patch = float((A > np.median(A) + 8.0).mean())
    evenness = float(np.clip(1.0 - L.std() / 25.0, 0.0, 1.0))
    b_mean = float(B.mean())
    ita = math.degrees(math.atan((float(L.mean()) - 50.0) / max(abs(b_mean), 1e-6) * (1 if b_mean >= 0 else -1)))

    gray = cv2.cvtColor(face, cv2.COLOR_RGB2GRAY)
    interior = cv2.erode(skin.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
    lap = cv2.Laplacian(gray, cv2.CV_64F)
    texture = float(lap[interior].var()) if interior.any() else 0.0

    hsv = cv2.cvtColor(face, cv2.COLOR_RGB2HSV)
    highlight = ellipse & (hsv[..., 2] >= 230) & (hsv[..., 1] <= 60)
    shine = float(highlight.sum() / ellipse.sum())

    background = cv2.medianBlur(gray, 15)
    dark = ((background.astype(np.int16) - gray.astype(np.int16)) >= 12) & interior
    dark = cv2.morphologyEx(dark.astype(np.uint8), cv2.MORPH_OPEN, np.ones((2, 2), np.uint8))
    n, _, stats, _ = cv2.connectedComponentsWithStats(dark, connectivity=8)
    areas = stats[1:, cv2.CC_STAT_AREA] if n > 1 else np.zeros(0)
    blemishes = int(((areas >= 4) & (areas <= 80)).sum())

    values = {"skin_fraction": skin_fraction, "redness_a_star": redness, "red_patch_fraction": red_patch,
              "tone_evenness": evenness, "texture_laplacian_var": texture, "shine_fraction": shine,
              "blemish_count": blemishes, "ita_degrees": ita}
    out = {}
    for name, meta in MEASUREMENTS.items():
        v = values[name]
        out[name] = {"value": v if isinstance(v, int) else round(v, 4), "range": meta["range"], "unit": meta["unit"]}
    return {"measurements": out, "skin_mask": mask_kind, "skin_pixels": int(skin.sum()),
            "face_crop": [int(x0), int(y0), int(x1 - x0), int(y1 - y0)]}
