"""sg.allow-alb-egress: let the load balancer's security group send to the task security group on the one port."""

from __future__ import annotations

from shine_ops.evaluators.network import admits, container_ports, subnet_cidrs
from shine_ops.fixes import ApiCall, Change, FixPlan, PlanContext, Probe, fix, ref


@fix("sg.allow-alb-egress", checks=["sg.alb-egress-to-task"], order=11,
     iam=["ec2:AuthorizeSecurityGroupEgress", "ec2:RevokeSecurityGroupEgress", "ec2:DescribeSecurityGroups"])
def plan(pc: PlanContext) -> FixPlan | None:
    snap, path, svc = pc.ctx.snapshot, pc.ctx.path, pc.ctx.path.service
    if svc is None or not svc.security_groups:
        return None
    task_sg = svc.security_groups[0]
    task_cidrs = subnet_cidrs(pc.ctx, svc.subnets)  # the check accepts egress to the tasks' subnets too
    changes = []
    for lb_arn in path.service_lb_arns(snap):
        lb = snap.load_balancers.get(lb_arn)
        if lb is None or not lb.security_groups:
            continue
        groups = [snap.security_groups[g] for g in lb.security_groups if g in snap.security_groups]
        alb_sg = lb.security_groups[0]
        for port in container_ports(pc.ctx):
            if any(admits(r, port, set(svc.security_groups), task_cidrs) for g in groups for r in g.egress):
                continue
            key = f"sg.allow-alb-egress#{len(changes) + 1}"
            perm = {"IpProtocol": "tcp", "FromPort": port, "ToPort": port,
                    "UserIdGroupPairs": [{"GroupId": task_sg,
                                          "Description": f"shine-ops {pc.plan_id}/{key}: load balancer to task"}]}
            changes.append(Change(
                key=key, fix="sg.allow-alb-egress", resource=alb_sg,
                description=f"allow tcp/{port} out of {alb_sg} ({lb.name}) to the tasks' {task_sg}",
                call=ApiCall("ec2", "AuthorizeSecurityGroupEgress", {"GroupId": alb_sg, "IpPermissions": [perm]}),
                before={f"{alb_sg} egress tcp/{port} to {task_sg}": "absent"},
                after={f"{alb_sg} egress tcp/{port} to {task_sg}": "allowed"},
                inverse=[ApiCall("ec2", "RevokeSecurityGroupEgress",
                                 {"GroupId": alb_sg, "SecurityGroupRuleIds": ref(key, "RuleIds")})],
                results={"RuleIds": "SecurityGroupRules[].SecurityGroupRuleId"},
                probe=Probe(ApiCall("ec2", "DescribeSecurityGroups", {"GroupIds": [alb_sg]}),
                            f"length(SecurityGroups[0].IpPermissionsEgress[?IpProtocol=='tcp' && FromPort==`{port}`"
                            f" && ToPort==`{port}`].UserIdGroupPairs[] | [?GroupId=='{task_sg}'])", 0)))
    if not changes:
        return None
    return FixPlan(fix="sg.allow-alb-egress", check="sg.alb-egress-to-task",
                   summary="Let the load balancer send to the tasks: egress to the task security group on the port.",
                   changes=changes, verify=["sg.alb-egress-to-task"])
