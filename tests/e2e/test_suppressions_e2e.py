"""A suppressed failing finding keeps status fail, is marked, and never causes exit 1 until it expires."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from tests.e2e.plain_seed import DOMAIN, TEAM_DECLARATIONS, seed_incident

pytestmark = pytest.mark.slow
# the incident's root causes AWS's semantics support (its target group on 5000 is only a warn: ECS registers
# the task on the container port 8000)
ROOTS = ["dns.points-to-service-alb", "listener.routes-to-service", "sg.alb-to-task-ingress"]


def _config(tmp_path, expires: dt.date) -> None:
    lines = ["suppressions:"]
    for check in ROOTS:
        lines += [f"  - check: {check}", "    reason: known, fix scheduled", "    owner: oncall@example.com",
                  f"    expires: {expires.isoformat()}"]
    (tmp_path / "shine-ops.yaml").write_text(TEAM_DECLARATIONS + "\n".join(lines) + "\n")


def test_suppressed_findings_do_not_fail_the_run_until_they_expire(cli, fresh_moto, tmp_path):
    seed_incident(fresh_moto)
    args = ("diagnose", "--no-probe", "--endpoint-url", fresh_moto, "--region", "us-east-1", "--domain", DOMAIN,
            "--format", "json")
    _config(tmp_path, dt.date.today() + dt.timedelta(days=30))
    proc = cli(*args, cwd=tmp_path)
    report = json.loads(proc.stdout)
    assert proc.returncode == 0, proc.stderr
    by_id = {f["check"]: f for f in report["findings"]}
    for check in ROOTS:
        assert by_id[check]["status"] == "fail"
        assert by_id[check]["suppressed"]["owner"] == "oncall@example.com"
    _config(tmp_path, dt.date.today() - dt.timedelta(days=1))
    proc = cli(*args, cwd=tmp_path)
    assert proc.returncode == 1
    assert "expired on" in proc.stderr
    assert all("suppressed" not in f for f in json.loads(proc.stdout)["findings"])
