"""Face detection: OpenCV's Haar frontal-face cascade proposes, the Hare Run CNN verifies.

Speed comes from running the cascade on a copy whose longest side is at most ``max_side`` pixels and from a
minimum face size relative to the image (``min_face_frac`` of the shorter side): the cascade then scans
far fewer windows and scales than with OpenCV's defaults. ``min_neighbors`` is kept low so the cascade
proposes generously, and the CNN's probability decides (and is the reported confidence).
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from typing import Callable

import numpy as np

CASCADE_FILE = "haarcascade_frontalface_default.xml"
Verifier = Callable[[np.ndarray], np.ndarray]  # (n, S, S, 1) float32 -> (n,) probabilities


@dataclass(frozen=True)
class DetectorSettings:
    max_side: int = 320           # the cascade runs on a copy at most this large
    min_face_frac: float = 0.10   # smallest face searched, as a fraction of the shorter side
    scale_factor: float = 1.1
    min_neighbors: int = 3
    threshold: float = 0.5        # verifier probability at or above which a proposal is a face

    @classmethod
    def from_env(cls, env=None) -> "DetectorSettings":
        env = os.environ if env is None else env
        d = cls()
        return cls(
            max_side=int(env.get("DETECT_MAX_SIDE", d.max_side)),
            min_face_frac=float(env.get("DETECT_MIN_FACE_FRAC", d.min_face_frac)),
            scale_factor=float(env.get("DETECT_SCALE_FACTOR", d.scale_factor)),
            min_neighbors=int(env.get("DETECT_MIN_NEIGHBORS", d.min_neighbors)),
            threshold=float(env.get("DETECT_THRESHOLD", d.threshold)),
        )

    def to_json(self) -> dict:
        return asdict(self)


@dataclass
class Face:
    x: int
    y: int
    width: int
    height: int
    confidence: float | None  # None when no verifier was available (degraded mode)

    @property
    def area(self) -> int:
        return self.width * self.height

    def bounds(self) -> dict:
        return {"x": self.x, "y": self.y, "width": self.width, "height": self.height}


def cascade_path() -> str:
    import cv2

    return os.path.join(cv2.data.haarcascades, CASCADE_FILE)


class FaceDetector:
    def __init__(self, settings: DetectorSettings | None = None, path: str | None = None) -> None:
        import cv2

        self.settings = settings or DetectorSettings()
        self.path = path or cascade_path()
        self._cascade = cv2.CascadeClassifier(self.path)
        if self._cascade.empty():
            raise RuntimeError(f"cannot load the Haar cascade {self.path}")

    def propose(self, gray: np.ndarray) -> tuple[np.ndarray, list[tuple[int, int, int, int]], float]:
        """Runs the cascade on a downscaled copy. Returns (small image, boxes in it, scale small->gray)."""
        import cv2

        s = self.settings
        height, width = gray.shape[:2]
        longest = max(height, width)
        scale = 1.0
        small = gray
        if longest > s.max_side:
            scale = s.max_side / longest
            small = cv2.resize(gray, (max(1, round(width * scale)), max(1, round(height * scale))),
                               interpolation=cv2.INTER_AREA)
        min_face = max(24, int(round(s.min_face_frac * min(small.shape[:2]))))
        if min(small.shape[:2]) < min_face:
            return small, [], scale
        found = self._cascade.detectMultiScale(small, scaleFactor=s.scale_factor,
                                               minNeighbors=s.min_neighbors, minSize=(min_face, min_face))
        boxes = [tuple(int(v) for v in b) for b in (found if len(found) else [])]
        return small, boxes, scale

    def detect(self, gray: np.ndarray, verifier: Verifier | None = None) -> tuple[list[Face], int]:
        """Faces in ``gray`` coordinates, largest first, and the number of cascade proposals.

        With a verifier, proposals below the threshold are dropped and the probability is the confidence.
        Without one, every proposal is returned with ``confidence=None`` (unverified).
        """
        from reference_service.preprocess import crop_batch

        if gray.ndim != 2:
            raise ValueError("detect() needs a 2-D grayscale image")
        small, boxes, scale = self.propose(gray)
        if not boxes:
            return [], 0
        probs: list[float | None]
        if verifier is not None:
            probs = [float(p) for p in verifier(crop_batch(small, boxes))]
        else:
            probs = [None] * len(boxes)
        faces = []
        for (x, y, w, h), p in zip(boxes, probs):
            if p is not None and p < self.settings.threshold:
                continue
            faces.append(Face(int(round(x / scale)), int(round(y / scale)), int(round(w / scale)),
                              int(round(h / scale)), None if p is None else round(p, 4)))
        faces.sort(key=lambda f: f.area, reverse=True)
        return faces, len(boxes)


def iou(a, b) -> float:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    ix = max(0, min(ax + aw, bx + bw) - max(ax, bx))
    iy = max(0, min(ay + ah, by + bh) - max(ay, by))
    inter = ix * iy
    union = aw * ah + bw * bh - inter
    return inter / union if union else 0.0
