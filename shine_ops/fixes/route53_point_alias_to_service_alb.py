"""route53.point-alias-to-service-alb: UPSERT the domain's alias to the load balancer that routes to the service.

Planned last and applied only after that load balancer passes its own checks (listener, target group,
security groups): a DNS change is the one users feel at once. The old record set is kept as the inverse.
"""

from __future__ import annotations

from shine_ops.fixes import ApiCall, Change, FixPlan, Gate, PlanContext, Probe, fix

GATE_CHECKS = ("listener.routes-to-service", "tg.port-matches-container", "sg.alb-to-task-ingress")


@fix("route53.point-alias-to-service-alb", checks=["dns.points-to-service-alb"], order=90,
     iam=["route53:ChangeResourceRecordSets", "route53:ListResourceRecordSets", "route53:GetChange"],
     gate=Gate(checks=GATE_CHECKS, refuse="the load balancer does not pass its own checks yet"))
def plan(pc: PlanContext) -> FixPlan | None:
    snap, path = pc.ctx.snapshot, pc.ctx.path
    service_lbs = path.service_lb_arns(snap)
    if not path.domain or not service_lbs or not path.branches:
        return None
    lb = snap.load_balancers[service_lbs[0]]
    records = [b.chain[0] for b in path.branches if b.lb_arn not in service_lbs]
    refused = None
    if len(service_lbs) > 1:
        refused = (f"the service is behind {len(service_lbs)} load balancers "
                   f"({', '.join(snap.load_balancers[a].name for a in service_lbs)}): choose one by hand")
    if any(r.routing != "simple" for r in records):
        refused = "weighted/latency/failover records are not changed automatically"
    changes = []
    for rec in {(r.zone_id, r.name, r.type): r for r in records}.values():
        if rec.type not in ("A", "AAAA", "CNAME"):
            continue
        new_type = "AAAA" if rec.type == "AAAA" else "A"
        new = {"Name": rec.name + ".", "Type": new_type,
               "AliasTarget": {"HostedZoneId": lb.canonical_zone_id, "DNSName": f"dualstack.{lb.dns_name}.",
                               "EvaluateTargetHealth": True}}
        key = f"route53.point-alias-to-service-alb#{len(changes) + 1}"
        batch = [{"Action": "UPSERT", "ResourceRecordSet": new}]
        inverse_batch = [{"Action": "UPSERT", "ResourceRecordSet": rec.raw}]
        if rec.type == "CNAME":  # a CNAME cannot coexist with the alias A: delete it, then create the alias
            batch = [{"Action": "DELETE", "ResourceRecordSet": rec.raw}, {"Action": "CREATE", "ResourceRecordSet": new}]
            inverse_batch = [{"Action": "DELETE", "ResourceRecordSet": new}, {"Action": "CREATE", "ResourceRecordSet": rec.raw}]
        changes.append(Change(
            key=key, fix="route53.point-alias-to-service-alb", resource=f"{rec.zone_id}/{rec.name}/{rec.type}",
            description=f"{rec.name} {rec.type}: alias to {lb.name} instead of {rec.target}",
            call=ApiCall("route53", "ChangeResourceRecordSets", {
                "HostedZoneId": rec.zone_id, "ChangeBatch": {"Comment": f"shine-ops {pc.plan_id}/{key}",
                                                             "Changes": batch}}),
            before={f"{rec.name} {rec.type}": rec.target}, after={f"{rec.name} {new_type}": f"alias {lb.dns_name}"},
            inverse=[ApiCall("route53", "ChangeResourceRecordSets", {
                "HostedZoneId": rec.zone_id, "ChangeBatch": {"Changes": inverse_batch}})],
            probe=Probe(ApiCall("route53", "ListResourceRecordSets", {
                "HostedZoneId": rec.zone_id, "StartRecordName": rec.name, "StartRecordType": rec.type, "MaxItems": "1"}),
                "ResourceRecordSets[0].AliasTarget.DNSName || ResourceRecordSets[0].ResourceRecords[0].Value",
                rec.raw.get("AliasTarget", {}).get("DNSName") or (rec.values[0] if rec.values else None))))
    if not changes:
        return None
    return FixPlan(fix="route53.point-alias-to-service-alb", check="dns.points-to-service-alb",
                   summary=f"Point {path.domain} at {lb.name}, the load balancer that routes to the service "
                           "(last, once that load balancer passes its own checks).",
                   changes=changes, verify=["dns.points-to-service-alb"], refused=refused)
