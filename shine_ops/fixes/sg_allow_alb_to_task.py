"""sg.allow-alb-to-task: admit the load balancer's security group on the one container port.

Never a CIDR, never 0.0.0.0/0: the source is the ALB's security group, the port is the container port,
and the rule's description names the change, so anyone reading the group knows where it came from.
"""

from __future__ import annotations

from shine_ops.evaluators.network import admits, container_ports
from shine_ops.fixes import ApiCall, Change, FixPlan, PlanContext, Probe, fix


@fix("sg.allow-alb-to-task", checks=["sg.alb-to-task-ingress"], order=10,
     iam=["ec2:AuthorizeSecurityGroupIngress", "ec2:RevokeSecurityGroupIngress", "ec2:DescribeSecurityGroups"])
def plan(pc: PlanContext) -> FixPlan | None:
    snap, path, svc = pc.ctx.snapshot, pc.ctx.path, pc.ctx.path.service
    if svc is None or not svc.security_groups:
        return None
    lbs = [snap.load_balancers[a] for a in path.service_lb_arns(snap) if a in snap.load_balancers]
    alb_sgs = sorted({g for lb in lbs for g in lb.security_groups})
    task_sg = svc.security_groups[0]
    groups = [snap.security_groups[g] for g in svc.security_groups if g in snap.security_groups]
    changes = []
    for port in container_ports(pc.ctx):
        if any(admits(r, port, set(alb_sgs), []) for g in groups for r in g.ingress):
            continue
        for alb_sg in alb_sgs:
            key = f"sg.allow-alb-to-task#{len(changes) + 1}"
            perm = {"IpProtocol": "tcp", "FromPort": port, "ToPort": port,
                    "UserIdGroupPairs": [{"GroupId": alb_sg,
                                          "Description": f"shine-ops {pc.plan_id}/{key}: load balancer to task"}]}
            probe_path = (f"length(SecurityGroups[0].IpPermissions[?IpProtocol=='tcp' && FromPort==`{port}` && "
                          f"ToPort==`{port}`].UserIdGroupPairs[] | [?GroupId=='{alb_sg}'])")
            changes.append(Change(
                key=key, fix="sg.allow-alb-to-task", resource=task_sg,
                description=f"allow tcp/{port} into {task_sg} from the load balancer's {alb_sg}",
                call=ApiCall("ec2", "AuthorizeSecurityGroupIngress", {"GroupId": task_sg, "IpPermissions": [perm]}),
                before={f"{task_sg} ingress tcp/{port} from {alb_sg}": "absent"},
                after={f"{task_sg} ingress tcp/{port} from {alb_sg}": "allowed"},
                # the inverse names the same permission (not the rule id), so it is known before the call:
                # an apply killed mid-call can still be rolled back
                inverse=[ApiCall("ec2", "RevokeSecurityGroupIngress", {"GroupId": task_sg, "IpPermissions": [perm]})],
                probe=Probe(ApiCall("ec2", "DescribeSecurityGroups", {"GroupIds": [task_sg]}), probe_path, 0)))
    if not changes:
        return None
    return FixPlan(fix="sg.allow-alb-to-task", check="sg.alb-to-task-ingress",
                   summary=f"Let the load balancer reach the tasks: ingress into {task_sg} from its security group.",
                   changes=changes, verify=["sg.alb-to-task-ingress"])
