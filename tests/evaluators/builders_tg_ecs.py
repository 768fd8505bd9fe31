"""Additions to ``builders.build()`` for the target-group and ECS checks: targets with health, tasks (running and
stopped), service events, health-check settings and extra containers."""

from __future__ import annotations

from shine_ops.topology.model import Task, TargetHealth, TaskDefinition
from tests.evaluators.builders import ACCT, TD_ARN, TG_SVC, build

CLUSTER_ARN = f"arn:aws:ecs:us-east-1:{ACCT}:cluster/prod"


def task_raw(n: int, ip: str, *, last: str = "RUNNING", desired: str = "RUNNING", group: str = "service:api",
             reason: str = "", stop_code: str | None = None, containers: list[dict] | None = None) -> dict:
    raw = {"taskArn": f"arn:aws:ecs:us-east-1:{ACCT}:task/prod/t{n}", "clusterArn": CLUSTER_ARN,
           "taskDefinitionArn": TD_ARN, "lastStatus": last, "desiredStatus": desired, "group": group,
           "stoppedReason": reason,
           "attachments": [{"type": "ElasticNetworkInterface", "details": [
               {"name": "networkInterfaceId", "value": f"eni-{n}"}, {"name": "privateIPv4Address", "value": ip}]}],
           "containers": containers if containers is not None else [{"name": "api", "lastStatus": last, "exitCode": 0}]}
    if stop_code:
        raw["stopCode"] = stop_code
    return raw


def target(ip: str, state: str = "healthy", reason: str | None = None, description: str | None = None,
           port: int = 8000) -> TargetHealth:
    return TargetHealth(id=ip, port=port, state=state, reason=reason, description=description)


def build_tg_ecs(*, targets: list[TargetHealth] | None = None, tasks: list[dict] | None = None,
                 events: list[str] | None = None, health_check: dict | None = None, grace: int | None = None,
                 containers: list[dict] | None = None, lb_container: str = "api", lb_port: int = 8000,
                 target_type: str = "ip", **kw):
    """A healthy service (2 running tasks, both registered and healthy) unless told otherwise."""
    service = dict(kw.pop("service", None) or {})
    service["loadBalancers"] = [{"targetGroupArn": TG_SVC, "containerName": lb_container, "containerPort": lb_port}]
    if grace is not None:
        service["healthCheckGracePeriodSeconds"] = grace
    if events is not None:
        service["events"] = [{"id": str(i), "message": m} for i, m in enumerate(events)]
    ctx = build(service=service, **kw)
    snap = ctx.snapshot
    tg = snap.target_groups[TG_SVC]
    tg.target_type = target_type
    if health_check:
        for k, v in health_check.items():
            setattr(tg.health_check, k, v)
    tg.targets = targets if targets is not None else [target("10.0.1.10"), target("10.0.1.11")]
    for raw in tasks if tasks is not None else [task_raw(1, "10.0.1.10"), task_raw(2, "10.0.1.11")]:
        t = Task.from_raw(raw)
        snap.tasks[t.arn] = t
    if containers is not None:
        snap.task_definitions[TD_ARN] = TaskDefinition.from_raw({
            "taskDefinitionArn": TD_ARN, "family": "api", "revision": 3, "networkMode": "awsvpc",
            "containerDefinitions": containers})
    return ctx
