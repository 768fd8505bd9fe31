"""The Flask application factory: ``create_app()`` (gunicorn: ``reference_service.app:create_app()``)."""

from __future__ import annotations

import base64
import json
import logging
import os
import re
import time
import uuid

from flask import Flask, Response, g, jsonify, request
from werkzeug.exceptions import HTTPException

from reference_service import DEFAULT_HOST, DEFAULT_PORT, SERVICE_NAME, __version__
from reference_service.images import InputError, decode_base64, decode_image
from reference_service.logs import setup_logging
from reference_service.metrics import Metrics

log = logging.getLogger("reference_service.app")
MB = 1024 * 1024
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
NOTICE = "Image measurements of the photo, not a diagnosis of the skin."


def settings_from_env(env=None) -> dict:
    env = os.environ if env is None else env
    origins = [o.strip() for o in env.get("CORS_ORIGINS", "").split(",") if o.strip()]
    return {
        "HOST": env.get("HOST", DEFAULT_HOST),
        "PORT": int(env.get("PORT", DEFAULT_PORT)),
        "MAX_BODY_BYTES": int(float(env.get("MAX_BODY_MB", "10")) * MB),
        "MAX_PIXELS": int(float(env.get("MAX_MEGAPIXELS", "40")) * 1_000_000),
        "CORS_ORIGINS": origins,
        "MODEL_WAIT_S": float(env.get("MODEL_WAIT_S", "15")),
        "RETURN_CROPS": env.get("RETURN_CROPS", "").lower() in ("1", "true", "yes"),
    }


