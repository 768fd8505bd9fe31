"""The tortoise hygiene checks, pure over hand-built account snapshots."""

from __future__ import annotations

import pytest

from shine_ops.evaluators import REGISTRY, Context, load_builtin
from shine_ops.topology import ownership as O
from shine_ops.topology.model import (Listener, NetworkInterface, RecordSet, SecurityGroup, Service, TaskDefinition,
                                      TargetGroup, TargetHealth)
from shine_ops.topology.path import RequestPath
from tests.evaluators.builders import ACCT, LB_ARN, LEGACY_ARN, SVC_ARN, TD_ARN, TG_OLD, TG_SVC, build, forward, lb

V2_ARN = f"arn:aws:elasticloadbalancing:us-east-1:{ACCT}:loadbalancer/app/v2/ghi"
TG_V2 = f"arn:aws:elasticloadbalancing:us-east-1:{ACCT}:targetgroup/v2/3"
TG_SPARE = f"arn:aws:elasticloadbalancing:us-east-1:{ACCT}:targetgroup/spare/4"
LST_V2 = f"arn:aws:elasticloadbalancing:us-east-1:{ACCT}:listener/app/v2/ghi/l3"


def account(**kw):
    """builders.build()'s snapshot made account-wide: prod (aliased) -> svc -> api; legacy (no record) -> old."""
    load_builtin()
    ctx = build(**kw)
    snap = ctx.snapshot
    snap.account_wide = True
    for tg in snap.target_groups.values():
        tg.targets = [TargetHealth(id="10.0.1.5", port=8000, state="healthy", reason=None, description=None)]
    snap.task_definition_revisions = {"api": {3: TD_ARN}}
    return Context(snapshot=snap, path=RequestPath(domain=None), settings=ctx.settings)


def run(check: str, ctx: Context, params: dict | None = None):
    return REGISTRY[check].fn(ctx, params or {})


def add_tg(snap, arn: str, name: str, targets: int = 1) -> None:
    snap.target_groups[arn] = TargetGroup.from_raw({"TargetGroupArn": arn, "TargetGroupName": name, "Port": 8000,
                                                    "Protocol": "HTTP", "TargetType": "ip"})
    snap.target_groups[arn].targets = [TargetHealth(id=f"10.0.1.{i}", port=8000, state="healthy", reason=None,
                                                    description=None) for i in range(targets)]


def add_v2(snap, tg: str = TG_V2) -> None:
    """A second load balancer forwarding (listener default) to ``tg``."""
    snap.load_balancers[V2_ARN] = lb(V2_ARN, "v2", ["sg-alb"])
    snap.listeners[LST_V2] = Listener.from_raw({"ListenerArn": LST_V2, "LoadBalancerArn": V2_ARN, "Port": 80,
                                                "Protocol": "HTTP", "DefaultActions": forward(tg)})
    snap.rules[LST_V2] = []


# --------------------------------------------------------------------------- alb.orphaned
def test_alb_orphaned_names_the_load_balancer_no_record_reaches():
    ctx = account()
    out = run("alb.orphaned", ctx)
    assert out.status == "fail"
    assert out.resources == [LEGACY_ARN]
    assert "legacy" in out.summary and "prod" not in out.summary.split(" is ")[0]
    lbs = {x["name"]: x["records"] for x in out.evidence["load_balancers"]}
    assert lbs == {"legacy": [], "prod": ["api.example.com"]}


