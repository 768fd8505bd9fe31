"""Simulated ECS deployments: the rollout states moto cannot produce (docs/aws-behaviour.md section 5).

moto gives each service one PRIMARY deployment and never rolls out, so a scenario declares the deployments
``DescribeServices`` should report, per service::

    deployments:                       # newest first; the first PRIMARY one is the service's taskDefinition
      - {status: PRIMARY, revision: 2, running: 0, pending: 1, rollout_state: IN_PROGRESS}
      - {status: ACTIVE, revision: 1, running: 1, rollout_state: COMPLETED}

``revision`` numbers the family's revisions (``extra_revisions`` registers older ones); ``id``, ``desired``,
``failed_tasks`` and ``reason`` are optional. The daemon (and the e2e ``scenario_server``) writes them into moto's
in-process state after seeding: the deployments, the service's ``taskDefinition`` and counts, and the revision each
seeded task runs (the first ``running`` tasks on the first deployment that runs some, and so on). Every simulated
``rolloutStateReason`` starts with ``[simulated]``, which the model reads back (``Deployment.simulated``) so that
findings mark their evidence ``"simulated": true``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from shine_ops.topology.model import SIMULATED_MARK


def _deployment(spec: dict, index: int, td_arn: str, desired: int, now: dt.datetime) -> dict[str, Any]:
    state = spec.get("rollout_state")
    dep_id = str(spec.get("id") or f"ecs-svc/{7_100_000_000_000_000_000 + index}")
    reason = spec.get("reason") or {"IN_PROGRESS": f"ECS deployment {dep_id} in progress.",
                                    "COMPLETED": f"ECS deployment {dep_id} completed.",
                                    "FAILED": f"ECS deployment {dep_id} failed."}.get(str(state), "")
    out: dict[str, Any] = {
        "id": dep_id, "status": str(spec.get("status") or ("PRIMARY" if index == 0 else "ACTIVE")),
        "taskDefinition": td_arn, "desiredCount": int(spec.get("desired", desired)),
        "runningCount": int(spec.get("running", 0)), "pendingCount": int(spec.get("pending", 0)),
        "failedTasks": int(spec.get("failed_tasks", 0)), "launchType": "FARGATE", "platformFamily": "FARGATE",
        "createdAt": now - dt.timedelta(minutes=10 * (index + 1)), "updatedAt": now - dt.timedelta(minutes=index),
        "rolloutStateReason": f"{SIMULATED_MARK} {reason}".strip()}
    if state:
        out["rolloutState"] = str(state)
    return out


def simulate_deployments(scenario: dict, seeded: Any) -> list[str]:
    """Write each service's declared ``deployments`` into moto (in this process). Returns the services
    (``cluster/service``) whose rollout is simulated, for the daemon's deployment follower to leave alone."""
    from moto.ecs.models import ecs_backends

    region = scenario.get("region", "us-east-1")
    now = dt.datetime.now(dt.timezone.utc)
    held: list[str] = []
    for cluster, cl in (scenario.get("clusters") or {}).items():
        for sname, spec in (cl.get("services") or {}).items():
            specs = spec.get("deployments") or []
            arn = seeded.services.get(f"{cluster}/{sname}")
            latest = seeded.task_definitions.get(spec.get("task_definition", ""))
            if not specs or not arn or not latest:
                continue
            backend = ecs_backends[arn.split(":")[4]][region]
            model = backend.services.get(f"{cluster}:{sname}")
            if model is None:
                continue
            family_arn = latest.rsplit(":", 1)[0]
            deployments = [_deployment(d, i, f"{family_arn}:{int(d['revision'])}" if d.get("revision") else latest,
                                       int(spec.get("desired", 1)), now) for i, d in enumerate(specs)]
            model.deployments = deployments
            primary = next((d for d in deployments if d["status"] == "PRIMARY"), deployments[0])
            model.task_definition = primary["taskDefinition"]
            model.running_count = sum(d["runningCount"] for d in deployments)
            model.pending_count = sum(d["pendingCount"] for d in deployments)
            revisions = [d["taskDefinition"] for d in deployments for _ in range(d["runningCount"])]
            for task_arn, td_arn in zip(seeded.tasks.get(f"{cluster}/{sname}", []), revisions):
                task = backend.tasks.get(cluster, {}).get(task_arn)
                if task is not None:
                    task.task_definition_arn = td_arn
            held.append(f"{cluster}/{sname}")
    return held


def hold(runner: Any, held: list[str]) -> None:
    """Keep the daemon's deployment follower from finishing a simulated rollout: it restarts a local task whose
    revision differs from its service's ``taskDefinition`` (what ECS does once a rollout proceeds). A simulated
    rollout stays as the scenario declares it, so the follower is told the task already follows its service;
    the moto task keeps the revision the scenario gave it. A later real update of the service is followed."""
    if runner is None:
        return
    for t in runner.tasks.values():
        if t.service in held:
            cluster, name = t.service.split("/", 1)
            t.task_definition = _service_revision(t.task_arn, cluster, name) or t.task_definition


def _service_revision(task_arn: str, cluster: str, name: str) -> str | None:
    from moto.ecs.models import ecs_backends

    acct, region = task_arn.split(":")[4], task_arn.split(":")[3]
    model = ecs_backends[acct][region].services.get(f"{cluster}:{name}")
    return getattr(model, "task_definition", None)
