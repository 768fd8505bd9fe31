"""Optional: a user's own Keras skin classifier, described by a model card, run on the largest face.

``SKIN_MODEL_URI`` points at the ``.keras`` file (local or s3://, fetched and sha256-checked like the face
model). Its card ``<name>.card.json`` must give ``labels`` (one per output unit, or two labels for a single
sigmoid unit) and may give ``name``, ``version`` and ``preprocessing.scale`` (``"0-1"`` default, or
``"0-255"``). The input shape is read from the model: (H, W, 3) RGB. Its predictions are reported as the
model's output, labelled as such; this service does not interpret them.
"""

from __future__ import annotations

import numpy as np


class SkinClassifier:
    def __init__(self, model, card: dict, info: dict) -> None:
        self.model = model
        self.card = card
        self.info = info
        shape = tuple(int(d) for d in model.input_shape[1:])
        if len(shape) != 3 or shape[2] != 3:
            raise ValueError(f"skin classifier input must be (H, W, 3), got {shape}")
        self.shape = shape
        labels = card.get("labels")
        if not isinstance(labels, list) or not labels:
            raise ValueError("skin classifier card has no 'labels' list")
        units = int(model.output_shape[-1])
        if units != len(labels) and not (units == 1 and len(labels) == 2):
            raise ValueError(f"card lists {len(labels)} labels but the model has {units} outputs")
        self.labels = [str(x) for x in labels]
        self.scale = (card.get("preprocessing") or {}).get("scale", "0-1")

    @classmethod
    def load(cls, uri: str, *, s3_client=None) -> "SkinClassifier":
        from reference_service.model_store import resolve
        from reference_service.state import load_keras_model

        resolved = resolve(uri, s3_client=s3_client)
        if not resolved.card:
            raise ValueError(f"{uri}: a skin classifier needs a model card (<name>.card.json)")
        model = load_keras_model(resolved.path)
        info = {"name": resolved.card.get("name", resolved.path.stem), "version": resolved.card.get("version"),
                "sha256": resolved.sha256, "uri": uri}
        return cls(model, resolved.card, info)

    def predict(self, rgb: np.ndarray, box) -> dict:
        import cv2

        x, y, w, h = box
        crop = np.ascontiguousarray(rgb[max(0, y):y + h, max(0, x):x + w])
        crop = cv2.resize(crop, (self.shape[1], self.shape[0]), interpolation=cv2.INTER_AREA).astype(np.float32)
        if self.scale != "0-255":
            crop /= 255.0
        out = np.asarray(self.model(crop[None], training=False)).reshape(-1)
        if len(out) == 1 and len(self.labels) == 2:
            out = np.array([1.0 - out[0], out[0]])
        probs = {label: round(float(p), 4) for label, p in zip(self.labels, out)}
        return {**self.info, "predictions": probs, "top_label": max(probs, key=probs.get),
                "notice": "output of a user-supplied model, reported as is; see its model card"}