def test_alb_orphaned_passes_when_a_cname_chain_or_an_a_record_ip_reaches_each():
    ctx = account()
    snap = ctx.snapshot
    legacy = snap.load_balancers[LEGACY_ARN]
    # CNAME chain: old.example.com -> www.example.com -> the legacy load balancer's DNS name
    snap.records.append(RecordSet.from_raw("Z1", {"Name": "old.example.com.", "Type": "CNAME",
                                                  "ResourceRecords": [{"Value": "www.example.com"}]}))
    snap.records.append(RecordSet.from_raw("Z1", {"Name": "www.example.com.", "Type": "CNAME",
                                                  "ResourceRecords": [{"Value": legacy.dns_name}]}))
    assert run("alb.orphaned", ctx).status == "pass"
    # plain A record on an IP of the legacy load balancer's network interface
    snap.records[:] = [r for r in snap.records if r.name == "api.example.com"]
    assert run("alb.orphaned", ctx).status == "fail"
    snap.records.append(RecordSet.from_raw("Z1", {"Name": "ip.example.com.", "Type": "A",
                                                  "ResourceRecords": [{"Value": "10.0.1.77"}]}))
    snap.network_interfaces["eni-1"] = NetworkInterface.from_raw({
        "NetworkInterfaceId": "eni-1", "PrivateIpAddress": "10.0.1.77", "Groups": [{"GroupId": "sg-legacy"}],
        "Description": "ELB app/legacy/def"})
    out = run("alb.orphaned", ctx)
    assert out.status == "pass", out.summary


def test_alb_orphaned_skips_outside_an_account_snapshot():
    ctx = account()
    ctx.snapshot.account_wide = False
    assert run("alb.orphaned", ctx).status == "skip"


# --------------------------------------------------------------------------- alb.overlapping
def test_alb_overlapping_names_both_load_balancers_of_one_service():
    ctx = account()
    snap = ctx.snapshot
    add_tg(snap, TG_V2, "v2")
    add_v2(snap)
    svc = snap.services[SVC_ARN]
    raw = dict(svc.raw)
    raw["loadBalancers"] = raw["loadBalancers"] + [{"targetGroupArn": TG_V2, "containerName": "api",
                                                    "containerPort": 8000}]
    snap.services[SVC_ARN] = Service.from_raw(raw)
    out = run("alb.overlapping", ctx)
    assert out.status == "fail"
    assert "prod" in out.summary and "v2" in out.summary and "prod/api" in out.summary
    assert "keep prod" in out.summary  # the one a record reaches
    assert SVC_ARN in out.resources and LB_ARN in out.resources and V2_ARN in out.resources


def test_alb_overlapping_passes_with_one_load_balancer_and_ignores_zero_weight_forwards():
    ctx = account()
    assert run("alb.overlapping", ctx).status == "pass"
    snap = ctx.snapshot
    snap.load_balancers[V2_ARN] = lb(V2_ARN, "v2", ["sg-alb"])
    snap.listeners[LST_V2] = Listener.from_raw({
        "ListenerArn": LST_V2, "LoadBalancerArn": V2_ARN, "Port": 80, "Protocol": "HTTP",
        "DefaultActions": [{"Type": "forward", "ForwardConfig": {"TargetGroups": [
            {"TargetGroupArn": TG_OLD, "Weight": 1}, {"TargetGroupArn": TG_SVC, "Weight": 0}]}}]})
    assert run("alb.overlapping", ctx).status == "pass"


# --------------------------------------------------------------------------- tg.orphaned
def test_tg_orphaned_on_no_listener_or_without_targets():
    ctx = account()
    snap = ctx.snapshot
    add_tg(snap, TG_SPARE, "spare")  # on no listener, has a target
    snap.target_groups[TG_OLD].targets = []  # on the legacy listener, no targets
    out = run("tg.orphaned", ctx)
    assert out.status == "fail"
    assert set(out.resources) == {TG_SPARE, TG_OLD}
    reasons = {x["name"]: x["reasons"] for x in out.evidence["orphaned"]}
    assert reasons == {"spare": ["no listener or rule forwards to it"], "old": ["no registered targets"]}


def test_tg_orphaned_passes_when_every_group_serves():
    assert run("tg.orphaned", account()).status == "pass"


# --------------------------------------------------------------------------- taskdef.stale-revisions
def _revisions(snap, family: str, revs: range) -> dict[int, str]:
    snap.task_definition_revisions[family] = {r: f"arn:aws:ecs:us-east-1:{ACCT}:task-definition/{family}:{r}"
                                              for r in revs}
    return snap.task_definition_revisions[family]