def create_app(config: dict | None = None, *, state=None, start_loading: bool = True) -> Flask:
    """Builds the app. ``state`` (a ``ServiceState``) may be shared, e.g. by tests; else one is made and,
    with ``start_loading``, its loader thread starts now. Nothing here waits for OpenCV or TensorFlow."""
    from reference_service.state import ServiceState

    setup_logging()
    cfg = settings_from_env()
    cfg.update(config or {})
    app = Flask("reference_service")
    app.config.update(MAX_CONTENT_LENGTH=cfg["MAX_BODY_BYTES"], MAX_FORM_MEMORY_SIZE=cfg["MAX_BODY_BYTES"],
                      JSON_SORT_KEYS=False)
    app.json.sort_keys = False
    st = state or ServiceState()
    if start_loading:
        st.start()
    metrics = Metrics()
    app.extensions["shine"] = {"state": st, "config": cfg, "metrics": metrics, "started": time.time()}

    if cfg["CORS_ORIGINS"]:
        from flask_cors import CORS

        origins = "*" if "*" in cfg["CORS_ORIGINS"] else cfg["CORS_ORIGINS"]
        CORS(app, origins=origins, methods=["GET", "POST", "OPTIONS"],
             allow_headers=["Content-Type", "Authorization", "X-Request-ID"], expose_headers=["X-Request-ID"],
             max_age=600)

    # ----- request bookkeeping -----
    @app.before_request
    def _begin():
        g.t0 = time.perf_counter()
        rid = request.headers.get("X-Request-ID", "")
        g.request_id = rid if _REQUEST_ID.match(rid) else uuid.uuid4().hex
        if request.method == "POST" and (request.content_length or 0) > cfg["MAX_BODY_BYTES"]:
            raise InputError(f"request body is larger than {cfg['MAX_BODY_BYTES'] // MB} MB", 413)

    @app.after_request
    def _end(resp: Response):
        rid = getattr(g, "request_id", None) or uuid.uuid4().hex
        resp.headers["X-Request-ID"] = rid
        seconds = time.perf_counter() - getattr(g, "t0", time.perf_counter())
        route = request.url_rule.rule if request.url_rule else "unmatched"
        metrics.observe(request.method, route, resp.status_code, seconds)
        level = logging.DEBUG if route in ("/health", "/metrics") and resp.status_code < 400 else logging.INFO
        log.log(level, "request", extra={"request_id": rid, "method": request.method, "path": request.path,
                                         "route": route, "status": resp.status_code,
                                         "duration_ms": round(seconds * 1000, 2),
                                         "remote": request.headers.get("X-Forwarded-For", request.remote_addr)})
        return resp

    def _error(message: str, status: int, **extra):
        body = {"error": message, "request_id": getattr(g, "request_id", None), **extra}
        return jsonify(body), status

    @app.errorhandler(InputError)
    def _input_error(exc: InputError):
        return _error(exc.message, exc.status)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        messages = {404: "endpoint not found", 405: f"method {request.method} not allowed on {request.path}",
                    413: f"request body is larger than {cfg['MAX_BODY_BYTES'] // MB} MB"}
        resp, status = _error(messages.get(exc.code, exc.description or exc.name), exc.code or 500)
        if exc.code == 405 and exc.valid_methods:
            resp.headers["Allow"] = ", ".join(exc.valid_methods)
        return resp, status

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        log.exception("unhandled error", extra={"request_id": getattr(g, "request_id", None)})
        return _error("internal error", 500)

    # ----- helpers -----
    def read_image_payload() -> tuple[bytes, dict]:
        ctype = request.mimetype or ""
        if ctype == "application/json" or ctype.endswith("+json"):
            raw = request.get_data(cache=False)
            if not raw:
                raise InputError("request body is empty")
            try:
                body = json.loads(raw)
            except (ValueError, UnicodeDecodeError):
                raise InputError("request body is not valid JSON") from None
            if not isinstance(body, dict):
                raise InputError("request body must be a JSON object")
            value = body.get("image_data", body.get("image"))
            if value is None:
                raise InputError("image_data is required (base64 or a data URL; key 'image' also accepted)")
            return decode_base64(value), body
        if ctype == "multipart/form-data":
            upload = request.files.get("image") or request.files.get("image_data")
            opts = dict(request.form)
            if upload is not None:
                return upload.read(), opts
            value = request.form.get("image") or request.form.get("image_data")
            if value:
                return decode_base64(value), opts
            raise InputError("multipart field 'image' is required")
        if not request.content_length and not ctype:
            raise InputError("request body is empty")
        raise InputError(f"Content-Type must be application/json or multipart/form-data, not {ctype or 'none'}", 415)

    def ready_state():
        if not st.detector_ready.wait(cfg["MODEL_WAIT_S"]):
            raise InputError("the detector is still loading; retry shortly", 503)
        if st.detector is None:
            raise InputError(f"face detector unavailable: {st.detector_error}", 503)
        st.wait(cfg["MODEL_WAIT_S"])  # the model normally loads within seconds; then degraded/ready
        if st.status == "loading":
            raise InputError("the model is still loading; retry shortly", 503)
        return st

    def want_crops(opts: dict) -> bool:
        v = opts.get("include_crops", opts.get("crops", request.args.get("crops")))
        if v is None:
            return cfg["RETURN_CROPS"]
        return v is True or str(v).lower() in ("1", "true", "yes")

    def model_brief() -> dict:
        if st.model is not None:
            return {k: st.model_info.get(k) for k in ("name", "version", "sha256")}
        return {"error": st.model_error}

    # ----- routes -----
    @app.get("/")
    def index():
        return jsonify({"service": SERVICE_NAME, "version": __version__,
                        "endpoints": ["/health", "/ready", "/version", "/metrics", "/api/v5/skin/model-status",
                                      "POST /api/v4/face/detect", "POST /api/v6/skin/analyze-hare-run",
                                      "/openapi.json"]})

    @app.get("/health")
    def health():
        return jsonify({"status": "ok", "service": SERVICE_NAME, "version": __version__,
                        "uptime_s": round(time.time() - app.extensions["shine"]["started"], 3)})

    @app.get("/ready")
    def ready():
        status = st.status
        body = {"status": status, "service": SERVICE_NAME,
                "detector": {"loaded": st.detector is not None, "error": st.detector_error},
                "model": ({"name": st.model_info.get("name"), "version": st.model_info.get("version"),
                           "sha256": st.model_info.get("sha256"), "source": st.model_info.get("source")}
                          if st.model is not None else {"loaded": False, "error": st.model_error}),
                "load_seconds": {k: round(v, 3) for k, v in st.timings.items()}}
        if status == "degraded":
            body["warning"] = "face model unavailable: detections are unverified (no confidence)"
        return jsonify(body), (200 if status in ("ready", "degraded") else 503)

    @app.get("/version")
    def version():
        import platform

        return jsonify({"service": SERVICE_NAME, "version": __version__, "python": platform.python_version(),
                        "git_sha": os.environ.get("GIT_SHA"), "model": model_brief() if st.done.is_set() else None})

    @app.get("/api/v5/skin/model-status")
    def model_status():
        from reference_service.detector import DetectorSettings

        d = st.detector.settings if st.detector is not None else (st.detector_settings or DetectorSettings.from_env())
        return jsonify({"service": SERVICE_NAME, "status": st.status, "models_loaded": st.model is not None,
                        "face_model": dict(st.model_info) if st.model is not None
                        else {"loaded": False, "error": st.model_error, "uri": st.model_uri},
                        "detector": {"cascade": "haarcascade_frontalface_default.xml", "settings": d.to_json(),
                                     "loaded": st.detector is not None, "error": st.detector_error},
                        "skin_classifier": (st.skin.info if st.skin is not None
                                            else {"configured": bool(st.skin_model_uri), "error": st.skin_error}),
                        "load_seconds": {k: round(v, 3) for k, v in st.timings.items()}})

    @app.get("/metrics")
    def prometheus():
        metrics.set_gauge("model_loaded", "1 when the face verifier is loaded in this worker.",
                          1 if st.model is not None else 0)
        metrics.set_gauge("model_degraded", "1 when the model failed and detections are unverified.",
                          1 if st.status == "degraded" else 0)
        for key, value in st.timings.items():
            metrics.set_gauge(key, f"Seconds the loader spent: {key}.", value)
        metrics.set_gauge("process_uptime_seconds", "Seconds since the app was created.",
                          time.time() - app.extensions["shine"]["started"])
        return Response(metrics.render(), mimetype="text/plain; version=0.0.4")

    @app.get("/openapi.json")
    def openapi():
        from pathlib import Path

        return Response((Path(__file__).parent / "openapi.json").read_text(), mimetype="application/json")

    @app.post("/api/v4/face/detect")
    def face_detect():
        data, opts = read_image_payload()
        state = ready_state()
        settings = state.detector.settings
        gray, (width, height), f = decode_image(data, mode="L", max_pixels=cfg["MAX_PIXELS"],
                                                max_side=settings.max_side)
        verifier = state.verifier()
        with state.lock:
            faces, proposals = state.detector.detect(gray, verifier)
        out = []
        for face in faces:
            item = {"bounds": _scaled(face, f, width, height), "confidence": face.confidence}
            out.append(item)
        if out and want_crops(opts):
            rgb, _, fc = decode_image(data, mode="RGB", max_pixels=cfg["MAX_PIXELS"])
            for item in out:
                item["cropped_face_image"] = _png_crop(rgb, item["bounds"], fc)
        body = {"faces": out, "image": {"width": width, "height": height}, "verified": verifier is not None,
                "proposals": proposals, "model": model_brief()}
        if verifier is None:
            body["warning"] = "face model unavailable: faces are unverified Haar proposals (confidence null)"
        return jsonify(body)

    @app.post("/api/v6/skin/analyze-hare-run")
    def analyze():
        import cv2

        from reference_service.measurements import measure

        data, _opts = read_image_payload()
        state = ready_state()
        rgb, (width, height), f = decode_image(data, mode="RGB", max_pixels=cfg["MAX_PIXELS"], max_side=1024)
        gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
        verifier = state.verifier()
        with state.lock:
            faces, proposals = state.detector.detect(gray, verifier)
        if not faces:
            return _error("no face found in the image", 422, faces=[], proposals=proposals,
                          image={"width": width, "height": height})
        face = faces[0]
        box = (face.x, face.y, face.width, face.height)
        m = measure(rgb, box)
        result = {"analysis_type": "hare-run-measurements", "face": {"bounds": _scaled(face, f, width, height),
                                                                     "confidence": face.confidence},
                  "faces_found": len(faces), "verified": verifier is not None,
                  "image": {"width": width, "height": height}, "measurements": m["measurements"],
                  "skin_mask": m["skin_mask"], "skin_pixels": m["skin_pixels"], "model": model_brief(),
                  "notice": NOTICE}
        if state.skin is not None:
            with state.lock:
                result["skin_classifier"] = state.skin.predict(rgb, box)
        elif state.skin_error:
            result["skin_classifier"] = {"error": state.skin_error}
        if verifier is None:
            result["warning"] = "face model unavailable: the face is an unverified Haar proposal"
        return jsonify({"result": result})

    return app


def _scaled(face, f: float, width: int, height: int) -> dict:
    x, y = int(round(face.x * f)), int(round(face.y * f))
    w, h = int(round(face.width * f)), int(round(face.height * f))
    x, y = max(0, min(x, width - 1)), max(0, min(y, height - 1))
    return {"x": x, "y": y, "width": max(1, min(w, width - x)), "height": max(1, min(h, height - y))}


def _png_crop(rgb, bounds: dict, f: float) -> str:
    import cv2

    x, y = int(bounds["x"] / f), int(bounds["y"] / f)
    w, h = max(1, int(bounds["width"] / f)), max(1, int(bounds["height"] / f))
    crop = rgb[y:y + h, x:x + w]
    ok, buf = cv2.imencode(".png", cv2.cvtColor(crop, cv2.COLOR_RGB2BGR))
    return base64.b64encode(buf.tobytes()).decode("ascii") if ok else ""
