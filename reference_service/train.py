"""Train the Hare Run face verifier on data that installed packages ship (no downloads).

Data (scikit-image, bundled in its wheel):
- faces: ``skimage.data.lfw_subset()[:100]`` (25x25 grayscale Labeled Faces in the Wild crops);
- non-faces: ``lfw_subset()[100:]``, random square patches of the bundled photos, and the Haar cascade's
  own false proposals on those photos (hard negatives). Face regions are excluded: the astronaut's face
  and the cameraman's head never become negatives.

Held-out split: 20 of the 100 faces and 20 of the 100 non-faces (fixed seed), plus every patch of three
whole photos that training never sees (coffee, rocket, clock). Augmentation (shift, zoom, rotation, flip,
gamma, blur, noise) applies to the training split only.

Run: ``python -m reference_service.train [--epochs N] [--out-dir DIR]``. Writes ``hare_run_face.keras``
and ``hare_run_face.card.json`` (input shape, preprocessing, labels, held-out metrics, sha256, provenance).
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import time
from pathlib import Path

import numpy as np

from reference_service.model_store import sha256_file
from reference_service.preprocess import INPUT_SIZE, PREPROCESSING, standardize

MODEL_NAME = "hare-run-face-verifier"
MODEL_VERSION = "1.0.0"
MODEL_FILE = "hare_run_face.keras"
CARD_FILE = "hare_run_face.card.json"
MIN_MEMORY_MIB = 1024  # measured RSS of the service with this model: 550-570 MB
LABELS = ["non_face", "face"]
TRAIN_PHOTOS = ["astronaut", "camera", "chelsea", "brick", "grass", "gravel", "moon", "coins", "page", "text",
                "hubble_deep_field", "immunohistochemistry"]
HELDOUT_PHOTOS = ["coffee", "rocket", "clock"]
# (x, y, w, h) regions holding a face or head: never sampled as negatives.
EXCLUDE = {"astronaut": [(130, 20, 190, 200)], "camera": [(130, 40, 160, 200)]}
SIZE = INPUT_SIZE


def _gray(img: np.ndarray) -> np.ndarray:
    import cv2

    if img.dtype == bool:
        img = img.astype(np.uint8) * 255
    if img.ndim == 3:
        img = cv2.cvtColor(img[..., :3], cv2.COLOR_RGB2GRAY)
    if img.dtype != np.uint8:
        img = np.clip(img * (255 if img.max() <= 1.0 else 1), 0, 255).astype(np.uint8)
    return img


def load_sources() -> dict:
    from skimage import data

    lfw = (data.lfw_subset() * 255).round().astype(np.uint8)
    photos = {name: _gray(getattr(data, name)()) for name in TRAIN_PHOTOS + HELDOUT_PHOTOS}
    return {"faces": lfw[:100], "nonfaces": lfw[100:], "photos": photos}


def _overlaps_excluded(name: str, box) -> bool:
    x, y, w, h = box
    for ex, ey, ew, eh in EXCLUDE.get(name, []):
        if x < ex + ew and ex < x + w and y < ey + eh and ey < y + h:
            return True
    return False


def _resize(patch: np.ndarray) -> np.ndarray:
    import cv2

    return cv2.resize(patch, (SIZE, SIZE), interpolation=cv2.INTER_AREA)


def random_patches(name: str, img: np.ndarray, n: int, rng: np.random.Generator) -> list[np.ndarray]:
    h, w = img.shape
    out, tries = [], 0
    while len(out) < n and tries < n * 20:
        tries += 1
        side = int(rng.integers(24, max(25, int(min(h, w) * 0.6))))
        x, y = int(rng.integers(0, w - side + 1)), int(rng.integers(0, h - side + 1))
        if _overlaps_excluded(name, (x, y, side, side)):
            continue
        out.append(_resize(img[y:y + side, x:x + side]))
    return out


def hard_negatives(name: str, img: np.ndarray) -> list[np.ndarray]:
    """The cascade's own proposals on a face-free photo, at a loose setting: what the verifier must reject."""
    import cv2

    from reference_service.detector import cascade_path

    cascade = cv2.CascadeClassifier(cascade_path())
    out = []
    for max_side in (512, 320, 200):
        scale = min(1.0, max_side / max(img.shape))
        small = cv2.resize(img, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) if scale < 1 else img
        for x, y, w, h in cascade.detectMultiScale(small, 1.1, 1, minSize=(24, 24)):
            box = tuple(int(round(v / scale)) for v in (x, y, w, h))
            if not _overlaps_excluded(name, box):
                out.append(_resize(small[y:y + h, x:x + w]))
    return out


