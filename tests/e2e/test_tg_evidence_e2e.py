"""Broken health checks are still caught and fixed on evidence, with the fix's target value from a declaration or
from the account (the container's own healthCheck command); where neither says, nothing is planned."""

from __future__ import annotations

import re

import pytest

from tests.e2e.conftest import diagnose_json

pytestmark = pytest.mark.slow
DOMAIN = "api.shineskincollective.com"
CHECK = "tg.health-check-matches-app"


def _finding(report: dict) -> dict:
    return {f["check"]: f for f in report["findings"]}[CHECK]


def _fix(cli, endpoint, *args):
    return cli("fix", "alb-ecs", "--endpoint-url", endpoint, "--region", "us-east-1", "--domain", DOMAIN,
               "--only", "tg.align-health-check", *args)


@pytest.mark.parametrize("scenario, evidence, target", [
    ("tg.health-check-port-dropped", "no task security group admits the load balancer on tcp/9000",
     "HealthCheckPort 9000 -> traffic-port"),
    ("tg.health-check-matches-app", "404", "HealthCheckPath /healthz -> /health"),   # declared health_path
    ("tg.health-path-undeclared", "404", "HealthCheckPath /healthz -> /health"),      # container's healthCheck
])
def test_broken_health_check_is_fixed_on_evidence(cli, scenario_server, scenario, evidence, target):
    endpoint = scenario_server(scenario)
    before = _finding(diagnose_json(cli, endpoint))
    assert before["status"] == "fail" and evidence in before["summary"], before["summary"]
    plan = _fix(cli, endpoint)
    assert plan.returncode == 0 and target in plan.stdout and "evidence:" in plan.stdout, plan.stdout
    if scenario == "tg.health-path-undeclared":
        assert "the container's own healthCheck command" in plan.stdout
    applied = _fix(cli, endpoint, "--apply", "--yes")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert _finding(diagnose_json(cli, endpoint))["status"] == "pass"


def test_no_evidence_of_the_right_path_plans_nothing_and_names_the_setting(cli, scenario_server):
    endpoint = scenario_server("tg.health-path-unknown")
    before = _finding(diagnose_json(cli, endpoint))
    assert before["status"] == "fail" and "declare health_path" in before["summary"], before["summary"]
    proc = _fix(cli, endpoint, "--apply", "--yes")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    calls = re.search(r"api calls: (\d+) total, (\d+) mutating", proc.stderr)
    assert calls and calls.group(2) == "0"
