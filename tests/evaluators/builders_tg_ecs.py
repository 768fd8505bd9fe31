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


# --------------------------------------------------------------------------- deployments and revisions
def td_arn(revision: int) -> str:
    return TD_ARN.rsplit(":", 1)[0] + f":{revision}"


def deployment(revision: int, status: str = "PRIMARY", *, running: int = 2, desired: int = 2, pending: int = 0,
               state: str | None = "COMPLETED", reason: str | None = None, failed: int = 0) -> dict:
    """One ``deployments[]`` entry as DescribeServices returns it."""
    raw = {"id": f"ecs-svc/{1000 + revision}", "status": status, "taskDefinition": td_arn(revision),
           "desiredCount": desired, "runningCount": running, "pendingCount": pending, "failedTasks": failed,
           "createdAt": "2024-05-01T10:00:00+00:00", "updatedAt": "2024-05-01T10:05:00+00:00"}
    if state:
        raw["rolloutState"] = state
        raw["rolloutStateReason"] = reason or f"ECS deployment ecs-svc/{1000 + revision} {state.lower()}."
    return raw


def revision_raw(revision: int, *, port_env: str = "8000", container: str = "api", health_check: dict | None = None) -> dict:
    c = {"name": container, "image": f"api:{revision}", "portMappings": [{"containerPort": 8000}],
         "environment": [{"name": "PORT", "value": port_env}]}
    if health_check:
        c["healthCheck"] = health_check
    return {"taskDefinitionArn": td_arn(revision), "family": "api", "revision": revision, "networkMode": "awsvpc",
            "containerDefinitions": [c]}


def build_rollout(*, deployments: list[dict], revisions: list[dict], task_revisions: list[int] | None = None,
                  primary: int | None = None, **kw):
    """A service whose ``deployments`` and collected revisions are given; its running tasks use ``task_revisions``
    (one task each; none collected when None). ``primary`` is the service's taskDefinition revision (default: the
    PRIMARY deployment's)."""
    prim = primary or next(int(d["taskDefinition"].rsplit(":", 1)[1]) for d in deployments if d["status"] == "PRIMARY")
    counted = deployments + list((kw.get("service") or {}).get("taskSets") or [])
    service = {"deployments": deployments, "taskDefinition": td_arn(prim),
               "runningCount": sum(d["runningCount"] for d in counted if d["status"] != "INACTIVE"),
               "pendingCount": sum(d["pendingCount"] for d in counted if d["status"] != "INACTIVE"),
               **(kw.pop("service", None) or {})}
    tasks = []
    for i, rev in enumerate(task_revisions or []):
        raw = task_raw(10 + i, f"10.0.1.{10 + i}")
        raw["taskDefinitionArn"] = td_arn(rev)
        tasks.append(raw)
    ctx = build_tg_ecs(service=service, tasks=tasks,
                       targets=[target(f"10.0.1.{10 + i}") for i in range(len(task_revisions or []))], **kw)
    snap = ctx.snapshot
    snap.task_definitions.pop(TD_ARN, None)
    for raw in revisions:
        td = TaskDefinition.from_raw(raw)
        snap.task_definitions[td.arn] = td
    return ctx


# --------------------------------------------------------------------------- start-up evidence
HEALTH_CHECK = {"command": ["CMD-SHELL", "curl -f http://localhost:8000/health || exit 1"], "interval": 30,
                "timeout": 5, "retries": 3, "startPeriod": 45}
ELB_REASON = "Task failed ELB health checks in (target-group arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/svc/1)"


def killed_after(n: int, lifetime_s: int, reason: str = ELB_REASON) -> dict:
    """A task ECS stopped ``lifetime_s`` seconds after it started (``startedAt`` / ``stoppingAt``)."""
    raw = task_raw(n, f"10.0.2.{n}", last="STOPPED", desired="STOPPED", reason=reason,
                   stop_code="ServiceSchedulerInitiated",
                   containers=[{"name": "api", "lastStatus": "STOPPED", "exitCode": 143}])
    raw["startedAt"] = "2024-05-01T10:00:00+00:00"
    raw["stoppingAt"] = f"2024-05-01T10:{lifetime_s // 60:02d}:{lifetime_s % 60:02d}+00:00"
    return raw


def two_running() -> list[dict]:
    return [task_raw(1, "10.0.1.10"), task_raw(2, "10.0.1.11")]


def app_containers(health_check: dict | None = HEALTH_CHECK) -> list[dict]:
    """The service's one container (api:8000, PORT=8000), with a container healthCheck unless None."""
    c = {"name": "api", "image": "api:1", "portMappings": [{"containerPort": 8000}],
         "environment": [{"name": "PORT", "value": "8000"}]}
    if health_check:
        c["healthCheck"] = health_check
    return [c]