def test_taskdef_stale_revisions_names_the_revisions_beyond_the_last_four():
    ctx = account()
    arns = _revisions(ctx.snapshot, "api", range(1, 9))
    out = run("taskdef.stale-revisions", ctx, {"keep": 4})
    assert out.status == "fail"
    assert out.resources == [arns[r] for r in (1, 2, 4)]  # the service runs api:3: in use, never stale
    assert "revisions 1, 2, 4" in out.summary and "8 ACTIVE" in out.summary
    assert out.evidence["families"]["api"]["kept"] == [5, 6, 7, 8]


def test_taskdef_stale_revisions_never_counts_one_in_use_and_honours_keep():
    ctx = account()
    snap = ctx.snapshot
    arns = _revisions(snap, "api", range(1, 9))
    svc = snap.services[SVC_ARN]
    raw = dict(svc.raw, taskDefinition=arns[2],
               deployments=[{"status": "PRIMARY", "taskDefinition": arns[2]},
                            {"status": "ACTIVE", "taskDefinition": arns[1]}])
    snap.services[SVC_ARN] = Service.from_raw(raw)
    out = run("taskdef.stale-revisions", ctx, {"keep": 4})
    assert out.resources == [arns[3], arns[4]]
    assert out.evidence["families"]["api"]["in_use"] == [1, 2]
    assert run("taskdef.stale-revisions", ctx, {"keep": 8}).status == "pass"
    _revisions(snap, "api", range(1, 5))
    assert run("taskdef.stale-revisions", ctx).status == "pass"  # default keep 4


# --------------------------------------------------------------------------- sg.unused
def test_sg_unused_names_a_group_attached_to_nothing_and_ignores_the_default():
    ctx = account()
    snap = ctx.snapshot
    for gid, name in (("sg-legacy", "legacy"), ("sg-debug", "debug-ssh"), ("sg-default", "default")):
        snap.security_groups[gid] = SecurityGroup.from_raw({"GroupId": gid, "GroupName": name, "IpPermissions": []})
    out = run("sg.unused", ctx)
    assert out.status == "fail"
    assert out.resources == ["sg-debug"]
    assert "sg-debug (debug-ssh)" in out.summary


def test_sg_unused_counts_network_interfaces_and_lists_rules_that_reference_it():
    ctx = account()
    snap = ctx.snapshot
    snap.security_groups["sg-legacy"] = SecurityGroup.from_raw({"GroupId": "sg-legacy", "GroupName": "legacy"})
    snap.security_groups["sg-db"] = SecurityGroup.from_raw({"GroupId": "sg-db", "GroupName": "db"})
    snap.security_groups["sg-task"].ingress[0].groups.append("sg-db")
    out = run("sg.unused", ctx)
    assert out.resources == ["sg-db"]
    assert out.evidence["unused"][0]["referenced_by_rules_of"] == ["sg-task"]
    snap.network_interfaces["eni-db"] = NetworkInterface.from_raw({"NetworkInterfaceId": "eni-db",
                                                                   "Groups": [{"GroupId": "sg-db"}]})
    assert run("sg.unused", ctx).status == "pass"


# --------------------------------------------------------------------------- cost.idle-resources
def test_cost_idle_resources_shows_the_arithmetic_for_an_orphaned_alb_and_an_unreachable_service():
    ctx = account()
    snap = ctx.snapshot
    legacy_td = f"arn:aws:ecs:us-east-1:{ACCT}:task-definition/old:1"
    raw = dict(snap.services[SVC_ARN].raw, serviceArn=SVC_ARN + "-old", serviceName="old", taskDefinition=legacy_td,
               desiredCount=2, runningCount=2,
               loadBalancers=[{"targetGroupArn": TG_OLD, "containerName": "old", "containerPort": 8080}])
    old = Service.from_raw(raw)
    snap.services[old.arn] = old
    snap.task_definitions[legacy_td] = TaskDefinition.from_raw({"taskDefinitionArn": legacy_td, "family": "old",
                                                                "revision": 1, "cpu": "1024", "memory": "2048"})
    assert [s.key for s in O.services_without_traffic_path(snap)] == ["prod/old"]
    out = run("cost.idle-resources", ctx)
    assert out.status == "fail"
    lines = {l["resource"]: l for l in out.evidence["lines"]}
    assert lines["legacy"]["monthly_usd"] == 16.20
    assert lines["legacy"]["arithmetic"].startswith("720 h x $0.0225/ALB-hour")
    # 2 tasks x 720 h x (1 x 0.04048 + 2 x 0.004445) = 71.09
    assert lines["prod/old"]["monthly_usd"] == pytest.approx(71.09, abs=0.01)
    assert "2 tasks x 720 h x (1 vCPU x $0.04048/vCPU-hour + 2 GB x $0.004445/GB-hour)" in lines["prod/old"]["arithmetic"]
    assert out.evidence["total_monthly_usd"] == pytest.approx(87.29, abs=0.01)
    assert out.evidence["prices"]["as_of"] and out.evidence["prices"]["source"]
    assert "$87.29" in out.summary


