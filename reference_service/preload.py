"""Imports the modules serving needs, once, in gunicorn's master before it forks the workers.

Why: importing TensorFlow is most of a cold start (about 3.5 CPU-seconds of the ~4 a worker needs to become
ready; the model itself loads in a quarter of a second). Without this, every worker pays that import, all at
the same time, on the same cores: two workers on two cores took ~7.8 CPU-seconds to get ready, and on a
1-vCPU task (the task definition's ``cpu: 1024``) they would take twice the wall time of one. Imported in the
master, the workers inherit the modules (copy-on-write pages, shared) and only load and warm the model.

Only *imports* happen here: no TensorFlow op runs, so TensorFlow's runtime (its thread pools, the eager
context) is created after the fork, in each worker, and no model or cascade state crosses the fork
(``preload_app`` stays off: each worker still builds its own app). ``PRELOAD_IMPORTS=0`` turns it off.
"""

from __future__ import annotations

import gc
import importlib
import os
import time

# In import order. TensorFlow brings its Keras 3 (``keras``); Pillow's plugins are what the first request
# decoding a JPEG or PNG would otherwise import.
SERVING_MODULES = ("numpy", "cv2", "PIL.Image", "PIL.JpegImagePlugin", "PIL.PngImagePlugin", "flask",
                   "reference_service.app", "reference_service.state", "reference_service.detector",
                   "reference_service.model_store", "reference_service.preprocess", "tensorflow", "keras")


def enabled(env=None) -> bool:
    env = os.environ if env is None else env
    return env.get("PRELOAD_IMPORTS", "1").strip().lower() not in ("0", "false", "no", "off")


def preimport(modules=SERVING_MODULES) -> dict:
    """Imports ``modules``; returns {"seconds": total, "failed": {module: error}}. Never raises: a module that
    fails here fails again in the worker, where the loader reports it (``degraded``) as it always did."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow reads it at import
    t0 = time.perf_counter()
    failed: dict[str, str] = {}
    for name in modules:
        try:
            importlib.import_module(name)
        except Exception as exc:  # noqa: BLE001 - ImportError, or a broken native library (OSError, ...)
            failed[name] = f"{type(exc).__name__}: {exc}"
    gc.collect()
    gc.freeze()  # the imported objects stay out of the workers' collections: fewer copy-on-write page faults
    return {"seconds": round(time.perf_counter() - t0, 3), "failed": failed}
