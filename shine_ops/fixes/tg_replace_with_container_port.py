"""tg.replace-with-container-port: a target group's port cannot change, so build its twin on the container port.

Create the twin with the same protocol, type and health check; move every listener rule and default action
that forwarded to the old group; point the service's loadBalancers at the twin (a new deployment); register
the running tasks (where the platform does not do it itself); keep the old group for rollback.
"""

from __future__ import annotations

from shine_ops.fixes import ApiCall, Change, FixPlan, PlanContext, Probe, fix, ref


ATTRIBUTE_DEFAULTS = {"deregistration_delay.timeout_seconds": "300", "slow_start.duration_seconds": "0",
                      "stickiness.enabled": "false", "stickiness.type": "lb_cookie",
                      "load_balancing.algorithm.type": "round_robin"}


def _twin_name(name: str, port: int) -> str:
    suffix = f"-{port}"
    return (name[: 32 - len(suffix)] + suffix).strip("-")


def _swap(actions: list[dict], old: str, new: object) -> list[dict]:
    """The actions with every forward to ``old`` sent to ``new``, in a form ModifyRule accepts."""
    out = []
    for a in actions:
        if a.get("Type") != "forward":
            out.append(a)
            continue
        tgs = (a.get("ForwardConfig") or {}).get("TargetGroups") or (
            [{"TargetGroupArn": a["TargetGroupArn"]}] if a.get("TargetGroupArn") else [])
        tgs = [{**t, "TargetGroupArn": new if t["TargetGroupArn"] == old else t["TargetGroupArn"]} for t in tgs]
        order = {"Order": a["Order"]} if "Order" in a else {}
        if len(tgs) == 1:
            out.append({"Type": "forward", "TargetGroupArn": tgs[0]["TargetGroupArn"], **order})
        else:
            out.append({"Type": "forward", "ForwardConfig": {**(a.get("ForwardConfig") or {}), "TargetGroups": tgs},
                        **order})
    return out


@fix("tg.replace-with-container-port", checks=["tg.port-matches-container"], order=20,
     iam=["elasticloadbalancing:CreateTargetGroup", "elasticloadbalancing:DeleteTargetGroup",
          "elasticloadbalancing:ModifyRule", "elasticloadbalancing:ModifyListener",
          "elasticloadbalancing:RegisterTargets", "elasticloadbalancing:DeregisterTargets",
          "elasticloadbalancing:DescribeTargetGroups", "ecs:UpdateService", "ecs:DescribeServices"])
