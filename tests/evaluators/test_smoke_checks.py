"""The smoke checks report what the live probes saw, and skip when no probe ran."""

from __future__ import annotations

import pytest

from shine_ops.engine.finding import Outcome
from shine_ops.evaluators import REGISTRY
from tests.evaluators.builders import build

CASES = ["smoke.health", "smoke.face-detect", "smoke.analyze", "cors.allows-frontend-origin"]


def _run(check: str, probes: dict) -> Outcome:
    ctx = build()
    ctx.probes = probes
    return REGISTRY[check].fn(ctx, {})


@pytest.mark.parametrize("check", CASES)
def test_reports_the_probe_outcome_or_skips(check):
    seen = Outcome("fail", "GET /health answered 504, not 200.", evidence={"simulated": True})
    assert _run(check, {"service": {check: seen}}) is seen
    assert _run(check, {}).status == "skip"


def test_smoke_health_fail_is_explained_by_configuration_checks():
    from shine_ops.engine.catalogue import Catalogue

    cat = Catalogue.load()
    assert "sg.alb-to-task-ingress" in cat.checks["smoke.health"].consequence_of
    for check in ("smoke.face-detect", "smoke.analyze", "cors.allows-frontend-origin"):
        assert "smoke.health" in cat.checks[check].consequence_of


def test_smoke_face_detect_and_smoke_analyze_are_opt_in():
    from shine_ops.evaluators import Settings
    from shine_ops.probes.service import probe_service

    st = {"alb_endpoint": "http://127.0.0.1:9", "service_runner": "running"}
    out = probe_service("api.example.com", Settings(), sandbox_state=st, timeout_s=1)
    assert out["smoke.health"].status == "fail"  # nothing listens on port 9


def test_cors_allows_frontend_origin_skips_without_origins():
    assert _run("cors.allows-frontend-origin", {"service": {}}).status == "skip"


def test_smoke_analyze_passes_a_passing_probe_through():
    ok = Outcome("pass", "Analysis returned 8 measurements in the documented schema.")
    assert _run("smoke.analyze", {"service": {"smoke.analyze": ok}}).status == "pass"