def test_cost_idle_resources_passes_when_nothing_is_idle_and_takes_another_price_table():
    ctx = account()
    snap = ctx.snapshot
    del snap.load_balancers[LEGACY_ARN]
    assert run("cost.idle-resources", ctx).status == "pass"
    snap.load_balancers[LEGACY_ARN] = lb(LEGACY_ARN, "legacy", ["sg-legacy"])
    table = {"as_of": "2030-01-01", "hours_per_month": 730, "region": "eu-west-1",
             "alb": {"hour": 0.0252, "lcu_hour": 0.008, "idle_lcus": 1}, "fargate": {"vcpu_hour": 1, "gb_hour": 1}}
    out = run("cost.idle-resources", ctx, {"price_table": table})
    assert out.evidence["lines"][0]["monthly_usd"] == pytest.approx(730 * 0.0252 + 730 * 0.008, abs=0.01)
    assert "eu-west-1" in out.evidence["note"]


def test_hygiene_checks_are_in_the_catalogue_with_the_contract_severities_and_the_tortoise_playbook():
    from shine_ops.engine.catalogue import Catalogue
    from shine_ops.engine.runner import is_account_playbook

    cat = Catalogue.load()
    pb = cat.load_playbook("tortoise")
    assert [(e.check.id, e.severity, e.check.hop) for e in pb.entries] == [
        ("alb.orphaned", "low", "account"), ("alb.overlapping", "low", "account"), ("tg.orphaned", "low", "account"),
        ("taskdef.stale-revisions", "low", "account"), ("sg.unused", "low", "account"),
        ("cost.idle-resources", "info", "account")]
    assert is_account_playbook(pb)
    assert not is_account_playbook(cat.load_playbook("snail-trail"))


def test_ownership_map_lists_every_load_balancer_with_the_records_reaching_it():
    ctx = account()
    own = O.build_ownership(ctx.snapshot)
    assert own["orphaned_load_balancers"] == ["legacy"]
    prod = next(x for x in own["load_balancers"] if x["name"] == "prod")
    assert prod["records"] == ["api.example.com"] and not prod["orphaned"]
    assert prod["target_groups"][0]["services"] == ["prod/api"]
    assert own["domains"][0]["branches"][0]["load_balancer"] == "prod"
    text = O.render_ownership(own)
    assert "legacy" in text and "no record reaches it (orphaned)" in text


# --------------------------------------------------------------------------- denied calls
def test_a_denied_call_errors_only_the_hygiene_checks_that_read_it():
    from shine_ops.engine.catalogue import Catalogue
    from shine_ops.engine.runner import evaluate
    from shine_ops.errors import AwsCallError

    ctx = account()
    ctx.snapshot.errors["account.ec2"] = AwsCallError("ec2.DescribeNetworkInterfaces", "UnauthorizedOperation",
                                                      "denied", iam_action="ec2:DescribeNetworkInterfaces")
    findings = {f.check: f for f in evaluate(Catalogue.load().load_playbook("tortoise"), ctx)}
    assert {c for c, f in findings.items() if f.status == "error"} == {"alb.orphaned", "sg.unused"}
    assert "grant ec2:DescribeNetworkInterfaces" in findings["sg.unused"].summary


