"""``run_smoke`` against small fake services that reproduce the Shine incidents (no TensorFlow needed)."""

from __future__ import annotations

import threading

import pytest
from flask import Flask, jsonify

from shine_ops.engine.finding import Outcome
from shine_ops.probes.smoke import iou, load_sample, run_smoke

EXPECTED = load_sample()["expected_faces"][0]


def serve(app):
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_port}"


def fake_app(*, health=("json", 200), ready=("ready", 200), faces=None, analysis=None, cors=None):
    app = Flask("fake")

    @app.get("/health")
    def _health():
        kind, code = health
        return (jsonify(status="ok"), code) if kind == "json" else ("OK", code)

    @app.get("/ready")
    def _ready():
        state, code = ready
        return jsonify(status=state), code

    @app.post("/api/v4/face/detect")
    def _detect():
        f = faces if faces is not None else [{"bounds": dict(zip(("x", "y", "width", "height"), EXPECTED)),
                                              "confidence": 0.97}]
        return jsonify(faces=f, image={"width": 512, "height": 512}, verified=all(
            x.get("confidence") is not None for x in f))

    @app.post("/api/v6/skin/analyze-hare-run")
    def _analyze():
        if analysis is not None:
            return jsonify(analysis)
        return jsonify(result={"face": {"bounds": dict(zip(("x", "y", "width", "height"), EXPECTED)),
                                        "confidence": 0.97}, "verified": True,
                               "measurements": {"redness_a_star": {"value": 9.1, "range": [-128, 127], "unit": "a*"}}})

    if cors:
        from flask_cors import CORS

        CORS(app, origins=cors)
    return app


@pytest.fixture()
def run():
    servers = []

    def _run(app, **kw):
        server, url = serve(app)
        servers.append(server)
        return dict(run_smoke(url, timeout_s=5, **kw))

    yield _run
    for s in servers:
        s.shutdown()


def test_healthy_fake_passes_and_returns_outcomes(run):
    res = run(fake_app(cors=["https://shine.example"]), origin="https://shine.example")
    assert list(res) == ["smoke.health", "smoke.face-detect", "smoke.analyze", "cors.allows-frontend-origin"]
    assert all(isinstance(o, Outcome) for o in res.values())
    assert {k: o.status for k, o in res.items()} == dict.fromkeys(res, "pass")


def test_fm15_empty_analysis_fails(run):
    res = run(fake_app(analysis={}))
    assert res["smoke.analyze"].status == "fail" and "wrong app" in res["smoke.analyze"].summary
    res = run(fake_app(analysis={"results": {"x": 1}}))
    assert "'results'" in res["smoke.analyze"].summary


def test_fm21_plain_text_health_warns_and_ready_503_fails(run):
    assert run(fake_app(health=("text", 200)))["smoke.health"].status == "warn"
    assert run(fake_app(health=("json", 502)))["smoke.health"].status == "fail"
    assert run(fake_app(ready=("loading", 503)))["smoke.health"].status == "fail"


def test_degraded_service_warns(run):
    res = run(fake_app(ready=("degraded", 200), faces=[{"bounds": dict(zip(("x", "y", "width", "height"), EXPECTED)),
                                                        "confidence": None}]))
    assert res["smoke.health"].status == "warn" and res["smoke.face-detect"].status == "warn"


def test_missed_face_and_constant_junk_fail(run):
    res = run(fake_app(faces=[{"bounds": {"x": 0, "y": 0, "width": 10, "height": 10}, "confidence": 0.95}]))
    assert res["smoke.face-detect"].status == "fail"
    res = run(fake_app(faces=[{"bounds": dict(zip(("x", "y", "width", "height"), EXPECTED)), "confidence": 95}]))
    assert res["smoke.face-detect"].status == "fail"  # 95 is not a probability


def test_fm16_cors_missing_origin_fails(run):
    res = run(fake_app(cors=["http://localhost:3000"]), origin="https://www.shineskincollective.com")
    assert res["cors.allows-frontend-origin"].status == "fail"
    assert run(fake_app())["cors.allows-frontend-origin"].status == "skip"


def test_iou():
    assert iou((0, 0, 10, 10), (0, 0, 10, 10)) == 1.0 and iou((0, 0, 10, 10), (20, 20, 5, 5)) == 0.0
