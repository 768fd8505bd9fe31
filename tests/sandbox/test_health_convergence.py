"""The sandbox's target health converges as AWS's does: a new verdict shows only after interval x threshold
(scaled by SHINE_OPS_SANDBOX_HEALTH_SCALE); meanwhile a target keeps its state, or reads ``initial``."""

from __future__ import annotations

import pytest
from moto import mock_aws

HEALTHY = ("healthy", None, "[simulated] healthy: the load balancer reaches port 8000 and /health answers 200")
TIMEOUT = ("unhealthy", "Target.Timeout", "[simulated] Request timed out: no task security group admits it")
REFUSED = ("unhealthy", "Target.FailedHealthChecks", "[simulated] Health checks failed: connection refused")


class _Tg:
    """The attributes of moto's FakeTargetGroup that convergence reads (the HTTP defaults: 30 s, 5 and 2)."""

    account_id, region_name = "123456789012", "us-east-1"
    health_check_interval_seconds, healthy_threshold_count, unhealthy_threshold_count = 30, "5", "2"


@pytest.fixture()
def scale(monkeypatch):
    with mock_aws():  # moto's backends (where the first-query time is kept) start empty and are thrown away
        def set_scale(value: float | None) -> None:
            if value is None:
                monkeypatch.delenv("SHINE_OPS_SANDBOX_HEALTH_SCALE", raising=False)
            else:
                monkeypatch.setenv("SHINE_OPS_SANDBOX_HEALTH_SCALE", str(value))

        yield set_scale


def test_without_a_scale_every_verdict_shows_at_once(scale):
    from shine_ops.sandbox.health import converge

    scale(None)  # what scenario_server's tests get: install() defaults to 0
    tg = _Tg()
    assert converge(tg, "10.0.1.5", TIMEOUT, now=0.0) == TIMEOUT
    assert converge(tg, "10.0.1.5", HEALTHY, now=0.1) == HEALTHY


def test_a_fixed_target_stays_unhealthy_for_interval_x_healthy_threshold(scale):
    from shine_ops.sandbox.health import converge

    scale(0.02)  # 30 s x 5 x 0.02 = 3 s
    tg = _Tg()
    assert converge(tg, "10.0.1.5", TIMEOUT, now=100.0) == TIMEOUT  # the seeded world: as it is
    state, reason, desc = converge(tg, "10.0.1.5", HEALTHY, now=101.0)  # the security group was just fixed
    assert (state, reason) == ("unhealthy", "Target.Timeout")  # keeps its previous state, as AWS does
    assert desc.startswith("[simulated]") and "[simulated convergence: healthy in 3.0 s]" in desc
    assert converge(tg, "10.0.1.5", HEALTHY, now=103.9)[0] == "unhealthy"
    assert converge(tg, "10.0.1.5", HEALTHY, now=104.0) == HEALTHY
    # breaking it again takes interval x unhealthy threshold: 30 s x 2 x 0.02 = 1.2 s
    assert converge(tg, "10.0.1.5", TIMEOUT, now=110.0)[0] == "healthy"
    assert converge(tg, "10.0.1.5", TIMEOUT, now=111.2) == TIMEOUT
    # another reason for the same state shows at once: no health check has to change its mind
    assert converge(tg, "10.0.1.5", REFUSED, now=111.3) == REFUSED


def test_a_verdict_that_changes_again_restarts_the_clock(scale):
    from shine_ops.sandbox.health import converge

    scale(0.02)
    tg = _Tg()
    converge(tg, "10.0.1.5", TIMEOUT, now=0.0)
    converge(tg, "10.0.1.5", HEALTHY, now=1.0)
    assert converge(tg, "10.0.1.5", TIMEOUT, now=2.0) == TIMEOUT  # fixed and broken again before it converged
    assert converge(tg, "10.0.1.5", HEALTHY, now=3.0)[0] == "unhealthy"
    assert converge(tg, "10.0.1.5", HEALTHY, now=5.9)[0] == "unhealthy"
    assert converge(tg, "10.0.1.5", HEALTHY, now=6.0) == HEALTHY


def test_a_target_registered_after_the_first_query_starts_initial(scale):
    from shine_ops.sandbox.health import converge

    scale(0.02)
    tg = _Tg()
    converge(tg, "10.0.1.5", HEALTHY, now=10.0)  # the first health query of this world
    tg.__dict__["_shine_ops_registered"] = {"10.0.1.9": 20.0}  # as tracked_register records it
    state, reason, desc = converge(tg, "10.0.1.9", HEALTHY, now=21.0)
    assert (state, reason) == ("initial", "Elb.InitialHealthChecking") and desc.startswith("[simulated]")
    assert converge(tg, "10.0.1.9", HEALTHY, now=22.9)[0] == "initial"  # 3 s from its registration
    assert converge(tg, "10.0.1.9", HEALTHY, now=23.0) == HEALTHY


def test_a_target_group_newly_in_use_runs_its_first_health_checks(scale):
    from shine_ops.sandbox.health import converge

    scale(0.02)
    tg = _Tg()
    unused = ("unused", "Target.NotInUse", "[simulated] Target group is not configured to receive traffic")
    assert converge(tg, "10.0.1.5", unused, now=0.0) == unused
    assert converge(tg, "10.0.1.5", HEALTHY, now=5.0)[:2] == ("initial", "Elb.InitialHealthChecking")
    assert converge(tg, "10.0.1.5", HEALTHY, now=8.0) == HEALTHY
    assert converge(tg, "10.0.1.5", unused, now=9.0) == unused  # no health check decides "unused": at once


def test_registration_is_tracked_on_moto_target_groups(scale):
    """install() records when moto registers a target; a target registered after the first query is initial."""
    import boto3
    from moto.elbv2 import models

    from shine_ops.sandbox import health

    original = models.FakeTargetGroup.health_for
    try:
        scale(0.02)
        health.install()
        ec2 = boto3.client("ec2", region_name="us-east-1")
        vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
        elbv2 = boto3.client("elbv2", region_name="us-east-1")
        tg = elbv2.create_target_group(Name="t", Protocol="HTTP", Port=8000, VpcId=vpc,
                                       TargetType="ip")["TargetGroups"][0]["TargetGroupArn"]
        elbv2.register_targets(TargetGroupArn=tg, Targets=[{"Id": "10.0.1.5", "Port": 8000}])
        first = elbv2.describe_target_health(TargetGroupArn=tg)["TargetHealthDescriptions"]
        assert first[0]["TargetHealth"]["State"] == "unused"  # no load balancer forwards to it
        fake = models.elbv2_backends["123456789012"]["us-east-1"].target_groups[tg]
        assert "10.0.1.5" in fake.__dict__["_shine_ops_registered"]
        elbv2.register_targets(TargetGroupArn=tg, Targets=[{"Id": "10.0.1.9", "Port": 8000}])
        assert fake.__dict__["_shine_ops_registered"]["10.0.1.9"] > fake.__dict__["_shine_ops_registered"]["10.0.1.5"]
        elbv2.deregister_targets(TargetGroupArn=tg, Targets=[{"Id": "10.0.1.9", "Port": 8000}])
        assert "10.0.1.9" not in fake.__dict__["_shine_ops_registered"]
    finally:
        models.FakeTargetGroup.health_for = original