def augment(patch: np.ndarray, rng: np.random.Generator, *, strong: bool = True) -> np.ndarray:
    import cv2

    c = (SIZE - 1) / 2.0
    zoom = rng.uniform(0.85, 1.12) if strong else rng.uniform(0.95, 1.05)  # >1 zooms in
    angle = rng.uniform(-12, 12) if strong else rng.uniform(-4, 4)
    shift = rng.uniform(-0.08, 0.08, size=2) * SIZE if strong else rng.uniform(-0.03, 0.03, size=2) * SIZE
    m = cv2.getRotationMatrix2D((c, c), angle, zoom)
    m[:, 2] += shift
    out = cv2.warpAffine(patch, m, (SIZE, SIZE), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT101)
    if rng.random() < 0.5:
        out = out[:, ::-1]
    f = out.astype(np.float32) / 255.0
    f = f ** rng.uniform(0.7, 1.4)
    if rng.random() < 0.25:
        f = cv2.GaussianBlur(f, (3, 3), rng.uniform(0.3, 0.9))
    if rng.random() < 0.3:
        f = f + rng.normal(0, rng.uniform(0.005, 0.03), f.shape)
    return np.clip(f * 255, 0, 255).astype(np.uint8)


def build_dataset(seed: int = 0, faces_aug: int = 40, nonfaces_aug: int = 8, patches_per_photo: int = 250,
                  heldout_patches_per_photo: int = 150) -> dict:
    rng = np.random.default_rng(seed)
    src = load_sources()
    face_idx, non_idx = rng.permutation(100), rng.permutation(100)
    tr_f, te_f = src["faces"][face_idx[:80]], src["faces"][face_idx[80:]]
    tr_n, te_n = src["nonfaces"][non_idx[:80]], src["nonfaces"][non_idx[80:]]

    pos = [f for f in tr_f] + [augment(f, rng) for f in tr_f for _ in range(faces_aug)]
    neg = [n for n in tr_n] + [augment(n, rng, strong=False) for n in tr_n for _ in range(nonfaces_aug)]
    counts = {"lfw_faces": len(tr_f), "lfw_nonfaces": len(tr_n), "photo_patches": 0, "hard_negatives": 0}
    for name in TRAIN_PHOTOS:
        img = src["photos"][name]
        rp = random_patches(name, img, patches_per_photo, rng)
        hn = hard_negatives(name, img)
        counts["photo_patches"] += len(rp)
        counts["hard_negatives"] += len(hn)
        neg += rp + [augment(p, rng, strong=False) for p in hn for _ in range(3)] + hn
    test_groups = {"lfw_faces": list(te_f), "lfw_nonfaces": list(te_n), "heldout_photo_patches": []}
    for name in HELDOUT_PHOTOS:
        img = src["photos"][name]
        test_groups["heldout_photo_patches"] += (random_patches(name, img, heldout_patches_per_photo, rng)
                                                + hard_negatives(name, img))
    x = np.stack([standardize(p) for p in pos + neg])[..., None]
    y = np.array([1] * len(pos) + [0] * len(neg), dtype=np.float32)
    order = rng.permutation(len(y))
    groups = {k: (np.stack([standardize(p) for p in v])[..., None],
                  np.full(len(v), 1.0 if k == "lfw_faces" else 0.0, np.float32)) for k, v in test_groups.items()}
    return {"x": x[order], "y": y[order], "test": groups, "counts": counts,
            "train_size": {"face": int(y.sum()), "non_face": int(len(y) - y.sum())}}


