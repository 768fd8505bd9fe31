"""Target-group hop: the group sends traffic to the port the container listens on."""

from __future__ import annotations

from shine_ops.engine.finding import Outcome
from shine_ops.evaluators import Context, evaluator, skip


@evaluator("tg.port-matches-container", needs={"elbv2", "ecs"}, hop="target_group")
def port_matches_container(ctx: Context, params: dict) -> Outcome:
    """The target group's port equals the container port the service maps to it."""
    snap, svc = ctx.snapshot, ctx.path.service
    if not svc:
        return skip("No ECS service was found.")
    if not svc.load_balancers:
        return skip(f"{svc.key} has no load balancer mapping.")
    td = ctx.path.task_definition(snap)
    problems, good, resources, evidence = [], [], [], []
    for m in svc.load_balancers:
        tg = snap.target_groups.get(m.target_group_arn or "")
        if tg is None:
            if m.target_group_arn in snap.missing_target_groups:
                resources.append(m.target_group_arn)
                evidence.append({"target_group": m.target_group_arn, "exists": False})
                problems.append(f"service maps container {m.container_name} to target group "
                                f"{m.target_group_arn.split('/')[-2]}, which no longer exists")
            continue
        resources.append(tg.arn)
        cdef = td.container(m.container_name) if td else None
        port = m.container_port or (cdef.container_ports[0] if cdef and cdef.container_ports else None)
        item = {"target_group": tg.name, "target_group_port": tg.port, "container": m.container_name,
                "container_port": port, "target_type": tg.target_type}
        if td and td.network_mode == "bridge" and tg.target_type == "instance":
            mapping = next((p for p in (cdef.port_mappings if cdef else []) if p.get("containerPort") == port), {})
            if not mapping.get("hostPort"):
                item["note"] = "bridge mode with dynamic host ports: targets register with their own ports"
                evidence.append(item)
                good.append(f"{tg.name}: dynamic host ports")
                continue
        evidence.append(item)
        if port is None:
            problems.append(f"{tg.name} is on port {tg.port}, but the service names no container port")
        elif tg.port != port:
            problems.append(f"target group {tg.name} sends traffic to port {tg.port}, "
                            f"but container {m.container_name} listens on {port}")
        else:
            good.append(f"{tg.name}:{tg.port} = {m.container_name}:{port}")
    if td:
        resources.append(td.arn)
    if not evidence:
        return skip("The service's target groups were not found.")
    if problems:
        return Outcome("fail", f"The {problems[0]}: health checks and requests hit a port nothing listens on.",
                       resources=resources, expected="target group port = container port",
                       actual="; ".join(problems), evidence={"mappings": evidence})
    return Outcome("pass", "Target group ports match the container ports: " + "; ".join(good) + ".",
                   resources=resources, expected="target group port = container port", actual="; ".join(good),
                   evidence={"mappings": evidence})
