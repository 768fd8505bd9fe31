"""Service state and the background loader.

``create_app`` starts ``ServiceState.start()``; a daemon thread imports OpenCV, loads and warms the Haar
cascades (detection works from then on), then imports TensorFlow/Keras (already imported under gunicorn: see
``preload.py``), loads the verifier and runs it once, and warms the image decoders. ``status`` is "ready"
only after all of that, so /ready's 200 means the first request pays no loading or first-call cost. ``/health`` never
waits for any of it. A model that cannot be fetched, verified or loaded leaves the service ``degraded``:
detection still answers, with ``verified: false`` and no confidence.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from typing import Any

import numpy as np

log = logging.getLogger("reference_service.loader")


class ServiceState:
    def __init__(self, *, model_uri: str | None = None, model_sha256: str | None = None,
                 skin_model_uri: str | None = None, detector_settings=None, s3_client=None) -> None:
        env = os.environ
        self.model_uri = model_uri if model_uri is not None else (env.get("MODEL_URI") or None)
        self.model_sha256 = model_sha256 if model_sha256 is not None else (env.get("MODEL_SHA256") or None)
        self.skin_model_uri = (skin_model_uri if skin_model_uri is not None
                               else (env.get("SKIN_MODEL_URI") or None))
        self.detector_settings = detector_settings
        self.s3_client = s3_client
        self.detector = None
        self.model = None
        self.model_info: dict[str, Any] = {}
        self.model_error: str | None = None
        self.detector_error: str | None = None
        self.skin = None
        self.skin_error: str | None = None
        self.timings: dict[str, float] = {}
        self.started_at = time.time()
        self.done = threading.Event()
        self.detector_ready = threading.Event()
        self.lock = threading.Lock()  # serialises cascade + model calls within a worker
        self._thread: threading.Thread | None = None
        self._predict = None

    # ----- lifecycle -----
    def start(self) -> "ServiceState":
        if self._thread is None:
            self._thread = threading.Thread(target=self.load, name="model-loader", daemon=True)
            self._thread.start()
        return self

    def load(self) -> None:
        t0 = time.perf_counter()
        try:
            from reference_service.detector import DetectorSettings, FaceDetector

            detector = FaceDetector(self.detector_settings or DetectorSettings.from_env())
            detector.warm()  # both cascades loaded and run once: the first request pays no first-call costs
            self.detector = detector
            self.timings["detector_load_seconds"] = time.perf_counter() - t0
            log.info("detector loaded", extra={"seconds": round(self.timings["detector_load_seconds"], 3)})
        except Exception as exc:  # noqa: BLE001
            self.detector_error = f"{type(exc).__name__}: {exc}"
            log.error("detector failed to load", extra={"error": self.detector_error})
        finally:
            self.detector_ready.set()
        t1 = time.perf_counter()
        try:
            self._load_model()
            self.timings["model_load_seconds"] = time.perf_counter() - t1
            log.info("model loaded", extra={"seconds": round(self.timings["model_load_seconds"], 3),
                                            "sha256": self.model_info.get("sha256")})
        except Exception as exc:  # noqa: BLE001 - any failure: degraded, never a crash
            self.model = None
            self.model_error = f"{type(exc).__name__}: {exc}"
            self.timings["model_load_seconds"] = time.perf_counter() - t1
            log.error("model failed to load; serving unverified detections", extra={"error": self.model_error})
        t2 = time.perf_counter()
        warm_request_path()
        self.timings["warm_seconds"] = time.perf_counter() - t2
        if self.skin_model_uri:
            try:
                from reference_service.skin_classifier import SkinClassifier

                self.skin = SkinClassifier.load(self.skin_model_uri, s3_client=self.s3_client)
            except Exception as exc:  # noqa: BLE001
                self.skin_error = f"{type(exc).__name__}: {exc}"
                log.error("skin classifier failed to load", extra={"error": self.skin_error})
        self.timings["ready_seconds"] = time.perf_counter() - t0
        self.done.set()

    def _load_model(self) -> None:
        from reference_service.model_store import resolve

        resolved = resolve(self.model_uri, expected_sha256=self.model_sha256, s3_client=self.s3_client)
        model = load_keras_model(resolved.path)
        card = resolved.card or {}
        shape = tuple(int(d) for d in model.input_shape[1:])
        from reference_service.preprocess import INPUT_SIZE

        if shape != (INPUT_SIZE, INPUT_SIZE, 1):
            raise ValueError(f"model input shape {shape} is not ({INPUT_SIZE}, {INPUT_SIZE}, 1)")
        predict = make_predict(model)
        predict(np.zeros((1, INPUT_SIZE, INPUT_SIZE, 1), np.float32))  # warm-up: builds the graph now
        self.model = model
        self._predict = predict
        self.model_info = {"name": card.get("name", resolved.path.stem), "version": card.get("version", "unknown"),
                           "sha256": resolved.sha256, "source": resolved.source, "uri": resolved.uri,
                           "path": str(resolved.path), "cached": resolved.cached,
                           "input_shape": list(shape), "labels": card.get("labels", ["non_face", "face"]),
                           "held_out": (card.get("held_out") or {}).get("accuracy")}

    # ----- queries -----
    @property
    def status(self) -> str:
        if not self.detector_ready.is_set():
            return "loading"
        if self.detector is None:
            return "failed"
        if not self.done.is_set():  # the model may be in, but the warm-up (or the skin classifier) is not done
            return "loading"
        if self.model is not None:
            return "ready"
        if self.model_error:
            return "degraded"
        return "loading"

    def wait(self, timeout: float) -> bool:
        return self.done.wait(timeout)

    def verifier(self):
        return self._predict if self.model is not None else None


def warm_request_path() -> None:
    """Decodes a tiny JPEG and PNG the way requests are decoded, so the imports and first-call costs of the
    decoders are paid before /ready says 200, not by the first request. Never raises (a warm-up only)."""
    try:
        import cv2

        from reference_service.images import decode_image

        tile = np.full((16, 16, 3), 128, np.uint8)
        for ext in (".jpg", ".png"):
            ok, buf = cv2.imencode(ext, tile)
            if ok:
                decode_image(buf.tobytes(), mode="L", max_side=8)
                decode_image(buf.tobytes(), mode="RGB")
    except Exception as exc:  # noqa: BLE001
        log.warning("request-path warm-up failed", extra={"error": f"{type(exc).__name__}: {exc}"})


def load_keras_model(path):
    """Imports Keras lazily (TensorFlow backend, one intra-op thread) and loads the model without compiling."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    try:
        tf.config.threading.set_intra_op_parallelism_threads(int(os.environ.get("TF_NUM_THREADS", "1")))
        tf.config.threading.set_inter_op_parallelism_threads(1)
    except RuntimeError:  # already initialised in this process (tests): keep its setting
        pass
    import keras

    return keras.models.load_model(str(path), compile=False)


def make_predict(model, batch: int = 8):
    """A fast predict: a fixed-size padded batch through one traced function (no retracing, ~1 ms)."""
    import tensorflow as tf

    fn = tf.function(lambda x: model(x, training=False), reduce_retracing=True)
    size = model.input_shape[1:]

    def predict(x: np.ndarray) -> np.ndarray:
        out = []
        for i in range(0, len(x), batch):
            chunk = x[i:i + batch]
            padded = np.zeros((batch, *size), np.float32)
            padded[: len(chunk)] = chunk
            out.append(fn(padded).numpy().reshape(-1)[: len(chunk)])
        return np.concatenate(out) if out else np.zeros((0,), np.float32)

    return predict
