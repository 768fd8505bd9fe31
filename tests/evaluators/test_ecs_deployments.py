"""Deployments as ECS reports them (docs/aws-behaviour.md section 5), as pure functions of the snapshot:
ecs.service-running names the revision that serves and the one rolling out, fails a failed or rolled-back rollout,
judges CODE_DEPLOY/EXTERNAL services by their task sets; the task-definition checks judge the revisions that run."""

from __future__ import annotations

from shine_ops.evaluators import REGISTRY
from tests.evaluators.builders_tg_ecs import build_rollout, deployment, revision_raw, td_arn


def run(check: str, ctx):
    return REGISTRY[check].fn(ctx, {})


MID_ROLLOUT = dict(deployments=[deployment(4, "PRIMARY", running=0, pending=2, state="IN_PROGRESS"),
                                deployment(3, "ACTIVE", running=2)],
                   task_revisions=[3, 3])


# --------------------------------------------------------------------------- ecs.service-running
def test_a_rollout_in_progress_warns_naming_the_serving_and_the_rolling_out_revision():
    ctx = build_rollout(revisions=[revision_raw(3), revision_raw(4)], **MID_ROLLOUT)
    out = run("ecs.service-running", ctx)
    assert out.status == "warn", out.summary
    assert "rolling out api:4 (0/2 running, 2 pending); api:3 serves 2/2" in out.summary
    assert out.evidence["serving_revisions"] == ["api:3"]
    assert [d["status"] for d in out.evidence["deployments"]] == ["PRIMARY", "ACTIVE"]
    assert "simulated" not in out.evidence


def test_a_rollout_with_nothing_running_fails():
    ctx = build_rollout(deployments=[deployment(4, "PRIMARY", running=0, pending=2, state="IN_PROGRESS")],
                        revisions=[revision_raw(4)], task_revisions=[])
    out = run("ecs.service-running", ctx)
    assert out.status == "fail" and "runs 0 of the 2 tasks" in out.summary and "api:4" in out.summary


def test_a_failed_rollout_fails_naming_its_reason_and_what_runs():
    ctx = build_rollout(deployments=[deployment(4, "PRIMARY", running=0, state="FAILED", failed=3,
                                                reason="ECS deployment circuit breaker: tasks failed to start."),
                                     deployment(3, "ACTIVE", running=2)],
                        revisions=[revision_raw(3), revision_raw(4)], task_revisions=[3, 3])
    out = run("ecs.service-running", ctx)
    assert out.status == "fail"
    assert "api:4 FAILED (ECS deployment circuit breaker: tasks failed to start.)" in out.summary
    assert "now api:3 serves 2/2" in out.summary


def test_a_circuit_breaker_rollback_fails_naming_both_reasons():
    reason = "ECS deployment circuit breaker: rolling back to deploymentId ecs-svc/1003."
    ctx = build_rollout(deployments=[deployment(3, "PRIMARY", running=2, state="IN_PROGRESS", reason=reason),
                                     deployment(4, "ACTIVE", running=0, state="FAILED", failed=5,
                                                reason="ECS deployment circuit breaker: tasks failed to start.")],
                        revisions=[revision_raw(3), revision_raw(4)], task_revisions=[3, 3])
    out = run("ecs.service-running", ctx)
    assert out.status == "fail"
    assert "to api:4 FAILED" in out.summary and f"rolled back to api:3 ({reason})" in out.summary


def test_a_completed_deployment_passes_naming_the_revision_its_tasks_run():
    ctx = build_rollout(deployments=[deployment(3)], revisions=[revision_raw(3)], task_revisions=[3, 3])
    out = run("ecs.service-running", ctx)
    assert out.status == "pass" and "2/2 tasks running, on api:3" in out.summary


def test_running_tasks_say_what_runs_when_the_counts_lag():
    """An emulator leaves deployments[0] on the old revision after an update; the tasks run the new one."""
    ctx = build_rollout(deployments=[deployment(3)], revisions=[revision_raw(3), revision_raw(4)],
                        task_revisions=[4, 4], primary=4)
    assert ctx.path.serving_task_definition_arns(ctx.snapshot) == [td_arn(4)]
    assert "on api:4" in run("ecs.service-running", ctx).summary


def test_simulated_deployments_are_marked_and_their_mark_is_not_quoted():
    ctx = build_rollout(deployments=[deployment(4, "PRIMARY", running=0, state="FAILED",
                                                reason="[simulated] ECS deployment circuit breaker: tasks failed to start."),
                                     deployment(3, "ACTIVE", running=2)],
                        revisions=[revision_raw(3), revision_raw(4)], task_revisions=[3, 3])
    out = run("ecs.service-running", ctx)
    assert out.status == "fail" and out.evidence["simulated"] is True
    assert "[simulated]" not in out.summary and "tasks failed to start" in out.summary


