"""When a rollout's failed starts end the wait: a pull of a missing or forbidden image at once, other failed
starts at the circuit breaker's threshold, ECS's own FAILED rollout at once; and the rolling deploy's wait on
in-process moto returns within seconds, naming the reason, instead of at its deadline."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import pytest

from shine_ops import start_failures
from shine_ops.start_failures import decisive, failed_rollout, threshold
from tests.changes.conftest import aws  # noqa: F401  (the in-process moto fixture)
from tests.changes.world import ecs_service

MISSING = ("CannotPullContainerError: pull image manifest has been retried 1 time(s): failed to resolve ref "
           "123456789012.dkr.ecr.us-east-1.amazonaws.com/shine:never-pushed: not found")
DENIED = ("CannotPullContainerError: pull image manifest has been retried 5 time(s): failed to resolve ref "
          "123456789012.dkr.ecr.us-east-1.amazonaws.com/shine:v2: pulling from host ... 403 Forbidden")
THROTTLED = ("CannotPullContainerError: ref pull has been retried 5 time(s): failed to copy: httpReadSeeker: "
             "failed open: unexpected status code: 429 Too Many Requests - Server message: toomanyrequests")
SECRETS = "ResourceInitializationError: unable to pull secrets or registry auth: execution resource retrieval failed"


def _stopped(reason: str, code: str = "TaskFailedToStart", n: int = 1) -> list[dict]:
    return [{"taskArn": f"arn:aws:ecs:us-east-1:123456789012:task/c/t{i}", "stopCode": code, "stoppedReason": reason,
             "containers": [{"name": "app", "reason": reason}]} for i in range(n)]


@pytest.mark.parametrize("desired,expected", [(1, 3), (2, 3), (6, 3), (7, 4), (10, 5), (1000, 200)])
def test_threshold_is_the_circuit_breakers(desired, expected):
    assert threshold(desired) == expected


@pytest.mark.parametrize("reason", [MISSING, DENIED])
def test_a_pull_that_cannot_succeed_ends_the_wait_at_the_first_task(reason):
    why = decisive(_stopped(reason), desired=4)
    assert why and "retrying cannot help" in why and "t0" in why and reason[:40] in why


@pytest.mark.parametrize("reason", [THROTTLED, SECRETS])
def test_other_failed_starts_count_up_to_the_threshold(reason):
    assert decisive(_stopped(reason, n=2), desired=4) is None
    why = decisive(_stopped(reason, n=3), desired=4)
    assert why and why.startswith("3 tasks of the new revision failed to start")
    assert "threshold for 4 desired is 3" in why


def test_tasks_stopped_for_other_reasons_do_not_count():
    """A scale-in or a replaced task (ServiceSchedulerInitiated) or an exit (EssentialContainerExited: the
    health checks and ``ecs.tasks-not-crashing`` judge those) is not a failed start."""
    assert decisive(_stopped(MISSING, code="ServiceSchedulerInitiated", n=5), desired=1) is None
    assert decisive(_stopped("Essential container in task exited", code="EssentialContainerExited", n=5), 1) is None


def test_ecs_failed_rollout_is_decisive_only_for_that_revision():
    svc = {"deployments": [{"taskDefinition": "td:2", "rolloutState": "FAILED",
                            "rolloutStateReason": "ECS deployment circuit breaker: tasks failed to start."},
                           {"taskDefinition": "td:1", "rolloutState": "COMPLETED"}]}
    assert "circuit breaker: tasks failed to start" in failed_rollout(svc, "td:2")
    assert failed_rollout(svc, "td:1") is None and failed_rollout({}, "td:2") is None


def _stop_as_unpullable(aws, td_arn: str, created_at: datetime | None = None) -> str:
    """A task of ``td_arn`` stopped as ECS shows a failed pull (moto cannot pull: it is made so)."""
    from shine_ops.sandbox.moto_tasks import _stop_unstarted, _task_model

    net = aws.call("ecs", "DescribeServices", cluster="c", services=["api"])["services"][0]["networkConfiguration"]
    (task,) = aws.call("ecs", "RunTask", cluster="c", taskDefinition=td_arn, launchType="FARGATE", group="service:api",
                       networkConfiguration=net)["tasks"]
    _stop_unstarted(aws, "c", task["taskArn"], MISSING)
    if created_at is not None:
        _task_model(task["taskArn"]).created_at = created_at.timestamp()
    return task["taskArn"]


def test_the_rolling_wait_returns_at_the_failed_pull_not_at_its_deadline(aws):
    from shine_ops import deploy

    world = ecs_service(aws)
    world.new_td["containerDefinitions"][0]["memory"] = 512  # moto's RunTask needs a container's memory
    new = aws.call("ecs", "RegisterTaskDefinition", **world.new_td)["taskDefinition"]["taskDefinitionArn"]
    aws.call("ecs", "UpdateService", cluster="c", service="api", taskDefinition=new)
    svc = world.report.request_path.service
    assert start_failures.stopped_tasks(aws, "c", "api", new) == []
    arn = _stop_as_unpullable(aws, new)

    t0 = time.monotonic()
    steady, why = deploy.wait_steady(aws, svc, new, deadline_s=60)
    assert not steady and time.monotonic() - t0 < 10
    assert "retrying cannot help" in why and arn.split("/")[-1] in why and ":never-pushed: not found" in why


def test_an_old_failed_start_does_not_end_the_wait_for_a_rollback(aws):
    """Rolling back to a revision that failed to pull an hour ago: that failure is not this rollout's."""
    from shine_ops import deploy

    world = ecs_service(aws)
    td = aws.call("ecs", "DescribeTaskDefinition", taskDefinition=world.td_arn)["taskDefinition"]
    td["containerDefinitions"][0]["memory"] = 512  # moto's RunTask needs a container's memory
    world.td_arn = aws.call("ecs", "RegisterTaskDefinition", family="api", networkMode="awsvpc", cpu="256",
                            memory="512", requiresCompatibilities=["FARGATE"],
                            containerDefinitions=td["containerDefinitions"])["taskDefinition"]["taskDefinitionArn"]
    _stop_as_unpullable(aws, world.td_arn, created_at=datetime.now(timezone.utc) - timedelta(hours=1))
    steady, why = deploy.wait_steady(aws, world.report.request_path.service, world.td_arn, deadline_s=2)
    assert not steady and why.startswith("not steady after 2 s"), why


def test_the_blue_green_wait_returns_at_the_failed_pull_not_at_its_deadline(aws):
    from shine_ops.bluegreen.green import wait_green

    world = ecs_service(aws, with_lb=True)
    world.new_td["containerDefinitions"][0]["memory"] = 512  # moto's RunTask needs a container's memory
    new = aws.call("ecs", "RegisterTaskDefinition", **world.new_td)["taskDefinition"]["taskDefinitionArn"]
    arn = _stop_as_unpullable(aws, new)
    looks: list[dict] = []
    t0 = time.monotonic()
    steady, st = wait_green(aws, "c", "api", new, world.tg, deadline_s=60, tick=looks.append)
    assert not steady and time.monotonic() - t0 < 10 and len(looks) == 1
    assert "retrying cannot help" in st["failure"] and arn.split("/")[-1] in st["failure"]
