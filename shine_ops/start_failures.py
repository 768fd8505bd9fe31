"""Tasks of a new revision that failed to start, and when that ends a rollout before its deadline.

Why: a deploy of an image tag nobody pushed never becomes steady. Waiting out the whole deadline (300 s by
default) while the old tasks serve is what ECS's deployment circuit breaker exists to avoid: it counts the
tasks of the new deployment that fail to reach RUNNING and fails the rollout at a threshold of half the
desired count, at least 3 and at most 200
(https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-circuit-breaker.html). We end the
wait the same way, and at once where the first failed start already proves no retry can succeed: the
image reference does not exist, or the task execution role may not read it (``CannotPullContainerError`` with "not
found", "manifest unknown", "denied" or 403), or the service's own deployment says ``rolloutState FAILED``.
A throttled or timed-out pull is not decisive: ECS retries it, and so do we, up to the threshold.

Every function reads; none changes anything. ``ListTasks`` returns only running tasks unless asked for
``STOPPED`` ones, and ECS keeps stopped tasks visible for about an hour.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

STOP_CODE = "TaskFailedToStart"
# a pull failure that a retry cannot mend: the reference is missing, or reading it is refused
HOPELESS_PULL = re.compile(r"CannotPullContainerError.*(not found|manifest unknown|does not exist|denied|"
                           r"\b403\b|forbidden)", re.IGNORECASE | re.DOTALL)


def threshold(desired: int) -> int:
    """The circuit breaker's failure threshold for a deployment of ``desired`` tasks."""
    return min(200, max(3, -(-desired // 2)))


def stopped_tasks(aws: Any, cluster: str, service: str, td_arn: str, since: datetime | None = None) -> list[dict]:
    """The service's stopped tasks on the revision ``td_arn`` (newest 100 asked for), created at or after
    ``since`` when given (a rollback to an old revision must not count that revision's failures of an hour ago)."""
    arns = aws.call("ecs", "ListTasks", cluster=cluster, serviceName=service,
                    desiredStatus="STOPPED").get("taskArns", [])[:100]
    tasks = aws.call("ecs", "DescribeTasks", cluster=cluster, tasks=arns).get("tasks", []) if arns else []
    return [t for t in tasks if t.get("group") in (None, f"service:{service}") and t.get("taskDefinitionArn") == td_arn
            and (since is None or not isinstance(t.get("createdAt"), datetime) or t["createdAt"] >= since)]


def stopped_reason(task: dict) -> str:
    """A stopped task's reason with its containers' exit codes and reasons (the evidence of a failed start)."""
    parts = [f"{task.get('taskArn', '?').split('/')[-1]}: {task.get('stoppedReason', '')}"]
    for c in task.get("containers", []):
        if c.get("exitCode") not in (None, 0) or c.get("reason"):
            parts.append(f"{c.get('name')} exit {c.get('exitCode')} {c.get('reason') or ''}".rstrip())
    return "; ".join(parts)


def failed_rollout(service: dict, td_arn: str) -> str | None:
    """ECS's own verdict: the deployment of ``td_arn`` has ``rolloutState`` FAILED (the circuit breaker)."""
    for d in service.get("deployments") or []:
        if d.get("taskDefinition") == td_arn and d.get("rolloutState") == "FAILED":
            return f"ECS marked the rollout FAILED: {d.get('rolloutStateReason') or 'no reason given'}"
    return None


def decisive(stopped: list[dict], desired: int) -> str | None:
    """Why the rollout cannot succeed, from the new revision's stopped tasks, or None while it still may."""
    failed = [t for t in stopped if t.get("stopCode") == STOP_CODE]
    hopeless = [t for t in failed if HOPELESS_PULL.search(t.get("stoppedReason") or "")]
    if hopeless:
        return f"the new revision's task failed to start and retrying cannot help: {stopped_reason(hopeless[0])}"
    if failed and len(failed) >= threshold(desired):
        return (f"{len(failed)} tasks of the new revision failed to start (the circuit breaker's threshold for "
                f"{desired} desired is {threshold(desired)}): {stopped_reason(failed[0])}")
    return None


def rollout_failure(aws: Any, service: dict, cluster: str, name: str, td_arn: str,
                    since: datetime | None = None) -> str | None:
    """One look (two calls) for a reason to stop waiting for ``td_arn`` to become steady."""
    return failed_rollout(service, td_arn) or decisive(stopped_tasks(aws, cluster, name, td_arn, since),
                                                       int(service.get("desiredCount") or 0))
