"""Every ``fix tortoise`` fix's ``plan()`` over hand-built account snapshots (the hygiene checks' builders).

What a planner reads besides the snapshot (tags, attributes, registered targets, the tasks a cluster runs, a
revision's full definition) comes from ``ReplayAws``: responses in the shapes AWS returns, parameters checked
against botocore's models, no server. Each row: what is deleted or deregistered with the inverse that recreates
it, what is left alone and why, and that the audit stops naming what was changed once the calls have landed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Callable

import pytest

from shine_ops.engine.catalogue import Catalogue
from shine_ops.engine.finding import Finding
from shine_ops.engine.suppress import Suppression
from shine_ops.evaluators import REGISTRY, Context
from shine_ops.fixes import FixPlan, PlanContext, load_fixes
from shine_ops.fixes.verify import judge_account_findings
from shine_ops.topology.model import SecurityGroup
from tests.corpus.replay import ReplayAws
from tests.evaluators.builders import ACCT, TG_OLD
from tests.evaluators.test_hygiene_checks import TG_SPARE, account, add_tg

CLUSTER = f"arn:aws:ecs:us-east-1:{ACCT}:cluster/prod"
KEEP = [{"Key": "shine-ops:keep", "Value": "true"}]


def td_arn(rev: int) -> str:
    return f"arn:aws:ecs:us-east-1:{ACCT}:task-definition/api:{rev}"


def findings(ctx: Context, check: str) -> dict[str, Finding]:
    chk = Catalogue.load().checks[check]
    return {check: Finding.from_outcome(check, check, chk.severity, REGISTRY[check].fn(ctx, chk.params))}


@dataclass
class World:
    ctx: Context
    aws: Any = None
    suppressions: list[Suppression] = field(default_factory=list)


def plan_of(fix_id: str, w: World, *, allow_delete: bool = True) -> FixPlan | None:
    check = load_fixes()[fix_id].checks[0]
    pc = PlanContext(ctx=w.ctx, findings=findings(w.ctx, check), plan_id="p1", aws=w.aws, allow_delete=allow_delete,
                     suppressions=w.suppressions)
    return load_fixes()[fix_id].plan(pc)


# -- worlds ----------------------------------------------------------------------------------------------------
def stale_revisions() -> World:
    """api:1..8 ACTIVE, the service runs api:3 (kept), a one-off task runs api:4, api:2 is tagged keep."""
    ctx = account()
    ctx.snapshot.task_definition_revisions["api"] = {r: td_arn(r) for r in range(1, 9)}
    responses: dict[str, Any] = {
        "ecs.ListClusters": {"clusterArns": [CLUSTER]},
        "ecs.DescribeTasks": {"tasks": [{"taskArn": f"arn:aws:ecs:us-east-1:{ACCT}:task/prod/oneoff",
                                         "clusterArn": CLUSTER, "taskDefinitionArn": td_arn(4),
                                         "desiredStatus": "RUNNING", "lastStatus": "RUNNING", "group": "family:api"}]},
    }
    for rev in range(1, 9):
        responses[f"ecs.DescribeTaskDefinition taskDefinition={td_arn(rev)}"] = {
            "taskDefinition": {"taskDefinitionArn": td_arn(rev), "family": "api", "revision": rev, "status": "ACTIVE",
                               "networkMode": "awsvpc", "cpu": "256", "memory": "512", "volumes": [],
                               "containerDefinitions": [{"name": "api", "image": f"api:{rev}"}]},
            "tags": KEEP if rev == 2 else []}
    return World(ctx, ReplayAws(responses, region="us-east-1"))


def orphaned_groups() -> World:
    """spare: on no listener, one target, tagged, a 30 s deregistration delay; old: on the legacy listener,
    no targets (a listener still forwards to it: left alone)."""
    ctx = account()
    add_tg(ctx.snapshot, TG_SPARE, "spare")
    ctx.snapshot.target_groups[TG_OLD].targets = []
    spare = ctx.snapshot.target_groups[TG_SPARE].raw
    aws = ReplayAws({
        "elbv2.DescribeTargetGroups": {"TargetGroups": [spare]},
        "elbv2.DescribeTags": {"TagDescriptions": [{"ResourceArn": TG_SPARE, "Tags": [{"Key": "team", "Value": "api"}]}]},
        f"elbv2.DescribeTargetGroupAttributes TargetGroupArn={TG_SPARE}": {"Attributes": [
            {"Key": "deregistration_delay.timeout_seconds", "Value": "30"}, {"Key": "stickiness.enabled", "Value": "false"}]},
        f"elbv2.DescribeTargetHealth TargetGroupArn={TG_SPARE}": {"TargetHealthDescriptions": [
            {"Target": {"Id": "10.0.1.0", "Port": 8000}, "TargetHealth": {"State": "healthy"}}]},
    }, region="us-east-1")
    return World(ctx, aws)


def unused_groups() -> World:
    """debug-ssh: attached to nothing, one rule naming itself, no egress; db: named by the task group's rules."""
    ctx = account()
    snap = ctx.snapshot
    snap.security_groups["sg-debug"] = SecurityGroup.from_raw({
        "GroupId": "sg-debug", "GroupName": "debug-ssh", "Description": "ssh from the office", "VpcId": "vpc-1",
        "IpPermissions": [{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [],
                           "UserIdGroupPairs": [{"GroupId": "sg-debug", "UserId": ACCT}]}],
        "IpPermissionsEgress": []})
    snap.security_groups["sg-db"] = SecurityGroup.from_raw({"GroupId": "sg-db", "GroupName": "db", "VpcId": "vpc-1"})
    snap.security_groups["sg-task"].ingress[0].groups.append("sg-db")
    return World(ctx)


