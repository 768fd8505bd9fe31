"""Every endpoint, through Flask's test client (the model is loaded once per session)."""

from __future__ import annotations

import base64
import io
import json
import time

import numpy as np
import pytest

from rs_helpers import ASTRONAUT_FACE, encode, iou

pytestmark = pytest.mark.service


def test_health_is_instant_and_needs_nothing():
    """A fresh app answers /health before OpenCV or TensorFlow load; /ready says 503 meanwhile."""
    from reference_service.app import create_app
    from reference_service.state import ServiceState

    t0 = time.perf_counter()
    app = create_app(state=ServiceState(model_uri=""), start_loading=False)
    c = app.test_client()
    r = c.get("/health")
    assert time.perf_counter() - t0 < 1.0
    assert r.status_code == 200 and r.is_json and r.json["status"] == "ok"
    ready = c.get("/ready")
    assert ready.status_code == 503 and ready.json["status"] == "loading"


def test_ready_names_model(client, loaded_state):
    r = client.get("/ready")
    assert r.status_code == 200
    body = r.json
    assert body["status"] == "ready"
    card = json.loads((__import__("rs_helpers").PKG / "models" / "hare_run_face.card.json").read_text())
    assert body["model"]["name"] == card["name"] and body["model"]["version"] == card["version"]
    assert body["model"]["sha256"] == card["sha256"]


def test_version_status_metrics(client):
    v = client.get("/version").json
    assert v["service"] == "shine-reference-service" and v["version"]
    s = client.get("/api/v5/skin/model-status").json
    assert s["models_loaded"] is True and s["face_model"]["sha256"]
    assert s["detector"]["settings"]["max_side"] > 0
    client.get("/health")
    m = client.get("/metrics")
    assert m.status_code == 200 and m.mimetype == "text/plain"
    text = m.get_data(as_text=True)
    assert 'http_requests_total{method="GET",route="/health",status="200"}' in text
    assert "http_request_duration_seconds_bucket" in text and "model_load_seconds" in text


def test_openapi_served_and_lists_routes(client, app):
    doc = client.get("/openapi.json").json
    rules = {r.rule for r in app.url_map.iter_rules() if not r.rule.startswith("/static")}
    for path in ("/health", "/ready", "/version", "/metrics", "/api/v5/skin/model-status",
                 "/api/v4/face/detect", "/api/v6/skin/analyze-hare-run"):
        assert path in doc["paths"] and path in rules


def test_detect_astronaut_one_face_with_model_confidence(client, astronaut_b64, loaded_state):
    r = client.post("/api/v4/face/detect", json={"image_data": astronaut_b64})
    assert r.status_code == 200, r.json
    body = r.json
    assert body["image"] == {"width": 512, "height": 512}
    assert len(body["faces"]) == 1
    face = body["faces"][0]
    b = face["bounds"]
    assert iou((b["x"], b["y"], b["width"], b["height"]), ASTRONAUT_FACE) > 0.7
    assert body["verified"] is True and 0.5 <= face["confidence"] <= 1.0
    # the confidence is the verifier's output for that crop, not a constant
    import cv2
    from skimage import data

    gray = cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2GRAY)
    small, boxes, _ = loaded_state.detector.propose(gray)
    probs = loaded_state.detector.verify(small, boxes, loaded_state.verifier())
    assert len(set(np.round(probs, 3))) == len(probs)  # several proposals, several different probabilities
    assert face["confidence"] == pytest.approx(float(probs.max()), abs=0.02)


def test_detect_accepts_image_key_data_url_missing_padding_and_multipart(client, astronaut_jpeg):
    b64 = base64.b64encode(astronaut_jpeg).decode()
    for payload in ({"image": b64}, {"image_data": "data:image/jpeg;base64," + b64},
                    {"image_data": b64.rstrip("=")}, {"image_data": base64.urlsafe_b64encode(astronaut_jpeg).decode()}):
        r = client.post("/api/v4/face/detect", json=payload)
        assert r.status_code == 200 and len(r.json["faces"]) == 1, payload.keys()
    r = client.post("/api/v4/face/detect", data={"image": (io.BytesIO(astronaut_jpeg), "a.jpg")},
                    content_type="multipart/form-data")
    assert r.status_code == 200 and len(r.json["faces"]) == 1


def test_detect_png_and_crops(client):
    from skimage import data

    png = encode(data.astronaut(), ".png")
    r = client.post("/api/v4/face/detect?crops=1", json={"image_data": base64.b64encode(png).decode()})
    assert r.status_code == 200
    crop = r.json["faces"][0]["cropped_face_image"]
    from PIL import Image

    im = Image.open(io.BytesIO(base64.b64decode(crop)))
    assert im.format == "PNG" and abs(im.size[0] - r.json["faces"][0]["bounds"]["width"]) <= 2


