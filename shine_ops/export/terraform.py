"""Terraform for the request path as it is: ``import`` blocks plus resource blocks with the live values.

Meant for ``terraform plan`` to show no change after ``terraform init``: the on-ramp from click-ops to code.
No Terraform provider can be fetched on this project's machines, so the output is parsed and compared with the
snapshot in tests, not plan-verified (the README says so).
"""

from __future__ import annotations

import json
import re
from typing import Any

from shine_ops.topology.path import RequestPath
from shine_ops.topology.snapshot import Snapshot


def _s(value: str) -> str:
    """An HCL string literal (JSON escapes, and no interpolation)."""
    return json.dumps(value).replace("${", "$${").replace("%{", "%%{")


def _v(value: Any) -> str:
    if isinstance(value, Ref):
        return value.expr
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, str):
        return _s(value)
    if isinstance(value, list):
        return "[" + ", ".join(_v(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{_s(k)} = {_v(v)}" for k, v in value.items()) + " }"
    return _s(str(value))


class Ref:
    """A reference to another exported resource's attribute (``aws_lb.main.arn``)."""

    def __init__(self, expr: str) -> None:
        self.expr = expr


def label(name: str, taken: set[str]) -> str:
    base = re.sub(r"[^a-zA-Z0-9_]", "_", name).strip("_").lower() or "r"
    if base[0].isdigit():
        base = "r_" + base
    out, n = base, 2
    while out in taken:
        out, n = f"{base}_{n}", n + 1
    taken.add(out)
    return out


class Writer:
    def __init__(self) -> None:
        self.blocks: list[str] = []
        self.imports: list[str] = []
        self.labels: set[str] = set()

    def resource(self, kind: str, name: str, import_id: str, attrs: dict[str, Any]) -> str:
        lbl = label(name, self.labels)
        self.imports.append(f"import {{\n  to = {kind}.{lbl}\n  id = {_s(import_id)}\n}}\n")
        self.blocks.append(f'resource "{kind}" "{lbl}" {{\n{self._body(attrs, 1)}}}\n')
        return lbl

    def _body(self, attrs: dict[str, Any], depth: int) -> str:
        pad = "  " * depth
        out = []
        for key, value in attrs.items():
            if value is None:
                continue
            if isinstance(value, Block):
                for item in value.items:
                    out.append(f"{pad}{key} {{\n{self._body(item, depth + 1)}{pad}}}\n")
            else:
                out.append(f"{pad}{key} = {_v(value)}\n")
        return "".join(out)


class Block:
    """Nested blocks (``health_check { ... }``), repeated once per item."""

    def __init__(self, *items: dict[str, Any]) -> None:
        self.items = [i for i in items if i]


def _action(a: Any, tg_refs: dict[str, str]) -> dict[str, Any]:
    if a.type == "forward":
        tgs = list(a.target_groups)
        if len(tgs) == 1:
            return {"type": "forward", "target_group_arn": Ref(f"aws_lb_target_group.{tg_refs[tgs[0]]}.arn")
                    if tgs[0] in tg_refs else tgs[0]}
        return {"type": "forward", "forward": Block({"target_group": Block(*[
            {"arn": Ref(f"aws_lb_target_group.{tg_refs[t]}.arn") if t in tg_refs else t, "weight": w}
            for t, w in a.target_groups.items()])})}
    if a.type == "redirect" and a.redirect:
        r = a.redirect
        return {"type": "redirect", "redirect": Block({"port": r.get("Port"), "protocol": r.get("Protocol"),
                                                         "status_code": r.get("StatusCode")})}
    if a.type == "fixed-response" and a.fixed_response:
        f = a.fixed_response
        return {"type": "fixed-response", "fixed_response": Block({"content_type": f.get("ContentType"),
                                                                     "status_code": f.get("StatusCode"),
                                                                     "message_body": f.get("MessageBody")})}
    return {"type": a.type}


def _rules(g: Any, egress: bool) -> Block:
    items = []
    for r in (g.egress if egress else g.ingress):
        items.append({"from_port": r.from_port if r.from_port is not None else 0,
                      "to_port": r.to_port if r.to_port is not None else 0,
                      "protocol": r.protocol, "cidr_blocks": r.cidrs or None,
                      "ipv6_cidr_blocks": r.ipv6_cidrs or None, "security_groups": r.groups or None,
                      "prefix_list_ids": r.prefix_lists or None})
    return Block(*items)


def export(snap: Snapshot, path: RequestPath) -> dict[str, str]:
    """{"imports.tf": ..., "main.tf": ...} for the resources on the request path."""
    w = Writer()
    lb_arns = path.path_lb_arns(snap)
    svc = path.service
    sg_ids = sorted({g for a in lb_arns for g in snap.load_balancers[a].security_groups}
                    | set(svc.security_groups if svc else []))
    sg_refs = {}
    for gid in sg_ids:
        g = snap.security_groups.get(gid)
        if g is None:
            continue
        sg_refs[gid] = w.resource("aws_security_group", g.name or gid, gid, {
            "name": g.name, "description": g.raw.get("Description"), "vpc_id": g.vpc_id,
            "ingress": _rules(g, False), "egress": _rules(g, True)})
    tg_arns = sorted({t for a in lb_arns for l in snap.listeners_of(a)
                      for act in [l.default_action] + [r.action for r in snap.rules_of(l.arn)]
                      for t in act.target_groups} | set(svc.target_group_arns if svc else []))
    tg_refs = {}
    for arn in tg_arns:
        tg = snap.target_groups.get(arn)
        if tg is None:
            continue
        hc = tg.health_check
        tg_refs[arn] = w.resource("aws_lb_target_group", tg.name, arn, {
            "name": tg.name, "port": tg.port, "protocol": tg.protocol, "vpc_id": tg.vpc_id,
            "target_type": tg.target_type,
            "health_check": Block({"path": hc.path, "port": hc.port, "protocol": hc.protocol, "matcher": hc.matcher,
                                   "interval": hc.interval, "timeout": hc.timeout,
                                   "healthy_threshold": hc.healthy_threshold,
                                   "unhealthy_threshold": hc.unhealthy_threshold})})
    lb_refs = {}
    for arn in lb_arns:
        lb = snap.load_balancers[arn]
        idle = lb.attribute("idle_timeout.timeout_seconds")
        lb_refs[arn] = w.resource("aws_lb", lb.name, arn, {
            "name": lb.name, "internal": lb.scheme == "internal", "load_balancer_type": lb.type,
            "security_groups": [Ref(f"aws_security_group.{sg_refs[g]}.id") if g in sg_refs else g
                                for g in lb.security_groups],
            "subnets": lb.subnets, "idle_timeout": int(idle) if idle else 60})
        for lst in snap.listeners_of(arn):
            l_lbl = w.resource("aws_lb_listener", f"{lb.name}_{lst.protocol}_{lst.port}", lst.arn, {
                "load_balancer_arn": Ref(f"aws_lb.{lb_refs[arn]}.arn"), "port": lst.port, "protocol": lst.protocol,
                "ssl_policy": lst.raw.get("SslPolicy"),
                "certificate_arn": lst.certificates[0] if lst.certificates else None,
                "default_action": Block(_action(lst.default_action, tg_refs))})
            for rule in snap.rules_of(lst.arn):
                if rule.is_default:
                    continue
                conds = []
                for c in rule.conditions:
                    key = {"path-pattern": "path_pattern", "host-header": "host_header"}.get(c.field)
                    if key:
                        conds.append({key: Block({"values": c.values})})
                w.resource("aws_lb_listener_rule", f"{lb.name}_{lst.port}_{rule.priority}", rule.arn, {
                    "listener_arn": Ref(f"aws_lb_listener.{l_lbl}.arn"), "priority": rule.priority,
                    "action": Block(_action(rule.action, tg_refs)), "condition": Block(*conds)})
    for b in path.branches:
        for rec in b.chain:
            zone = snap.zones.get(rec.zone_id)
            imp = f"{rec.zone_id}_{rec.name}_{rec.type}" + (f"_{rec.set_identifier}" if rec.set_identifier else "")
            alias = rec.raw.get("AliasTarget")
            lb_ref = next((lb_refs[a] for a in lb_refs if alias and snap.load_balancers[a].dns_name == rec.alias_dns), None)
            w.resource("aws_route53_record", rec.name.replace(".", "_") + (f"_{rec.set_identifier}" if rec.set_identifier else ""), imp, {
                "zone_id": rec.zone_id, "name": rec.name, "type": rec.type,
                "ttl": rec.raw.get("TTL"), "records": rec.values or None, "set_identifier": rec.set_identifier,
                "weighted_routing_policy": Block({"weight": rec.weight}) if rec.weight is not None else None,
                "alias": Block({"name": Ref(f"aws_lb.{lb_ref}.dns_name") if lb_ref else alias["DNSName"],
                                "zone_id": Ref(f"aws_lb.{lb_ref}.zone_id") if lb_ref else alias["HostedZoneId"],
                                "evaluate_target_health": bool(alias.get("EvaluateTargetHealth"))}) if alias else None})
            del zone
    if svc:
        td = path.task_definition(snap)
        td_ref = None
        if td:
            raw = td.raw
            td_ref = w.resource("aws_ecs_task_definition", f"{td.family}", td.arn, {
                "family": td.family, "network_mode": td.network_mode,
                "requires_compatibilities": raw.get("requiresCompatibilities"), "cpu": raw.get("cpu"),
                "memory": raw.get("memory"), "execution_role_arn": raw.get("executionRoleArn"),
                "task_role_arn": raw.get("taskRoleArn"),
                "container_definitions": json.dumps(raw.get("containerDefinitions", []), sort_keys=True)})
        w.resource("aws_ecs_service", svc.name, f"{svc.cluster_name}/{svc.name}", {
            "name": svc.name, "cluster": svc.cluster_arn,
            "task_definition": Ref(f"aws_ecs_task_definition.{td_ref}.arn") if td_ref else svc.task_definition,
            "desired_count": svc.desired, "launch_type": svc.launch_type,
            "health_check_grace_period_seconds": svc.grace_period,
            "load_balancer": Block(*[{"target_group_arn": Ref(f"aws_lb_target_group.{tg_refs[m.target_group_arn]}.arn")
                                      if m.target_group_arn in tg_refs else m.target_group_arn,
                                      "container_name": m.container_name, "container_port": m.container_port}
                                     for m in svc.load_balancers]),
            "network_configuration": Block({"subnets": svc.subnets,
                                            "security_groups": [Ref(f"aws_security_group.{sg_refs[g]}.id")
                                                                if g in sg_refs else g for g in svc.security_groups],
                                            "assign_public_ip": svc.assign_public_ip == "ENABLED"})
            if svc.subnets else None})
    header = ("# Generated by shine-ops export terraform from the live account. Review, `terraform init`, then\n"
              "# `terraform plan` should show no change. Not plan-verified where it was generated.\n")
    return {"imports.tf": header + "\n".join(w.imports), "main.tf": header + "\n".join(w.blocks)}
