"""Drift: the live wiring against the one declared in shine-ops.yaml (``declared:``).

    declared:
      domain: api.example.com
      load_balancer: production-alb        # the ALB the domain must alias
      paths: ["/health", "/api/*"]         # must reach target_group on that ALB
      target_group: api-tg-8000
      service: prod/api                    # cluster/service behind target_group
      container_port: 8000
      health_path: /health
      grace_period_s: 120
      idle_timeout_s: 60

Every key is optional; each one that differs from the account is named in the finding.
"""

from __future__ import annotations

from shine_ops.engine.finding import Outcome
from shine_ops.evaluators import Context, evaluator, skip
from shine_ops.topology import path as P


@evaluator("drift.declared-topology", needs={"dns", "elbv2", "ecs", "lb_attributes"}, hop="dns")
def declared_topology(ctx: Context, params: dict) -> Outcome:
    """The live request path matches the wiring declared in shine-ops.yaml."""
    want = ctx.settings.declared
    if not want:
        return skip("Nothing declared: add `declared:` to shine-ops.yaml to compare the account with your intent.")
    snap, path, svc = ctx.snapshot, ctx.path, ctx.path.service
    diffs: list[tuple[str, str, str]] = []  # (what, declared, live)
    resources: list[str] = []
    lb = next((l for l in snap.load_balancers.values() if l.name == want.get("load_balancer")), None)
    if "domain" in want and path.domain != P.norm_dns(want["domain"]):
        diffs.append(("domain", want["domain"], path.domain or "none"))
    if "load_balancer" in want:
        reached = [snap.load_balancers[a].name for a in path.record_lb_arns if a in snap.load_balancers]
        if reached != [want["load_balancer"]]:
            diffs.append((f"load balancer {path.domain} aliases", want["load_balancer"], ", ".join(reached) or "none"))
            resources += path.record_lb_arns
    tg = next((t for t in snap.target_groups.values() if t.name == want.get("target_group")), None)
    if "target_group" in want and tg is None:
        diffs.append(("target group", want["target_group"], "not found on the path"))
    if lb is not None and "target_group" in want:
        for pattern in want.get("paths", []):
            for lst in P.entry_listeners(snap, lb):
                r = P.route(snap, lst, path.domain, P.sample_path(pattern))
                names = [snap.tg_name(t) for t in r.action.forwarded_tgs]
                if want["target_group"] not in names:
                    diffs.append((f"{lb.name} {lst.label} {pattern}", f"-> {want['target_group']}",
                                  f"-> {', '.join(names) or r.action.type}"))
                    resources.append(lst.arn)
    if "service" in want:
        live = svc.key if svc else "none"
        if live != want["service"]:
            diffs.append(("service", want["service"], live))
        elif "target_group" in want and want["target_group"] not in [snap.tg_name(t) for t in svc.target_group_arns]:
            diffs.append((f"{svc.key} target group", want["target_group"],
                          ", ".join(snap.tg_name(t) for t in svc.target_group_arns)))
    if tg is not None:
        resources.append(tg.arn)
        if "container_port" in want and tg.port != int(want["container_port"]):
            diffs.append((f"{tg.name} port", str(want["container_port"]), str(tg.port)))
        if "health_path" in want and (tg.health_check.path or "/") != want["health_path"]:
            diffs.append((f"{tg.name} health path", want["health_path"], tg.health_check.path or "/"))
    if svc is not None:
        if "container_port" in want:
            ports = [m.container_port for m in svc.load_balancers]
            if int(want["container_port"]) not in ports:
                diffs.append((f"{svc.key} container port", str(want["container_port"]), ", ".join(map(str, ports))))
        if "grace_period_s" in want and (svc.grace_period or 0) != int(want["grace_period_s"]):
            diffs.append((f"{svc.key} grace period", f"{want['grace_period_s']} s", f"{svc.grace_period or 0} s"))
        resources.append(svc.arn)
    if lb is not None and "idle_timeout_s" in want and lb.attributes is not None:
        live_idle = int(lb.attribute("idle_timeout.timeout_seconds") or 60)
        if live_idle != int(want["idle_timeout_s"]):
            diffs.append((f"{lb.name} idle timeout", f"{want['idle_timeout_s']} s", f"{live_idle} s"))
        resources.append(lb.arn)
    evidence = {"differences": [{"what": w, "declared": d, "live": l} for w, d, l in diffs], "declared": want}
    if diffs:
        first = diffs[0]
        return Outcome("fail", f"The account drifted from what shine-ops.yaml declares: {first[0]} is {first[2]}, "
                               f"declared {first[1]}" + (f" (and {len(diffs) - 1} more)" if len(diffs) > 1 else "")
                               + ".", resources=resources, expected="; ".join(f"{w}: {d}" for w, d, _ in diffs),
                       actual="; ".join(f"{w}: {l}" for w, _, l in diffs), evidence=evidence)
    return Outcome("pass", f"The live wiring matches the {len(want)} declared values.", resources=resources,
                   expected="as declared", actual="as declared", evidence=evidence)
