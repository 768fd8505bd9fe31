"""The sandbox's simulated target health follows the wiring, and says it is simulated."""

from __future__ import annotations

import pytest
from moto import mock_aws


@pytest.fixture()
def seeded():
    from moto.moto_api import state_manager

    from shine_ops.aws import Aws, ConnectionOptions
    from shine_ops.sandbox import health
    from shine_ops.sandbox.scenario import load_scenario
    from shine_ops.sandbox.seed import seed

    def make(name: str):
        state_manager.set_transition("ecs::task", {"progression": "manual", "times": 10 ** 6})
        health.install()
        aws = Aws(ConnectionOptions(region="us-east-1"))
        seed(aws, load_scenario(name))
        return aws

    return make


@pytest.mark.parametrize("scenario,state,reason", [
    ("shine-incident", "unhealthy", "Target.Timeout"),
    ("healthy", "healthy", None),
])
def test_simulated_health_follows_the_security_group(seeded, scenario, state, reason):
    from moto.elbv2 import models

    original = models.FakeTargetGroup.health_for
    try:
        with mock_aws():
            from shine_ops.topology.collect import Collector, Target

            aws = seeded(scenario)
            snap, path = Collector(aws).collect(Target(cluster="production-shine-cluster", service="shine-api-gateway"))
            tg = snap.target_groups[path.service.target_group_arns[0]]
            assert tg.targets and len(tg.targets) == 1
            t = tg.targets[0]
            assert (t.state, t.reason) == (state, reason)
            assert t.simulated and t.description.startswith("[simulated]")
            assert tg.attributes is not None
    finally:
        models.FakeTargetGroup.health_for = original


def test_scenario_base_merge_replaces_lists_and_keeps_the_rest():
    from shine_ops.sandbox.scenario import deep_merge, load_scenario

    inc = load_scenario("shine-incident")
    assert inc["security_groups"]["ecs"]["ingress"] == [{"port": 5000, "source_group": "alb"}]
    assert inc["security_groups"]["alb"]["name"] == "production-shine-alb-sg"  # inherited from healthy
    assert sorted(inc["load_balancers"]["production-shine-skincare-alb"]["listeners"]["https"]["rules"]) == [100, 200]
    assert deep_merge({"a": {"b": 1, "c": 2}}, {"a": {"c": None}}) == {"a": {"b": 1}}
