"""tg.align-health-check: health-check the app where it answers (HTTP, traffic port, health_path, 200)."""

from __future__ import annotations

from shine_ops.fixes import ApiCall, Change, FixPlan, PlanContext, Probe, fix


@fix("tg.align-health-check", checks=["tg.health-check-matches-app"], order=25,
     iam=["elasticloadbalancing:ModifyTargetGroup", "elasticloadbalancing:DescribeTargetGroups"])
def plan(pc: PlanContext) -> FixPlan | None:
    from shine_ops.evaluators.targetgroup import matcher_admits

    snap, svc, want = pc.ctx.snapshot, pc.ctx.path.service, pc.ctx.settings.health_path
    if svc is None:
        return None
    changes = []
    for m in svc.load_balancers:
        tg = snap.target_groups.get(m.target_group_arn or "")
        if tg is None or m.target_group_arn in pc.replaced_tgs:
            continue
        hc = tg.health_check
        new: dict = {}
        if (hc.protocol or "").upper() not in ("HTTP", "HTTPS"):
            new["HealthCheckProtocol"] = "HTTPS" if (tg.protocol or "").upper() == "HTTPS" else "HTTP"
        if hc.port not in ("traffic-port", "") and m.container_port is not None and hc.port != str(m.container_port):
            new["HealthCheckPort"] = "traffic-port"
        if (hc.path or "/") != want:
            new["HealthCheckPath"] = want
        if not matcher_admits(hc.matcher):
            new["Matcher"] = {"HttpCode": "200"}
        if not new:
            continue
        old = {"HealthCheckProtocol": hc.protocol, "HealthCheckPort": hc.port, "HealthCheckPath": hc.path or "/",
               "Matcher": {"HttpCode": hc.matcher or "200"}}
        old = {k: v for k, v in old.items() if k in new}
        changes.append(Change(
            key=f"tg.align-health-check#{len(changes) + 1}", fix="tg.align-health-check", resource=tg.arn,
            description=f"{tg.name}: health check " + ", ".join(f"{k} {old[k]} -> {v}" for k, v in new.items()),
            call=ApiCall("elbv2", "ModifyTargetGroup", {"TargetGroupArn": tg.arn, **new}),
            before=old, after=new,
            inverse=[ApiCall("elbv2", "ModifyTargetGroup", {"TargetGroupArn": tg.arn, **old})],
            probe=Probe(ApiCall("elbv2", "DescribeTargetGroups", {"TargetGroupArns": [tg.arn]}),
                        "TargetGroups[0].[HealthCheckProtocol, HealthCheckPort, HealthCheckPath, Matcher.HttpCode]",
                        [hc.protocol, hc.port, hc.path, hc.matcher])))
    if not changes:
        return None
    return FixPlan(fix="tg.align-health-check", check="tg.health-check-matches-app",
                   summary=f"Health-check the app where it answers: {want} on the traffic port, expecting 200.",
                   changes=changes, verify=["tg.health-check-matches-app"])
