"""ecs.align-lb-container: point the service's loadBalancers at a container and port the task definition has
(FM-09: ``api-gateway`` in the service, ``shine-api-gateway`` in the task definition)."""

from __future__ import annotations

from shine_ops.fixes import ApiCall, Change, FixPlan, PlanContext, Probe, fix


@fix("ecs.align-lb-container", checks=["ecs.lb-container-matches-taskdef"], order=15,
     iam=["ecs:UpdateService", "ecs:DescribeServices"])
def plan(pc: PlanContext) -> FixPlan | None:
    snap, svc = pc.ctx.snapshot, pc.ctx.path.service
    if svc is None:
        return None
    td = pc.ctx.path.task_definition(snap)
    if td is None:
        return None
    with_ports = [c for c in td.containers if c.container_ports]
    old = [{"targetGroupArn": m.target_group_arn, "containerName": m.container_name, "containerPort": m.container_port}
           for m in svc.load_balancers]
    new, refused = [], None
    for m in svc.load_balancers:
        cdef = td.container(m.container_name)
        if cdef is not None and (m.container_port in cdef.container_ports or m.container_port is None):
            new.append({"targetGroupArn": m.target_group_arn, "containerName": m.container_name,
                        "containerPort": m.container_port})
            continue
        if cdef is None:  # the named container is gone: take the one container that serves a port
            candidates = [c for c in with_ports if m.container_port in c.container_ports] or with_ports
            if len(candidates) != 1:
                refused = (f"task definition {td.label} has {len(candidates)} containers with ports: "
                           "choose the one the load balancer should reach by hand")
                new.append(old[len(new)])
                continue
            cdef = candidates[0]
        port = m.container_port if m.container_port in cdef.container_ports else cdef.container_ports[0]
        new.append({"targetGroupArn": m.target_group_arn, "containerName": cdef.name, "containerPort": port})
    if new == old:
        return None
    change = Change(
        key="ecs.align-lb-container#1", fix="ecs.align-lb-container", resource=svc.arn,
        description=f"{svc.key}: loadBalancers " + "; ".join(
            f"{o['containerName']}:{o['containerPort']} -> {n['containerName']}:{n['containerPort']}"
            for o, n in zip(old, new) if o != n),
        call=ApiCall("ecs", "UpdateService", {"cluster": svc.cluster_name, "service": svc.name, "loadBalancers": new,
                                              "forceNewDeployment": True}),
        before={"loadBalancers": [f"{o['containerName']}:{o['containerPort']}" for o in old]},
        after={"loadBalancers": [f"{n['containerName']}:{n['containerPort']}" for n in new]},
        inverse=[ApiCall("ecs", "UpdateService", {"cluster": svc.cluster_name, "service": svc.name,
                                                  "loadBalancers": old, "forceNewDeployment": True})],
        probe=Probe(ApiCall("ecs", "DescribeServices", {"cluster": svc.cluster_name, "services": [svc.name]}),
                    "services[0].loadBalancers[].[containerName, containerPort]",
                    [[o["containerName"], o["containerPort"]] for o in old]))
    return FixPlan(fix="ecs.align-lb-container", check="ecs.lb-container-matches-taskdef",
                   summary="Point the service's load balancer mapping at a container and port of its task definition.",
                   changes=[change], verify=["ecs.lb-container-matches-taskdef"], refused=refused)
