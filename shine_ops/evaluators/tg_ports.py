"""Target-group hop: traffic and health checks reach the port the container listens on.

AWS semantics (docs/aws-behaviour.md section 1): ECS registers each ``awsvpc`` task as ``ip:containerPort``; the
target group's own ``Port`` is only the default for a target registered without one. So the verdict rests on
the ports targets are really registered with, not on the group's ``Port``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from shine_ops.engine.finding import Outcome
from shine_ops.evaluators import Context, evaluator, skip
from shine_ops.topology.model import ServiceLoadBalancer, TargetGroup


def _service_tgs(ctx: Context) -> list[tuple[ServiceLoadBalancer, TargetGroup]]:
    """(mapping, target group) for each of the service's load balancer mappings whose group was found."""
    svc = ctx.path.service
    return [(m, ctx.snapshot.target_groups[m.target_group_arn]) for m in (svc.load_balancers if svc else [])
            if m.target_group_arn in ctx.snapshot.target_groups]


def serving_task_definition(ctx: Context):
    """The revision whose tasks sit in the target groups now (the first that runs), else the PRIMARY one: the
    registered ports and the container's own health check belong to what serves."""
    serving = ctx.path.serving_task_definitions(ctx.snapshot)
    return serving[0] if serving else ctx.path.task_definition(ctx.snapshot)


@dataclass
class PortJudgement:
    """How one target group of the service routes to its container, judged from registered ports."""

    tg: TargetGroup
    mapping: ServiceLoadBalancer
    container_port: int | None
    expected_port: int | None  # the port targets must sit on (None: dynamic host ports, any)
    wrong: list[str] = field(default_factory=list)  # "ip:port" targets on a port other than expected
    verdict: str = "pass"  # pass | warn | fail | skip
    text: str = ""
    evidence: dict = field(default_factory=dict)


def _target_label(target, tg: TargetGroup) -> str:
    """``id:port`` of a registered target (its own port, else the group's); the id alone when neither has one."""
    port = target.port or tg.port
    return f"{target.id}:{port}" if port is not None else f"{target.id} (no port)"


def judge_ports(ctx: Context) -> list[PortJudgement]:
    """Judge every mapping of the service: targets on the container port (fail if not), the group's own
    ``Port`` differing only a note (warn). Shared by the check and by ``tg.replace-with-container-port``."""
    snap = ctx.snapshot
    td = serving_task_definition(ctx)
    out: list[PortJudgement] = []
    for m, tg in _service_tgs(ctx):
        cdef = td.container(m.container_name) if td else None
        port = m.container_port or (cdef.container_ports[0] if cdef and cdef.container_ports else None)
        j = PortJudgement(tg=tg, mapping=m, container_port=port, expected_port=port)
        j.evidence = {"target_group": tg.name, "target_group_port": tg.port, "container": m.container_name,
                      "container_port": port, "target_type": tg.target_type,
                      "network_mode": td.network_mode if td else None}
        if td and td.network_mode in ("bridge", "host") and tg.target_type == "instance":
            mapping = next((p for p in (cdef.port_mappings if cdef else []) if p.get("containerPort") == port), {})
            host_port = mapping.get("hostPort") if td.network_mode == "bridge" else port
            if not host_port:
                j.expected_port = None
                j.evidence["note"] = "bridge mode with dynamic host ports: each task registers with its own port"
                j.text = f"{tg.name}: dynamic host ports"
                out.append(j)
                continue
            j.expected_port = int(host_port)
            j.evidence["host_port"] = j.expected_port
        if tg.target_type == "instance" and td is not None and td.network_mode == "awsvpc":
            j.verdict, j.text = "skip", (f"target group {tg.name} is an instance target group behind an awsvpc service: ECS "
                                         "cannot register the tasks (tg.targets-registered judges it)")
            out.append(j)
            continue
        if j.expected_port is None:
            j.verdict, j.text = "skip", f"{tg.name}: the service names no container port"
            out.append(j)
            continue
        registered = [t for t in (tg.targets or []) if t.state not in ("draining",)]
        j.evidence["registered"] = [_target_label(t, tg) for t in registered]
        j.wrong = [_target_label(t, tg) for t in registered if (t.port or tg.port) != j.expected_port]
        if j.wrong:
            j.verdict = "fail"
            j.text = (f"target group {tg.name} has {', '.join(j.wrong)} registered, but container "
                      f"{m.container_name} listens on {j.expected_port}")
        elif tg.port != j.expected_port:
            j.verdict = "warn"
            seen = (f"its {len(registered)} target(s) sit on {j.expected_port}" if registered
                    else f"ECS registers tasks on {j.expected_port}")
            if tg.port is None:  # DescribeTargetGroups answered without Port (a Lambda group has none)
                j.text = (f"target group {tg.name} has no port of its own while {seen}: a target registered "
                          "without a port would get none")
            else:
                j.text = (f"target group {tg.name}'s own port is {tg.port} while {seen}: harmless today; a target "
                          f"registered without a port would get {tg.port}")
        else:
            j.text = f"{tg.name}:{j.expected_port} = {m.container_name}:{port}"
        out.append(j)
    return out


@evaluator("tg.port-matches-container", needs={"elbv2", "ecs", "task_definitions", "target_health"},
           hop="target_group")
def port_matches_container(ctx: Context, params: dict) -> Outcome:
    """Targets are registered on the port the container listens on (the container port the service maps; the
    host port in bridge/host mode). A group whose own ``Port`` differs while every target sits on the
    container port is a ``warn``: AWS routes by the registered port."""
    snap, svc = ctx.snapshot, ctx.path.service
    if not svc:
        return skip("No ECS service was found.")
    if not svc.load_balancers:
        return skip(f"{svc.key} has no load balancer mapping.")
    td = serving_task_definition(ctx)
    problems, notes, good, resources, evidence = [], [], [], [], []
    for m in svc.load_balancers:
        if m.target_group_arn not in snap.target_groups and m.target_group_arn in snap.missing_target_groups:
            resources.append(m.target_group_arn)
            evidence.append({"target_group": m.target_group_arn, "exists": False})
            problems.append(f"service maps container {m.container_name} to target group "
                            f"{m.target_group_arn.split('/')[-2]}, which no longer exists")
    for j in judge_ports(ctx):
        resources.append(j.tg.arn)
        evidence.append(j.evidence)
        {"fail": problems, "warn": notes, "pass": good, "skip": notes}[j.verdict].append(j.text)
        resources.extend(j.wrong)
    if td:
        resources.append(td.arn)
    if not evidence:
        return skip("The service's target groups were not found.", resources=[svc.arn])
    expected = "targets registered on the container port"
    ev = {"mappings": evidence}
    if problems:
        return Outcome("fail", f"The {problems[0]}: health checks and requests hit a port nothing listens on.",
                       resources=resources, expected=expected, actual="; ".join(problems + notes), evidence=ev)
    if notes:
        return Outcome("warn", notes[0][0].upper() + notes[0][1:] + ".", resources=resources, expected=expected,
                       actual="; ".join(notes + good), evidence=ev)
    return Outcome("pass", "Targets sit on the container ports: " + "; ".join(good) + ".",
                   resources=resources, expected=expected, actual="; ".join(good), evidence=ev)
