"""Face detection: OpenCV's Haar frontal-face cascade proposes, the Hare Run CNN verifies.

Speed comes from running the cascade on a copy whose longest side is at most ``max_side`` pixels and from a
minimum face size relative to the image (``min_face_frac`` of the shorter side): the cascade then scans
far fewer windows and scales than with OpenCV's defaults. ``min_neighbors`` is kept low so the cascade
proposes generously, and the CNN's probability decides (and is the reported confidence).

Small inputs (longest side at most ``small_side``: crops, thumbnails) take another path, because there the
face usually fills the frame and a Haar window needs some margin around it, and a face of 25 px is barely
the cascade's own window: the image is upscaled (an integer factor, so its shorter side reaches
``small_target``), given a replicated border of ``small_pad`` of its shorter side, and scanned by two
cascades (``haarcascade_frontalface_default`` and ``_alt2``) with a finer scale step; the proposals of both
are verified by the CNN and overlapping faces are merged (highest probability kept). On such images the
cost is a few milliseconds, so large photos keep the single fast pass. The settings were tuned on the first
half of scikit-image's ``lfw_subset`` faces and non-faces only (``bench/detection_quality.py``).

Verification: the CNN learnt faces as ``lfw_subset`` frames them, a little wider than a Haar box (on the
tuning half the crop is 1.087x the cascade's box, median), and a 25 px verifier is sensitive to where a box
lands: the same face scored 0.36 to 0.95 for boxes a few pixels apart. So each proposal is verified widened
by ``verify_scale`` and as five views (as is, and shifted by ``verify_jitter`` of its size each way), and its
probability is their mean. On the tuning half this raised the lowest probability of a found face (0.93 to
0.96) and lowered the random photo patches (no face) that passed as faces (21 to 18 of 204), recall unchanged.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from typing import Callable

import numpy as np

CASCADE_FILE = "haarcascade_frontalface_default.xml"
SECOND_CASCADE_FILE = "haarcascade_frontalface_alt2.xml"  # trained differently: finds faces the default misses
Verifier = Callable[[np.ndarray], np.ndarray]  # (n, S, S, 1) float32 -> (n,) probabilities


@dataclass(frozen=True)
class DetectorSettings:
    max_side: int = 320           # the cascade runs on a copy at most this large
    min_face_frac: float = 0.10   # smallest face searched, as a fraction of the shorter side
    scale_factor: float = 1.1
    min_neighbors: int = 3
    threshold: float = 0.5        # verifier probability at or above which a proposal is a face
    verify_scale: float = 1.09    # the verifier sees the proposal widened this much about its centre ...
    verify_jitter: float = 0.03   # ... and shifted by this fraction of its size each way; the mean is the p
    small_side: int = 256         # inputs at most this large (longest side) take the small-input path
    small_target: int = 100       # ... upscaled by an integer factor until the shorter side reaches this
    small_pad: float = 0.2        # ... with a replicated border of this fraction of the shorter side
    small_scale_factor: float = 1.05
    small_min_neighbors: int = 2
    nms_iou: float = 0.3          # faces overlapping more than this are one face (the likeliest is kept)

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
            verify_scale=float(env.get("DETECT_VERIFY_SCALE", d.verify_scale)),
            verify_jitter=float(env.get("DETECT_VERIFY_JITTER", d.verify_jitter)),
            small_side=int(env.get("DETECT_SMALL_SIDE", d.small_side)),
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


def cascade_path(name: str = CASCADE_FILE) -> str:
    import cv2

    return os.path.join(cv2.data.haarcascades, name)


def _load_cascade(path: str):
    import cv2

    cascade = cv2.CascadeClassifier(path)
    if cascade.empty():
        raise RuntimeError(f"cannot load the Haar cascade {path}")
    return cascade


@dataclass(frozen=True)
class Frame:
    """How the image the cascade scanned maps to the input: ``x_input = (x - pad) / scale``."""
    scale: float
    pad: int = 0

    def to_input(self, box) -> tuple[int, int, int, int]:
        x, y, w, h = box
        return (int(round((x - self.pad) / self.scale)), int(round((y - self.pad) / self.scale)),
                int(round(w / self.scale)), int(round(h / self.scale)))


class FaceDetector:
    def __init__(self, settings: DetectorSettings | None = None, path: str | None = None) -> None:
        self.settings = settings or DetectorSettings()
        self.path = path or cascade_path()
        self._cascade = _load_cascade(self.path)
        self._second = None  # the small-input path's second cascade, loaded on first use (or by warm())

    def second_cascade(self):
        if self._second is None:
            self._second = _load_cascade(cascade_path(SECOND_CASCADE_FILE))
        return self._second

    def warm(self) -> None:
        """Runs both paths once on a blank image, so the first request pays no first-call costs."""
        blank = np.full((self.settings.small_side + 8, self.settings.small_side + 8), 128, np.uint8)
        self.propose(blank)
        self.propose(blank[:64, :64])

    def propose(self, gray: np.ndarray) -> tuple[np.ndarray, list[tuple[int, int, int, int]], Frame]:
        """Runs the cascade(s) on a scaled copy. Returns (that copy, boxes in it, how it maps to ``gray``)."""
        if max(gray.shape[:2]) <= self.settings.small_side:
            return self._propose_small(gray)
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
            return small, [], Frame(scale)
        found = self._cascade.detectMultiScale(small, scaleFactor=s.scale_factor,
                                               minNeighbors=s.min_neighbors, minSize=(min_face, min_face))
        boxes = [tuple(int(v) for v in b) for b in (found if len(found) else [])]
        return small, boxes, Frame(scale)

    def _propose_small(self, gray: np.ndarray):
        """The small-input path: upscale by an integer factor, add a replicated border, two cascades."""
        import cv2

        s = self.settings
        short = max(1, min(gray.shape[:2]))
        up = max(1, min(8, -(-s.small_target // short)))  # ceil, at most 8x
        big = cv2.resize(gray, None, fx=up, fy=up, interpolation=cv2.INTER_LINEAR) if up > 1 else gray
        pad = int(round(s.small_pad * min(big.shape[:2])))
        framed = cv2.copyMakeBorder(big, pad, pad, pad, pad, cv2.BORDER_REPLICATE) if pad else big
        min_face = max(24, int(round(s.min_face_frac * min(big.shape[:2]))))
        boxes: list[tuple[int, int, int, int]] = []
        for cascade in (self._cascade, self.second_cascade()):
            found = cascade.detectMultiScale(framed, scaleFactor=s.small_scale_factor,
                                             minNeighbors=s.small_min_neighbors, minSize=(min_face, min_face))
            boxes += [tuple(int(v) for v in b) for b in (found if len(found) else [])]
        return framed, boxes, Frame(float(up), pad)

    def verification_crops(self, scanned: np.ndarray, boxes) -> np.ndarray:
        """What the verifier sees of each proposal, ``len(offsets())`` views per box, grouped by view: the box
        widened by ``verify_scale``, then that shifted by ``verify_jitter`` of its size left, right, up, down."""
        from reference_service.preprocess import crop_batch

        views = []
        for dx, dy in self.offsets():
            moved = [(x + int(round(dx * w)), y + int(round(dy * h)), w, h) for x, y, w, h in boxes]
            views.append(crop_batch(scanned, moved, expand=self.settings.verify_scale))
        return np.concatenate(views)

    def offsets(self) -> list[tuple[float, float]]:
        j = self.settings.verify_jitter
        return [(0.0, 0.0)] + ([(j, 0.0), (-j, 0.0), (0.0, j), (0.0, -j)] if j > 0 else [])

    def verify(self, scanned: np.ndarray, boxes, verifier: Verifier) -> np.ndarray:
        """The probability of each proposal: the mean over its views. A Haar box lands a few pixels either way
        of the face depending on the scan grid, and a 25 px verifier is sensitive to that; the mean is not."""
        if not len(boxes):
            return np.zeros((0,), np.float32)
        p = np.asarray(verifier(self.verification_crops(scanned, boxes)), np.float32).reshape(-1)
        return p.reshape(len(self.offsets()), len(boxes)).mean(axis=0)

    def detect(self, gray: np.ndarray, verifier: Verifier | None = None) -> tuple[list[Face], int]:
        """Faces in ``gray`` coordinates, largest first, and the number of cascade proposals.

        With a verifier, proposals below the threshold are dropped and the probability is the confidence.
        Without one, every proposal is returned with ``confidence=None`` (unverified). Overlapping faces
        (two cascades, or neighbouring windows) are merged, keeping the likeliest.
        """
        if gray.ndim != 2:
            raise ValueError("detect() needs a 2-D grayscale image")
        scanned, boxes, frame = self.propose(gray)
        if not boxes:
            return [], 0
        probs: list[float | None]
        if verifier is not None:
            probs = [float(p) for p in self.verify(scanned, boxes, verifier)]
        else:
            probs = [None] * len(boxes)
        height, width = gray.shape[:2]
        candidates = []
        for box, p in zip(boxes, probs):
            if p is not None and p < self.settings.threshold:
                continue
            x, y, w, h = frame.to_input(box)
            x0, y0 = max(0, x), max(0, y)  # a box reaching into the added border is clipped to the image
            x1, y1 = min(width, x + w), min(height, y + h)
            if x1 - x0 < 2 or y1 - y0 < 2:
                continue
            candidates.append(Face(x0, y0, x1 - x0, y1 - y0, None if p is None else round(p, 4)))
        faces = suppress(candidates, self.settings.nms_iou)
        faces.sort(key=lambda f: f.area, reverse=True)
        return faces, len(boxes)


def suppress(faces: list[Face], max_iou: float) -> list[Face]:
    """Non-maximum suppression: the likeliest face (the largest when unverified) wins each overlap."""
    order = sorted(faces, key=lambda f: (f.confidence if f.confidence is not None else 0.0, f.area), reverse=True)
    kept: list[Face] = []
    for f in order:
        box = (f.x, f.y, f.width, f.height)
        if all(iou(box, (k.x, k.y, k.width, k.height)) <= max_iou for k in kept):
            kept.append(f)
    return kept


def iou(a, b) -> float:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    ix = max(0, min(ax + aw, bx + bw) - max(ax, bx))
    iy = max(0, min(ay + ah, by + bh) - max(ay, by))
    inter = ix * iy
    union = aw * ah + bw * bh - inter
    return inter / union if union else 0.0
