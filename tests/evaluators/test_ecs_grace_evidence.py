"""ecs.grace-period-covers-startup without a declared startup_budget_s: judged from the account's evidence alone
(docs/aws-behaviour.md section 2). It fails only when ECS stopped tasks for failed ELB health checks while they
were still starting and other targets pass; otherwise it passes or warns, naming startup_budget_s."""

from __future__ import annotations

from shine_ops.evaluators import REGISTRY
from tests.evaluators.builders import SVC_ARN
from tests.evaluators.builders_tg_ecs import app_containers as containers
from tests.evaluators.builders_tg_ecs import HEALTH_CHECK, build_tg_ecs, target
from tests.evaluators.builders_tg_ecs import killed_after as killed
from tests.evaluators.builders_tg_ecs import two_running as running

CHECK = "ecs.grace-period-covers-startup"


def run(ctx):
    return REGISTRY[CHECK].fn(ctx, {})


def test_tasks_killed_while_starting_fail_naming_the_evidence():
    ctx = build_tg_ecs(grace=0, tasks=running() + [killed(3, 62), killed(4, 61)], containers=containers())
    out = run(ctx)
    assert out.status == "fail", out.summary
    assert "stopped 2 task(s)" in out.summary and "while they were still starting" in out.summary
    assert "task t3 stopped 62 s after it started" in out.summary and "Task failed ELB health checks" in out.summary
    assert "grace period of 0 s" in out.summary and "2 other target(s) pass" in out.summary
    assert out.resources == [SVC_ARN]
    assert [k["lifetime_s"] for k in out.evidence["killed_while_starting"]] == [62.0, 61.0]
    assert out.evidence["startup_budget_s"] is None and out.evidence["start_window_s"] == 90


def test_kills_while_no_target_passes_are_not_blamed_on_the_grace_period():
    ctx = build_tg_ecs(grace=0, tasks=running() + [killed(3, 62)], containers=containers(),
                       targets=[target("10.0.1.10", "unhealthy", "Target.Timeout"),
                                target("10.0.1.11", "unhealthy", "Target.Timeout")])
    out = run(ctx)
    assert out.status == "warn" and "no target passes its health check" in out.summary
    assert "startup_budget_s" in out.summary


def test_a_task_that_served_for_a_while_before_failing_is_no_start_up_evidence():
    ctx = build_tg_ecs(grace=0, tasks=running() + [killed(3, 3000)], containers=containers(health_check=None))
    out = run(ctx)
    assert out.status == "warn" and "nothing shows they were still starting" in out.summary
    assert out.evidence["elb_health_stops"][0]["lifetime_s"] == 3000.0


def test_elb_health_events_alone_warn_and_old_ones_are_history():
    ev = "(service api) (task 0123456789abcdef) failed ELB health checks in (target-group arn:...)"
    out = run(build_tg_ecs(grace=0, events=[ev], containers=containers(health_check=None)))
    assert out.status == "warn" and "failed ELB health checks" in out.summary
    steady = build_tg_ecs(grace=0, events=["(service api) has reached a steady state.", ev],
                          containers=containers(health_check=None))
    assert run(steady).status == "pass"


def test_grace_zero_with_stable_tasks_never_fails_and_names_the_setting():
    out = run(build_tg_ecs(grace=0, tasks=running(), containers=containers()))
    assert out.status == "warn", out.summary  # the container's own startPeriod (45 s) is longer than 0 s
    assert "allows 45 s to start (startPeriod)" in out.summary and "startup_budget_s" in out.summary
    assert "may stop a new task of prod/api 30 s after it starts" in out.summary  # 0 s + 2 checks 30 s apart
    quick = dict(HEALTH_CHECK, startPeriod=20)  # starts before ECS could act on failed checks
    assert run(build_tg_ecs(grace=0, tasks=running(), containers=containers(health_check=quick))).status == "pass"
    out = run(build_tg_ecs(grace=0, tasks=running(), containers=containers(health_check=None)))
    assert out.status == "pass" and "startup_budget_s is not declared" in out.summary


def test_kills_sooner_than_the_current_grace_period_are_a_shorter_one_s_history():
    """After the grace period was raised (by the fix), the old kills no longer count: verification passes."""
    ctx = build_tg_ecs(grace=135, tasks=running() + [killed(3, 62)], containers=containers())
    out = run(ctx)
    assert out.status == "pass", out.summary
    assert out.evidence["killed_before_the_current_grace_period"][0]["lifetime_s"] == 62.0


def test_nothing_seen_is_a_skip_naming_the_setting():
    out = run(build_tg_ecs(grace=0, tasks=[], containers=containers(health_check=None)))
    assert out.status == "skip" and "startup_budget_s" in out.summary


def test_a_declared_budget_is_judged_as_before_whatever_the_evidence():
    ctx = build_tg_ecs(grace=0, tasks=running(), containers=containers(health_check=None))
    ctx.settings.startup_budget_s = 60
    out = run(ctx)
    assert out.status == "fail" and "60 s" in out.summary and "startup_budget_s" in out.summary
    ctx.path.service.grace_period = 60
    assert run(ctx).status == "pass"
