"""Incident conditions: throttled APIs and partial permissions give the same answers, or a named error."""

from __future__ import annotations

import json

import pytest

from shine_ops.errors import UsageError
from shine_ops.faults import parse
from tests.conftest import assert_no_traceback
from tests.e2e.plain_seed import DOMAIN, seed_incident

pytestmark = pytest.mark.slow
ARGS = ("diagnose", "--no-probe", "--region", "us-east-1", "--domain", DOMAIN, "--format", "json")


def _diagnose(cli, endpoint, faults: str | None = None):
    env = {"SHINE_OPS_FAULTS": faults} if faults else None
    proc = cli(*ARGS, "--endpoint-url", endpoint, env=env, timeout=300)
    assert_no_traceback(proc)
    return proc, (json.loads(proc.stdout) if proc.stdout.strip().startswith("{") else None)


def _verdicts(report):
    return {f["check"]: (f["status"], f["summary"]) for f in report["findings"]}


def test_thirty_percent_throttling_changes_no_finding(cli, fresh_moto):
    seed_incident(fresh_moto)
    _, calm = _diagnose(cli, fresh_moto)
    proc, stormy = _diagnose(cli, fresh_moto, "throttle=0.3;seed=11")
    assert proc.returncode == 1
    assert _verdicts(stormy) == _verdicts(calm)
    assert stormy["root_causes"] == calm["root_causes"]
    assert stormy["api_calls"]["retries"] > 0  # the run says how many retries it needed
    assert stormy["api_calls"]["total"] == calm["api_calls"]["total"]


def test_a_denied_optional_call_is_an_error_naming_the_permission_and_nothing_else_changes(cli, fresh_moto):
    seed_incident(fresh_moto, repaired=True)
    _, calm = _diagnose(cli, fresh_moto)
    proc, denied = _diagnose(cli, fresh_moto, "deny@ec2.DescribeSecurityGroups=1")
    assert proc.returncode == 0  # error findings never cause exit 1
    by_id = {f["check"]: f for f in denied["findings"]}
    for check in ("sg.alb-to-task-ingress", "sg.alb-egress-to-task", "sg.task-not-open-to-world"):
        assert by_id[check]["status"] == "error"
        assert "ec2:DescribeSecurityGroups" in by_id[check]["summary"]
    untouched = {c: v for c, v in _verdicts(calm).items() if not c.startswith("sg.")
                 and c != "alb.sg-allows-listener"}
    assert {c: v for c, v in _verdicts(denied).items() if c in untouched} == untouched


def test_a_denied_essential_call_ends_the_run_with_exit_3_and_the_permission(cli, fresh_moto):
    seed_incident(fresh_moto)
    proc, _ = _diagnose(cli, fresh_moto, "deny@elbv2.DescribeLoadBalancers=1")
    assert proc.returncode == 3
    assert "grant elasticloadbalancing:DescribeLoadBalancers" in proc.stderr


def test_bad_fault_spec_is_a_usage_error():
    with pytest.raises(UsageError, match="unknown fault"):
        parse("flood=0.5")
    with pytest.raises(UsageError, match="rate must be a number"):
        parse("throttle=lots")
