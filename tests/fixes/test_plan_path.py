"""Every ``fix alb-ecs`` fix's ``plan()`` as the pure function it is: one table row per fix, over the snapshot
builders the evaluator tests use (no server, no process).

Each row gives a snapshot where the fix's check fails, the API calls the plan must hold (operation and the
parameters that matter, in order), the inverse of each, and what the change does to the snapshot once it has
landed: the fix's ``verify`` checks must then stop failing, judged as verification judges them (``settling``:
the configuration, not target health that has not converged yet). A second table holds the shapes each fix must
not touch (nothing planned, or refused with the reason).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Callable

import pytest

from shine_ops.engine.finding import Finding
from shine_ops.evaluators import REGISTRY, Context, Settings
from shine_ops.fixes import FixPlan, PlanContext, load_fixes
from shine_ops.topology import path as P
from shine_ops.topology.model import RecordSet, Rule, SecurityGroup, Service
from tests.evaluators.builders import LB_ARN, LEGACY_ARN, LST, TG_OLD, TG_SVC, build
from tests.evaluators.builders_alb import build_alb
from tests.evaluators.builders_network import net_ctx
from tests.evaluators.builders_tg_ecs import app_containers, build_tg_ecs, killed_after, target, two_running

IDLE = "idle_timeout.timeout_seconds"
TIMEOUT = ("unhealthy", "Target.Timeout", "Request timed out")


def findings_for(fix_id: str, ctx: Context) -> dict[str, Finding]:
    """The findings of the checks a fix repairs, as the diagnosis hands them to the planner."""
    out = {}
    for check in load_fixes()[fix_id].checks:
        outcome = REGISTRY[check].fn(ctx, {})
        out[check] = Finding.from_outcome(check, check, "high", outcome, fix=fix_id)
    return out


def plan_of(fix_id: str, ctx: Context) -> FixPlan | None:
    return load_fixes()[fix_id].plan(PlanContext(ctx=ctx, findings=findings_for(fix_id, ctx), plan_id="p1"))


def verdicts_after(ctx: Context, checks: list[str]) -> dict[str, str]:
    """How verification judges these checks on the changed snapshot."""
    settled = dataclasses.replace(ctx, settings=dataclasses.replace(ctx.settings, settling=True))
    return {c: REGISTRY[c].fn(settled, {}).status for c in checks}


# -- what each change does to the snapshot once it lands ------------------------------------------------------
def _update_service(ctx: Context, params: dict) -> None:
    raw = dict(ctx.path.service.raw)
    if "loadBalancers" in params:
        raw["loadBalancers"] = params["loadBalancers"]
    if "healthCheckGracePeriodSeconds" in params:
        raw["healthCheckGracePeriodSeconds"] = params["healthCheckGracePeriodSeconds"]
    svc = Service.from_raw(raw)
    ctx.snapshot.services[svc.arn] = svc
    ctx.path.service = svc


def _add_rules(ctx: Context, params: dict, ingress: bool) -> None:
    g = ctx.snapshot.security_groups[params["GroupId"]]
    key = "IpPermissions" if ingress else "IpPermissionsEgress"
    ctx.snapshot.security_groups[g.id] = SecurityGroup.from_raw({**g.raw, key: (g.raw.get(key) or [])
                                                                 + params["IpPermissions"]})


def _upsert_records(ctx: Context, params: dict) -> None:
    for change in params["ChangeBatch"]["Changes"]:
        new = change["ResourceRecordSet"]
        ctx.snapshot.records = [r for r in ctx.snapshot.records if (r.name, r.type) != (new["Name"].rstrip("."),
                                                                                          new["Type"])]
        if change["Action"] in ("UPSERT", "CREATE"):
            ctx.snapshot.records.append(RecordSet.from_raw(params["HostedZoneId"], dict(new)))
    ctx.path.branches = P.branches(ctx.snapshot, ctx.path.domain)


def _modify_target_group(ctx: Context, params: dict) -> None:
    hc = ctx.snapshot.target_groups[params["TargetGroupArn"]].health_check
    for key, attr in (("HealthCheckPort", "port"), ("HealthCheckPath", "path"), ("HealthCheckProtocol", "protocol")):
        if key in params:
            setattr(hc, attr, params[key])
    if "Matcher" in params:
        hc.matcher = params["Matcher"]["HttpCode"]


def _deregister(ctx: Context, params: dict) -> None:
    tg = ctx.snapshot.target_groups[params["TargetGroupArn"]]
    gone = {(t["Id"], t.get("Port")) for t in params["Targets"]}
    tg.targets = [t for t in tg.targets if (t.id, t.port) not in gone]


def _set_lb_attribute(ctx: Context, params: dict) -> None:
    lb = ctx.snapshot.load_balancers[params["LoadBalancerArn"]]
    lb.attributes = {**(lb.attributes or {}), **{a["Key"]: a["Value"] for a in params["Attributes"]}}


def _create_rule(ctx: Context, params: dict) -> None:
    arn = params["ListenerArn"]
    ctx.snapshot.rules[arn] = ctx.snapshot.rules.get(arn, []) + [Rule.from_raw(arn, {
        "RuleArn": f"{arn}/new{params['Priority']}", "Priority": str(params["Priority"]), "IsDefault": False,
        "Conditions": params["Conditions"], "Actions": params["Actions"]})]


LANDS: dict[str, Callable[[Context, dict], None]] = {
    "ecs.UpdateService": _update_service,
    "ec2.AuthorizeSecurityGroupIngress": lambda ctx, p: _add_rules(ctx, p, ingress=True),
    "ec2.AuthorizeSecurityGroupEgress": lambda ctx, p: _add_rules(ctx, p, ingress=False),
    "route53.ChangeResourceRecordSets": _upsert_records,
    "elbv2.ModifyTargetGroup": _modify_target_group,
    "elbv2.DeregisterTargets": _deregister,
    "elbv2.ModifyLoadBalancerAttributes": _set_lb_attribute,
    "elbv2.CreateRule": _create_rule,
}


# -- the snapshots where each check fails ----------------------------------------------------------------------
def idle_15s_budget_30s() -> Context:
    ctx = build_alb(attributes={IDLE: "15"})
    ctx.settings = Settings(latency_budget_s=30)
    return ctx


def grace_10s_budget_60s() -> Context:
    ctx = build_tg_ecs(grace=10, tasks=two_running(), containers=app_containers())
    ctx.settings.startup_budget_s = 60
    return ctx


def api_paths_astray() -> Context:
    ctx = build(default_tg=TG_OLD, rules=[(200, ["/health"], TG_SVC)])
    ctx.settings.service_paths = ["/health", "/api/*"]
    return ctx


def health_check_on_5000() -> Context:
    return build_tg_ecs(health_check={"port": "5000"}, targets=[target("10.0.1.10", *TIMEOUT),
                                                                  target("10.0.1.11", *TIMEOUT)])


def a_stale_target() -> Context:
    return build_tg_ecs(targets=[target("10.0.1.10"), target("10.0.1.11"), target("172.31.14.122", *TIMEOUT[:2])])


def registered_on_5000() -> Context:
    return build_tg_ecs(tg_port=5000, targets=[target("10.0.1.10", port=5000), target("10.0.1.11")])


@dataclass
class Row:
    fix: str
    broken: Callable[[], Context]
    calls: list[tuple[str, dict[str, Any]]]  # per change: service.Operation, parameters it must hold
    inverses: list[str]  # per change: the first inverse call
    healthy: Callable[[], Context]  # the same world with the check passing: nothing to plan
    lands: bool = True  # simulate the calls on the snapshot and judge the verify checks again


ROWS = [
    Row("alb.set-idle-timeout", idle_15s_budget_30s,
        [("elbv2.ModifyLoadBalancerAttributes", {"LoadBalancerArn": LB_ARN,
                                                 "Attributes": [{"Key": IDLE, "Value": "60"}]})],
        ["elbv2.ModifyLoadBalancerAttributes"],
        lambda: dataclasses.replace(idle_15s_budget_30s(), settings=Settings(latency_budget_s=10))),
    Row("ecs.align-lb-container", lambda: build_tg_ecs(lb_container="api-gateway"),
        [("ecs.UpdateService", {"cluster": "prod", "service": "api", "forceNewDeployment": True, "loadBalancers": [
            {"targetGroupArn": TG_SVC, "containerName": "api", "containerPort": 8000}]})],
        ["ecs.UpdateService"], build_tg_ecs),
    Row("ecs.set-grace-period", grace_10s_budget_60s,
        [("ecs.UpdateService", {"service": "api", "healthCheckGracePeriodSeconds": 90})], ["ecs.UpdateService"],
        lambda: build_tg_ecs(grace=120, tasks=two_running(), containers=app_containers())),
    Row("listener.add-service-rule", api_paths_astray,
        [("elbv2.CreateRule", {"ListenerArn": LST, "Priority": 300, "Actions": [
            {"Type": "forward", "TargetGroupArn": TG_SVC}]})], ["elbv2.DeleteRule"], build),
    Row("route53.point-alias-to-service-alb", lambda: build(alias_to="legacy"),
        [("route53.ChangeResourceRecordSets", {"HostedZoneId": "Z1"})], ["route53.ChangeResourceRecordSets"], build),
    Row("sg.allow-alb-egress", lambda: net_ctx(alb_egress=[]),
        [("ec2.AuthorizeSecurityGroupEgress", {"GroupId": "sg-alb", "IpPermissions": [
            {"IpProtocol": "tcp", "FromPort": 8000, "ToPort": 8000, "UserIdGroupPairs": [
                {"GroupId": "sg-task", "Description": "shine-ops p1/sg.allow-alb-egress#1: load balancer to task"}]}]})],
        ["ec2.RevokeSecurityGroupEgress"], net_ctx),
    Row("sg.allow-alb-to-task", lambda: build(ingress=[]),
        [("ec2.AuthorizeSecurityGroupIngress", {"GroupId": "sg-task", "IpPermissions": [
            {"IpProtocol": "tcp", "FromPort": 8000, "ToPort": 8000, "UserIdGroupPairs": [
                {"GroupId": "sg-alb", "Description": "shine-ops p1/sg.allow-alb-to-task#1: load balancer to task"}]}]})],
        ["ec2.RevokeSecurityGroupIngress"], build),
    Row("tg.align-health-check", health_check_on_5000,
        [("elbv2.ModifyTargetGroup", {"TargetGroupArn": TG_SVC, "HealthCheckPort": "traffic-port"})],
        ["elbv2.ModifyTargetGroup"], build_tg_ecs),
    Row("tg.deregister-stale-targets", a_stale_target,
        [("elbv2.DeregisterTargets", {"TargetGroupArn": TG_SVC, "Targets": [{"Id": "172.31.14.122", "Port": 8000}]})],
        ["elbv2.RegisterTargets"], build_tg_ecs),
    Row("tg.replace-with-container-port", registered_on_5000,
        [("elbv2.CreateTargetGroup", {"Name": "svc-8000", "Port": 8000, "TargetType": "ip",
                                      "HealthCheckPort": "traffic-port", "HealthCheckPath": "/health"}),
         ("elbv2.ModifyListener", {"ListenerArn": LST, "DefaultActions": [
             {"Type": "forward", "TargetGroupArn": {"$ref": "tg.replace-with-container-port#1.TargetGroupArn"}}]}),
         ("elbv2.RegisterTargets", {"Targets": [{"Id": "10.0.1.10", "Port": 8000}, {"Id": "10.0.1.11", "Port": 8000}]}),
         ("ecs.UpdateService", {"service": "api", "forceNewDeployment": True, "loadBalancers": [
             {"targetGroupArn": {"$ref": "tg.replace-with-container-port#1.TargetGroupArn"}, "containerName": "api",
              "containerPort": 8000}]})],
        ["elbv2.DeleteTargetGroup", "elbv2.ModifyListener", "elbv2.DeregisterTargets", "ecs.UpdateService"],
        lambda: build_tg_ecs(tg_port=5000), lands=False),  # the twin's new ARN is AWS's to give
]


def test_every_path_fix_has_a_row():
    assert {r.fix for r in ROWS} == {f for f, s in load_fixes().items() if s.scope == "path"}


@pytest.mark.parametrize("row", ROWS, ids=[r.fix for r in ROWS])
def test_plan_holds_the_calls_and_their_inverses(row: Row):
    ctx = row.broken()
    assert {f.status for f in findings_for(row.fix, ctx).values()} == {"fail"}
    fp = plan_of(row.fix, ctx)
    assert fp is not None and fp.refused is None and fp.fix == row.fix
    assert [c.call.describe() for c in fp.changes] == [op for op, _ in row.calls]
    for change, (_op, params) in zip(fp.changes, row.calls):
        assert {k: change.call.params.get(k) for k in params} == params, change.key
        assert change.fix == row.fix and change.resource and change.description
        assert change.before != change.after
    assert [c.inverse[0].describe() for c in fp.changes] == row.inverses
    assert set(fp.verify) >= set(load_fixes()[row.fix].checks)


@pytest.mark.parametrize("row", [r for r in ROWS if r.lands], ids=[r.fix for r in ROWS if r.lands])
def test_once_the_calls_land_the_verify_checks_stop_failing(row: Row):
    ctx = row.broken()
    fp = plan_of(row.fix, ctx)
    for change in fp.changes:
        LANDS[change.call.describe()](ctx, change.call.params)
    after = verdicts_after(ctx, fp.verify)
    assert "fail" not in after.values(), after


# The planner asks a fix only when its check fails; a fix asked anyway must still see nothing to change (an
# allow-all CIDR egress that the check accepts gets no group rule from sg.allow-alb-egress either).
@pytest.mark.parametrize("row", ROWS, ids=[r.fix for r in ROWS])
def test_nothing_is_planned_where_the_check_passes(row: Row):
    ctx = row.healthy()
    assert "fail" not in {f.status for f in findings_for(row.fix, ctx).values()}
    fp = plan_of(row.fix, ctx)
    assert fp is None or not fp.changes


def _two_service_lbs() -> Context:
    """The service behind prod and legacy both (a second default forward), the domain aliasing a third."""
    ctx = build(alias_to="legacy")
    ctx.snapshot.rules[LST] = ctx.snapshot.rules[LST][:-1] + [Rule.from_raw(LST, {
        "RuleArn": f"{LST}/default", "Priority": "default", "IsDefault": True, "Conditions": [],
        "Actions": [{"Type": "forward", "TargetGroupArn": TG_SVC}]})]
    ctx.snapshot.target_groups[TG_SVC].lb_arns = [LB_ARN, LEGACY_ARN]
    legacy_listener = next(l for l in ctx.snapshot.listeners.values() if l.lb_arn == LEGACY_ARN)
    ctx.snapshot.rules[legacy_listener.arn] = [Rule.from_raw(legacy_listener.arn, {
        "RuleArn": f"{legacy_listener.arn}/default", "Priority": "default", "IsDefault": True, "Conditions": [],
        "Actions": [{"Type": "forward", "TargetGroupArn": TG_SVC}]})]
    return ctx


def _weighted_record() -> Context:
    ctx = build(alias_to="legacy")
    ctx.snapshot.records[0].routing = "weighted"
    return ctx


def _no_running_task() -> Context:
    return build_tg_ecs(targets=[target("10.0.1.10"), target("172.31.14.122", *TIMEOUT[:2])], tasks=[])


def _two_containers_with_ports() -> Context:
    ctx = build_tg_ecs(lb_container="api-gateway", lb_port=7000, containers=[
        {"name": "api", "image": "api:1", "portMappings": [{"containerPort": 8000}]},
        {"name": "sidecar", "image": "envoy:1", "portMappings": [{"containerPort": 9901}]}])
    return ctx


def _no_task_security_group() -> Context:
    ctx = build(ingress=[])
    ctx.path.service.security_groups = []
    return ctx


def _idle_cut_without_budget_or_evidence() -> Context:
    return build_alb(attributes={IDLE: "15"})  # no latency_budget_s, no CloudWatch figures


def _grace_without_budget_or_health_check() -> Context:
    return build_tg_ecs(grace=0, tasks=two_running() + [killed_after(3, 62)], containers=app_containers(None))


@pytest.mark.parametrize("fix_id,world,refused", [
    ("route53.point-alias-to-service-alb", _weighted_record, "weighted/latency/failover records"),
    ("tg.deregister-stale-targets", _no_running_task, None),  # stale cannot be told from current: never empty a group
    # two containers could be meant: nothing planned (with one mapping the refusal leaves the plan unchanged)
    ("ecs.align-lb-container", _two_containers_with_ports, None),
    ("sg.allow-alb-to-task", _no_task_security_group, None),
    ("alb.set-idle-timeout", _idle_cut_without_budget_or_evidence, None),
    ("ecs.set-grace-period", _grace_without_budget_or_health_check, "declare startup_budget_s"),
], ids=lambda v: v if isinstance(v, str) and "." in v else None)
def test_shapes_a_fix_must_not_change_on_its_own(fix_id, world, refused):
    fp = plan_of(fix_id, world())
    if refused is None:
        assert fp is None or not fp.changes
    else:
        assert fp is not None and refused in (fp.refused or ""), fp