def plan(pc: PlanContext) -> FixPlan | None:
    from shine_ops.evaluators.tg_ports import judge_ports

    snap, path, svc = pc.ctx.snapshot, pc.ctx.path, pc.ctx.path.service
    if svc is None:
        return None
    # only where targets really sit on a port nothing listens on: a group whose own Port differs while its
    # targets sit on the container port is harmless (AWS routes by the registered port) and never replaced
    broken = {j.tg.arn: j for j in judge_ports(pc.ctx)
              if j.verdict == "fail" and j.container_port is not None and j.tg.target_type == "ip"}
    changes: list[Change] = []
    new_lbs = []
    for m in svc.load_balancers:
        tg = snap.target_groups.get(m.target_group_arn or "")
        if tg is None or tg.arn not in broken or broken[tg.arn].mapping is not m:
            new_lbs.append({"targetGroupArn": m.target_group_arn, "containerName": m.container_name,
                            "containerPort": m.container_port})
            continue
        port = broken[tg.arn].container_port
        evidence = f"registered on the wrong port: {', '.join(broken[tg.arn].wrong)}"
        key = f"tg.replace-with-container-port#{len(changes) + 1}"
        hc = tg.health_check
        params = {"Name": _twin_name(tg.name, port), "Protocol": tg.protocol or "HTTP", "Port": port,
                  "VpcId": tg.vpc_id, "TargetType": tg.target_type, "HealthCheckProtocol": hc.protocol,
                  "HealthCheckPort": hc.port if hc.port == "traffic-port" else str(port),
                  "HealthCheckPath": hc.path or "/", "Matcher": {"HttpCode": hc.matcher or "200"}}
        for same in ("ProtocolVersion", "IpAddressType", "HealthCheckEnabled"):  # kept as they are
            if tg.raw.get(same) is not None:
                params[same] = tg.raw[same]
        for src, dst in (("interval", "HealthCheckIntervalSeconds"), ("timeout", "HealthCheckTimeoutSeconds"),
                         ("healthy_threshold", "HealthyThresholdCount"),
                         ("unhealthy_threshold", "UnhealthyThresholdCount")):
            if getattr(hc, src):
                params[dst] = int(getattr(hc, src))
        new = ref(key, "TargetGroupArn")
        pc.replaced_tgs[tg.arn] = new
        changes.append(Change(
            key=key, fix="tg.replace-with-container-port", resource=tg.arn,
            description=f"create {params['Name']} on port {port} (twin of {tg.name} on {tg.port}; evidence: "
                        f"{evidence})",
            call=ApiCall("elbv2", "CreateTargetGroup", params),
            before={"target group on the container port": "none"},
            after={"target group on the container port": f"{params['Name']} (HTTP:{port})"},
            inverse=[ApiCall("elbv2", "DeleteTargetGroup", {"TargetGroupArn": ref(key, "TargetGroupArn")})],
            results={"TargetGroupArn": "TargetGroups[0].TargetGroupArn"},
            probe=Probe(ApiCall("elbv2", "DescribeTargetGroups", {"Names": [params["Name"]]}),
                        "length(TargetGroups)", None,  # None: not found
                        recover=ApiCall("elbv2", "DescribeTargetGroups", {"Names": [params["Name"]]},
                                        results={"TargetGroupArn": "TargetGroups[0].TargetGroupArn"}))))
        if tg.attributes:  # copy what differs from a new group's defaults
            keep = {k: v for k, v in tg.attributes.items() if k in ATTRIBUTE_DEFAULTS and ATTRIBUTE_DEFAULTS[k] != v}
            if keep:
                changes.append(Change(
                    key=f"{key}.attributes", fix="tg.replace-with-container-port", resource=params["Name"],
                    description=f"copy {len(keep)} attributes of {tg.name} to {params['Name']}",
                    call=ApiCall("elbv2", "ModifyTargetGroupAttributes", {
                        "TargetGroupArn": new, "Attributes": [{"Key": k, "Value": v} for k, v in keep.items()]}),
                    before={}, after=keep, inverse=[]))
        for lst in snap.listeners.values():
            if lst.lb_arn not in tg.lb_arns and not any(tg.arn in r.action.target_groups for r in snap.rules.get(lst.arn, [])):
                continue
            for rule in snap.rules.get(lst.arn, []):
                if rule.is_default or tg.arn not in rule.action.target_groups:
                    continue
                old_actions = _swap(rule.raw["Actions"], "", "")  # normalised for ModifyRule
                changes.append(Change(
                    key=f"{key}.rule{rule.priority}", fix="tg.replace-with-container-port", resource=rule.arn,
                    description=f"{lst.label} {rule.label}: forward to {params['Name']} instead of {tg.name}",
                    call=ApiCall("elbv2", "ModifyRule", {"RuleArn": rule.arn, "Actions": _swap(old_actions, tg.arn, new)}),
                    before={"forwards to": tg.name}, after={"forwards to": params["Name"]},
                    inverse=[ApiCall("elbv2", "ModifyRule", {"RuleArn": rule.arn, "Actions": old_actions})],
                    probe=Probe(ApiCall("elbv2", "DescribeRules", {"RuleArns": [rule.arn]}),
                                "Rules[0].Actions[0].TargetGroupArn", rule.raw["Actions"][0].get("TargetGroupArn"))))
            if tg.arn in lst.default_action.target_groups:
                old_default = _swap(lst.raw["DefaultActions"], "", "")
                changes.append(Change(
                    key=f"{key}.default{lst.port}", fix="tg.replace-with-container-port", resource=lst.arn,
                    description=f"{lst.label} default action: forward to {params['Name']} instead of {tg.name}",
                    call=ApiCall("elbv2", "ModifyListener", {"ListenerArn": lst.arn,
                                                             "DefaultActions": _swap(old_default, tg.arn, new)}),
                    before={"default forwards to": tg.name}, after={"default forwards to": params["Name"]},
                    inverse=[ApiCall("elbv2", "ModifyListener", {"ListenerArn": lst.arn, "DefaultActions": old_default})]))
        new_lbs.append({"targetGroupArn": new, "containerName": m.container_name, "containerPort": port})
        ips = sorted({ip for t in snap.tasks.values() if t.last_status == "RUNNING"
                      and t.group in (None, f"service:{svc.name}") for ip in t.addresses})
        if ips:
            targets = [{"Id": ip, "Port": port} for ip in ips]
            changes.append(Change(
                key=f"{key}.targets", fix="tg.replace-with-container-port", resource=params["Name"],
                description=f"register the {len(ips)} running task(s) in {params['Name']} on port {port}",
                call=ApiCall("elbv2", "RegisterTargets", {"TargetGroupArn": new, "Targets": targets}),
                before={"registered": []}, after={"registered": [f"{ip}:{port}" for ip in ips]},
                inverse=[ApiCall("elbv2", "DeregisterTargets", {"TargetGroupArn": new, "Targets": targets})]))
    if not changes:
        return None
    old_lbs = [{"targetGroupArn": m.target_group_arn, "containerName": m.container_name,
                "containerPort": m.container_port} for m in svc.load_balancers]
    changes.append(Change(
        key="tg.replace-with-container-port#service", fix="tg.replace-with-container-port", resource=svc.arn,
        description=f"point {svc.key}'s loadBalancers at the new target group (new deployment)",
        call=ApiCall("ecs", "UpdateService", {"cluster": svc.cluster_name, "service": svc.name,
                                              "loadBalancers": new_lbs, "forceNewDeployment": True}),
        before={"loadBalancers": [snap.tg_name(l["targetGroupArn"]) for l in old_lbs]},
        after={"loadBalancers": [f"new {_twin_name(snap.tg_name(m.target_group_arn), m.container_port)}"
                                 if isinstance(l["targetGroupArn"], dict) else snap.tg_name(l["targetGroupArn"])
                                 for m, l in zip(svc.load_balancers, new_lbs)]},
        inverse=[ApiCall("ecs", "UpdateService", {"cluster": svc.cluster_name, "service": svc.name,
                                                  "loadBalancers": old_lbs, "forceNewDeployment": True})],
        probe=Probe(ApiCall("ecs", "DescribeServices", {"cluster": svc.cluster_name, "services": [svc.name]}),
                    "services[0].loadBalancers[].targetGroupArn", [l["targetGroupArn"] for l in old_lbs])))
    return FixPlan(fix="tg.replace-with-container-port", check="tg.port-matches-container",
                   summary="Replace the target group on the wrong port with a twin on the container port "
                           "(the old one is kept for rollback).",
                   changes=changes, verify=["tg.port-matches-container"])