def _repack_deflated(path: Path) -> None:
    import zipfile

    packed = path.with_name(path.name + ".zip")
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(packed, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as dst:
        for info in src.infolist():
            dst.writestr(info.filename, src.read(info.filename))
    os.replace(packed, path)


def build_model():
    import keras
    from keras import layers

    inp = keras.Input((SIZE, SIZE, 1), name="crop")
    x = layers.Conv2D(8, 3, padding="same", activation="relu")(inp)
    x = layers.MaxPooling2D()(x)
    x = layers.Conv2D(16, 3, padding="same", activation="relu")(x)
    x = layers.MaxPooling2D()(x)
    x = layers.Conv2D(32, 3, padding="same", activation="relu")(x)
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dropout(0.2)(x)
    x = layers.Dense(16, activation="relu")(x)
    out = layers.Dense(1, activation="sigmoid", name="p_face")(x)
    model = keras.Model(inp, out, name="hare_run_face")
    model.compile(optimizer=keras.optimizers.Adam(3e-3), loss="binary_crossentropy", metrics=["accuracy"])
    return model


def evaluate(model, groups: dict, threshold: float = 0.5) -> dict:
    per, correct, total, tp, fn, tn, fp = {}, 0, 0, 0, 0, 0, 0
    for name, (x, y) in groups.items():
        p = model.predict(x, verbose=0, batch_size=256).reshape(-1)
        pred = (p >= threshold).astype(np.float32)
        ok = int((pred == y).sum())
        per[name] = {"n": int(len(y)), "accuracy": round(ok / len(y), 4)}
        correct, total = correct + ok, total + len(y)
        tp += int(((pred == 1) & (y == 1)).sum())
        fn += int(((pred == 0) & (y == 1)).sum())
        tn += int(((pred == 0) & (y == 0)).sum())
        fp += int(((pred == 1) & (y == 0)).sum())
    recall = tp / (tp + fn) if tp + fn else 0.0
    specificity = tn / (tn + fp) if tn + fp else 0.0
    return {"accuracy": round(correct / total, 4), "balanced_accuracy": round((recall + specificity) / 2, 4),
            "face_recall": round(recall, 4), "non_face_specificity": round(specificity, 4),
            "precision": round(tp / (tp + fp), 4) if tp + fp else 0.0, "n": total, "threshold": threshold,
            "groups": per}


def train(out_dir: str | os.PathLike | None = None, *, epochs: int = 15, seed: int = 0, faces_aug: int = 40,
          patches_per_photo: int = 250, verbose: int = 0) -> dict:
    """Trains, evaluates on the held-out split, writes model + card into ``out_dir``; returns the card."""
    import keras
    import skimage
    import tensorflow as tf

    out = Path(out_dir) if out_dir else Path(__file__).parent / "models"
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    keras.utils.set_random_seed(seed)
    try:
        tf.config.experimental.enable_op_determinism()
    except Exception:  # noqa: BLE001 - best effort; only affects run-to-run reproducibility
        pass
    ds = build_dataset(seed, faces_aug=faces_aug, patches_per_photo=patches_per_photo)
    model = build_model()
    n_pos, n_neg = ds["train_size"]["face"], ds["train_size"]["non_face"]
    weights = {0: (n_pos + n_neg) / (2 * n_neg), 1: (n_pos + n_neg) / (2 * n_pos)}
    hist = model.fit(ds["x"], ds["y"], epochs=epochs, batch_size=64, class_weight=weights, verbose=verbose)
    metrics = evaluate(model, ds["test"])
    model_path = out / MODEL_FILE
    tmp = out / (MODEL_FILE + ".tmp.keras")
    export = keras.models.clone_model(model)  # uncompiled copy: no optimizer state in the file (~4x smaller)
    export.set_weights(model.get_weights())
    export.save(tmp)
    _repack_deflated(tmp)  # keras stores the zip uncompressed; HDF5 padding deflates ~4x
    os.replace(tmp, model_path)
    card = {
        "name": MODEL_NAME,
        "version": MODEL_VERSION,
        "file": MODEL_FILE,
        "sha256": sha256_file(model_path),
        "size_bytes": model_path.stat().st_size,
        "created": _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat(),
        "task": "verify a Haar-cascade face proposal: probability that a grayscale crop is a frontal face",
        "input_shape": [SIZE, SIZE, 1],
        "preprocessing": PREPROCESSING,
        "labels": LABELS,
        "output": "p_face: sigmoid probability of label 'face' (reported as the detection confidence)",
        "threshold": 0.5,
        "parameters": int(model.count_params()),
        # what a task needs to run the service with this model: one gunicorn worker measured 550-570 MB RSS,
        # so 1024 MiB is the honest floor; `shine-ops deploy` refuses a task with less (deploy.memory-covers-model)
        "runtime": {"min_memory_mib": MIN_MEMORY_MIB, "measured_rss_mb": "550-570 (one gunicorn worker with the model loaded)"},
        "training": {"epochs": epochs, "seed": seed, "batch_size": 64, "optimizer": "Adam(3e-3)",
                     "class_weight": {str(k): round(v, 4) for k, v in weights.items()},
                     "final_train_accuracy": round(float(hist.history["accuracy"][-1]), 4),
                     "train_examples": ds["train_size"], "sources_before_augmentation": ds["counts"],
                     "augmentation": "shift +-8%, zoom 0.85-1.12, rotation +-12 deg, horizontal flip, gamma 0.7-1.4, "
                                     "Gaussian blur (p=0.25), Gaussian noise (p=0.3)",
                     "seconds": round(time.perf_counter() - started, 1)},
        "held_out": metrics,
        "data_provenance": {
            "package": f"scikit-image {skimage.__version__} (skimage.data, bundled in the wheel; no download)",
            "faces": "skimage.data.lfw_subset()[:100] - Labeled Faces in the Wild crops, 25x25",
            "non_faces": "skimage.data.lfw_subset()[100:] plus square patches and Haar false proposals from "
                         f"skimage.data photos {TRAIN_PHOTOS} (face regions excluded: {EXCLUDE})",
            "held_out": "20 lfw faces + 20 lfw non-faces (seeded permutation) and all patches of photos "
                        f"{HELDOUT_PHOTOS}, never used in training",
            "split_seed": seed,
        },
        "environment": {"python": platform.python_version(), "tensorflow": tf.__version__,
                        "keras": keras.__version__},
        "limitations": "A demo verifier trained on 80 faces; it is not a medical or identity model. "
                       "Frontal faces only (it verifies proposals of the frontal-face Haar cascade).",
    }
    card_path = out / CARD_FILE
    tmp_card = out / (CARD_FILE + ".tmp")
    tmp_card.write_text(json.dumps(card, indent=2) + "\n")
    os.replace(tmp_card, card_path)
    return card


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Train the Hare Run face verifier (offline data).")
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out-dir", default=None, help="default: reference_service/models")
    args = parser.parse_args(argv)
    card = train(args.out_dir, epochs=args.epochs, seed=args.seed, verbose=2)
    print(json.dumps({"sha256": card["sha256"], "size_bytes": card["size_bytes"], "held_out": card["held_out"]},
                     indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
