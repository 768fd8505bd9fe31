"""The sandbox's ECS bookkeeping in the daemon's own moto: what the task runner's real processes and containers
do, written back where ``DescribeServices``/``DescribeTasks`` read it (runningCount, the task's revision, its
healthStatus, stopped tasks with ECS's reasons). moto never does these itself; everything here is marked
simulated scaffolding (docs/architecture.md, Sandbox).
"""

from __future__ import annotations

from typing import Any


def _identity(svc: dict) -> str:
    """A service's identity across delete and re-create (same ARN, new creation time)."""
    return f"{svc.get('serviceArn')}@{svc.get('createdAt')}"


def _active_services(aws: Any) -> dict[str, dict]:
    """cluster/service -> DescribeServices entry, for every ACTIVE service of every cluster."""
    from shine_ops.topology.account import cluster_services

    out: dict[str, dict] = {}
    for carn in aws.call("ecs", "ListClusters").get("clusterArns", []):
        for s in cluster_services(aws, carn):
            if s.get("status", "ACTIVE") == "ACTIVE":
                out[f"{carn.split('/')[-1]}/{s['serviceName']}"] = s
    return out


def _set_running_count(service_arn: str, count: int) -> None:
    """In the daemon's moto: runningCount follows the tasks the sandbox started (moto fixes it at creation
    from MOTO_ECS_SERVICE_RUNNING)."""
    from moto.ecs.models import ecs_backends

    acct, region = service_arn.split(":")[4], service_arn.split(":")[3]
    for svc in ecs_backends[acct][region].services.values():
        if getattr(svc, "arn", None) == service_arn:
            svc.running_count = count


def _mark_task_revision(task_arn: str, td_arn: str) -> None:
    """In the daemon's moto: the task's taskDefinitionArn follows the restart (moto never moves deployments)."""
    from moto.ecs.models import ecs_backends

    acct, region = task_arn.split(":")[4], task_arn.split(":")[3]
    for tasks in ecs_backends[acct][region].tasks.values():
        task = tasks.get(task_arn)
        if task is not None:
            task.task_definition_arn = td_arn


def _task_model(task_arn: str) -> Any:
    from moto.ecs.models import ecs_backends

    acct, region = task_arn.split(":")[4], task_arn.split(":")[3]
    for tasks in ecs_backends[acct][region].tasks.values():
        if task_arn in tasks:
            return tasks[task_arn]
    return None


def _set_health(task_arn: str, status: str) -> None:
    """In the daemon's moto: the container's (and task's) healthStatus is the healthCheck's verdict."""
    task = _task_model(task_arn)
    if task is None:
        return
    task.health_status = status
    for c in task.containers:
        c.health_status = status


def _mark_stopped(task_arn: str, reason: str, exit_code: int | None, container_reason: str) -> None:
    """In the daemon's moto: the task stopped as ECS shows it (stoppedReason, stopCode, the container's
    exitCode and reason)."""
    import datetime as dt

    task = _task_model(task_arn)
    if task is None:
        return
    task.last_status = "STOPPED"
    task.desired_status = "STOPPED"
    task.stopped_reason = reason
    task.stop_code = "EssentialContainerExited"
    task.stopped_at = dt.datetime.now(dt.timezone.utc)
    for c in task.containers:
        c.last_status = "STOPPED"
        if exit_code is not None:
            c.exitCode = int(exit_code)
        c.reason = container_reason


def _stop_unstarted(aws: Any, cluster: str, task_arn: str, reason: str) -> None:
    """In moto: a task whose image could not be pulled, stopped as ECS shows it (TaskFailedToStart, the
    CannotPullContainerError text, no exit code)."""
    aws.call("ecs", "StopTask", cluster=cluster, task=task_arn, reason=reason)
    task = _task_model(task_arn)
    if task is None:
        return
    task.stop_code = "TaskFailedToStart"
    for c in task.containers:
        c.last_status = "STOPPED"
        c.exitCode = None
        c.reason = reason


def _failed_task(aws: Any, cluster: str, service: str, td_arn: str, svc: dict, reason: str) -> None:
    """What ECS shows for a deployment whose image cannot be pulled: a task of the new revision that stopped
    before it started (moto runs none: run one and stop it)."""
    params: dict[str, Any] = {"cluster": cluster, "taskDefinition": td_arn, "count": 1,
                              "launchType": svc.get("launchType") or "FARGATE", "group": f"service:{service}",
                              "startedBy": f"ecs-svc/{service}"}
    if svc.get("networkConfiguration"):
        params["networkConfiguration"] = svc["networkConfiguration"]
    for task in aws.call("ecs", "RunTask", **params).get("tasks", []):
        _stop_unstarted(aws, cluster, task["taskArn"], reason)