# -- what a landed change does to the snapshot -----------------------------------------------------------------
def _landed(w: World, fp: FixPlan) -> None:
    snap = w.ctx.snapshot
    for ch in fp.changes:
        op, p = ch.call.operation, ch.call.params
        if op == "DeregisterTaskDefinition":
            for revs in snap.task_definition_revisions.values():
                for rev in [r for r, arn in revs.items() if arn == p["taskDefinition"]]:
                    del revs[rev]
        elif op == "DeleteTargetGroup":
            del snap.target_groups[p["TargetGroupArn"]]
        elif op == "DeleteSecurityGroup":
            del snap.security_groups[p["GroupId"]]
        else:
            raise AssertionError(f"no landing for {op}")


@dataclass
class Row:
    fix: str
    world: Callable[[], World]
    deleted: list[str]  # the resources its changes remove, in order
    inverses: list[list[str]]  # per change: the inverse operations
    notes: list[str]  # what is left alone (a phrase of each note)
    saved: list[str]  # keys of each change's saved configuration


ROWS = [
    Row("taskdef.deregister-stale-revisions", stale_revisions, [td_arn(1)], [[]],
        ["api:2: tagged shine-ops:keep", "api:4: a task runs it"], ["family", "containerDefinitions", "cpu"]),
    Row("tg.delete-orphaned", orphaned_groups, [TG_SPARE],
        [["elbv2.CreateTargetGroup", "elbv2.ModifyTargetGroupAttributes", "elbv2.RegisterTargets"]],
        ["old: a listener or rule forwards to it"], ["create", "attributes", "targets", "arn"]),
    Row("sg.delete-unused", unused_groups, ["sg-debug"],
        [["ec2.CreateSecurityGroup", "ec2.AuthorizeSecurityGroupIngress", "ec2.RevokeSecurityGroupEgress"]],
        ["sg-db (db): the rules of sg-task name it"], ["create", "ingress", "egress", "id"]),
]


def test_every_account_fix_has_a_row():
    assert {r.fix for r in ROWS} == {f for f, s in load_fixes().items() if s.scope == "account"}


@pytest.mark.parametrize("row", ROWS, ids=[r.fix for r in ROWS])
def test_plan_removes_only_what_nothing_protects_and_saves_it_first(row: Row):
    w = row.world()
    fp = plan_of(row.fix, w)
    assert fp is not None and fp.refused is None
    assert [c.resource for c in fp.changes] == row.deleted
    assert [[i.describe() for i in c.inverse] for c in fp.changes] == row.inverses
    for ch in fp.changes:
        assert not ch.reversible and ch.undo_note  # AWS cannot undo it: the plan says so, with what rollback does
        assert set(row.saved) <= set(ch.saved), ch.saved
        assert ch.probe is not None
    for phrase in row.notes:
        assert any(phrase in n for n in fp.notes), fp.notes
    assert len(fp.notes) == len(row.notes)


@pytest.mark.parametrize("row", ROWS, ids=[r.fix for r in ROWS])
def test_once_the_calls_land_the_audit_no_longer_names_what_changed(row: Row):
    w = row.world()
    fp = plan_of(row.fix, w)
    _landed(w, fp)
    after = findings(w.ctx, fp.check)
    verdicts = judge_account_findings(list(after.values()), {c.resource for c in fp.changes})
    assert verdicts == {fp.check: "pass"}, after


def test_deleting_fixes_are_planned_but_refused_without_allow_delete():
    for row in ROWS:
        fp = plan_of(row.fix, row.world(), allow_delete=False)
        if load_fixes()[row.fix].deletes:
            assert fp.refused == "deletes: add --allow-delete" and fp.changes
        else:
            assert fp.refused is None


def test_a_recreated_security_group_names_itself_again_and_gets_the_default_egress_removed():
    fp = plan_of("sg.delete-unused", unused_groups())
    create, ingress, revoke = fp.changes[0].inverse
    assert create.params == {"GroupName": "debug-ssh", "Description": "ssh from the office", "VpcId": "vpc-1"}
    assert ingress.params["IpPermissions"][0]["UserIdGroupPairs"] == [{"GroupId": {"$ref": "undo#0.GroupId"}}]
    assert revoke.params == {"GroupId": {"$ref": "undo#0.GroupId"},
                             "IpPermissions": [{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]}


def test_a_recreated_target_group_keeps_its_tags_changed_attributes_and_targets():
    fp = plan_of("tg.delete-orphaned", orphaned_groups())
    create, attrs, register = fp.changes[0].inverse
    assert create.params["Name"] == "spare" and create.params["Tags"] == [{"Key": "team", "Value": "api"}]
    assert attrs.params["Attributes"] == [{"Key": "deregistration_delay.timeout_seconds", "Value": "30"}]
    assert register.params["Targets"] == [{"Id": "10.0.1.0", "Port": 8000}]


def test_an_active_suppression_leaves_the_resource_alone_and_an_expired_one_does_not():
    today = dt.date.today()
    for expires, planned in ((today + dt.timedelta(days=1), []), (today - dt.timedelta(days=1), ["sg-debug"])):
        w = unused_groups()
        w.suppressions = [Suppression(check="sg.unused", reason="break-glass access", owner="ops", expires=expires,
                                      resource="sg-debug")]
        fp = plan_of("sg.delete-unused", w)
        assert [c.resource for c in fp.changes] == planned
        assert any("suppressed in shine-ops.yaml by ops" in n for n in fp.notes) == (not planned)
