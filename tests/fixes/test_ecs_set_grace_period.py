"""ecs.set-grace-period plans only from a failing finding; its value comes from the declared startup_budget_s, else
from the account's evidence (the container healthCheck's startPeriod + interval x retries, raised past the tasks seen
killed while starting); without either it plans nothing and names the setting. Each step names its evidence."""

from __future__ import annotations

from shine_ops.engine.finding import Finding
from shine_ops.evaluators import REGISTRY
from shine_ops.fixes import PlanContext, load_fixes
from tests.evaluators.builders_tg_ecs import app_containers as containers
from tests.evaluators.builders_tg_ecs import build_tg_ecs
from tests.evaluators.builders_tg_ecs import killed_after as killed
from tests.evaluators.builders_tg_ecs import two_running as running

CHECK = "ecs.grace-period-covers-startup"


def plan_for(ctx):
    out = REGISTRY[CHECK].fn(ctx, {})
    finding = Finding.from_outcome(CHECK, "grace", "medium", out, fix="ecs.set-grace-period")
    return out, load_fixes()["ecs.set-grace-period"].plan(PlanContext(ctx=ctx, findings={CHECK: finding}))


def test_declared_budget_sets_budget_plus_one_health_check_interval():
    ctx = build_tg_ecs(grace=10, tasks=running(), containers=containers())
    ctx.settings.startup_budget_s = 60
    out, fp = plan_for(ctx)
    assert out.status == "fail" and fp is not None and not fp.refused
    (change,) = fp.changes
    assert change.call.params["healthCheckGracePeriodSeconds"] == 90
    assert "startup_budget_s 60 s (declared)" in change.description and "10 s -> 90 s" in change.description
    assert change.inverse[0].params["healthCheckGracePeriodSeconds"] == 10


def test_evidence_of_kills_sets_the_container_health_check_budget_and_verification_then_passes():
    ctx = build_tg_ecs(grace=0, tasks=running() + [killed(3, 62)], containers=containers())
    out, fp = plan_for(ctx)
    assert out.status == "fail" and fp is not None and not fp.refused
    (change,) = fp.changes
    assert change.call.params["healthCheckGracePeriodSeconds"] == 135  # startPeriod 45 + 30 s x 3 retries
    assert "startPeriod 45 s + 30 s x 3 retries" in change.description
    assert "task t3 stopped 62 s after it started" in change.description
    ctx.path.service.grace_period = 135  # as applied: the check judges the changed configuration and passes
    assert REGISTRY[CHECK].fn(ctx, {}).status == "pass"


def test_kills_longer_than_the_health_check_budget_raise_the_value_past_them():
    quick = {"command": ["CMD", "true"], "interval": 5, "retries": 2, "startPeriod": 10}  # 20 s
    ctx = build_tg_ecs(grace=0, tasks=running() + [killed(3, 62)], containers=containers(health_check=quick))
    _out, fp = plan_for(ctx)
    (change,) = fp.changes
    assert change.call.params["healthCheckGracePeriodSeconds"] == 92  # 62 s observed + one 30 s interval
    ctx.path.service.grace_period = 92
    assert REGISTRY[CHECK].fn(ctx, {}).status == "pass"


def test_without_a_value_from_the_evidence_nothing_is_planned_and_the_setting_is_named():
    ctx = build_tg_ecs(grace=0, tasks=running() + [killed(3, 62)], containers=containers(health_check=None))
    out, fp = plan_for(ctx)
    assert out.status == "fail"
    assert fp is not None and fp.changes == [] and "declare startup_budget_s" in fp.refused


def test_no_plan_unless_the_check_fails():
    ctx = build_tg_ecs(grace=0, tasks=running(), containers=containers())  # a warn (startPeriod 45 s > 0 s)
    out, fp = plan_for(ctx)
    assert out.status == "warn" and fp is None