class FakeAws:
    """Just enough of shine_ops.aws.Aws for collect_account: canned pages, one operation denied, calls counted."""

    region = "us-east-1"

    def __init__(self, deny: str | None = None) -> None:
        from collections import Counter

        self.deny, self.calls = deny, Counter()
        lb_raw = {"LoadBalancerArn": LB_ARN, "LoadBalancerName": "prod", "DNSName": "prod-1.us-east-1.elb.amazonaws.com",
                  "SecurityGroups": ["sg-alb"]}
        self.data = {
            "ListHostedZones": [{"Id": "/hostedzone/Z1", "Name": "example.com.", "Config": {}}],
            "ListResourceRecordSets": [{"Name": "api.example.com.", "Type": "A", "AliasTarget": {
                "HostedZoneId": "Z", "DNSName": "dualstack.prod-1.us-east-1.elb.amazonaws.com.",
                "EvaluateTargetHealth": True}}],
            "DescribeLoadBalancers": [lb_raw],
            "DescribeListeners": [{"ListenerArn": LB_ARN + "/l1", "LoadBalancerArn": LB_ARN, "Port": 80,
                                   "Protocol": "HTTP", "DefaultActions": forward(TG_SVC)}],
            "DescribeTargetGroups": [{"TargetGroupArn": TG_SVC, "TargetGroupName": "svc"},
                                     {"TargetGroupArn": TG_SPARE, "TargetGroupName": "spare"}],
            "ListClusters": ["arn:aws:ecs:us-east-1:123456789012:cluster/prod"],
            "ListServices": [SVC_ARN],
            "ListTaskDefinitions": [f"arn:aws:ecs:us-east-1:{ACCT}:task-definition/api:{r}" for r in (1, 2, 3)],
            "DescribeSecurityGroups": [{"GroupId": "sg-alb", "GroupName": "alb"}],
            "DescribeNetworkInterfaces": [],
        }

    def identity(self) -> dict:
        return {"Account": ACCT}

    def _count(self, service: str, op: str) -> None:
        from shine_ops.errors import AwsCallError

        self.calls[op] += 1
        if op == self.deny:
            raise AwsCallError(f"{service}.{op}", "AccessDenied", "no", iam_action=f"{service}:{op}")

    def paginate(self, service: str, op: str, key: str, **params) -> list:
        self._count(service, op)
        return list(self.data.get(op, []))

    def call(self, service: str, op: str, **params) -> dict:
        self._count(service, op)
        if op == "DescribeServices":
            return {"services": [{"serviceArn": SVC_ARN, "serviceName": "api", "clusterArn": "c/prod",
                                  "status": "ACTIVE", "desiredCount": 1, "taskDefinition": TD_ARN,
                                  "loadBalancers": [{"targetGroupArn": TG_SVC}]}]}
        if op == "DescribeRules":
            return {"Rules": [{"RuleArn": "r", "Priority": "default", "IsDefault": True, "Conditions": [],
                               "Actions": forward(TG_SVC)}]}
        if op == "DescribeTargetHealth":
            return {"TargetHealthDescriptions": []}
        raise AssertionError(f"unexpected call {op}")


def test_collect_account_lists_everything_once_and_records_a_denied_area():
    from shine_ops.topology.account import collect_account

    aws = FakeAws()
    snap = collect_account(aws)
    assert snap.account_wide and snap.account == ACCT and not snap.errors
    assert snap.task_definition_revisions == {"api": {r: f"arn:aws:ecs:us-east-1:{ACCT}:task-definition/api:{r}"
                                                      for r in (1, 2, 3)}}
    assert set(snap.services) == {SVC_ARN} and set(snap.target_groups) == {TG_SVC, TG_SPARE}
    # svc is a service's group and spare is on no listener: no target health needed; nothing idle: no describe
    assert aws.calls["DescribeTargetHealth"] == 0 and aws.calls["DescribeTaskDefinition"] == 0
    assert all(n == 1 for n in aws.calls.values()), aws.calls

    denied = FakeAws(deny="DescribeNetworkInterfaces")
    snap = collect_account(denied)
    assert set(snap.errors) == {"account.ec2"} and snap.services
