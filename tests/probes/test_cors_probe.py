"""cors.allows-frontend-origin: judged only for a declared frontend_origins (no AWS evidence says which origins a
browser front end uses); undeclared, it skips naming the setting, whether or not probes run."""

from __future__ import annotations

import pytest

from shine_ops.evaluators import REGISTRY, Settings
from shine_ops.probes.service import probe_service
from tests.evaluators.builders import build
from tests.probes.test_smoke_probes import fake_app, serve

CORS = "cors.allows-frontend-origin"
FRONT = "https://www.shineskincollective.com"


@pytest.fixture()
def service():
    """A fake service allowing only localhost:3000, reached as the sandbox's load-balancer emulator would be."""
    server, url = serve(fake_app(cors=["http://localhost:3000"]))
    yield {"alb_endpoint": url, "service_runner": "running"}
    server.shutdown()


def _evaluate(settings: Settings, probes: dict):
    ctx = build()
    ctx.settings, ctx.probes = settings, probes
    return REGISTRY[CORS].fn(ctx, {})


def test_undeclared_origins_skip_naming_the_setting_and_send_no_preflight(service):
    out = probe_service("api.example.com", Settings(), sandbox_state=service, timeout_s=5)
    assert out["smoke.health"].status == "pass"  # the service answered: only CORS is not judged
    assert out[CORS].status == "skip" and "frontend_origins is not declared" in out[CORS].summary
    assert "simulated" not in out[CORS].evidence


def test_declared_origins_are_probed_as_today(service):
    blocked = probe_service("api.example.com", Settings(frontend_origins=[FRONT]), sandbox_state=service, timeout_s=5)
    assert blocked[CORS].status == "fail" and FRONT in blocked[CORS].summary
    allowed = probe_service("api.example.com", Settings(frontend_origins=["http://localhost:3000"]),
                            sandbox_state=service, timeout_s=5)
    assert allowed[CORS].status == "pass"


def test_declared_empty_says_so():
    out = probe_service("api.example.com", Settings(frontend_origins=[]), enabled=False)
    assert out[CORS].status == "skip" and "frontend_origins is declared empty" in out[CORS].summary


def test_without_probes_undeclared_still_names_the_setting_and_declared_names_no_probe():
    assert "frontend_origins is not declared" in probe_service("api.example.com", Settings(), enabled=False)[CORS].summary
    declared = probe_service("api.example.com", Settings(frontend_origins=[FRONT]), enabled=False)[CORS]
    assert declared.status == "skip" and "--no-probe" in declared.summary


def test_the_check_names_the_setting_when_no_probe_ran():
    out = _evaluate(Settings(), {})
    assert out.status == "skip" and "frontend_origins is not declared" in out.summary
    out = _evaluate(Settings(frontend_origins=[FRONT]), {})
    assert out.status == "skip" and "No live probe ran" in out.summary
