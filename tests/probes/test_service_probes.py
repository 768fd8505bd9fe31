"""diagnose's live probes: off, opt-in, and honest about a sandbox that runs no service."""

from __future__ import annotations

from shine_ops.evaluators import Settings
from shine_ops.probes.service import SMOKE_CHECKS, probe_service


def test_no_probe_skips_every_smoke_check():
    out = probe_service("api.example.com", Settings(), enabled=False)
    assert set(out) == set(SMOKE_CHECKS) and {o.status for o in out.values()} == {"skip"}
    assert "--no-probe" in out["smoke.health"].summary


def test_sandbox_without_the_service_extra_says_so():
    st = {"alb_endpoint": "http://127.0.0.1:9", "service_runner": "the reference service needs the 'service' extra"}
    out = probe_service("api.example.com", Settings(), sandbox_state=st)
    assert {o.status for o in out.values()} == {"skip"}
    assert "service' extra" in out["smoke.face-detect"].summary


def test_unreachable_domain_fails_health_within_budget_and_skips_the_rest(monkeypatch):
    import time

    start = time.monotonic()
    st = {"alb_endpoint": "http://127.0.0.1:9", "service_runner": "running"}  # nothing listens on port 9
    out = probe_service("api.example.com", Settings(serves_reference_api=True), sandbox_state=st, timeout_s=3)
    assert out["smoke.health"].status == "fail" and out["smoke.health"].evidence["simulated"] is True
    assert out["smoke.face-detect"].status == "skip"
    assert time.monotonic() - start < 5