def test_detect_no_face_is_empty_list(client):
    from skimage import data

    r = client.post("/api/v4/face/detect", json={"image_data": base64.b64encode(encode(data.coffee())).decode()})
    assert r.status_code == 200 and r.json["faces"] == []


def test_detect_large_jpeg_maps_back_to_original_coordinates(client):
    """A 2048x2048 photo decodes at a reduced DCT scale; bounds still come back in original pixels."""
    import cv2
    from skimage import data

    big = cv2.resize(data.astronaut(), (2048, 2048), interpolation=cv2.INTER_CUBIC)
    r = client.post("/api/v4/face/detect", json={"image_data": base64.b64encode(encode(big)).decode()})
    assert r.status_code == 200 and r.json["image"] == {"width": 2048, "height": 2048}
    b = r.json["faces"][0]["bounds"]
    assert iou((b["x"], b["y"], b["width"], b["height"]), tuple(4 * v for v in ASTRONAUT_FACE)) > 0.6


def test_analyze_schema(client, astronaut_b64):
    from reference_service.measurements import MEASUREMENTS

    r = client.post("/api/v6/skin/analyze-hare-run", json={"image": astronaut_b64})
    assert r.status_code == 200, r.json
    result = r.json["result"]
    b = result["face"]["bounds"]
    assert iou((b["x"], b["y"], b["width"], b["height"]), ASTRONAUT_FACE) > 0.7
    assert result["verified"] is True and 0.5 <= result["face"]["confidence"] <= 1
    assert set(result["measurements"]) == set(MEASUREMENTS)
    for name, m in result["measurements"].items():
        lo, hi = m["range"]
        assert (lo is None or m["value"] >= lo) and (hi is None or m["value"] <= hi), name
    assert "not a diagnosis" in result["notice"]


def test_analyze_without_face_is_422_json(client):
    from skimage import data

    r = client.post("/api/v6/skin/analyze-hare-run",
                    json={"image_data": base64.b64encode(encode(data.chelsea())).decode()})
    assert r.status_code == 422 and r.is_json and r.json["error"] == "no face found in the image"


def test_unknown_route_and_method_are_json(client):
    r = client.get("/nope")
    assert r.status_code == 404 and r.json["error"]
    r = client.get("/api/v4/face/detect")
    assert r.status_code == 405 and r.is_json and "POST" in r.headers["Allow"]


def test_request_id_echoed_and_generated(client):
    r = client.get("/health", headers={"X-Request-ID": "abc-123"})
    assert r.headers["X-Request-ID"] == "abc-123"
    r = client.get("/health", headers={"X-Request-ID": "bad id with spaces"})
    assert r.headers["X-Request-ID"] != "bad id with spaces" and len(r.headers["X-Request-ID"]) == 32
    r = client.post("/api/v4/face/detect", data=b"x", content_type="text/plain", headers={"X-Request-ID": "r-1"})
    assert r.json["request_id"] == "r-1"


def test_cors_preflight_allowed_and_denied(client):
    h = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"}
    ok = client.options("/api/v4/face/detect", headers={"Origin": "http://localhost:3000", **h})
    assert ok.status_code == 200
    assert ok.headers["Access-Control-Allow-Origin"] == "http://localhost:3000"
    assert "POST" in ok.headers["Access-Control-Allow-Methods"]
    assert "content-type" in ok.headers["Access-Control-Allow-Headers"].lower()
    bad = client.options("/api/v4/face/detect", headers={"Origin": "https://evil.example", **h})
    assert "Access-Control-Allow-Origin" not in bad.headers


def test_cors_origins_from_env(monkeypatch, loaded_state):
    from reference_service.app import create_app

    monkeypatch.setenv("CORS_ORIGINS", "https://a.example, https://b.example")
    c = create_app(state=loaded_state, start_loading=False).test_client()
    r = c.get("/health", headers={"Origin": "https://b.example"})
    assert r.headers["Access-Control-Allow-Origin"] == "https://b.example"
    monkeypatch.setenv("CORS_ORIGINS", "")
    c = create_app(state=loaded_state, start_loading=False).test_client()
    assert "Access-Control-Allow-Origin" not in c.get("/health", headers={"Origin": "https://b.example"}).headers


def test_json_logs_with_request_id(client, capfd):
    client.post("/api/v4/face/detect", data=b"x", content_type="text/plain", headers={"X-Request-ID": "log-me"})
    lines = [ln for ln in capfd.readouterr().err.splitlines() if "log-me" in ln]
    assert lines
    rec = json.loads(lines[-1])
    assert rec["request_id"] == "log-me" and rec["status"] == 415 and rec["route"] == "/api/v4/face/detect"
