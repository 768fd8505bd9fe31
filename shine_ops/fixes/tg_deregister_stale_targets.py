"""tg.deregister-stale-targets: stop sending traffic to addresses no running task has (FM-13, FM-20)."""

from __future__ import annotations

from shine_ops.fixes import ApiCall, Change, FixPlan, PlanContext, Probe, fix


@fix("tg.deregister-stale-targets", checks=["tg.targets-registered"], order=60,
     iam=["elasticloadbalancing:DeregisterTargets", "elasticloadbalancing:RegisterTargets",
          "elasticloadbalancing:DescribeTargetHealth"])
def plan(pc: PlanContext) -> FixPlan | None:
    snap, svc = pc.ctx.snapshot, pc.ctx.path.service
    if svc is None:
        return None
    live = {a for t in snap.tasks.values() if t.last_status in ("RUNNING", "PENDING", "PROVISIONING")
            and t.group in (None, f"service:{svc.name}") for a in t.addresses}
    if not live:
        return None  # with no running task we cannot tell stale from current: never empty a target group blindly
    changes = []
    for arn in svc.target_group_arns:
        tg = snap.target_groups.get(arn)
        if tg is None or not tg.targets or arn in pc.replaced_tgs:
            continue
        stale = [t for t in tg.targets if t.id not in live and t.state != "draining"]
        if not stale:
            continue
        targets = [{"Id": t.id, **({"Port": t.port} if t.port else {})} for t in stale]
        ids = [t.id for t in stale]
        changes.append(Change(
            key=f"tg.deregister-stale-targets#{len(changes) + 1}", fix="tg.deregister-stale-targets", resource=arn,
            description=f"{tg.name}: deregister {', '.join(f'{t.id}:{t.port}' for t in stale)} (no running task)",
            call=ApiCall("elbv2", "DeregisterTargets", {"TargetGroupArn": arn, "Targets": targets}),
            before={"stale targets": ids}, after={"stale targets": []},
            inverse=[ApiCall("elbv2", "RegisterTargets", {"TargetGroupArn": arn, "Targets": targets})],
            probe=Probe(ApiCall("elbv2", "DescribeTargetHealth", {"TargetGroupArn": arn}),
                        "length(TargetHealthDescriptions[?contains(`" + __import__("json").dumps(ids)
                        + "`, Target.Id) && TargetHealth.State != 'draining' && TargetHealth.State != 'unused'])",
                        len(ids))))
    if not changes:
        return None
    return FixPlan(fix="tg.deregister-stale-targets", check="tg.targets-registered",
                   summary="Deregister targets that no running task answers on.",
                   changes=changes, verify=["tg.targets-registered"])
