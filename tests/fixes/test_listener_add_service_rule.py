"""listener.add-service-rule plans only from evidence that the service's own requests go astray, names that
evidence in each step, and keeps neighbours on a host-routed load balancer out of the new rule."""

from __future__ import annotations

from shine_ops.fixes import PlanContext
from shine_ops.fixes.listener_add_service_rule import plan
from tests.evaluators.builders import LST, TG_OLD, TG_SVC, build
from tests.evaluators.test_listener_routes import add_rule, fwd, host, paths, shared_alb


def _plan(ctx):
    return plan(PlanContext(ctx=ctx, findings={}))


def test_no_plan_on_a_healthy_shared_load_balancer():
    assert _plan(shared_alb()) is None
    assert _plan(shared_alb(["/health", "/api/*"])) is None


def test_no_plan_when_only_the_undeclared_get_slash_goes_elsewhere():
    ctx = build(default_tg=TG_OLD, rules=[(200, ["/health"], TG_SVC)])
    assert _plan(ctx) is None  # a warn naming service_paths, no evidence of harm


def test_declared_paths_astray_plan_a_rule_naming_its_evidence():
    ctx = build(default_tg=TG_OLD, rules=[(200, ["/health"], TG_SVC)])
    ctx.settings.service_paths = ["/health", "/api/*"]
    fp = _plan(ctx)
    [change] = fp.changes
    assert change.call.params["Priority"] == 300  # next free hundred: nothing shadows, the default catches it
    assert change.call.params["Conditions"] == [{"Field": "path-pattern", "PathPatternConfig": {"Values": ["/api/*"]}}]
    assert change.call.params["Actions"] == [{"Type": "forward", "TargetGroupArn": TG_SVC}]
    assert "evidence: prod HTTPS:443 GET api.example.com/api/shine-ops-probe -> default action -> forward to old" \
        in change.description


def test_shadowing_host_rule_on_a_host_routed_listener_gets_a_host_scoped_rule_ahead_of_it():
    ctx = build(default_tg=TG_SVC)
    add_rule(ctx, 5, [host("api.example.com"), paths("/api/*")], [fwd(TG_OLD)])
    add_rule(ctx, 200, [paths("/api/*")], [fwd(TG_SVC)])
    fp = _plan(ctx)
    [change] = fp.changes
    assert change.resource == LST and change.call.params["Priority"] == 4
    assert change.call.params["Conditions"] == [
        {"Field": "host-header", "HostHeaderConfig": {"Values": ["api.example.com"]}},
        {"Field": "path-pattern", "PathPatternConfig": {"Values": ["/api/*"]}}]
    assert "priority 5" in change.description and "shadows priority 200" in change.description
