"""taskdef.deregister-stale-revisions: deregister ACTIVE revisions beyond the newest N that nothing runs.

Operation Tortoise's rule was "keep only the last 3-4 revisions". A revision a service, a deployment or any
running task uses is never touched, even when it is old (the check already spares services; the planner also
lists the clusters' running and pending tasks, since a scheduled or one-off task may run an old revision).

AWS cannot undo a deregistration: the revision stays INACTIVE for good. Re-registering its definition would make
it the family's newest revision (what ``--task-definition family`` deploys), so rollback does not do that; the
full definition is saved in the journal instead (``shine-ops history --json``).
"""

from __future__ import annotations

from typing import Any

from shine_ops.fixes import ApiCall, Change, FixPlan, PlanContext, Probe, fix
from shine_ops.fixes.cleanup import drop_empty, kept_by_tag, suppressed

CHECK = "taskdef.stale-revisions"
# RegisterTaskDefinition's input, read back from DescribeTaskDefinition (what recreating the revision would need)
REGISTER_KEYS = ("family", "taskRoleArn", "executionRoleArn", "networkMode", "containerDefinitions", "volumes",
                 "placementConstraints", "requiresCompatibilities", "cpu", "memory", "runtimePlatform",
                 "ephemeralStorage", "pidMode", "ipcMode", "proxyConfiguration", "inferenceAccelerators")


def running_task_definitions(aws: Any, clusters: set[str]) -> set[str]:
    """Task definition ARNs of every RUNNING or PENDING task in these clusters (services' and one-off ones)."""
    used: set[str] = set()
    for cluster in sorted(clusters):
        for status in ("RUNNING", "PENDING"):
            arns = aws.paginate("ecs", "ListTasks", "taskArns", cluster=cluster, desiredStatus=status,
                                PaginationConfig={"PageSize": 100})
            for i in range(0, len(arns), 100):
                for t in aws.call("ecs", "DescribeTasks", cluster=cluster, tasks=arns[i:i + 100]).get("tasks", []):
                    if t.get("taskDefinitionArn"):
                        used.add(t["taskDefinitionArn"])
    return used


@fix("taskdef.deregister-stale-revisions", checks=[CHECK], order=110, scope="account",
     iam=["ecs:DeregisterTaskDefinition", "ecs:DescribeTaskDefinition", "ecs:ListTasks", "ecs:DescribeTasks"])
def plan(pc: PlanContext) -> FixPlan | None:
    from shine_ops.evaluators.hygiene import in_use_task_definitions

    finding = pc.findings[CHECK]
    snap = pc.ctx.snapshot
    families = finding.evidence.get("families") or {}
    clusters = {s.raw.get("clusterArn") or s.cluster_name for s in snap.services.values()}
    in_use = in_use_task_definitions(snap) | running_task_definitions(pc.aws, {c for c in clusters if c})
    changes, notes = [], []
    for family, info in sorted(families.items()):
        kept = ", ".join(str(r) for r in info["kept"])
        for arn in info["stale_arns"]:
            name = arn.split("/")[-1]
            why = suppressed(pc, CHECK, arn)
            if arn in in_use:
                notes.append(f"{name}: a task runs it")
                continue
            if why:
                notes.append(f"{name}: {why}")
                continue
            resp = pc.aws.call("ecs", "DescribeTaskDefinition", taskDefinition=arn, include=["TAGS"])
            td, tags = resp["taskDefinition"], resp.get("tags") or []
            if kept_by_tag(tags):
                notes.append(f"{name}: tagged shine-ops:keep")
                continue
            saved = drop_empty({k: td.get(k) for k in REGISTER_KEYS})
            if tags:
                saved["tags"] = tags
            changes.append(Change(
                key=f"taskdef.deregister-stale-revisions#{len(changes) + 1}", fix="taskdef.deregister-stale-revisions",
                resource=arn, description=f"deregister {name} (ACTIVE, not in use; {family} keeps {kept})",
                call=ApiCall("ecs", "DeregisterTaskDefinition", {"taskDefinition": arn}),
                before={"status": "ACTIVE"}, after={"status": "INACTIVE"}, inverse=[], reversible=False,
                undo_note="the revision stays INACTIVE for good; rollback leaves it so (re-registering the saved "
                          "definition would make it the family's newest revision)",
                saved=saved,
                probe=Probe(ApiCall("ecs", "DescribeTaskDefinition", {"taskDefinition": arn}),
                            "taskDefinition.status", "ACTIVE")))
    if not changes and not notes:
        return None
    return FixPlan(fix="taskdef.deregister-stale-revisions", check=CHECK,
                   summary=f"Deregister {len(changes)} ACTIVE revision(s) beyond the newest kept ones that nothing "
                           "runs.", changes=changes, verify=[CHECK], notes=notes)
