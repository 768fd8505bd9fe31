"""Failures stay where they happen: a call that fails errors exactly the checks that need its data.

One world (the Shine system, repaired) is diagnosed in-process on moto, once as it is and once with one call
denied (``SHINE_OPS_FAULTS``). Only the checks whose declared ``needs`` include the failed area may change, to
``error`` naming the IAM action; every other verdict stays; and the run completes (exit 0 or 1, never 3).
"""

from __future__ import annotations

import json
import os
from typing import Iterator

import pytest

from tests.e2e.plain_seed import DOMAIN, seed_incident

NEEDS_TASK_DEFINITION = {"ecs.lb-container-matches-taskdef", "ecs.port-env-matches-container",
                         "ecs.grace-period-covers-startup", "tg.port-matches-container", "tg.health-check-matches-app"}


@pytest.fixture()
def world(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict]:
    """The repaired Shine system in an in-process moto account."""
    for name in list(os.environ):
        if name.startswith("AWS_ENDPOINT_URL") or name in ("AWS_PROFILE", "SHINE_OPS_FAULTS"):
            monkeypatch.delenv(name, raising=False)
    from moto import mock_aws

    with mock_aws():
        yield seed_incident(None, repaired=True, decoys=0)  # type: ignore[arg-type]


def _diagnose(monkeypatch: pytest.MonkeyPatch, faults: str | None = None):
    """One in-process ``diagnose`` through the runner: (findings by check, report)."""
    from shine_ops.aws import Aws, ConnectionOptions
    from shine_ops.engine.runner import load_catalogue, run
    from shine_ops.evaluators import Settings
    from shine_ops.topology.collect import Target

    if faults:
        monkeypatch.setenv("SHINE_OPS_FAULTS", faults)
    else:
        monkeypatch.delenv("SHINE_OPS_FAULTS", raising=False)
    aws = Aws(ConnectionOptions(region="us-east-1"))
    report = run(aws, Target(domain=DOMAIN), load_catalogue().load_playbook("snail-trail"),
                 Settings(health_path="/health"))
    return {f.check: f for f in report.findings}, report


def _statuses(findings: dict) -> dict[str, str]:
    return {c: f.status for c, f in findings.items()}


def test_denied_network_acls_error_only_the_nacl_check(world, monkeypatch) -> None:
    calm, _ = _diagnose(monkeypatch)
    denied, report = _diagnose(monkeypatch, "deny@ec2.DescribeNetworkAcls=1")
    changed = {c for c in calm if calm[c].status != denied[c].status}
    assert changed == {"nacl.alb-to-task"}
    nacl = denied["nacl.alb-to-task"]
    assert nacl.status == "error"
    assert "ec2:DescribeNetworkAcls" in nacl.summary and "denied" in nacl.summary
    assert nacl.evidence["error"]["code"] == "UnauthorizedOperation"
    assert nacl.evidence["error"]["class"] == "AwsCallError" and nacl.evidence["error"]["area"] == "nacls"
    for check in ("sg.alb-to-task-ingress", "sg.alb-egress-to-task", "sg.task-not-open-to-world"):
        assert denied[check].status == calm[check].status == "pass", check  # they never read NACLs
    assert set(report.snapshot.failed_areas) == {"nacls"}


def test_unreadable_task_definition_errors_only_the_checks_that_read_it(world, monkeypatch) -> None:
    calm, _ = _diagnose(monkeypatch)
    denied, report = _diagnose(monkeypatch, "deny@ecs.DescribeTaskDefinition=1")
    changed = {c for c in calm if calm[c].status != denied[c].status}
    assert changed and changed <= NEEDS_TASK_DEFINITION
    for check in NEEDS_TASK_DEFINITION & set(denied):
        f = denied[check]
        assert f.status == "error", check
        assert "ecs:DescribeTaskDefinition" in f.summary
        assert any("task-definition/shine-api-gateway" in r for r in f.resources)  # the revision it could not read
    for check in set(calm) - NEEDS_TASK_DEFINITION:
        assert denied[check].status == calm[check].status, check
    assert report.snapshot.failed_areas["task_definitions"].resources


def test_throttled_past_every_retry_is_an_error_in_our_words(world, monkeypatch) -> None:
    monkeypatch.setenv("SHINE_OPS_MAX_ATTEMPTS", "1")
    import botocore.endpoint
    import types

    monkeypatch.setattr(botocore.endpoint, "time", types.SimpleNamespace(sleep=lambda _s: None))
    denied, _ = _diagnose(monkeypatch, "throttle@ec2.DescribeNetworkAcls=1")
    nacl = denied["nacl.alb-to-task"]
    assert nacl.status == "error" and "still throttled" in nacl.summary
    assert nacl.evidence["error"]["code"] == "RequestLimitExceeded"


@pytest.mark.parametrize("faults,expected_exit", [
    ("deny@ec2.DescribeNetworkAcls=1", 0),
    ("deny@ecs.DescribeTaskDefinition=1", 0),
    ("deny@elbv2.DescribeLoadBalancers=1", 3),  # essential: no request path without the load balancers
    ("deny@route53.ListHostedZones=1", 3),  # essential with --domain
])
def test_exit_code_is_3_only_for_an_essential_call(world, monkeypatch, faults: str, expected_exit: int) -> None:
    from typer.testing import CliRunner

    from shine_ops.cli import app

    monkeypatch.setenv("SHINE_OPS_FAULTS", faults)
    result = CliRunner().invoke(app, ["diagnose", "--no-probe", "--region", "us-east-1", "--domain", DOMAIN,
                                      "--format", "json"])
    assert result.exit_code == expected_exit, result.output
    if expected_exit == 0:
        report = json.loads(result.stdout)
        assert report["summary"]["error"] >= 1 and report["summary"]["pass"] >= 10


def test_named_missing_service_still_exits_3_when_it_cannot_be_read(world, monkeypatch) -> None:
    from typer.testing import CliRunner

    from shine_ops.cli import app

    monkeypatch.setenv("SHINE_OPS_FAULTS", "deny@ecs.DescribeServices=1")
    result = CliRunner().invoke(app, ["diagnose", "--no-probe", "--region", "us-east-1", "--cluster",
                                      "production-shine-cluster", "--service", "shine-api-gateway"])
    assert result.exit_code == 3