def _task_set(rev: int, status: str, running: int, desired: int = 2, stability: str = "STEADY_STATE") -> dict:
    return {"id": f"ecs-svc/ts{rev}", "status": status, "taskDefinition": td_arn(rev), "computedDesiredCount": desired,
            "runningCount": running, "pendingCount": 0, "stabilityStatus": stability,
            "scale": {"value": 100.0, "unit": "PERCENT"}, "loadBalancers": []}


def test_code_deploy_and_external_services_are_judged_from_their_task_sets():
    sets = [_task_set(3, "PRIMARY", 2), _task_set(4, "ACTIVE", 0, stability="STABILIZING")]
    ctx = build_rollout(deployments=[], primary=3, revisions=[revision_raw(3), revision_raw(4)], task_revisions=[3, 3],
                        service={"deploymentController": {"type": "CODE_DEPLOY"}, "taskSets": sets})
    out = run("ecs.service-running", ctx)
    assert out.status == "warn", out.summary
    assert "CODE_DEPLOY controller) is deploying" in out.summary
    assert "api:3 PRIMARY 2/2 running (STEADY_STATE, scale 100%)" in out.summary and "api:4 ACTIVE 0/2" in out.summary
    assert [t["task_definition"] for t in out.evidence["task_sets"]] == ["api:3", "api:4"]

    steady = build_rollout(deployments=[], primary=3, revisions=[revision_raw(3)], task_revisions=[3, 3],
                           service={"deploymentController": {"type": "EXTERNAL"}, "taskSets": [_task_set(3, "PRIMARY", 2)]})
    assert run("ecs.service-running", steady).status == "pass"

    empty = build_rollout(deployments=[], primary=3, revisions=[revision_raw(3)], task_revisions=[],
                          service={"deploymentController": {"type": "EXTERNAL"}, "runningCount": 0,
                                   "taskSets": [_task_set(3, "PRIMARY", 0)]})
    out = run("ecs.service-running", empty)
    assert out.status == "fail" and "runs no task in any task set" in out.summary


# --------------------------------------------------------------------------- the revisions that run
def test_the_serving_revision_is_judged_when_the_primary_one_runs_nothing_yet():
    """The issue's false pass: the PRIMARY revision is right, the one that serves listens on the wrong port."""
    ctx = build_rollout(revisions=[revision_raw(3, port_env="5000"), revision_raw(4)], **MID_ROLLOUT)
    out = run("ecs.port-env-matches-container", ctx)
    assert out.status == "fail", out.summary
    assert out.summary.startswith("In api:3 (serving), container api sets PORT=5000")
    assert "The PRIMARY revision api:4 runs no task yet; api:3 serves" in out.summary
    assert td_arn(3) in out.resources and td_arn(4) in out.resources
    assert out.evidence["revisions"] == {"api:4": "PRIMARY, rolling out, no task runs it yet", "api:3": "serving"}


def test_the_rolling_out_revision_is_judged_too_and_named_as_such():
    ctx = build_rollout(revisions=[revision_raw(3), revision_raw(4, port_env="5000")], **MID_ROLLOUT)
    out = run("ecs.port-env-matches-container", ctx)
    assert out.status == "fail"
    assert "In api:4 (PRIMARY, rolling out, no task runs it yet), container api sets PORT=5000" in out.summary


def test_lb_container_mapping_is_judged_in_every_revision_that_runs():
    ctx = build_rollout(revisions=[revision_raw(3, container="web"), revision_raw(4)], **MID_ROLLOUT)
    out = run("ecs.lb-container-matches-taskdef", ctx)
    assert out.status == "fail" and "task definition api:3 (serving) has no such container" in out.summary
    good = build_rollout(revisions=[revision_raw(3), revision_raw(4)], **MID_ROLLOUT)
    out = run("ecs.lb-container-matches-taskdef", good)
    assert out.status == "pass" and "api:4 runs no task yet" in out.summary


def test_with_nothing_running_the_primary_revision_alone_is_judged():
    ctx = build_rollout(deployments=[deployment(4, running=0, pending=2, state="IN_PROGRESS")],
                        revisions=[revision_raw(3, port_env="5000"), revision_raw(4)], task_revisions=[])
    out = run("ecs.port-env-matches-container", ctx)
    assert out.status == "pass" and "api:4" in out.summary and "api:3" not in out.summary
    assert "runs no task yet" not in out.summary
